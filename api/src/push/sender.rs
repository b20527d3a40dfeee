//! Sends the push consumer's notifications: Web Push (RFC 8030) with the payload encrypted to the
//! subscription (RFC 8291, `aes128gcm`) and a VAPID token (RFC 8292), or a JSON POST to a push
//! gateway's webhook (signed the same way when the deployment has a VAPID key). The message id
//! is the notification's `Topic` and the webhook's `Idempotency-Key`: a repeat replaces, not
//! adds. 429 and 5xx are tried again after `Retry-After` (or a growing backoff) within bounds;
//! 404 and 410 mean the subscription is gone, and its target is removed.
use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use confab_consumers::push::{PushJob, PushSender, PushedMessage};
use confab_producers::{PushTarget, UseCases, is_private_address, now_ms, rfc3339};
use futures::{StreamExt, stream};
use reqwest::{
    StatusCode,
    dns::{Addrs, Name, Resolve, Resolving},
    header::{HeaderMap, RETRY_AFTER},
};
use serde_json::{Value, json};

use crate::push::VapidKey;

/// Notifications in flight at once.
const CONCURRENCY: usize = 64;
/// One request's bound.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Tries of one notification at most.
const MAX_ATTEMPTS: u32 = 5;
/// How long one notification is tried for at most; a `Retry-After` past it gives up.
const MAX_RETRYING: Duration = Duration::from_secs(120);
/// The first backoff when the push service says nothing; doubled each time.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// How long a push service keeps a notification for an unreachable device (the `TTL` header).
const TTL_SECS: u64 = 24 * 60 * 60;
/// Most bytes of message text a notification carries (Web Push payloads are at most 4 KiB).
const MAX_PREVIEW_BYTES: usize = 1024;

/// Resolves names only to addresses on the open internet, so that a push target cannot point
/// the server at its own network by a name.
struct PublicAddresses;

