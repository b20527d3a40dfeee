//! Revocations: the sessions that ended recently, as this process has read them from
//! `confab.users`. Every API process keeps its own in memory, so refusing a revoked access token
//! costs no round trip, and tells the sockets of an ended session to close.
//!
//! Only the last access-token lifetime matters: an older token has expired anyway. Access
//! tokens are issued only with an event (`SessionStarted` at login, `SessionRefreshed`), so the
//! events of that window name every session that can hold a live token; a password change ends
//! those of its user but the one that changed it. The follower starts that far back (and a
//! minute more, for clocks that disagree) and has read to the log's end before the process
//! serves, so a restart forgets nothing that still matters.
//!
//! An account's erasure is read here too: the process forgets the account's data keys at once
//! ([`KeyCache::forget_owner`]), before the users projection has destroyed them in the store.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use confab_eventlog::{EventLog, LogError, LogReader, OffsetTarget, ReadStart};
use confab_readmodels::KeyCache;
use confab_schemas::{Codec, Event, Topic};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use tokio::sync::watch;

use crate::{Backoff, ProjectionHandle, ProjectionStatus};

/// The follower's name, as its progress is reported.
pub const NAME: &str = "revocations";
const BATCH: usize = 512;
const POLL_TIMEOUT: Duration = Duration::from_millis(500);
/// Beyond a token's lifetime: the verifier's leeway, and clocks of other processes that run
/// ahead or behind.
const SLACK: Duration = Duration::from_secs(60);

/// A session that ended: whose, and which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedSession {
    pub user_id: String,
    pub session_id: String,
}

/// Told of sessions as they end: the holder of live connections closes theirs.
pub trait SessionEndSink: Send + Sync + 'static {
    fn sessions_ended(&self, ended: &[EndedSession]);
}

/// The sessions ended within the window, and the sessions seen issuing tokens within it.
pub struct Revocations {
    window: Duration,
    state: Mutex<State>,
    /// How far the follower has read: a write that ends a session waits for it here, as for a
    /// projection, so the caller's next request is refused.
    progress: Arc<watch::Sender<ProjectionStatus>>,
    handle: ProjectionHandle,
    /// This process's data keys: an erased account's are forgotten.
    keys: KeyCache,
}

#[derive(Default)]
struct State {
    /// By user: each session that issued a token within the window, and when (here) it was seen.
    live: HashMap<String, HashMap<String, Instant>>,
    /// Each ended session, and when (here) it ended.
    ended: HashMap<String, Instant>,
    pruned: Option<Instant>,
}

impl Revocations {
    /// For access tokens that live `token_ttl`, and the process's data keys.
    pub fn new(token_ttl: Duration, keys: KeyCache) -> Self {
        let (progress, handle) = ProjectionHandle::channel(NAME);
        Self { window: token_ttl + SLACK, state: Mutex::default(), progress, handle, keys }
    }

    /// How far this process has read the sessions that end, for writes to wait on.
    pub fn progress(&self) -> ProjectionHandle {
        self.handle.clone()
    }

    fn read_up_to(&self, next: &[u64]) {
        self.progress.send_modify(|status| {
            for (partition, next) in next.iter().enumerate() {
                let _ = status.applied.insert((Topic::Users.name().to_owned(), partition as u32), *next);
            }
            status.healthy = true;
            status.last_error = None;
        });
    }

    fn failed(&self, error: &LogError) {
        self.progress.send_modify(|status| {
            status.healthy = false;
            status.last_error = Some(error.to_string());
        });
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Plain data: a panic while holding the lock leaves nothing half-done that matters.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the session `session_id` has ended: its tokens are refused.
    pub fn has_ended(&self, session_id: &str) -> bool {
        self.state().ended.contains_key(session_id)
    }

    /// Takes in one event; answers the sessions it ended.
    pub fn apply(&self, event: &Event) -> Vec<EndedSession> {
        let now = Instant::now();
        let mut state = self.state();
        state.prune(now, self.window);
        match event {
            Event::SessionStarted(e) => state.seen(&e.payload.user_id, &e.payload.session_id, now),
            Event::SessionRefreshed(e) => state.seen(&e.payload.user_id, &e.payload.session_id, now),
            Event::SessionEnded(e) => return state.end(&e.payload.user_id, vec![e.payload.session_id.clone()], now),
            Event::AccountDeleted(e) => {
                self.keys.forget_owner(&e.payload.user_id);
                let all = state.live.get(&e.payload.user_id).map_or_else(Vec::new, |s| s.keys().cloned().collect());
                return state.end(&e.payload.user_id, all, now);
            }
            Event::PasswordChanged(e) => {
                let kept = e.payload.kept_session_id.as_deref();
                let others = state.live.get(&e.payload.user_id).map_or_else(Vec::new, |sessions| {
                    sessions.keys().filter(|s| Some(s.as_str()) != kept).cloned().collect()
                });
                return state.end(&e.payload.user_id, others, now);
            }
            _ => {}
        }
        Vec::new()
    }
}

impl State {
    fn seen(&mut self, user_id: &str, session_id: &str, now: Instant) {
        if !self.ended.contains_key(session_id) {
            let _ = self.live.entry(user_id.to_owned()).or_default().insert(session_id.to_owned(), now);
        }
    }

