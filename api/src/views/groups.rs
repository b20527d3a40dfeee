//! Groups as answers show them.
use confab_producers::{GroupDetails, rfc3339};
use confab_readmodels::{GroupRow, MemberRow};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MemberView {
    user_id: String,
    username: String,
    /// `admin` or `member`.
    role: &'static str,
    /// RFC 3339 UTC: when they were (last) added.
    joined_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupView {
    group_id: String,
    name: String,
    /// The creator's username.
    owner: String,
    owner_id: String,
    /// Longest-standing first.
    members: Vec<MemberView>,
    created_at: String,
}

impl MemberView {
    pub(crate) fn new(m: &MemberRow) -> Self {
        Self {
            user_id: m.user_id.clone(),
            username: m.username.clone(),
            role: m.role.as_str(),
            joined_at: rfc3339(m.joined_at_ms),
        }
    }
}

impl GroupView {
    pub(crate) fn new(group: &GroupRow, members: &[MemberRow]) -> Self {
        Self {
            group_id: group.group_id.clone(),
            name: group.name.clone(),
            owner: group.owner_username.clone(),
            owner_id: group.owner_id.clone(),
            members: members.iter().map(MemberView::new).collect(),
            created_at: rfc3339(group.created_at_ms),
        }
    }
}

impl From<GroupDetails> for GroupView {
    fn from(details: GroupDetails) -> Self {
        Self::new(&details.group, &details.members)
    }
}