impl Resolve for PublicAddresses {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| !is_private_address(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{} resolves to no public address", name.as_str()).into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

pub struct WebPushSender {
    use_cases: Arc<UseCases>,
    vapid: Option<Arc<VapidKey>>,
    client: reqwest::Client,
}

/// How one attempt went.
enum Attempt {
    Delivered,
    /// The subscription is gone (404, 410): remove the target.
    Gone,
    /// Worth another try, after this long if the service said.
    Again(Option<Duration>),
    /// Refused for good (another 4xx), or not sendable.
    Failed(String),
}

impl WebPushSender {
    /// `allow_private`: send to private and loopback addresses too (a gateway beside the server,
    /// a test push service).
    pub fn new(
        use_cases: Arc<UseCases>,
        vapid: Option<Arc<VapidKey>>,
        allow_private: bool,
    ) -> Result<Self, reqwest::Error> {
        let mut client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(8);
        if !allow_private {
            client = client.dns_resolver(Arc::new(PublicAddresses));
        }
        Ok(Self { use_cases, vapid, client: client.build()? })
    }

    /// One notification, tried until delivered, gone, refused, or out of bounds.
    async fn deliver(&self, job: &PushJob) {
        let target = match self.use_cases.opener().push_target(&job.target).await {
            Ok(Some(target)) => target,
            Ok(None) => return, // its owner's key is destroyed: the account is gone
            Err(error) => {
                tracing::warn!(error = &error as &dyn std::error::Error, "cannot open a push target");
                crate::metrics::push_sent("error");
                return;
            }
        };
        let payload = match self.payload(job).await {
            Ok(payload) => payload,
            Err(error) => {
                tracing::warn!(error, "cannot make a notification");
                crate::metrics::push_sent("error");
                return;
            }
        };
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=MAX_ATTEMPTS {
            match self.attempt(job, &target, &payload).await {
                Attempt::Delivered => {
                    crate::metrics::push_sent("delivered");
                    crate::metrics::push_latency(job.message.sent_at_ms());
                    return;
                }
                Attempt::Gone => {
                    crate::metrics::push_sent("gone");
                    if let Err(error) = self.use_cases.push_target_gone(&job.target).await {
                        tracing::warn!(error = &error as &dyn std::error::Error, "cannot remove a gone push target");
                    }
                    return;
                }
                Attempt::Failed(why) => {
                    tracing::info!(why, device = job.target.device_id, "a push was refused");
                    crate::metrics::push_sent("refused");
                    return;
                }
                Attempt::Again(asked) => {
                    let wait = asked.unwrap_or(backoff);
                    backoff = (backoff * 2).min(MAX_RETRYING);
                    if attempt == MAX_ATTEMPTS || started.elapsed() + wait > MAX_RETRYING {
                        break;
                    }
                    crate::metrics::push_sent("retried");
                    tokio::time::sleep(wait).await;
                }
            }
        }
        tracing::info!(device = job.target.device_id, "a push service kept refusing; giving up");
        crate::metrics::push_sent("given_up");
    }

    async fn attempt(&self, job: &PushJob, target: &PushTarget, payload: &Value) -> Attempt {
        let tag = job.message.message_id().replace('-', "");
        let request = match target {
            PushTarget::WebPush { endpoint, p256dh, auth } => {
                let Some(vapid) = &self.vapid else { return Attempt::Failed("no VAPID key".into()) };
                let body = match encrypt(payload, p256dh, auth) {
                    Ok(body) => body,
                    Err(why) => return Attempt::Failed(why),
                };
                let Ok(url) = url::Url::parse(endpoint) else { return Attempt::Failed("not a URL".into()) };
                let authorization = match vapid.authorization(&url, now_ms() / 1000) {
                    Ok(authorization) => authorization,
                    Err(error) => return Attempt::Failed(error.to_string()),
                };
                let urgency =
                    if job.mention || matches!(*job.message, PushedMessage::Direct(_)) { "high" } else { "normal" };
                self.client
                    .post(url)
                    .header("ttl", TTL_SECS)
                    .header("topic", tag)
                    .header("urgency", urgency)
                    .header("content-encoding", "aes128gcm")
                    .header("content-type", "application/octet-stream")
                    .header("authorization", authorization)
                    .body(body)
            }
            PushTarget::Webhook { url } => {
                let Ok(url) = url::Url::parse(url) else { return Attempt::Failed("not a URL".into()) };
                let mut body = payload.clone();
                body["userId"] = json!(job.target.user_id);
                body["deviceId"] = json!(job.target.device_id);
                let mut request = self
                    .client
                    .post(url.clone())
                    .header("idempotency-key", format!("{tag}/{}", job.target.device_id))
                    .json(&body);
                if let Some(vapid) = &self.vapid
                    && let Ok(authorization) = vapid.authorization(&url, now_ms() / 1000)
                {
                    request = request.header("authorization", authorization);
                }
                request
            }
        };
        match request.send().await {
            Ok(answer) => outcome(answer.status(), answer.headers()),
            // Unreachable now (connection refused, timed out): maybe not later.
            Err(error) if error.is_connect() || error.is_timeout() => Attempt::Again(None),
            Err(error) => Attempt::Failed(error.to_string()),
        }
    }

    /// What a notification says: the place, the sender, the message id; the text only for a
    /// device that asked for previews.
    async fn payload(&self, job: &PushJob) -> Result<Value, String> {
        let opener = self.use_cases.opener();
        let (mut payload, content) = match &*job.message {
            PushedMessage::Direct(row) => {
                let payload = json!({
                    "type": "message",
                    "kind": "direct",
                    "conversationId": row.conversation_id,
                    "messageId": row.message_id,
                    "senderId": row.sender_id,
                    "sender": row.sender_username,
                    "timestamp": rfc3339(row.sent_at_ms),
                });
                let content = if job.target.previews {
                    Some(opener.direct(row.clone()).await.map_err(|e| e.to_string())?.content)
                } else {
                    None
                };
                (payload, content)
            }
            PushedMessage::Group { row, group_name } => {
                let payload = json!({
                    "type": "message",
                    "kind": "group",
                    "groupId": row.group_id,
                    "groupName": group_name,
                    "messageId": row.message_id,
                    "senderId": row.sender_id,
                    "sender": row.sender_username,
                    "timestamp": rfc3339(row.sent_at_ms),
                    "mention": job.mention,
                });
                let content = if job.target.previews {
                    Some(opener.group(row.clone()).await.map_err(|e| e.to_string())?.content)
                } else {
                    None
                };
                (payload, content)
            }
        };
        if let Some(content) = content {
            payload["content"] = json!(preview(&content));
        }
        Ok(payload)
    }
}

/// At most [`MAX_PREVIEW_BYTES`] of `text`, cut at a character.
fn preview(text: &str) -> &str {
    if text.len() <= MAX_PREVIEW_BYTES {
        return text;
    }
    let mut end = MAX_PREVIEW_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `payload` encrypted to a subscription's keys (RFC 8291).
fn encrypt(payload: &Value, p256dh: &str, auth: &str) -> Result<Vec<u8>, String> {
    let point = URL_SAFE_NO_PAD.decode(p256dh.trim_end_matches('=')).map_err(|e| e.to_string())?;
    let public = web_push_native::p256::PublicKey::from_sec1_bytes(&point).map_err(|e| e.to_string())?;
    let secret = URL_SAFE_NO_PAD.decode(auth.trim_end_matches('=')).map_err(|e| e.to_string())?;
    if secret.len() != 16 {
        return Err("the auth secret is not 16 bytes".into());
    }
    let auth = web_push_native::Auth::clone_from_slice(&secret);
    web_push_native::encrypt(payload.to_string().into_bytes(), &public, &auth).map_err(|e| e.to_string())
}

/// What a push service's answer means.
fn outcome(status: StatusCode, headers: &HeaderMap) -> Attempt {
    match status {
        s if s.is_success() => Attempt::Delivered,
        StatusCode::NOT_FOUND | StatusCode::GONE => Attempt::Gone,
        s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => Attempt::Again(retry_after(headers)),
        s => Attempt::Failed(format!("answered {s}")),
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

#[async_trait]
impl PushSender for WebPushSender {
    async fn send(&self, jobs: Vec<PushJob>) {
        stream::iter(jobs.iter()).for_each_concurrent(CONCURRENCY, |job| self.deliver(job)).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        let mut headers = HeaderMap::new();
        let _ = headers.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        let _ = headers.insert(RETRY_AFTER, later.parse().unwrap());
        assert!(retry_after(&headers).is_some_and(|d| d > Duration::from_secs(100)));
        assert!(matches!(outcome(StatusCode::GONE, &HeaderMap::new()), Attempt::Gone));
        assert!(matches!(outcome(StatusCode::BAD_GATEWAY, &HeaderMap::new()), Attempt::Again(None)));
        assert!(matches!(outcome(StatusCode::FORBIDDEN, &HeaderMap::new()), Attempt::Failed(_)));
        assert_eq!(preview(&"é".repeat(600)).len(), 1024);
    }
}
