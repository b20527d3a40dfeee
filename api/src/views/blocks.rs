//! A user on the caller's block list.
use confab_producers::rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockedUser {
    user_id: String,
    username: String,
    /// When the block began, RFC 3339.
    since: String,
}

impl From<confab_readmodels::BlockedUser> for BlockedUser {
    fn from(b: confab_readmodels::BlockedUser) -> Self {
        Self { user_id: b.blocked_id, username: b.blocked_username, since: rfc3339(b.since_ms) }
    }
}
