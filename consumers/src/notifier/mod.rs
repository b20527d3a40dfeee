//! The notifier: follows `confab.messages`, `confab.groups` and `confab.users` from where they
//! end when it starts and works out who should hear of each event. Whoever holds the live connections (the API's
//! hub) renders and delivers; this side only decides the audience.
//!
//! Every API process runs its own, outside any consumer group, so each sees every event. It
//! never commits: a process that restarts starts again at the end, and a client that missed
//! something in between resumes from the read models with its cursor.
mod blocks;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use confab_eventlog::{EventLog, LogError, Position, ReadStart};
use confab_schemas::{Codec, Event, Topic, place_kind};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::Backoff;
use blocks::BlocksKnown;
use confab_readmodels::{
    LiveReadModels, MAX_PAGE_ROWS, MemberRow, MembershipMark, Sight, StoreError, change_applied, sights_with,
};

const BATCH: usize = 512;
const POLL_TIMEOUT: Duration = Duration::from_millis(500);
/// Longest a membership change waits for the groups projection's verdict before it is left
/// unannounced (the group's members still see it in the group; the frame is a nudge). The
/// frames behind it wait as long, so it is short.
const OUTCOME_WAIT: Duration = Duration::from_secs(10);
/// Most groups whose members hear of one user's profile change: a bound on what one change
/// costs, not a rule (members of more of a user's groups see it on their next read).
const MAX_CONTACT_GROUPS: usize = 200;

/// An event and the users who should hear of it.
#[derive(Debug, Clone)]
pub struct Notification {
    pub event: Event,
    pub position: Position,
    pub audience: Vec<String>,
}

