//! What a reconnecting client missed, from the read models: every message for the user from its
//! cursor up to where live delivery took over, in each conversation's log order. At most a
//! bounded number: a client further behind pages the history instead, so a made-up old cursor
//! costs no more than that.
use std::collections::BTreeMap;

use confab_eventlog::{Position, partition_for_key};
use confab_readmodels::{ConversationRow, GroupMessageRow, MessageRow, Sight, StoreError};
use confab_schemas::Topic;

use crate::{
    ApiError, AppState,
    live::{
        cursor::Cursor,
        frames::{self, Outbound, Rendered},
    },
};

/// Rows read per store call.
const PAGE: usize = 500;
/// Most direct conversations looked at; the newest ones, where anything missed would be.
const MAX_CONVERSATIONS: usize = 10_000;

/// A missed message, rendered, with where it sits.
struct Missed {
    partition: u32,
    seq: u64,
    sent_at_ms: i64,
    frame: Rendered,
}

/// The frames, each with its cursor, for everything in `[since, until)` addressed to `user`;
/// None when that is more than `max` messages.
pub(crate) async fn missed(
    state: &AppState,
    user: &str,
    since: &Cursor,
    until: &[u64],
    max: usize,
) -> Result<Option<Vec<Outbound>>, ApiError> {
    wait_until_projected(state, until, &since.0).await?;
    let partitions = until.len() as u32;
    let window = |key: &str| {
        let p = partition_for_key(key.as_bytes(), partitions);
        (p, since.0[p as usize], until[p as usize])
    };
    let read = state.read_models.now();
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
                let (seq, sent_at_ms) = (row.seq, row.sent_at_ms);
                missed.push(Missed {
                    partition: p,
                    seq,
                    sent_at_ms,
                    frame: frames::direct_message(&state.keyring, row, p)?,
                });
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
        let sight = confab_readmodels::sight(read.messages.as_ref(), &summary.membership).await?;
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
            let (seq, sent_at_ms) = (row.seq, row.sent_at_ms);
            missed.push(Missed {
                partition: p,
                seq,
                sent_at_ms,
                frame: frames::group_message(&state.keyring, row, p)?,
            });
        }
    }
    Ok(Some(in_order(missed, since)))
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

/// Each partition's messages in log order (what a cursor needs), the partitions interleaved by
/// time; each frame's cursor moves only its own partition forward.
fn in_order(missed: Vec<Missed>, since: &Cursor) -> Vec<Outbound> {
    let mut by_partition: BTreeMap<u32, Vec<Missed>> = BTreeMap::new();
    for m in missed {
        by_partition.entry(m.partition).or_default().push(m);
    }
    let mut queues: Vec<std::collections::VecDeque<Missed>> = by_partition
        .into_values()
        .map(|mut ms| {
            ms.sort_by_key(|m| m.seq);
            ms.into()
        })
        .collect();
    let mut cursor = since.clone();
    let mut out = Vec::new();
    while let Some(next) = queues
        .iter_mut()
        .filter(|q| !q.is_empty())
        .min_by_key(|q| q.front().map_or(i64::MAX, |m| m.sent_at_ms))
        .and_then(|q| q.pop_front())
    {
        if let Some(offset) = cursor.0.get_mut(next.partition as usize) {
            *offset = (*offset).max(next.seq + 1);
        }
        out.push(Outbound { text: frames::with_cursor(&next.frame.body, &cursor).into(), message: next.frame.message });
    }
    out
}

/// Waits until the messages projection has applied everything below `until` that the client
/// may be missing, so the read models hold all of it.
async fn wait_until_projected(state: &AppState, until: &[u64], since: &[u64]) -> Result<(), ApiError> {
    for (partition, (&to, &from)) in until.iter().zip(since).enumerate() {
        if to == 0 || from >= to {
            continue;
        }
        let last = Position { topic: Topic::Messages.name().to_owned(), partition: partition as u32, offset: to - 1 };
        if !state.use_cases.projected.wait(&last).await {
            return Err(ApiError::unavailable("messages are still being projected; reconnect shortly"));
        }
    }
    Ok(())
}
