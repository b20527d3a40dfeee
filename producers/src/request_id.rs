//! The id of the request a piece of work belongs to. The API sets it around each request's
//! handler; the publisher writes it into every event's headers, so one request can be followed
//! from its handler through the log to the projections that apply it.
use std::{fmt, future::Future, sync::Arc};

/// Longest id accepted from a client; a longer one is replaced, not truncated.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

tokio::task_local! {
    static CURRENT: RequestId;
}

/// A request id: a client's own (`X-Request-Id`), when it is short and plain, or one made here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// A client's id, if it is safe to log and to carry: 1 to `MAX_REQUEST_ID_CHARS` of
    /// `A-Z a-z 0-9 - _ . : / + =` (UUIDs, ULIDs, trace ids, base64), nothing that could forge a
    /// log line or a header.
    pub fn from_client(value: &str) -> Option<Self> {
        let plain = |c: char| c.is_ascii_alphanumeric() || "-_.:/+=".contains(c);
        (!value.is_empty() && value.len() <= MAX_REQUEST_ID_CHARS && value.chars().all(plain))
            .then(|| Self(value.into()))
    }

    /// A new id (a UUIDv7: unique, and sorted by when it was made).
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string().into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Runs `work` as part of this request: [`RequestId::current`] answers this id inside it.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }

    /// The id of the request the calling task is working for, if any.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(Clone::clone).ok()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_kept_and_others_refused() {
        assert!(RequestId::from_client("0b7e6c1e-4c1d-4a7e-9d2f-6f1f5d1a2b3c").is_some());
        assert!(RequestId::from_client("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").is_some());
        assert!(RequestId::from_client("").is_none());
        assert!(RequestId::from_client("a b").is_none());
        assert!(RequestId::from_client("id\nforged=1").is_none());
        assert!(RequestId::from_client(&"x".repeat(MAX_REQUEST_ID_CHARS + 1)).is_none());
    }

    #[tokio::test]
    async fn the_current_id_is_the_scope_s() {
        assert_eq!(RequestId::current(), None);
        let id = RequestId::generate();
        let seen = id.clone().scope(async { RequestId::current() }).await;
        assert_eq!(seen, Some(id));
    }
}