/// Receives what the notifier reads, in log order within each partition.
#[async_trait::async_trait]
pub trait NotificationSink: Send + Sync + 'static {
    /// Called once, before any batch, with where reading starts in each `confab.messages`
    /// partition.
    fn started(&self, messages_start: Vec<u64>);

    /// A batch: its notifications, and the position of every record read, including those that
    /// notify nobody, so progress moves past them too.
    async fn deliver(&self, notifications: Vec<Notification>, positions: &[Position]);
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
        for topic in [Topic::Messages, Topic::Groups, Topic::Users] {
            let offsets = self.log.end_offsets(topic.name()).await?;
            starts.push(ReadStart { topic: topic.name().to_owned(), offsets });
        }
        let mut reader = self.log.read_from(&starts).await?;
        sink.started(starts[0].offsets.clone());
        tracing::info!(start = ?starts, "notifier started");
        Ok(tokio::spawn(async move {
            let mut backoff = Backoff::default();
            let mut marks = MarksSeen::default();
            let mut blocks = BlocksKnown::default();
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
                    let offset = record.position.offset;
                    let Some(admitted) = blocks.admits(&self.read_models, &event, offset, &shutdown).await else {
                        return; // shut down while the store was out
                    };
                    if !admitted || !marks.follow(&event, offset) {
                        continue; // a message the projection does not store either
                    }
                    if let Event::GroupMembershipMarked(e) = &event {
                        members.marked(&e.payload.group_id);
                    }
                    let Some(audience) =
                        self.audience(&event, record.position.offset, &mut members, &marks, &shutdown).await
                    else {
                        return; // shut down while the store was out
                    };
                    if !audience.is_empty() {
                        notifications.push(Notification { event, position: record.position, audience });
                    }
                }
                sink.deliver(notifications, &positions).await;
            }
            tracing::info!("notifier stopped");
        }))
    }

    /// Who hears of `event`; None only when shutdown came while the store was unreachable,
    /// which is waited out rather than skipped, so no one misses a frame silently.
    async fn audience(
        &self,
        event: &Event,
        offset: u64,
        members: &mut MemberCache,
        marks: &MarksSeen,
        shutdown: &CancellationToken,
    ) -> Option<Vec<String>> {
        let mut audience = match event {
            Event::DirectMessageSent(e) => vec![e.payload.sender_id.clone(), e.payload.recipient_id.clone()],
            // Delivered matters to the author only; a read also clears the reader's other devices.
            Event::DirectMessagesDelivered(e) => vec![e.payload.peer_id.clone()],
            Event::DirectMessagesRead(e) => vec![e.payload.reader_id.clone(), e.payload.peer_id.clone()],
            Event::GroupCreated(e) => e.payload.members.iter().map(|m| m.user_id.clone()).collect(),
            // Only those who see it, by the one rule, with the marks this reader has seen.
            Event::GroupMessageSent(e) => members.seeing(self, &e.payload.group_id, offset, marks, shutdown).await?,
            // Those who see the message, and no one else.
            Event::MessageEdited(_) | Event::MessageDeleted(_) | Event::MessageReacted(_) | Event::MessagePinned(_) => match event.changed_message() {
                Some(changed) if changed.kind == place_kind::GROUP => {
                    let message_seq = u64::try_from(changed.message_offset).unwrap_or(u64::MAX);
                    members.seeing(self, changed.place_id, message_seq, marks, shutdown).await?
                }
                Some(changed) => [Some(changed.sender_id), changed.recipient_id].into_iter().flatten().map(str::to_owned).collect(),
                None => Vec::new(),
            },
            Event::GroupMessagesDelivered(e) => {
                let mut all = members.get(self, &e.payload.group_id, shutdown).await?;
                all.retain(|member| *member != e.payload.reader_id);
                all
            }
            Event::GroupMessagesRead(e) => members.get(self, &e.payload.group_id, shutdown).await?,
            Event::GroupRenamed(e) => members.get(self, &e.payload.group_id, shutdown).await?,
            Event::GroupMemberRoleChanged(e) => members.get(self, &e.payload.group_id, shutdown).await?,
            // Only a change the projection applied; the member themselves too: the read model may
            // not list them yet, or any more.
            Event::GroupMemberAdded(e) if self.applied(&e.payload.group_id, offset, shutdown).await? => {
                let mut all = members.get(self, &e.payload.group_id, shutdown).await?;
                all.push(e.payload.user_id.clone());
                all
            }
            Event::GroupMemberRemoved(e) if self.applied(&e.payload.group_id, offset, shutdown).await? => {
                let mut all = members.get(self, &e.payload.group_id, shutdown).await?;
                all.push(e.payload.user_id.clone());
                all
            }
            Event::GroupMemberAdded(_) | Event::GroupMemberRemoved(_) => Vec::new(),
            Event::ProfileUpdated(e) => self.contacts(&e.payload.user_id, shutdown).await?,
            // Hidden for its actor only: their other devices.
            Event::MessageHidden(e) => vec![e.actor_id.clone()],
            // Session ends reach sockets through the revocations.
            Event::UserRegistered(_)
            | Event::SessionStarted(_)
            | Event::SessionRefreshed(_)
            | Event::SessionEnded(_)
            | Event::PasswordChanged(_)
            | Event::AccountDeleted(_)
            | Event::PushTargetRegistered(_)
            | Event::PushTargetRemoved(_)
            | Event::PlaceMuted(_)
            | Event::AttachmentRequested(_)
            | Event::AttachmentUploaded(_)
            | Event::GroupMembershipMarked(_)
            // A block is not announced, not even to the blocker's other devices: it shows in
            // their list; the blocked person learns no more than a refusal.
            | Event::UserBlocked(_)
            | Event::UserUnblocked(_) => Vec::new(),
        };
        audience.sort();
        audience.dedup();
        Some(audience)
    }

    /// Who hears of a user's profile: the user (their other devices), the peers of their
    /// newest conversations and the members of their groups, at most [`MAX_CONTACT_GROUPS`]
    /// groups and [`MAX_PAGE_ROWS`] conversations; None if shutdown came first.
    async fn contacts(&self, user_id: &str, shutdown: &CancellationToken) -> Option<Vec<String>> {
        let read = self.read_models.now();
        let peers = retried(shutdown, user_id, || read.messages.conversations(user_id, None, MAX_PAGE_ROWS)).await?;
        let groups = retried(shutdown, user_id, || read.groups.groups_of(user_id)).await?;
        let mut audience = vec![user_id.to_owned()];
        audience.extend(peers.into_iter().map(|c| c.peer_id));
        for summary in groups.iter().take(MAX_CONTACT_GROUPS) {
            let group_id = &summary.group.group_id;
            let members = retried(shutdown, group_id, || read.groups.members(group_id)).await?;
            audience.extend(members.into_iter().map(|m| m.user_id));
        }
        Some(audience)
    }

    async fn members(&self, group_id: &str) -> Result<Vec<MemberRow>, StoreError> {
        self.read_models.now().groups.members(group_id).await
    }

    /// Whether the membership change at `offset` was applied, once the groups projection has
    /// decided it (false if it has not within [`OUTCOME_WAIT`]); None if shutdown came first.
    async fn applied(&self, group_id: &str, offset: u64, shutdown: &CancellationToken) -> Option<bool> {
        let deadline = Instant::now() + OUTCOME_WAIT;
        let mut backoff = Backoff::default();
        loop {
            match change_applied(self.read_models.now().groups.as_ref(), group_id, offset).await {
                Ok(Some(applied)) => return Some(applied),
                Ok(None) if Instant::now() >= deadline => {
                    tracing::warn!(
                        group_id,
                        offset,
                        "the groups projection has not decided a membership change; not announced"
                    );
                    return Some(false);
                }
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, group_id, "notifier cannot read a membership outcome, retrying"),
            }
            if !backoff.wait(shutdown).await {
                return None;
            }
        }
    }
}

/// Most membership marks remembered; past it, a sight is taken from the store's marks alone
/// (a new member's first live frames may wait for the projection), and a removed member's late
/// message may still be pushed live (the read models never hold it).
const MAX_MARKS_SEEN: usize = 100_000;