    fn end(&mut self, user_id: &str, sessions: Vec<String>, now: Instant) -> Vec<EndedSession> {
        if let Some(live) = self.live.get_mut(user_id) {
            live.retain(|session, _| !sessions.contains(session));
            if live.is_empty() {
                let _ = self.live.remove(user_id);
            }
        }
        sessions
            .into_iter()
            .map(|session_id| {
                let _ = self.ended.insert(session_id.clone(), now);
                EndedSession { user_id: user_id.to_owned(), session_id }
            })
            .collect()
    }

    /// Forgets what is older than the window, at most once a second.
    fn prune(&mut self, now: Instant, window: Duration) {
        if self.pruned.is_some_and(|at| now.duration_since(at) < Duration::from_secs(1)) {
            return;
        }
        self.pruned = Some(now);
        let fresh = |at: &Instant| now.duration_since(*at) < window;
        self.ended.retain(|_, at| fresh(at));
        self.live.retain(|_, sessions| {
            sessions.retain(|_, at| fresh(at));
            !sessions.is_empty()
        });
    }
}

/// Reads `confab.users` from a window back, into `revocations`, and tells `sink` of every
/// session that ends. Returns once it has read to where the log ended when it was called.
pub async fn follow(
    log: Arc<dyn EventLog>,
    codec: Arc<Codec>,
    revocations: Arc<Revocations>,
    sink: Arc<dyn SessionEndSink>,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, LogError> {
    let topic = Topic::Users.name();
    let window = i64::try_from(revocations.window.as_millis()).unwrap_or(i64::MAX);
    let since = chrono::Utc::now().timestamp_millis().saturating_sub(window);
    let offsets = log.offsets_at(topic, OffsetTarget::Timestamp(since)).await?;
    let ends = log.end_offsets(topic).await?;
    let reader = log.read_from(&[ReadStart { topic: topic.to_owned(), offsets: offsets.clone() }]).await?;
    revocations.read_up_to(&offsets);
    let mut follower = Follower { reader, next: offsets, codec, revocations, sink };
    while follower.next.iter().zip(&ends).any(|(at, end)| at < end) {
        if shutdown.is_cancelled() {
            return Err(LogError::Closed);
        }
        follower.read_batch().await?;
    }
    tracing::info!(start = ?follower.next, "revocations caught up");
    Ok(tokio::spawn(async move {
        let mut backoff = Backoff::default();
        loop {
            let read = tokio::select! {
                () = shutdown.cancelled() => break,
                read = follower.read_batch() => read,
            };
            match read {
                Ok(()) => backoff.reset(),
                Err(LogError::Closed) => break,
                Err(error) => {
                    tracing::warn!(%error, "revocations cannot read the log, retrying");
                    follower.revocations.failed(&error);
                    if !backoff.wait(&shutdown).await {
                        break;
                    }
                }
            }
        }
        tracing::info!("revocations stopped");
    }))
}

struct Follower {
    reader: Box<dyn LogReader>,
    /// The next offset of each partition.
    next: Vec<u64>,
    codec: Arc<Codec>,
    revocations: Arc<Revocations>,
    sink: Arc<dyn SessionEndSink>,
}

impl Follower {
    async fn read_batch(&mut self) -> Result<(), LogError> {
        let records = self.reader.poll(BATCH, POLL_TIMEOUT).await?;
        let mut ended = Vec::new();
        for record in &records {
            if let Some(next) = self.next.get_mut(record.position.partition as usize) {
                *next = (*next).max(record.position.offset + 1);
            }
            match self.codec.decode(&record.record.value) {
                Ok(event) => ended.extend(self.revocations.apply(&event)),
                // The projection dead-letters it; what cannot be read ends no session.
                Err(error) => {
                    tracing::warn!(%error, position = ?record.position, "revocations skip an undecodable record");
                }
            }
        }
        if !ended.is_empty() {
            tracing::info!(sessions = ended.len(), "sessions ended");
            self.sink.sessions_ended(&ended);
        }
        self.revocations.read_up_to(&self.next);
        Ok(())
    }
}
