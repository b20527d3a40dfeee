//! Who sees what in a group: one rule, decided in the group's message order (the offsets of its
//! `confab.messages` partition), never by a clock. Every path that shows a group's messages,
//! receipts or attachments asks it: history, resume, live frames, attachment lists and
//! downloads, receipts and their counts.
//!
//! A member added by a marked `GroupMemberAdded` sees what sits above the first
//! `GroupMembershipMarked` of that addition, and nothing until that mark is projected. A member
//! from the group's creation sees everything. An unmarked addition (written before marks) keeps
//! the rule of its time: what comes after `history_after`. Removal needs no rule here: a former
//! member reads nothing of the group, and the live audience drops them at their removal mark.
use std::collections::HashMap;

use crate::{AttachmentRow, GroupRow, MemberRow, MembershipMark, MessageStore, StoreError};

/// From where in its group's message order one member sees the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    /// All of it: a member since the group was created.
    Everything,
    /// What sits above this offset.
    After(u64),
    /// Nothing yet: what places the member's addition is not projected.
    Nothing,
}

impl Sight {
    /// Whether the member sees what sits at `seq` of the group's partition.
    pub fn sees(self, seq: u64) -> bool {
        match self {
            Sight::Everything => true,
            Sight::After(floor) => seq > floor,
            Sight::Nothing => false,
        }
    }

    /// The lowest offset the member sees, for range reads: None for everything.
    pub fn floor(self) -> Option<u64> {
        match self {
            Sight::Everything => None,
            Sight::After(floor) => Some(floor),
            Sight::Nothing => Some(u64::MAX),
        }
    }

    /// A marked addition's sight: after the first mark of `change` among `marks`.
    pub fn marked(change: &str, marks: &[MembershipMark]) -> Sight {
        marks
            .iter()
            .filter(|mark| mark.member && mark.change_event_id.as_deref() == Some(change))
            .map(|mark| mark.seq)
            .min()
            .map_or(Sight::Nothing, Sight::After)
    }

    /// Whether the member sees the group attachment `row`: their own always; one placed in the
    /// group's order like a message; one requested before placing was kept, by the rule of its
    /// time (requested since the member joined, or they were there from the start).
    pub fn sees_attachment(self, member: &MemberRow, group: &GroupRow, row: &AttachmentRow) -> bool {
        if row.uploader_id == member.user_id {
            return true;
        }
        match (self, row.group_offset) {
            (Sight::Everything, _) => true,
            (Sight::Nothing, _) => false,
            (sight, Some(offset)) => sight.sees(offset),
            (Sight::After(_), None) => {
                member.joined_at_ms <= group.created_at_ms || row.created_at_ms >= member.joined_at_ms
            }
        }
    }
}

/// One member's sight of their group.
pub async fn sight(messages: &dyn MessageStore, member: &MemberRow) -> Result<Sight, StoreError> {
    match (&member.added_by, &member.history_after) {
        (Some(change), _) => {
            Ok(Sight::marked(change, &messages.membership_marks(&member.group_id, &member.user_id).await?))
        }
        (None, None) => Ok(Sight::Everything),
        (None, Some(after)) => legacy_floor(messages, &member.group_id, after).await,
    }
}

/// Every member's sight of one group, with one read of the group's marks.
pub async fn sights(messages: &dyn MessageStore, members: &[MemberRow]) -> Result<HashMap<String, Sight>, StoreError> {
    sights_with(messages, members, &[]).await
}

/// As [`sights`], with marks known besides the store's: those a reader of the log has seen
/// and the projection may not have applied yet.
pub async fn sights_with(
    messages: &dyn MessageStore,
    members: &[MemberRow],
    seen: &[MembershipMark],
) -> Result<HashMap<String, Sight>, StoreError> {
    let Some(group_id) = members.first().map(|m| m.group_id.as_str()) else { return Ok(HashMap::new()) };
    let mut marks =
        if members.iter().any(|m| m.added_by.is_some()) { messages.group_marks(group_id).await? } else { Vec::new() };
    marks.extend(seen.iter().filter(|mark| mark.group_id == group_id).cloned());
    let mut floors: HashMap<&str, Sight> = HashMap::new();
    let mut out = HashMap::with_capacity(members.len());
    for member in members {
        let sight = match (&member.added_by, &member.history_after) {
            (Some(change), _) => Sight::marked(change, &marks),
            (None, None) => Sight::Everything,
            (None, Some(after)) => match floors.get(after.as_str()) {
                Some(sight) => *sight,
                None => {
                    let sight = legacy_floor(messages, group_id, after).await?;
                    let _ = floors.insert(after, sight);
                    sight
                }
            },
        };
        let _ = out.insert(member.user_id.clone(), sight);
    }
    Ok(out)
}

