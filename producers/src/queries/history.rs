//! Histories: a direct conversation's and a group's messages, a page at a time, oldest first
//! within the page, walking back by cursor. In a group, only what the caller sees.
use std::collections::HashMap;

use confab_readmodels::{GroupMessageRow, MemberRow, MessageRow, ReadModels, ReceiptRow, ReceiptStatus, Sight};

use crate::{
    Caller, ChatError, Opened, UseCases, conversation_id,
    queries::paging::{message_cursor, oldest_first, unknown_cursor},
};

/// Most store pages one history page reads to fill itself past messages the caller hid.
const MAX_SCANS: usize = 10;

/// A page of a direct conversation.
#[derive(Debug)]
pub struct DirectHistory {
    /// Oldest first; on the caller's own messages, how far the peer got with them: `sent`,
    /// `delivered` or `read`.
    pub messages: Vec<(Opened<MessageRow>, Option<&'static str>)>,
    /// Asks for the page before this one; None at the start of the conversation.
    pub next_cursor: Option<String>,
}

/// How many members who see a message have it on a device, and how many read it.
pub type Tally = (usize, usize);

/// A page of a group's history.
#[derive(Debug)]
pub struct GroupHistory {
    /// Oldest first; on the caller's own messages, how many members who see it have it on a
    /// device, and how many read it.
    pub messages: Vec<(Opened<GroupMessageRow>, Option<Tally>)>,
    /// Asks for the page before this one; None at the start of what the caller sees.
    pub next_cursor: Option<String>,
}

impl UseCases {
    /// Up to `limit` messages of the caller's conversation with `recipient` (a username) before
    /// `before` (a `next_cursor`).
    pub async fn direct_history(
        &self,
        caller: &Caller,
        recipient: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<DirectHistory, ChatError> {
        let before = before.map(message_cursor).transpose()?;
        let peer = self.peer_named(recipient).await.map_err(ChatError::as_recipient)?;
        let read = self.read();
        let conversation = conversation_id(&caller.sub, &peer.user_id).to_string();
        // Messages the caller hid are skipped; a page is filled from further back, up to a bound.
        let (mut rows, mut scanned_to, mut more) = (Vec::new(), before, true);
        for _ in 0..MAX_SCANS {
            let page = read.messages.history(&conversation, scanned_to.as_deref(), limit + 1).await?;
            more = page.len() > limit;
            scanned_to = page.last().map(|row| row.message_id.clone());
            rows.extend(page.into_iter().filter(|row| !row.lifecycle.hidden_from(&caller.sub)));
            if !more || rows.len() > limit {
                break;
            }
        }
        let (rows, next_cursor) = oldest_first(rows, limit, scanned_to.filter(|_| more), |row| &row.message_id);
        let peer_receipts = if rows.iter().any(|row| row.sender_id == caller.sub) && peer.user_id != caller.sub {
            read.receipts.receipts(&conversation).await?.into_iter().find(|r| r.user_id == peer.user_id)
        } else {
            None
        };
        let quoter = self.quoter();
        let mut messages = Vec::with_capacity(rows.len());
        for row in rows {
            let status = (row.sender_id == caller.sub).then(|| {
                peer_receipts.as_ref().and_then(|r| r.status_of(row.seq)).map_or("sent", ReceiptStatus::as_str)
            });
            messages.push((quoter.direct(row).await?, status));
        }
        Ok(DirectHistory { messages, next_cursor })
    }

    /// Up to `limit` of the group's messages the caller sees, before `before` (a `next_cursor`).
    pub async fn group_history(
        &self,
        caller: &Caller,
        raw_group_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<GroupHistory, ChatError> {
        let before = before.map(message_cursor).transpose()?;
        let (group, me) = self.membership(raw_group_id, &caller.sub).await?;
        let group_id = group.group_id;
        let read = self.read();
        let before = match before {
            Some(id) => Some(read.messages.group_message(&group_id, &id).await?.ok_or_else(unknown_cursor)?.seq),
            None => None,
        };
        let sight = confab_readmodels::sight(read.messages.as_ref(), &me).await?;
        if sight == Sight::Nothing {
            return Ok(GroupHistory { messages: Vec::new(), next_cursor: None });
        }
        // Where reading stopped: the last row read, by seq (for the store) and id (for the cursor).
        let (mut rows, mut scanned, mut more) = (Vec::new(), None::<(u64, String)>, true);
        for _ in 0..MAX_SCANS {
            let below = scanned.as_ref().map_or(before, |(seq, _)| Some(*seq));
            let page = read.messages.group_history(&group_id, sight.floor(), below, limit + 1).await?;
            more = page.len() > limit;
            scanned = page.last().map(|row| (row.seq, row.message_id.clone()));
            rows.extend(page.into_iter().filter(|row| !row.lifecycle.hidden_from(&caller.sub)));
            if !more || rows.len() > limit {
                break;
            }
        }
        let (rows, next_cursor) =
            oldest_first(rows, limit, scanned.filter(|_| more).map(|(_, id)| id), |row| &row.message_id);
        let counts = ReceiptCounts::load(&read, &group_id, &caller.sub, &rows).await?;
        let quoter = self.quoter();
        let mut messages = Vec::with_capacity(rows.len());
        for row in rows {
            let counts = counts.of(&row);
            messages.push((quoter.group(row).await?, counts));
        }
        Ok(GroupHistory { messages, next_cursor })
    }
}

/// Receipt counts for the caller's own messages on a page.
struct ReceiptCounts {
    caller: String,
    /// Every other member: what they see and how far they received and read.
    readers: Vec<(Sight, Option<ReceiptRow>)>,
}

impl ReceiptCounts {
    async fn load(
        read: &ReadModels,
        group_id: &str,
        caller: &str,
        rows: &[GroupMessageRow],
    ) -> Result<Self, ChatError> {
        let mut counts = Self { caller: caller.to_owned(), readers: Vec::new() };
        if !rows.iter().any(|row| row.sender_id == caller) {
            return Ok(counts);
        }
        let mut receipts: HashMap<String, ReceiptRow> =
            read.receipts.receipts(group_id).await?.into_iter().map(|r| (r.user_id.clone(), r)).collect();
        let others: Vec<MemberRow> =
            read.groups.members(group_id).await?.into_iter().filter(|m| m.user_id != caller).collect();
        let sights = confab_readmodels::sights(read.messages.as_ref(), &others).await?;
        counts.readers = others
            .iter()
            .map(|m| (sights.get(&m.user_id).copied().unwrap_or(Sight::Nothing), receipts.remove(&m.user_id)))
            .collect();
        Ok(counts)
    }

    /// (delivered, read) among the members who see it; None for others' messages.
    fn of(&self, row: &GroupMessageRow) -> Option<(usize, usize)> {
        if row.sender_id != self.caller {
            return None;
        }
        let states: Vec<Option<ReceiptStatus>> = self
            .readers
            .iter()
            .filter(|(sight, _)| sight.sees(row.seq))
            .map(|(_, receipt)| receipt.as_ref().and_then(|r| r.status_of(row.seq)))
            .collect();
        let delivered = states.iter().filter(|s| s.is_some()).count();
        let read = states.iter().filter(|s| **s == Some(ReceiptStatus::Read)).count();
        Some((delivered, read))
    }
}
