//! The push consumer: for every message stored, each recipient's devices with no open socket
//! and no mute get a notification. It reads `confab.messages` in its own consumer group
//! (`confab.projector.push`), so a slow push service holds up only pushes; it starts from the end
//! of the log the first time (history is not notified), is never part of a replay, and commits a
//! batch once every notification of it was sent, given up, or found gone: at least once, the
//! message id its tag, so a client shows a repeat once.
//!
//! It decides who gets what here; sending (encryption, VAPID, retries, the HTTP) is the
//! `PushSender` its role gives it, and whether a session has an open socket is `LiveSessions`
//! (the API processes' presence board).
use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use confab_readmodels::{GroupMessageRow, LiveReadModels, MessageRow, PushTargetRow, StoreError, sights};
use confab_schemas::{Event, Topic};

use crate::projection::{LoggedEvent, Projection, ProjectionSpec};

/// `confab.messages` into push notifications. Built by its role, with its sender.
pub const PUSH: ProjectionSpec = ProjectionSpec { name: "push", topics: &[Topic::Messages], build: None };

/// How long a batch waits for its messages to be stored: one the messages projection refuses
/// (a removed member's, one across a block) never is, and is not notified.
const STORED_WAIT: Duration = Duration::from_secs(10);
/// How soon it looks again meanwhile, the first time; doubled each time up to
/// [`STORED_POLL_MAX`]. The messages projection usually stores a message within milliseconds of
/// this consumer reading it: a fixed 50 ms poll cost every push 50 ms (BENCHMARKS.md, issue 18).
const STORED_POLL_FIRST: Duration = Duration::from_millis(2);
const STORED_POLL_MAX: Duration = Duration::from_millis(100);
/// A message older than this when the consumer reaches it (it was down, or far behind) is not
/// notified: the app shows it when opened.
const MAX_AGE_MS: i64 = 60 * 60 * 1000;

/// Whether a user's session has a connection open now, on any API process.
pub trait LiveSessions: Send + Sync + 'static {
    fn session_open(&self, user_id: &str, session_id: &str) -> bool;
}

/// A stored message, as its notification tells of it.
#[derive(Debug, Clone)]
pub enum PushedMessage {
    Direct(MessageRow),
    Group { row: GroupMessageRow, group_name: String },
}

impl PushedMessage {
    pub fn message_id(&self) -> &str {
        match self {
            Self::Direct(row) => &row.message_id,
            Self::Group { row, .. } => &row.message_id,
        }
    }

    pub fn sent_at_ms(&self) -> i64 {
        match self {
            Self::Direct(row) => row.sent_at_ms,
            Self::Group { row, .. } => row.sent_at_ms,
        }
    }
}

/// One notification: a message, for one device of one recipient.
#[derive(Debug, Clone)]
pub struct PushJob {
    pub message: Arc<PushedMessage>,
    /// The device's target, sealed as stored.
    pub target: PushTargetRow,
    /// Whether the message mentions the recipient.
    pub mention: bool,
}

/// Sends notifications.
#[async_trait]
pub trait PushSender: Send + Sync + 'static {
    /// Sends every job, retrying as each push service asks, within bounds; returns once each was
    /// delivered, given up, or found gone (its target then removed).
    async fn send(&self, jobs: Vec<PushJob>);
}

pub struct PushConsumer {
    read_models: LiveReadModels,
    sender: Arc<dyn PushSender>,
    sessions: Arc<dyn LiveSessions>,
}

impl PushConsumer {
    pub fn new(read_models: LiveReadModels, sender: Arc<dyn PushSender>, sessions: Arc<dyn LiveSessions>) -> Self {
        Self { read_models, sender, sessions }
    }

