//! The caller's lists, newest activity first, in pages: their conversations and their groups.
use confab_readmodels::{GroupMessageRow, GroupRow, MemberRow, MessageRow};

use crate::{
    Caller, ChatError, Opened, UseCases,
    queries::paging::{GroupActivity, activity_cursor, group_cursor, parse_activity_cursor, parse_group_cursor},
};

/// A page of the caller's conversations.
#[derive(Debug)]
pub struct ConversationPage {
    pub conversations: Vec<ConversationEntry>,
    /// Asks for the page after this one; None at the end of the list.
    pub next_cursor: Option<String>,
}

/// One of the caller's conversations: the peer and the newest message.
#[derive(Debug)]
pub struct ConversationEntry {
    pub conversation_id: String,
    pub peer_id: String,
    pub peer_username: String,
    pub last_message: Opened<MessageRow>,
}

/// One of the caller's groups.
#[derive(Debug)]
pub struct GroupListEntry {
    pub group: GroupRow,
    pub membership: MemberRow,
    /// The newest message the caller may see, if any.
    pub last_message: Option<Opened<GroupMessageRow>>,
}

/// A page of the caller's groups.
#[derive(Debug)]
pub struct GroupPage {
    pub groups: Vec<GroupListEntry>,
    /// Asks for the page after this one; None at the end of the list.
    pub next_cursor: Option<String>,
}

/// A group, the caller's membership and the last message they see, before it is opened.
type GroupSummaryOf = (GroupRow, MemberRow, Option<GroupMessageRow>);

impl UseCases {
    /// Up to `limit` of the caller's conversations after `before` (a `next_cursor`).
    pub async fn conversation_list(
        &self,
        caller: &Caller,
        before: Option<&str>,
        limit: usize,
    ) -> Result<ConversationPage, ChatError> {
        let before = before.map(parse_activity_cursor).transpose()?;
        let mut conversations = self.read().messages.conversations(&caller.sub, before.as_ref(), limit + 1).await?;
        let next_cursor = if conversations.len() > limit {
            conversations.truncate(limit);
            conversations.last().map(|row| activity_cursor(&row.activity_key()))
        } else {
            None
        };
        let opener = self.opener();
        let mut entries = Vec::with_capacity(conversations.len());
        for row in conversations {
            entries.push(ConversationEntry {
                conversation_id: row.conversation_id,
                peer_id: row.peer_id,
                peer_username: row.peer_username,
                last_message: opener.direct(row.last_message).await?,
            });
        }
        let conversations = entries;
        Ok(ConversationPage { conversations, next_cursor })
    }

    /// Up to `limit` of the caller's groups after `before` (a `next_cursor`). A user's groups are
    /// read whole and ordered here: a group's activity depends on what its member may see.
    pub async fn group_list(
        &self,
        caller: &Caller,
        before: Option<&str>,
        limit: usize,
    ) -> Result<GroupPage, ChatError> {
        let before = before.map(parse_group_cursor).transpose()?;
        let read = self.read();
        let mut entries: Vec<(GroupActivity, GroupSummaryOf)> = Vec::new();
        for summary in read.groups.groups_of(&caller.sub).await? {
            // The last message moves only forward: if the member does not see it, they see none.
            let sight = confab_readmodels::sight(read.messages.as_ref(), &summary.membership).await?;
            let last_message = summary.last_message.filter(|m| sight.sees(m.seq));
            let at_ms = last_message.as_ref().map_or(summary.membership.joined_at_ms, |m| m.sent_at_ms);
            let activity = GroupActivity { at_ms, group_id: summary.group.group_id.clone() };
            if before.as_ref().is_none_or(|before| activity < *before) {
                entries.push((activity, (summary.group, summary.membership, last_message)));
            }
        }
        entries.sort_by(|a, b| b.0.cmp(&a.0));
        let next_cursor = if entries.len() > limit {
            entries.truncate(limit);
            entries.last().map(|(activity, _)| group_cursor(activity))
        } else {
            None
        };
        let opener = self.opener();
        let mut groups = Vec::with_capacity(entries.len());
        for (_, (group, membership, last_message)) in entries {
            let last_message = match last_message {
                Some(m) => Some(opener.group(m).await?),
                None => None,
            };
            groups.push(GroupListEntry { group, membership, last_message });
        }
        Ok(GroupPage { groups, next_cursor })
    }
}
