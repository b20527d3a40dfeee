//! Push targets: the devices a user reaches by push notification while they have no live
//! connection. A target is a Web Push subscription (what a browser's `pushManager.subscribe`
//! gives) or the URL of a push gateway the operator runs. Registered and removed as events on
//! `confab.users`, its endpoint and keys sealed under the user's own key, as a profile is.
use std::net::IpAddr;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use confab_readmodels::{MAX_PUSH_TARGETS, PushTargetRow};
use confab_schemas::{
    Event, PushTargetRegistered, PushTargetRegisteredPayload, PushTargetRemoved, PushTargetRemovedPayload, push_kind,
    removal_reason,
};
use url::Url;
use uuid::Uuid;

use crate::{Caller, ChatError, DataKey, UseCases, profile_field_binding, rate_limits::UserAction, time::now_ms};

/// Longest device id.
pub const MAX_DEVICE_ID_CHARS: usize = 64;
/// Longest endpoint or gateway URL.
pub const MAX_PUSH_URL_CHARS: usize = 2048;

/// Where a device takes its notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushTarget {
    /// A Web Push subscription: the push service's endpoint, and the keys (base64url) the
    /// payload is encrypted to.
    WebPush { endpoint: String, p256dh: String, auth: String },
    /// A push gateway's URL, which receives a JSON notification.
    Webhook { url: String },
}

/// A device's target as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedPushTarget {
    pub device_id: String,
    pub target: PushTarget,
    pub previews: bool,
    pub registered_at_ms: i64,
    /// Whether the caller's own session registered it.
    pub this_session: bool,
}

/// Which endpoints a deployment sends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushEndpoints {
    /// Plain `http://` and loopback or private addresses too: for a test push service, or a
    /// gateway beside the server. Off on the open internet, where a target could otherwise point
    /// the server at the operator's own network.
    pub allow_private: bool,
}

/// The binding of a sealed push field: the user, and which field of which device.
pub(crate) fn binding(user_id: &str, device_id: &str, field: &str) -> Vec<u8> {
    profile_field_binding(user_id, &format!("push/{device_id}/{field}"))
}

fn invalid_device() -> ChatError {
    ChatError::invalid(
        "invalid_device_id",
        format!("deviceId must be 1-{MAX_DEVICE_ID_CHARS} characters of A-Z a-z 0-9 '-' '_'"),
    )
}

/// A device id, checked.
pub(crate) fn device_id(raw: &str) -> Result<&str, ChatError> {
    let fits = raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if raw.is_empty() || raw.len() > MAX_DEVICE_ID_CHARS || !fits { Err(invalid_device()) } else { Ok(raw) }
}

/// Whether an address is one the open internet does not reach (loopback, private, link-local,
/// and the like): what a push target must not name unless the deployment allows it.
pub fn is_private_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private_address(IpAddr::V4(v4)))
        }
    }
}

