//! A reconnecting client's missed messages as frames: the query (`missed_messages` in
//! `confab-producers`) says what they are; this renders them and orders them for the cursor.
use std::collections::BTreeMap;

use confab_producers::MissedMessage;

use crate::{
    ApiError, AppState,
    live::{
        cursor::Cursor,
        frames::{self, Outbound, Rendered},
    },
};

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
    let Some(messages) = state.use_cases.missed_messages(user, &since.0, until, max).await? else {
        return Ok(None);
    };
    let mut missed = Vec::with_capacity(messages.len());
    for (partition, message) in messages {
        let (seq, sent_at_ms) = (message.seq(), message.sent_at_ms());
        let frame = match message {
            MissedMessage::Direct(m) => frames::direct_message(m, partition)?,
            MissedMessage::Group(m) => frames::group_message(m, partition)?,
        };
        missed.push(Missed { partition, seq, sent_at_ms, frame });
    }
    Ok(Some(in_order(missed, since)))
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