    /// The message `event` sent, once stored; None for other events, and for messages not
    /// stored (yet).
    async fn stored(&self, event: &Event) -> Result<Option<PushedMessage>, StoreError> {
        let read = self.read_models.now();
        Ok(match event {
            Event::DirectMessageSent(e) => {
                let p = &e.payload;
                read.messages.message(&p.conversation_id, &p.message_id).await?.map(PushedMessage::Direct)
            }
            Event::GroupMessageSent(e) => {
                let p = &e.payload;
                match read.messages.group_message(&p.group_id, &p.message_id).await? {
                    Some(row) => {
                        let group = read.groups.group(&p.group_id).await?;
                        let group_name = group.map(|g| g.name).unwrap_or_default();
                        Some(PushedMessage::Group { row, group_name })
                    }
                    None => None,
                }
            }
            _ => None,
        })
    }

    /// The users a stored message notifies, with whether it mentions each.
    async fn recipients(&self, message: &PushedMessage) -> Result<Vec<(String, bool)>, StoreError> {
        match message {
            PushedMessage::Direct(row) if row.recipient_id != row.sender_id => {
                Ok(vec![(row.recipient_id.clone(), false)])
            }
            PushedMessage::Direct(_) => Ok(Vec::new()),
            PushedMessage::Group { row, .. } => {
                let read = self.read_models.now();
                let members = read.groups.members(&row.group_id).await?;
                // Those who see it, by the one rule.
                let sights = sights(read.messages.as_ref(), &members).await?;
                let mentioned: HashSet<&str> = row.mentions.iter().map(String::as_str).collect();
                Ok(members
                    .iter()
                    .filter(|m| m.user_id != row.sender_id)
                    .filter(|m| sights.get(&m.user_id).is_some_and(|sight| sight.sees(row.seq)))
                    .map(|m| (m.user_id.clone(), mentioned.contains(m.user_id.as_str())))
                    .collect())
            }
        }
    }

    /// The notifications of one stored message.
    async fn jobs(&self, message: PushedMessage) -> Result<Vec<PushJob>, StoreError> {
        let read = self.read_models.now();
        let place_id = match &message {
            PushedMessage::Direct(row) => row.conversation_id.clone(),
            PushedMessage::Group { row, .. } => row.group_id.clone(),
        };
        let sent_at = message.sent_at_ms();
        let message = Arc::new(message);
        let mut jobs = Vec::new();
        for (user_id, mention) in self.recipients(&message).await? {
            // Most users register no device: one read settles them.
            let targets = read.push.push_targets(&user_id).await?;
            if targets.is_empty()
                || read.push.mute(&user_id, &place_id).await?.is_some_and(|mute| mute.silences(sent_at, mention))
            {
                continue;
            }
            for target in targets {
                // A device with an open socket has the message already.
                if !self.sessions.session_open(&user_id, &target.session_id) {
                    jobs.push(PushJob { message: Arc::clone(&message), target, mention });
                }
            }
        }
        Ok(jobs)
    }
}

#[async_trait]
impl Projection for PushConsumer {
    fn spec(&self) -> &'static ProjectionSpec {
        &PUSH
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read_models.now().push.ping().await
    }

    async fn apply(&self, events: &[LoggedEvent]) -> Result<(), StoreError> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let oldest = now_ms - MAX_AGE_MS;
        let mut waiting: Vec<&Event> = events
            .iter()
            .map(|logged| &logged.event)
            .filter(|e| matches!(e, Event::DirectMessageSent(_) | Event::GroupMessageSent(_)))
            .filter(|e| e.occurred_at() >= oldest)
            .collect();
        let mut jobs = Vec::new();
        let deadline = Instant::now() + STORED_WAIT;
        let mut poll = STORED_POLL_FIRST;
        while !waiting.is_empty() {
            let mut still = Vec::new();
            for event in waiting {
                match self.stored(event).await? {
                    Some(message) => jobs.extend(self.jobs(message).await?),
                    None => still.push(event),
                }
            }
            waiting = still;
            if waiting.is_empty() || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(poll).await;
            poll = (poll * 2).min(STORED_POLL_MAX);
        }
        for event in waiting {
            tracing::info!(event_id = event.event_id(), "a message was not stored in time: no push for it");
        }
        if !jobs.is_empty() {
            self.sender.send(jobs).await;
        }
        Ok(())
    }
}
