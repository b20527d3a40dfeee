//! The notifier: follows `confab.messages` and `confab.groups` from where they end when it starts
//! and works out who should hear of each event. Whoever holds the live connections (the API's
//! hub) renders and delivers; this side only decides the audience.
//!
//! Every API process runs its own, outside any consumer group, so each sees every event. It
//! never commits: a process that restarts starts again at the end, and a client that missed
//! something in between resumes from the read models with its cursor.
use std::{collections::HashMap, sync::Arc, time::Duration};

use confab_eventlog::{EventLog, LogError, Position, ReadStart};
use confab_schemas::{Codec, Event, Topic};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::Backoff;
use confab_readmodels::{LiveReadModels, StoreError};

const BATCH: usize = 512;
const POLL_TIMEOUT: Duration = Duration::from_millis(500);

/// An event and the users who should hear of it.
#[derive(Debug, Clone)]
pub struct Notification {
    pub event: Event,
    pub position: Position,
    pub audience: Vec<String>,
}

/// Receives what the notifier reads, in log order within each partition.
pub trait NotificationSink: Send + Sync + 'static {
    /// Called once, before any batch, with where reading starts in each `confab.messages`
    /// partition.
    fn started(&self, messages_start: Vec<u64>);

    /// A batch: its notifications, and the position of every record read, including those that
    /// notify nobody, so progress moves past them too.
    fn deliver(&self, notifications: Vec<Notification>, positions: &[Position]);
}

pub struct Notifier {
    log: Arc<dyn EventLog>,
    codec: Arc<Codec>,
    /// The live read models, for group memberships.
    read_models: LiveReadModels,
}

impl Notifier {
    pub fn new(log: Arc<dyn EventLog>, codec: Arc<Codec>, read_models: LiveReadModels) -> Self {
        Self { log, codec, read_models }
    }

    /// Starts reading at the current end of the topics and returns once it reads: whatever is
    /// appended after this returns reaches `sink`.
    pub async fn start(
        self,
        sink: Arc<dyn NotificationSink>,
        shutdown: CancellationToken,
    ) -> Result<JoinHandle<()>, LogError> {
        let mut starts = Vec::new();
        for topic in [Topic::Messages, Topic::Groups] {
            let offsets = self.log.end_offsets(topic.name()).await?;
            starts.push(ReadStart { topic: topic.name().to_owned(), offsets });
        }
        let mut reader = self.log.read_from(&starts).await?;
        sink.started(starts[0].offsets.clone());
        tracing::info!(start = ?starts, "notifier started");
        Ok(tokio::spawn(async move {
            let mut backoff = Backoff::default();
            let mut removed = RemovedSenders::default();
            loop {
                let polled = tokio::select! {
                    () = shutdown.cancelled() => break,
                    polled = reader.poll(BATCH, POLL_TIMEOUT) => polled,
                };
                let records = match polled {
                    Ok(records) => records,
                    Err(LogError::Closed) => break,
                    Err(error) => {
                        tracing::warn!(%error, "notifier cannot read the log, retrying");
                        if !backoff.wait(&shutdown).await {
                            break;
                        }
                        continue;
                    }
                };
                backoff.reset();
                if records.is_empty() {
                    continue;
                }
                let positions: Vec<Position> = records.iter().map(|r| r.position.clone()).collect();
                let mut notifications = Vec::new();
                let mut members = MemberCache::default();
                for record in records {
                    let event = match self.codec.decode(&record.record.value) {
                        Ok(event) => event,
                        Err(error) => {
                            // The projections dead-letter it; there is nothing to tell anyone.
                            tracing::warn!(%error, position = ?record.position, "notifier skips an undecodable record");
                            continue;
                        }
                    };
                    if !removed.follow(&event) {
                        continue; // a message the projection does not store either
                    }
                    let Some(audience) = self.audience(&event, &mut members, &shutdown).await else {
                        return; // shut down while the store was out
                    };
                    if !audience.is_empty() {
                        notifications.push(Notification { event, position: record.position, audience });
                    }
                }
                sink.deliver(notifications, &positions);
            }
            tracing::info!("notifier stopped");
        }))
    }

