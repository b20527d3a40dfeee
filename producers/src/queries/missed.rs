//! What a reconnecting client missed, from the read models: every message for the user between
//! two positions of `confab.messages` (per partition: from the client's cursor up to where live
//! delivery took over), in log order within each partition. Bounded in messages and in bytes: a
//! client further behind pages the history instead, so a made-up old cursor costs no more than
//! that. Streamed: planning keeps only where each message sits and what it weighs; the messages
//! are read a few at a time as they are sent, so a resume of many large messages holds at most
//! [`BUFFER_BYTES`] of them (and one store page while planning).
use std::collections::{HashMap, VecDeque};

use confab_eventlog::{Position, partition_for_key};
use confab_readmodels::{ConversationRow, GroupMessageRow, MessageRow, Sight, StoreError};
use confab_schemas::Topic;

use crate::{ChatError, Opened, UseCases};

/// Rows read per store call while planning: a page of the largest messages is a few MiB.
const PAGE: usize = 64;
/// Most direct conversations looked at; the newest ones, where anything missed would be.
const MAX_CONVERSATIONS: usize = 10_000;
/// Most bytes of messages read ahead of the socket (more when one message is larger).
const BUFFER_BYTES: u64 = 1024 * 1024;

/// How much a resume may send.
#[derive(Debug, Clone, Copy)]
pub struct ResumeBounds {
    pub max_messages: usize,
    /// Bytes of message content and attachment names, roughly what the frames carry.
    pub max_bytes: u64,
}

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
}

/// A conversation or group with missed messages.
#[derive(Debug)]
enum Source {
    Direct(String),
    Group(String),
}

/// Where a missed message sits, and what it weighs; its row is read when it is next.
#[derive(Debug, Clone, Copy)]
struct Spot {
    source: usize,
    partition: u32,
    seq: u64,
    sent_at_ms: i64,
    bytes: u64,
    /// The user deleted it for themself: read in its turn (reads are by ranges), not given out.
    hidden: bool,
}

/// The missed messages, in the order they are sent: each partition's in log order (what a
/// cursor needs), the partitions interleaved by time.
#[derive(Debug)]
pub struct Missed {
    sources: Vec<Source>,
    order: VecDeque<Spot>,
    /// Per source, its spots not yet read, oldest first.
    unread: Vec<VecDeque<Spot>>,
    /// Per source, what was read and not yet given out, oldest first.
    read: Vec<VecDeque<MissedMessage>>,
    buffered_bytes: u64,
}

impl Missed {
    /// Messages left to give out.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The next missed message with its partition; None once all were given out. A message
    /// gone from the store since the plan was made is passed over.
    pub async fn next(&mut self, use_cases: &UseCases) -> Result<Option<(u32, MissedMessage)>, ChatError> {
        while let Some(spot) = self.order.pop_front() {
            if self.read.get(spot.source).is_none_or(VecDeque::is_empty) {
                self.read_ahead(use_cases, spot.source).await?;
            }
            self.buffered_bytes = self.buffered_bytes.saturating_sub(spot.bytes);
            let Some(read) = self.read.get_mut(spot.source) else { continue };
            while read.front().is_some_and(|m| m.seq() < spot.seq) {
                let _ = read.pop_front();
            }
            if read.front().is_some_and(|m| m.seq() == spot.seq) {
                let message = read.pop_front();
                if spot.hidden {
                    continue;
                }
                return Ok(message.map(|m| (spot.partition, m)));
            }
        }
        Ok(None)
    }

