//! Push targets: `PUT /me/push/{deviceId}` (a Web Push subscription or a push gateway's
//! webhook), `DELETE` the same, `GET /me/push`; and `GET /push/vapid`, the key browsers
//! subscribe with.
use axum::{Json, extract::State, http::StatusCode};
use confab_producers::{OpenedPushTarget, PushTarget};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    ApiError, AppState,
    error::ErrorBody,
    extract::{AuthUser, JsonBody, PathParams},
};

/// What `pushManager.subscribe()` gave the browser (`PushSubscription.toJSON()`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Subscription {
    /// The push service's endpoint: https, public.
    #[schema(max_length = 2048, pattern = "^https?://[^\\s]+$")]
    endpoint: String,
    /// Ignored (browsers send it, mostly null).
    #[serde(default)]
    #[schema(value_type = Option<f64>)]
    expiration_time: Option<serde_json::Value>,
    keys: SubscriptionKeys,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubscriptionKeys {
    /// The subscription's P-256 public key, uncompressed, base64url.
    #[schema(min_length = 86, max_length = 88, pattern = "^[A-Za-z0-9_-]+={0,2}$")]
    p256dh: String,
    /// Its authentication secret: 16 bytes, base64url.
    #[schema(min_length = 22, max_length = 24, pattern = "^[A-Za-z0-9_-]+={0,2}$")]
    auth: String,
}

/// A Web Push subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct WebPushTarget {
    subscription: Subscription,
    /// Whether notifications carry the message's text (default: no; the app fetches it).
    #[serde(default)]
    previews: bool,
}

/// A push gateway's webhook: it receives a JSON notification (see the README) and forwards
/// it to FCM, APNs or whatever the operator runs.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct WebhookTarget {
    /// https, public.
    #[schema(max_length = 2048, pattern = "^https?://[^\\s]+$")]
    webhook: String,
    #[serde(default)]
    previews: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum PushTargetBody {
    WebPush(WebPushTarget),
    Webhook(WebhookTarget),
}

/// One device's push target.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PushTargetView {
    device_id: String,
    /// `webpush` or `webhook`.
    kind: &'static str,
    /// The push service's endpoint, or the webhook.
    endpoint: String,
    previews: bool,
    /// RFC 3339.
    registered_at: String,
    /// Whether the session of this request registered it.
    this_session: bool,
}

impl From<OpenedPushTarget> for PushTargetView {
    fn from(t: OpenedPushTarget) -> Self {
        let (kind, endpoint) = match t.target {
            PushTarget::WebPush { endpoint, .. } => ("webpush", endpoint),
            PushTarget::Webhook { url } => ("webhook", url),
        };
        Self {
            device_id: t.device_id,
            kind,
            endpoint,
            previews: t.previews,
            registered_at: confab_producers::rfc3339(t.registered_at_ms),
            this_session: t.this_session,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PushTargets {
    /// By device id.
    targets: Vec<PushTargetView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VapidPublicKey {
    /// The uncompressed P-256 point, base64url: `applicationServerKey` for `pushManager.subscribe`.
    public_key: String,
}

#[utoipa::path(
    put, path = "/me/push/{deviceId}", tag = "push",
    params(("deviceId" = String, Path, description = "the app's name for this device: 1-64 characters of A-Z a-z 0-9 '-' '_'")),
    request_body = PushTargetBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "registered for this session (replacing the device's earlier target): while it has no open socket, each new message to you pushes here", body = PushTargetView),
        (status = 400, description = "`invalid_device_id`, `invalid_push_endpoint`, `invalid_webhook_url`, `invalid_push_keys` (not a P-256 point and a 16-byte secret), or `invalid_body`", body = ErrorBody),
        (status = 403, description = "`push_endpoint_not_allowed`: plain http, or a private address, on a server that does not send there", body = ErrorBody),
        (status = 409, description = "`too_many_push_targets` (20 devices), or `web_push_not_configured` (no VAPID key on this server)", body = ErrorBody),
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(device_id): PathParams<String>,
    JsonBody(body): JsonBody<PushTargetBody>,
) -> Result<Json<PushTargetView>, ApiError> {
    let (target, previews) = match body {
        PushTargetBody::WebPush(WebPushTarget { subscription, previews }) => {
            if state.vapid.is_none() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "web_push_not_configured",
                    "this server has no VAPID key: register a webhook, or ask the operator",
                ));
            }
            let _ = subscription.expiration_time;
            let SubscriptionKeys { p256dh, auth } = subscription.keys;
            (PushTarget::WebPush { endpoint: subscription.endpoint, p256dh, auth }, previews)
        }
        PushTargetBody::Webhook(WebhookTarget { webhook, previews }) => {
            (PushTarget::Webhook { url: webhook }, previews)
        }
    };
    let registered = state.use_cases.register_push_target(&caller, &device_id, target, previews).await?;
    Ok(Json(registered.into()))
}

#[utoipa::path(
    delete, path = "/me/push/{deviceId}", tag = "push",
    params(("deviceId" = String, Path, description = "the device")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "removed: no more pushes to that device"),
        (status = 400, description = "`invalid_device_id`", body = ErrorBody),
        (status = 404, description = "`push_target_not_found`", body = ErrorBody),
    )
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(device_id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.remove_push_target(&caller, &device_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/me/push", tag = "push",
    security(("bearer" = [])),
    responses((status = 200, description = "your devices that take push notifications", body = PushTargets))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> Result<Json<PushTargets>, ApiError> {
    let targets = state.use_cases.push_targets(&caller).await?;
    Ok(Json(PushTargets { targets: targets.into_iter().map(PushTargetView::from).collect() }))
}

#[utoipa::path(
    get, path = "/push/vapid", tag = "push",
    responses(
        (status = 200, description = "this server's VAPID public key", body = VapidPublicKey),
        (status = 404, description = "`web_push_not_configured`: no VAPID key on this server", body = ErrorBody),
    )
)]
pub(crate) async fn vapid(State(state): State<AppState>) -> Result<Json<VapidPublicKey>, ApiError> {
    let key = state.vapid.as_ref().ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "web_push_not_configured", "this server has no VAPID key")
    })?;
    Ok(Json(VapidPublicKey { public_key: key.public_key().to_owned() }))
}
