//! Mutes: `PUT /me/mutes/{to}` (a username or a group id) stops push notifications from that
//! conversation or group, `DELETE` the same lifts it, `GET /me/mutes` lists them.
use axum::{Json, extract::State, http::StatusCode};
use confab_readmodels::MuteRow;
use confab_schemas::place_kind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    ApiError, AppState,
    error::ErrorBody,
    extract::{AuthUser, JsonBody, PathParams},
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct MuteBody {
    /// When the mute ends by itself, RFC 3339, in the future; absent or null: when lifted.
    #[serde(default)]
    #[schema(format = DateTime)]
    until: Option<String>,
    /// Mute mentions too (default: a message that mentions you still pushes).
    #[serde(default)]
    everything: bool,
}

/// A muted conversation or group.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MuteView {
    /// `direct` or `group`.
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid)]
    conversation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid)]
    group_id: Option<String>,
    /// RFC 3339; null: until lifted.
    until: Option<String>,
    everything: bool,
    muted_at: String,
}

impl From<MuteRow> for MuteView {
    fn from(m: MuteRow) -> Self {
        let group = m.kind == place_kind::GROUP;
        Self {
            conversation_id: (!group).then(|| m.place_id.clone()),
            group_id: group.then_some(m.place_id),
            kind: m.kind,
            until: m.until_ms.map(confab_producers::rfc3339),
            everything: m.everything,
            muted_at: confab_producers::rfc3339(m.muted_at_ms),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Mutes {
    /// The mutes that have not ended, by conversation or group id.
    mutes: Vec<MuteView>,
}

#[utoipa::path(
    put, path = "/me/mutes/{to}", tag = "push",
    params(("to" = String, Path, description = "a username (your conversation with them) or a group id")),
    request_body = MuteBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "muted (replacing an earlier mute): no push for its new messages until it ends, except those that mention you unless `everything`", body = MuteView),
        (status = 400, description = "`invalid_until`: not a time, or not in the future", body = ErrorBody),
        (status = 403, description = "`not_a_member` of the group", body = ErrorBody),
        (status = 404, description = "no such user or group", body = ErrorBody),
        (status = 409, description = "`too_many_mutes` (1,000)", body = ErrorBody),
    )
)]
pub(crate) async fn mute(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(to): PathParams<String>,
    JsonBody(body): JsonBody<MuteBody>,
) -> Result<Json<MuteView>, ApiError> {
    let mute = state.use_cases.mute(&caller, &to, body.until.as_deref(), body.everything).await?;
    Ok(Json(mute.into()))
}

#[utoipa::path(
    delete, path = "/me/mutes/{to}", tag = "push",
    params(("to" = String, Path, description = "a username or a group id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "lifted"),
        (status = 403, description = "`not_a_member` of the group", body = ErrorBody),
        (status = 404, description = "no such user or group, or `mute_not_found`", body = ErrorBody),
    )
)]
pub(crate) async fn unmute(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(to): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.unmute(&caller, &to).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/me/mutes", tag = "push",
    security(("bearer" = [])),
    responses((status = 200, description = "your mutes", body = Mutes))
)]
pub(crate) async fn list(State(state): State<AppState>, AuthUser(caller): AuthUser) -> Result<Json<Mutes>, ApiError> {
    let mutes = state.use_cases.mutes(&caller).await?;
    Ok(Json(Mutes { mutes: mutes.into_iter().map(MuteView::from).collect() }))
}
