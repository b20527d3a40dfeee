//! The users read model: accounts, by username and by id, with their profiles; and usernames
//! by prefix, for finding someone to chat with.
use async_trait::async_trait;
use confab_schemas::ProfileUpdatedPayload;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// An account as login needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub user_id: String,
    pub username: String,
    pub password_hash: String,
    pub registered_at_ms: i64,
    /// What the user says about themself, as the log carried it.
    #[serde(flatten)]
    pub profile: ProfileFields,
    /// When the account was deleted: it is no one from then on, and its name stays taken.
    #[serde(default)]
    pub deleted_at_ms: Option<i64>,
}

/// A profile as the log carried it: sealed under the user's own data key (the API opens it) or,
/// if written before profiles were sealed, in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileFields {
    /// What the user asks to be called; None shows the username.
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub about: Option<String>,
    /// Whether the two above are sealed.
    #[serde(default)]
    pub sealed: bool,
    /// The attachment shown as their picture (an id: not sealed).
    #[serde(default)]
    pub avatar_id: Option<String>,
    /// Whether they show whether they are online (and see others'): a setting, not sealed.
    #[serde(default = "shown")]
    pub show_presence: bool,
}

fn shown() -> bool {
    true
}

impl Default for ProfileFields {
    fn default() -> Self {
        Self { display_name: None, about: None, sealed: false, avatar_id: None, show_presence: true }
    }
}

impl From<&ProfileUpdatedPayload> for ProfileFields {
    fn from(p: &ProfileUpdatedPayload) -> Self {
        Self {
            display_name: p.display_name.clone(),
            about: p.about.clone(),
            sealed: p.sealed,
            avatar_id: p.avatar_id.clone(),
            show_presence: p.show_presence,
        }
    }
}

impl UserRow {
    /// Whether the account is still someone: not deleted.
    pub fn is_active(&self) -> bool {
        self.deleted_at_ms.is_none()
    }
}

/// The shortest prefix a search takes: the DynamoDB index is bucketed by it.
pub const MIN_PREFIX_CHARS: usize = 2;

/// Accounts, by username and by id.
#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Answers once the store can serve reads: what readiness means for it.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Inserts users not yet present; a user already present is left unchanged.
    async fn put_users(&self, users: &[UserRow]) -> Result<(), StoreError>;
    /// Replaces the password hash of `username`'s account, if there is one. Changes apply in log
    /// order (one user's events share a partition), so the last one applied is the newest.
    async fn change_password(&self, username: &str, password_hash: &str) -> Result<(), StoreError>;
    /// Replaces the profile of `username`'s account, if there is one (in log order, as above).
    async fn set_profile(&self, username: &str, profile: &ProfileFields) -> Result<(), StoreError>;
    /// Marks `username`'s account deleted at `at_ms`, if there is one: its password hash and
    /// profile are cleared and search no longer finds it; the row stays, so the name stays
    /// taken. Applied again, it changes nothing more.
    async fn delete_account(&self, username: &str, at_ms: i64) -> Result<(), StoreError>;
    /// Up to `limit` active accounts whose username starts with `prefix` (at least
    /// [`MIN_PREFIX_CHARS`]), in username order, after `after` when paging.
    async fn users_by_prefix(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<UserRow>, StoreError>;
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError>;
    async fn user_by_id(&self, user_id: &str) -> Result<Option<UserRow>, StoreError>;
}
