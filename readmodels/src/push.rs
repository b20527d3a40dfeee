//! Where and when to push: each user's devices that take push notifications (their targets,
//! sealed as the log carried them), and the places they muted. The users projection writes
//! both, in each user's log order; the push consumer and the API read them.
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Most devices one user may register for push.
pub const MAX_PUSH_TARGETS: usize = 20;
/// Most places one user may have muted at once.
pub const MAX_MUTES: usize = 1000;

/// One device's push target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushTargetRow {
    pub user_id: String,
    pub device_id: String,
    /// The session that registered it: while it has a connection open, no push goes here.
    pub session_id: String,
    /// `webpush` or `webhook`.
    pub kind: String,
    /// Sealed: the push service's endpoint, or the gateway's URL.
    pub endpoint: String,
    /// Sealed; webpush only.
    pub p256dh: Option<String>,
    /// Sealed; webpush only.
    pub auth: Option<String>,
    /// Whether notifications carry the message's text.
    pub previews: bool,
    pub registered_at_ms: i64,
    /// The `PushTargetRegistered` event: a removal for a failed delivery names it, so that a
    /// newer registration of the device is kept.
    pub event_id: String,
}

/// A place one user muted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteRow {
    pub user_id: String,
    /// A conversation id or a group id.
    pub place_id: String,
    /// `direct` or `group`.
    pub kind: String,
    /// When the mute ends by itself; None: when lifted.
    pub until_ms: Option<i64>,
    /// Mentions are muted too.
    pub everything: bool,
    pub muted_at_ms: i64,
}

impl MuteRow {
    /// Whether the mute silences a message sent at `at_ms`, which mentions the user or not:
    /// the one rule the push consumer asks.
    pub fn silences(&self, at_ms: i64, mentioned: bool) -> bool {
        self.until_ms.is_none_or(|until| at_ms < until) && (self.everything || !mentioned)
    }
}

/// Push targets and mutes, by user.
#[async_trait]
pub trait PushStore: Send + Sync + 'static {
    /// Answers once the store can serve reads.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Registers `target`, replacing the device's earlier one.
    async fn put_push_target(&self, target: &PushTargetRow) -> Result<(), StoreError>;

    /// Removes `user_id`'s `device_id` target; when `registration` is given, only if it is still
    /// that registration's.
    async fn remove_push_target(
        &self,
        user_id: &str,
        device_id: &str,
        registration: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Removes `user_id`'s targets that `session_id` registered (the session ended), or every
    /// one of them when None (the account was deleted).
    async fn remove_push_targets_of(&self, user_id: &str, session_id: Option<&str>) -> Result<(), StoreError>;

    /// `user_id`'s targets, by device id.
    async fn push_targets(&self, user_id: &str) -> Result<Vec<PushTargetRow>, StoreError>;

    /// Mutes a place, replacing an earlier mute of it.
    async fn put_mute(&self, mute: &MuteRow) -> Result<(), StoreError>;

    /// Lifts `user_id`'s mute of `place_id`, if any.
    async fn lift_mute(&self, user_id: &str, place_id: &str) -> Result<(), StoreError>;

    /// `user_id`'s mute of `place_id`, if any (expired or not).
    async fn mute(&self, user_id: &str, place_id: &str) -> Result<Option<MuteRow>, StoreError>;

    /// `user_id`'s mutes (expired ones too), by place id; at most [`crate::MAX_PAGE_ROWS`].
    async fn mutes(&self, user_id: &str) -> Result<Vec<MuteRow>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mute_silences_until_it_ends_and_mentions_unless_everything() {
        let mute = MuteRow {
            user_id: "u".into(),
            place_id: "p".into(),
            kind: "group".into(),
            until_ms: Some(100),
            everything: false,
            muted_at_ms: 0,
        };
        assert!(mute.silences(99, false));
        assert!(!mute.silences(100, false), "over at its end");
        assert!(!mute.silences(50, true), "a mention still pushes");
        let everything = MuteRow { everything: true, until_ms: None, ..mute };
        assert!(everything.silences(i64::MAX, true));
    }
}