    /// Reads the next of `source`'s unread spots: as many in a row as fit what is left of
    /// [`BUFFER_BYTES`], at least one.
    async fn read_ahead(&mut self, use_cases: &UseCases, source: usize) -> Result<(), ChatError> {
        let Some(unread) = self.unread.get_mut(source) else { return Ok(()) };
        let (mut count, mut bytes) = (0usize, 0u64);
        for spot in unread.iter() {
            if count > 0 && self.buffered_bytes + bytes + spot.bytes > BUFFER_BYTES {
                break;
            }
            count += 1;
            bytes += spot.bytes;
        }
        let spots: Vec<Spot> = unread.drain(..count).collect();
        let (Some(first), Some(last)) = (spots.first(), spots.last()) else { return Ok(()) };
        let (after, before) = (first.seq.checked_sub(1), Some(last.seq + 1));
        self.buffered_bytes += bytes;
        let read = use_cases.read();
        let quoter = use_cases.quoter();
        let messages: Vec<MissedMessage> = match &self.sources[source] {
            Source::Direct(conversation_id) => {
                let rows = read.messages.history_by_seq(conversation_id, after, before, count).await?;
                let mut messages = Vec::with_capacity(rows.len());
                for row in rows.into_iter().rev() {
                    messages.push(MissedMessage::Direct(quoter.direct(row).await?));
                }
                messages
            }
            Source::Group(group_id) => {
                let rows = read.messages.group_history(group_id, after, before, count).await?;
                let mut messages = Vec::with_capacity(rows.len());
                for row in rows.into_iter().rev() {
                    messages.push(MissedMessage::Group(quoter.group(row).await?));
                }
                messages
            }
        };
        if let Some(read) = self.read.get_mut(source) {
            read.extend(messages);
        }
        Ok(())
    }
}

/// What a missed message weighs in a frame, roughly: its sealed content, and each attachment's
/// reference with a frame's worth of fields.
fn weight(content: &str, attachments: usize) -> u64 {
    (content.len() + 256 * (attachments + 1)) as u64
}

/// The plan as it is made.
#[derive(Default)]
struct Planning {
    sources: Vec<Source>,
    spots: Vec<Spot>,
    bytes: u64,
}

impl Planning {
    /// Adds `source`'s spots; false once past `bounds`.
    fn add(&mut self, source: Source, spots: impl IntoIterator<Item = Spot>, bounds: ResumeBounds) -> bool {
        let index = self.sources.len();
        self.sources.push(source);
        for spot in spots {
            self.bytes += spot.bytes;
            self.spots.push(Spot { source: index, ..spot });
        }
        self.spots.len() <= bounds.max_messages && self.bytes <= bounds.max_bytes
    }

    fn done(self) -> Missed {
        let mut unread: Vec<VecDeque<Spot>> = self.sources.iter().map(|_| VecDeque::new()).collect();
        let mut by_partition: HashMap<u32, Vec<Spot>> = HashMap::new();
        for spot in self.spots {
            by_partition.entry(spot.partition).or_default().push(spot);
        }
        let mut queues: Vec<VecDeque<Spot>> = by_partition
            .into_values()
            .map(|mut spots| {
                spots.sort_by_key(|s| s.seq);
                spots.into()
            })
            .collect();
        let mut order = VecDeque::new();
        while let Some(next) = queues
            .iter_mut()
            .filter(|q| !q.is_empty())
            .min_by_key(|q| q.front().map_or(i64::MAX, |s| s.sent_at_ms))
            .and_then(VecDeque::pop_front)
        {
            order.push_back(next);
        }
        // A source sits in one partition, so its spots come out of that partition's queue
        // oldest first.
        for spot in &order {
            unread[spot.source].push_back(*spot);
        }
        let read = self.sources.iter().map(|_| VecDeque::new()).collect();
        Missed { sources: self.sources, order, unread, read, buffered_bytes: 0 }
    }
}

