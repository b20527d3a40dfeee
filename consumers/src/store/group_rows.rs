use confab_schemas::AttachmentRef;
use serde::{Deserialize, Serialize};

/// What a member may do in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupRole {
    Admin,
    Member,
}

impl GroupRole {
    /// The role an event names; anything but `admin` is a plain member, the safe reading.
    pub fn from_event(role: &str) -> Self {
        if role == "admin" { GroupRole::Admin } else { GroupRole::Member }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::Admin => "admin",
            GroupRole::Member => "member",
        }
    }
}

/// A group's own attributes. `next_offset` is the offset after the last `confab.groups` event
/// applied to it: events below it are never applied again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRow {
    pub group_id: String,
    pub name: String,
    pub owner_id: String,
    pub owner_username: String,
    pub created_at_ms: i64,
    pub next_offset: u64,
}

/// One member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRow {
    pub group_id: String,
    pub user_id: String,
    pub username: String,
    pub role: GroupRole,
    pub joined_at_ms: i64,
    /// Sorts members by how long they have stood: the offset of the event that added them, then
    /// their place in it.
    pub seniority: String,
    /// The member sees only the group's messages after this one; none = the whole history.
    pub history_after: Option<String>,
}

impl MemberRow {
    pub fn seniority(offset: u64, index: usize) -> String {
        format!("{offset:020}.{index:06}")
    }
}

/// A group message; `seq` is its offset in its `confab.messages` partition, which all of the
/// group's messages share, so it orders the group exactly as the log does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMessageRow {
    pub group_id: String,
    pub seq: u64,
    pub message_id: String,
    pub sender_id: String,
    pub sender_username: String,
    pub content: String,
    pub sent_at_ms: i64,
    pub client_message_id: Option<String>,
    /// As the message event carries them (file names sealed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentRef>,
}

/// What one `confab.groups` event does to a group, written as one unit: member puts first, then
/// removals, then the group row with its new `next_offset`, so an event interrupted half way is
/// applied again in full and ends the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChange {
    pub group: GroupRow,
    pub put_members: Vec<MemberRow>,
    /// User ids.
    pub remove_members: Vec<String>,
}

/// One of a user's groups, as their group list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSummary {
    pub group: GroupRow,
    pub membership: MemberRow,
    pub last_message: Option<GroupMessageRow>,
}