/// The membership marks this reader has seen since it started, in the groups' message order:
/// they place additions the projection may not have applied yet, and removals whose members'
/// later messages are not part of the group.
#[derive(Default)]
struct MarksSeen {
    by_group: HashMap<String, Vec<MembershipMark>>,
    count: usize,
}

impl MarksSeen {
    /// Takes in `event` at `offset`; false for a group message from a removed sender.
    fn follow(&mut self, event: &Event, offset: u64) -> bool {
        match event {
            Event::GroupMembershipMarked(e) => {
                if self.count < MAX_MARKS_SEEN {
                    self.count += 1;
                    self.by_group.entry(e.payload.group_id.clone()).or_default().push(MembershipMark {
                        group_id: e.payload.group_id.clone(),
                        user_id: e.payload.user_id.clone(),
                        seq: offset,
                        member: e.payload.member,
                        change_event_id: Some(e.payload.change_event_id.clone()),
                    });
                }
                true
            }
            Event::GroupMessageSent(e) => !self.removed(&e.payload.group_id, &e.payload.sender_id),
            Event::MessageEdited(_) | Event::MessageDeleted(_) | Event::MessageReacted(_) => {
                event.changed_message().is_none_or(|changed| {
                    changed.kind != place_kind::GROUP || !self.removed(changed.place_id, event.actor_id())
                })
            }
            _ => true,
        }
    }

    /// Whether the newest mark seen of `user` in `group` says they left.
    fn removed(&self, group_id: &str, user_id: &str) -> bool {
        self.by_group
            .get(group_id)
            .and_then(|marks| marks.iter().rev().find(|mark| mark.user_id == user_id))
            .is_some_and(|mark| !mark.member)
    }

    fn of(&self, group_id: &str) -> &[MembershipMark] {
        self.by_group.get(group_id).map_or(&[], Vec::as_slice)
    }
}

/// Members, and what each sees, per group for one batch: a busy group is looked up once per
/// batch, not per message. Dropped after the batch, so membership changes are seen by the next
/// one.
#[derive(Default)]
struct MemberCache {
    members: HashMap<String, Vec<MemberRow>>,
    sights: HashMap<String, HashMap<String, Sight>>,
}

impl MemberCache {
    async fn rows(
        &mut self,
        notifier: &Notifier,
        group_id: &str,
        shutdown: &CancellationToken,
    ) -> Option<&Vec<MemberRow>> {
        if !self.members.contains_key(group_id) {
            let rows = retried(shutdown, group_id, || notifier.members(group_id)).await?;
            let _ = self.members.insert(group_id.to_owned(), rows);
        }
        self.members.get(group_id)
    }

    async fn get(&mut self, notifier: &Notifier, group_id: &str, shutdown: &CancellationToken) -> Option<Vec<String>> {
        Some(self.rows(notifier, group_id, shutdown).await?.iter().map(|m| m.user_id.clone()).collect())
    }

    async fn sights(
        &mut self,
        notifier: &Notifier,
        group_id: &str,
        marks: &MarksSeen,
        shutdown: &CancellationToken,
    ) -> Option<&HashMap<String, Sight>> {
        if !self.sights.contains_key(group_id) {
            let rows = self.rows(notifier, group_id, shutdown).await?.clone();
            let read = notifier.read_models.now();
            let seen = marks.of(group_id);
            let sights = retried(shutdown, group_id, || sights_with(read.messages.as_ref(), &rows, seen)).await?;
            let _ = self.sights.insert(group_id.to_owned(), sights);
        }
        self.sights.get(group_id)
    }

    /// The members who see what sits at `seq` of the group's order and have not left by the
    /// marks this reader has seen; None if shutdown came first.
    async fn seeing(
        &mut self,
        notifier: &Notifier,
        group_id: &str,
        seq: u64,
        marks: &MarksSeen,
        shutdown: &CancellationToken,
    ) -> Option<Vec<String>> {
        let sights = self.sights(notifier, group_id, marks, shutdown).await?;
        Some(
            sights
                .iter()
                .filter(|(member, sight)| sight.sees(seq) && !marks.removed(group_id, member))
                .map(|(member, _)| member.clone())
                .collect(),
        )
    }

    /// Forgets what members of `group_id` see: a mark read since changes it.
    fn marked(&mut self, group_id: &str) {
        let _ = self.sights.remove(group_id);
    }
}

/// `read`, retried until it answers; None if shutdown came first.
async fn retried<T, F: Future<Output = Result<T, StoreError>>>(
    shutdown: &CancellationToken,
    group_id: &str,
    mut read: impl FnMut() -> F,
) -> Option<T> {
    let mut backoff = Backoff::default();
    loop {
        match read().await {
            Ok(value) => return Some(value),
            Err(error) => {
                tracing::warn!(%error, of = group_id, "notifier cannot read the read models, retrying");
                if !backoff.wait(shutdown).await {
                    return None;
                }
            }
        }
    }
}
