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
    /// Messages after what the caller has seen ([`confab_readmodels::ReceiptRow::unread`]).
    pub unread_count: u64,
}

/// One of the caller's groups.
#[derive(Debug)]
pub struct GroupListEntry {
    pub group: GroupRow,
    pub membership: MemberRow,
    /// The newest message the caller may see, if any.
    pub last_message: Option<Opened<GroupMessageRow>>,
    /// Messages after what the caller has seen ([`confab_readmodels::ReceiptRow::unread`]).
    pub unread_count: u64,
    /// Those of them that mention the caller.
    pub unread_mentions: u64,
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
            let receipt = self.read().receipts.receipt(&row.conversation_id, &caller.sub).await?.unwrap_or_default();
            let unread_count = receipt.unread(row.last_message.ordinal);
            entries.push(ConversationEntry {
                conversation_id: row.conversation_id,
                peer_id: row.peer_id,
                peer_username: row.peer_username,
                last_message: opener.direct(row.last_message).await?,
                unread_count,
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
            let (last_message, (unread_count, unread_mentions)) = match last_message {
                Some(m) => {
                    let unread = self.group_unread(&group.group_id, &caller.sub, m.ordinal).await?;
                    (Some(opener.group(m).await?), unread)
                }
                None => (None, (0, 0)),
            };
            groups.push(GroupListEntry { group, membership, last_message, unread_count, unread_mentions });
        }
        Ok(GroupPage { groups, next_cursor })
    }

    /// How many messages of `group_id`, whose newest is numbered `last_ordinal`, `user_id` has
    /// not seen, and how many of those mention them.
    async fn group_unread(&self, group_id: &str, user_id: &str, last_ordinal: u64) -> Result<(u64, u64), ChatError> {
        let read = self.read();
        let receipt = read.receipts.receipt(group_id, user_id).await?.unwrap_or_default();
        let mentions = read.messages.mentions_after(group_id, user_id, receipt.seen_seq).await?;
        Ok((receipt.unread(last_ordinal), mentions))
    }
}