/// An unmarked addition's sight: after the message its history starts after, nothing while
/// that message is not projected (show nothing rather than too much).
async fn legacy_floor(messages: &dyn MessageStore, group_id: &str, after: &str) -> Result<Sight, StoreError> {
    Ok(messages.group_message(group_id, after).await?.map_or(Sight::Nothing, |m| Sight::After(m.seq)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AttachmentStatus, GroupRole};

    fn mark(seq: u64, member: bool, change: Option<&str>) -> MembershipMark {
        MembershipMark {
            group_id: "g".into(),
            user_id: "u".into(),
            seq,
            member,
            change_event_id: change.map(str::to_owned),
        }
    }

    #[test]
    fn a_marked_addition_sees_above_its_first_mark_and_nothing_before_it() {
        assert_eq!(Sight::marked("add", &[]), Sight::Nothing);
        let marks = [
            mark(3, true, Some("old")),
            mark(5, false, Some("gone")),
            mark(9, true, Some("add")),
            mark(12, true, Some("add")),
        ];
        let sight = Sight::marked("add", &marks);
        assert_eq!(sight, Sight::After(9), "the first mark of this addition; older marks are other memberships");
        assert!(!sight.sees(9) && !sight.sees(4) && sight.sees(10));
        assert_eq!(
            Sight::marked("add", &[mark(9, false, Some("add"))]),
            Sight::Nothing,
            "a removal mark places no addition"
        );
        assert!(Sight::Everything.sees(0) && !Sight::Nothing.sees(u64::MAX));
        assert_eq!((Sight::Everything.floor(), Sight::After(4).floor()), (None, Some(4)));
    }

    #[test]
    fn attachments_follow_the_same_order_or_the_rule_of_their_time() {
        let group = GroupRow {
            group_id: "g".into(),
            name: "n".into(),
            owner_id: "o".into(),
            owner_username: "o".into(),
            created_at_ms: 100,
            next_offset: 1,
        };
        let member = MemberRow {
            group_id: "g".into(),
            user_id: "u".into(),
            username: "u".into(),
            role: GroupRole::Member,
            joined_at_ms: 500,
            seniority: MemberRow::seniority(1, 0),
            history_after: None,
            added_by: Some("add".into()),
        };
        let row = |uploader: &str, created_at_ms: i64, group_offset: Option<u64>| AttachmentRow {
            attachment_id: "a".into(),
            kind: "group".into(),
            conversation_id: "g".into(),
            recipient_id: None,
            uploader_id: uploader.into(),
            uploader_username: uploader.into(),
            file_name: "f".into(),
            content_type: "text/plain".into(),
            size: 1,
            declared_sha256: "0".repeat(64),
            upload_key: "k".into(),
            status: AttachmentStatus::Available,
            reason: None,
            created_at_ms,
            expires_at_ms: 0,
            settled_at_ms: None,
            group_offset,
        };
        let sight = Sight::After(9);
        assert!(!sight.sees_attachment(&member, &group, &row("x", 900, Some(9))), "placed at the mark: before it");
        assert!(sight.sees_attachment(&member, &group, &row("x", 1, Some(10))), "placed after: the clock is not asked");
        assert!(sight.sees_attachment(&member, &group, &row("u", 1, Some(1))), "their own");
        assert!(!Sight::Nothing.sees_attachment(&member, &group, &row("x", 900, Some(99))));
        assert!(sight.sees_attachment(&member, &group, &row("x", 600, None)), "unplaced: requested since joining");
        assert!(!sight.sees_attachment(&member, &group, &row("x", 400, None)), "unplaced: before joining");
    }
}
