//! The sessions read model: each user's live sessions (logins on devices) and the hash of each
//! one's current refresh token. An ended session's row is gone; whether an access token's
//! session has ended is decided in memory by every API process (the revocations), not here.
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub user_id: String,
    pub session_id: String,
    pub device_name: Option<String>,
    pub started_at_ms: i64,
    /// Where `SessionStarted` sits in its `confab.users` partition (the user's, as every event of
    /// theirs): a password change ends the sessions started before it in that order.
    pub started_offset: u64,
    /// The last refresh (or the start): how recently the device was there.
    pub last_seen_ms: i64,
    /// SHA-256 of the current refresh token, lowercase hex.
    pub refresh_token_hash: String,
    pub refresh_expires_at_ms: i64,
}

/// One event's change to the sessions, applied in log order. Each is idempotent: applied again,
/// it changes nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionChange {
    /// A new session, unless it is there already.
    Started(SessionRow),
    /// The session's refresh token replaced, if `retired_hash` is still its current one.
    Refreshed {
        user_id: String,
        session_id: String,
        retired_hash: String,
        refresh_token_hash: String,
        refresh_expires_at_ms: i64,
        seen_at_ms: i64,
    },
    /// The session gone.
    Ended { user_id: String, session_id: String },
    /// Every session of the user started before `before_offset` gone, except `kept`.
    OthersEnded { user_id: String, kept: Option<String>, before_offset: u64 },
}

/// Live sessions, by user.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Answers once the store can serve reads.
    async fn ping(&self) -> Result<(), StoreError>;
    async fn apply_session_changes(&self, changes: &[SessionChange]) -> Result<(), StoreError>;
    async fn session(&self, user_id: &str, session_id: &str) -> Result<Option<SessionRow>, StoreError>;
    /// The user's sessions, at most [`crate::MAX_PAGE_ROWS`], in no promised order.
    async fn sessions_of(&self, user_id: &str) -> Result<Vec<SessionRow>, StoreError>;
}