/// A push URL, checked: absolute `https` (or `http` where private endpoints are allowed), with
/// a host, no credentials, and not naming a private address unless allowed.
fn push_url(raw: &str, endpoints: PushEndpoints, code: &'static str) -> Result<String, ChatError> {
    let refuse = |why: &str| ChatError::invalid(code, why.to_owned());
    if raw.len() > MAX_PUSH_URL_CHARS {
        return Err(refuse(&format!("the URL must be at most {MAX_PUSH_URL_CHARS} characters")));
    }
    let url = Url::parse(raw).map_err(|_| refuse("not an absolute URL"))?;
    // Well-formed but not sent to: a refusal of this deployment's policy, not bad input.
    let not_allowed = |why: &str| ChatError::forbidden("push_endpoint_not_allowed", why.to_owned());
    if !matches!(url.scheme(), "https" | "http") {
        return Err(refuse("the URL must be https"));
    }
    if url.scheme() == "http" && !endpoints.allow_private {
        return Err(not_allowed("this server sends pushes over https only"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse("the URL must not carry credentials"));
    }
    let private = match url.host() {
        None => return Err(refuse("the URL has no host")),
        Some(url::Host::Ipv4(ip)) => is_private_address(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_private_address(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost"),
    };
    if private && !endpoints.allow_private {
        return Err(not_allowed("this server does not send pushes to private addresses"));
    }
    Ok(url.to_string())
}

/// A subscription's keys, checked: `p256dh` an uncompressed P-256 point, `auth` 16 bytes.
fn subscription_keys(p256dh: &str, auth: &str) -> Result<(), ChatError> {
    let invalid = || {
        ChatError::invalid(
            "invalid_push_keys",
            "keys.p256dh must be a base64url P-256 public key (65 bytes) and keys.auth 16 base64url bytes",
        )
    };
    let point = URL_SAFE_NO_PAD.decode(p256dh.trim_end_matches('=')).map_err(|_| invalid())?;
    if point.len() != 65 || p256::PublicKey::from_sec1_bytes(&point).is_err() {
        return Err(invalid());
    }
    let secret = URL_SAFE_NO_PAD.decode(auth.trim_end_matches('=')).map_err(|_| invalid())?;
    if secret.len() != 16 {
        return Err(invalid());
    }
    Ok(())
}

fn seal(key: &DataKey, user_id: &str, device_id: &str, field: &str, text: &str) -> Result<String, ChatError> {
    key.seal(text.as_bytes(), &binding(user_id, device_id, field)).map_err(ChatError::internal)
}

impl UseCases {
    /// Registers (or replaces) the caller's device `device_id` as a push target, for this
    /// session: while it has a connection open, no push goes there.
    pub async fn register_push_target(
        &self,
        caller: &Caller,
        device_id: &str,
        target: PushTarget,
        previews: bool,
    ) -> Result<OpenedPushTarget, ChatError> {
        let device_id = self::device_id(device_id)?;
        let endpoints = self.limits.push_endpoints;
        let (kind, endpoint, keys) = match &target {
            PushTarget::WebPush { endpoint, p256dh, auth } => {
                let endpoint = push_url(endpoint, endpoints, "invalid_push_endpoint")?;
                subscription_keys(p256dh, auth)?;
                (push_kind::WEBPUSH, endpoint, Some((p256dh.as_str(), auth.as_str())))
            }
            PushTarget::Webhook { url } => (push_kind::WEBHOOK, push_url(url, endpoints, "invalid_webhook_url")?, None),
        };
        self.rate_limits.user(UserAction::GroupChange, &caller.sub)?;
        let targets = self.read().push.push_targets(&caller.sub).await?;
        if targets.len() >= MAX_PUSH_TARGETS && !targets.iter().any(|t| t.device_id == device_id) {
            return Err(ChatError::conflict(
                "too_many_push_targets",
                format!("at most {MAX_PUSH_TARGETS} devices take push notifications; remove one first"),
            ));
        }
        let key = self.data_keys.for_sealing(&caller.sub, &caller.sub).await?;
        let user_id = caller.sub.as_str();
        let occurred_at = now_ms();
        let event = Event::PushTargetRegistered(PushTargetRegistered {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: PushTargetRegisteredPayload {
                user_id: caller.sub.clone(),
                username: caller.name.clone(),
                device_id: device_id.to_owned(),
                session_id: caller.sid.clone(),
                kind: kind.to_owned(),
                endpoint: seal(&key, user_id, device_id, "endpoint", &endpoint)?,
                p256dh: keys.map(|(p256dh, _)| seal(&key, user_id, device_id, "p256dh", p256dh)).transpose()?,
                auth: keys.map(|(_, auth)| seal(&key, user_id, device_id, "auth", auth)).transpose()?,
                previews,
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        let target = match target {
            PushTarget::WebPush { p256dh, auth, .. } => PushTarget::WebPush { endpoint, p256dh, auth },
            PushTarget::Webhook { .. } => PushTarget::Webhook { url: endpoint },
        };
        Ok(OpenedPushTarget {
            device_id: device_id.to_owned(),
            target,
            previews,
            registered_at_ms: occurred_at,
            this_session: true,
        })
    }

    /// Removes the caller's device `device_id` as a push target; 404 `push_target_not_found`.
    pub async fn remove_push_target(&self, caller: &Caller, device_id: &str) -> Result<(), ChatError> {
        let device_id = self::device_id(device_id)?;
        self.rate_limits.user(UserAction::GroupChange, &caller.sub)?;
        let targets = self.read().push.push_targets(&caller.sub).await?;
        if !targets.iter().any(|t| t.device_id == device_id) {
            return Err(ChatError::not_found("push_target_not_found", "no push target for that device"));
        }
        let occurred_at = now_ms();
        let event = Event::PushTargetRemoved(PushTargetRemoved {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: PushTargetRemovedPayload {
                user_id: caller.sub.clone(),
                username: caller.name.clone(),
                device_id: device_id.to_owned(),
                registered_event_id: None,
                reason: removal_reason::REMOVED.to_owned(),
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(())
    }

    /// Removes a target whose push service said it is gone (404, 410), unless the device has
    /// registered again since.
    pub async fn push_target_gone(&self, target: &PushTargetRow) -> Result<(), ChatError> {
        let Some(user) = self.read().users.user_by_id(&target.user_id).await? else { return Ok(()) };
        let occurred_at = now_ms();
        let event = Event::PushTargetRemoved(PushTargetRemoved {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: target.user_id.clone(),
            payload: PushTargetRemovedPayload {
                user_id: target.user_id.clone(),
                username: user.username,
                device_id: target.device_id.clone(),
                registered_event_id: Some(target.event_id.clone()),
                reason: removal_reason::GONE.to_owned(),
            },
        });
        let _ = self.publisher.publish(&event, occurred_at).await?;
        Ok(())
    }

    /// The caller's push targets, opened, by device id.
    pub async fn push_targets(&self, caller: &Caller) -> Result<Vec<OpenedPushTarget>, ChatError> {
        let rows = self.read().push.push_targets(&caller.sub).await?;
        let mut opened = Vec::with_capacity(rows.len());
        for row in rows {
            let this_session = row.session_id == caller.sid;
            let (previews, registered_at_ms, device_id) = (row.previews, row.registered_at_ms, row.device_id.clone());
            if let Some(target) = self.opener().push_target(&row).await? {
                opened.push(OpenedPushTarget { device_id, target, previews, registered_at_ms, this_session });
            }
        }
        Ok(opened)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const OPEN: PushEndpoints = PushEndpoints { allow_private: false };

    #[test]
    fn push_urls_are_https_and_public_unless_allowed() {
        assert!(push_url("https://push.example.com/x", OPEN, "c").is_ok());
        for refused in [
            "http://push.example.com/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://localhost/x",
            "https://user:pw@push.example.com/x",
            "ftp://push.example.com",
            "/relative",
        ] {
            assert!(push_url(refused, OPEN, "c").is_err(), "{refused}");
        }
        let allowed = PushEndpoints { allow_private: true };
        assert!(push_url("http://127.0.0.1:9000/push", allowed, "c").is_ok());
    }

    #[test]
    fn device_ids_are_short_and_plain() {
        assert!(device_id("phone-1_A").is_ok());
        assert!(device_id("").is_err());
        assert!(device_id("a b").is_err());
        assert!(device_id(&"x".repeat(65)).is_err());
    }

    #[test]
    fn subscription_keys_are_a_point_and_sixteen_bytes() {
        let point = p256::SecretKey::from_slice(&[7u8; 32]).unwrap().public_key();
        let p256dh = URL_SAFE_NO_PAD.encode(p256::EncodedPoint::from(point).as_bytes());
        let auth = URL_SAFE_NO_PAD.encode([1u8; 16]);
        assert!(subscription_keys(&p256dh, &auth).is_ok());
        assert!(subscription_keys(&p256dh, &URL_SAFE_NO_PAD.encode([1u8; 15])).is_err());
        assert!(subscription_keys(&URL_SAFE_NO_PAD.encode([4u8; 65]), &auth).is_err(), "not on the curve");
    }
}