impl UseCases {
    /// Plans the messages for `user` with `since[p] <= offset < until[p]` in partition `p`, once
    /// the messages projection holds them all; in a group, only what the user sees. None when
    /// that is more than `bounds` allow.
    pub async fn missed_messages(
        &self,
        user: &str,
        since: &[u64],
        until: &[u64],
        bounds: ResumeBounds,
    ) -> Result<Option<Missed>, ChatError> {
        self.wait_until_projected(since, until).await?;
        let partitions = u32::try_from(until.len()).map_err(ChatError::internal)?;
        let window = |key: &str| {
            let p = partition_for_key(key.as_bytes(), partitions);
            let at = p as usize;
            (p, since.get(at).copied().unwrap_or(0), until.get(at).copied().unwrap_or(0))
        };
        let read = self.read();
        let mut plan = Planning::default();
        // Page by page, so a user with many conversations costs one page of rows at a time.
        let (mut looked_at, mut before) = (0, None);
        while looked_at < MAX_CONVERSATIONS {
            let page = read.messages.conversations(user, before.as_ref(), PAGE).await?;
            let end = page.len() < PAGE;
            looked_at += page.len();
            before = page.last().map(ConversationRow::activity_key);
            for conversation in page {
                let (partition, from, to) = window(&conversation.conversation_id);
                if conversation.last_message.seq < from || from >= to {
                    continue;
                }
                let conversation_id = conversation.conversation_id;
                let Some(spots) = spots_between(
                    from.checked_sub(1),
                    to,
                    bounds.max_messages - plan.spots.len(),
                    |row: &MessageRow| {
                        let bytes = weight(&row.content, row.attachments.len());
                        spot(partition, row.seq, row.sent_at_ms, bytes, row.lifecycle.hidden_from(user))
                    },
                    |after, before| read.messages.history_by_seq(&conversation_id, after, before, PAGE),
                )
                .await?
                else {
                    return Ok(None);
                };
                if !plan.add(Source::Direct(conversation_id), spots, bounds) {
                    return Ok(None);
                }
            }
            if end {
                break;
            }
        }
        for summary in read.groups.groups_of(user).await? {
            let group_id = summary.group.group_id;
            let (partition, from, to) = window(&group_id);
            if summary.last_message.as_ref().is_none_or(|m| m.seq < from) || from >= to {
                continue;
            }
            // Never what the member does not see.
            let sight = self.sight_of(&summary.membership).await?;
            if sight == Sight::Nothing {
                continue;
            }
            let after = from.checked_sub(1).max(sight.floor());
            let Some(spots) = spots_between(
                after,
                to,
                bounds.max_messages - plan.spots.len(),
                |row: &GroupMessageRow| {
                    let bytes = weight(&row.content, row.attachments.len());
                    spot(partition, row.seq, row.sent_at_ms, bytes, row.lifecycle.hidden_from(user))
                },
                |after, before| read.messages.group_history(&group_id, after, before, PAGE),
            )
            .await?
            else {
                return Ok(None);
            };
            if !plan.add(Source::Group(group_id), spots, bounds) {
                return Ok(None);
            }
        }
        Ok(Some(plan.done()))
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

fn spot(partition: u32, seq: u64, sent_at_ms: i64, bytes: u64, hidden: bool) -> Spot {
    Spot { source: 0, partition, seq, sent_at_ms, bytes, hidden }
}

/// Where every row with `after < seq < to` sits, page by page (a store call returns newest
/// first); None as soon as there are more than `limit`.
async fn spots_between<R, Page>(
    after: Option<u64>,
    to: u64,
    limit: usize,
    spot_of: impl Fn(&R) -> Spot,
    mut page: impl FnMut(Option<u64>, Option<u64>) -> Page,
) -> Result<Option<Vec<Spot>>, StoreError>
where
    Page: Future<Output = Result<Vec<R>, StoreError>>,
{
    let mut spots = Vec::new();
    let mut before = Some(to);
    loop {
        let newest_first = page(after, before).await?;
        let Some(oldest) = newest_first.last().map(|row| spot_of(row).seq) else { return Ok(Some(spots)) };
        spots.extend(newest_first.iter().map(&spot_of));
        if spots.len() > limit {
            return Ok(None);
        }
        before = Some(oldest);
    }
}
