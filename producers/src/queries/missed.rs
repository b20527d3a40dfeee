//! What a reconnecting client missed, from the read models: every message for the user between
//! two positions of `confab.messages` (per partition: from the client's cursor up to where live
//! delivery took over), in each conversation's log order. At most a bounded number: a client
//! further behind pages the history instead, so a made-up old cursor costs no more than that.
use confab_eventlog::{Position, partition_for_key};
use confab_readmodels::{ConversationRow, GroupMessageRow, MessageRow, Sight, StoreError};
use confab_schemas::Topic;

use crate::{ChatError, Opened, UseCases};

/// Rows read per store call.
const PAGE: usize = 500;
/// Most direct conversations looked at; the newest ones, where anything missed would be.
const MAX_CONVERSATIONS: usize = 10_000;

/// A missed message, opened.
#[derive(Debug)]
pub enum MissedMessage {
    Direct(Opened<MessageRow>),
    Group(Opened<GroupMessageRow>),
}

impl MissedMessage {
    /// Its offset in its `confab.messages` partition.
    pub fn seq(&self) -> u64 {
        match self {
            Self::Direct(m) => m.row.seq,
            Self::Group(m) => m.row.seq,
        }
    }

    pub fn sent_at_ms(&self) -> i64 {
        match self {
            Self::Direct(m) => m.row.sent_at_ms,
            Self::Group(m) => m.row.sent_at_ms,
        }
    }
}

/// Missed messages with their `confab.messages` partition.
pub type Missed = Vec<(u32, MissedMessage)>;

impl UseCases {
    /// Every message for `user` with `since[p] <= offset < until[p]` in partition `p`, once the
    /// messages projection holds them all; in a group, only what the user sees. None when that
    /// is more than `max` messages.
    pub async fn missed_messages(
        &self,
        user: &str,
        since: &[u64],
        until: &[u64],
        max: usize,
    ) -> Result<Option<Missed>, ChatError> {
        self.wait_until_projected(since, until).await?;
        let partitions = u32::try_from(until.len()).map_err(ChatError::internal)?;
        let window = |key: &str| {
            let p = partition_for_key(key.as_bytes(), partitions);
            let at = p as usize;
            (p, since.get(at).copied().unwrap_or(0), until.get(at).copied().unwrap_or(0))
        };
        let read = self.read();
        let opener = self.opener();
        let mut missed = Vec::new();
        // Page by page, so a user with many conversations costs one page of rows at a time.
        let (mut looked_at, mut before) = (0, None);
        while looked_at < MAX_CONVERSATIONS {
            let page = read.messages.conversations(user, before.as_ref(), PAGE).await?;
            let end = page.len() < PAGE;
            looked_at += page.len();
            before = page.last().map(ConversationRow::activity_key);
            for conversation in page {
                let (p, from, to) = window(&conversation.conversation_id);
                if conversation.last_message.seq < from || from >= to {
                    continue;
                }
                let conversation_id = &conversation.conversation_id;
                let Some(rows) = all_between(
                    from.checked_sub(1),
                    to,
                    max - missed.len(),
                    |row: &MessageRow| row.seq,
                    |after, before| read.messages.history_by_seq(conversation_id, after, before, PAGE),
                )
                .await?
                else {
                    return Ok(None);
                };
                for row in rows {
                    missed.push((p, MissedMessage::Direct(opener.direct(row)?)));
                }
            }
            if end {
                break;
            }
        }
        for summary in read.groups.groups_of(user).await? {
            let group_id = &summary.group.group_id;
            let (p, from, to) = window(group_id);
            if summary.last_message.as_ref().is_none_or(|m| m.seq < from) || from >= to {
                continue;
            }
            // Never what the member does not see.
            let sight = self.sight_of(&summary.membership).await?;
            if sight == Sight::Nothing {
                continue;
            }
            let after = from.checked_sub(1).max(sight.floor());
            let Some(rows) = all_between(
                after,
                to,
                max - missed.len(),
                |row: &GroupMessageRow| row.seq,
                |after, before| read.messages.group_history(group_id, after, before, PAGE),
            )
            .await?
            else {
                return Ok(None);
            };
            for row in rows {
                missed.push((p, MissedMessage::Group(opener.group(row)?)));
            }
        }
        Ok(Some(missed))
    }

    /// Waits until the messages projection has applied everything below `until` that the client
    /// may be missing, so the read models hold all of it.
    async fn wait_until_projected(&self, since: &[u64], until: &[u64]) -> Result<(), ChatError> {
        for (partition, (&to, &from)) in until.iter().zip(since).enumerate() {
            if to == 0 || from >= to {
                continue;
            }
            let partition = u32::try_from(partition).map_err(ChatError::internal)?;
            let last = Position { topic: Topic::Messages.name().to_owned(), partition, offset: to - 1 };
            if !self.projected.wait(&last).await {
                return Err(ChatError::not_projected());
            }
        }
        Ok(())
    }
}

/// Every row with `after < seq < to`, page by page (a store call returns newest first); None
/// as soon as there are more than `limit`.
async fn all_between<R, Page>(
    after: Option<u64>,
    to: u64,
    limit: usize,
    seq: impl Fn(&R) -> u64,
    mut page: impl FnMut(Option<u64>, Option<u64>) -> Page,
) -> Result<Option<Vec<R>>, StoreError>
where
    Page: Future<Output = Result<Vec<R>, StoreError>>,
{
    let mut rows = Vec::new();
    let mut before = Some(to);
    loop {
        let newest_first = page(after, before).await?;
        let Some(oldest) = newest_first.last().map(&seq) else { return Ok(Some(rows)) };
        rows.extend(newest_first);
        if rows.len() > limit {
            return Ok(None);
        }
        before = Some(oldest);
    }
}