    /// Who hears of `event`; None only when shutdown came while the store was unreachable,
    /// which is waited out rather than skipped, so no one misses a frame silently.
    async fn audience(
        &self,
        event: &Event,
        members: &mut MemberCache,
        shutdown: &CancellationToken,
    ) -> Option<Vec<String>> {
        let mut audience = match event {
            Event::DirectMessageSent(e) => vec![e.payload.sender_id.clone(), e.payload.recipient_id.clone()],
            // Delivered matters to the author only; a read also clears the reader's other devices.
            Event::DirectMessagesDelivered(e) => vec![e.payload.peer_id.clone()],
            Event::DirectMessagesRead(e) => vec![e.payload.reader_id.clone(), e.payload.peer_id.clone()],
            Event::GroupCreated(e) => e.payload.members.iter().map(|m| m.user_id.clone()).collect(),
            Event::GroupMessageSent(e) => members.get(self, &e.payload.group_id, shutdown).await?,
            Event::GroupMessagesDelivered(e) => {
                let mut all = members.get(self, &e.payload.group_id, shutdown).await?;
                all.retain(|member| *member != e.payload.reader_id);
                all
            }
            Event::GroupMessagesRead(e) => members.get(self, &e.payload.group_id, shutdown).await?,
            Event::GroupRenamed(e) => members.get(self, &e.payload.group_id, shutdown).await?,
            Event::GroupMemberRoleChanged(e) => members.get(self, &e.payload.group_id, shutdown).await?,
            // The member themselves too: the read model may not list them yet, or any more.
            Event::GroupMemberAdded(e) => {
                let mut all = members.get(self, &e.payload.group_id, shutdown).await?;
                all.push(e.payload.user_id.clone());
                all
            }
            Event::GroupMemberRemoved(e) => {
                let mut all = members.get(self, &e.payload.group_id, shutdown).await?;
                all.push(e.payload.user_id.clone());
                all
            }
            Event::UserRegistered(_)
            | Event::AttachmentRequested(_)
            | Event::AttachmentUploaded(_)
            | Event::GroupMembershipMarked(_) => Vec::new(),
        };
        audience.sort();
        audience.dedup();
        Some(audience)
    }

    async fn members(&self, group_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.read_models.now().groups.members(group_id).await?.into_iter().map(|m| m.user_id).collect())
    }
}

/// Most removed senders remembered; past it, a removed member's late message may still be
/// pushed live (the read models never hold it).
const MAX_REMOVED_SENDERS: usize = 100_000;

/// The (group, user) pairs whose removal was marked in the group's message order since the
/// notifier started: their messages after the mark are not part of the group.
#[derive(Default)]
struct RemovedSenders(std::collections::HashSet<(String, String)>);

impl RemovedSenders {
    /// Takes in `event`; false for a group message from a removed sender.
    fn follow(&mut self, event: &Event) -> bool {
        match event {
            Event::GroupMembershipMarked(e) => {
                let key = (e.payload.group_id.clone(), e.payload.user_id.clone());
                if e.payload.member {
                    let _ = self.0.remove(&key);
                } else if self.0.len() < MAX_REMOVED_SENDERS {
                    let _ = self.0.insert(key);
                }
                true
            }
            Event::GroupMessageSent(e) => !self.0.contains(&(e.payload.group_id.clone(), e.payload.sender_id.clone())),
            _ => true,
        }
    }
}

/// Members per group for one batch: a busy group is looked up once per batch, not per message.
/// Dropped after the batch, so membership changes are seen by the next one.
#[derive(Default)]
struct MemberCache(HashMap<String, Vec<String>>);

impl MemberCache {
    async fn get(&mut self, notifier: &Notifier, group_id: &str, shutdown: &CancellationToken) -> Option<Vec<String>> {
        if let Some(members) = self.0.get(group_id) {
            return Some(members.clone());
        }
        let mut backoff = Backoff::default();
        loop {
            match notifier.members(group_id).await {
                Ok(members) => {
                    let _ = self.0.insert(group_id.to_owned(), members.clone());
                    return Some(members);
                }
                Err(error) => {
                    tracing::warn!(%error, group_id, "notifier cannot read group members, retrying");
                    if !backoff.wait(shutdown).await {
                        return None;
                    }
                }
            }
        }
    }
}
