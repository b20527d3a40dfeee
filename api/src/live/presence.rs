//! Who is online, as every API process tells it. Each process announces the sessions (a user's
//! signed-in devices) whose first connection it holds (`online`) and, after a grace period
//! without any, that they left (`offline`, with when); every process hears every announcement
//! (signals) and keeps the same board: a user is online while any live process holds one of
//! their sessions, and a device is reachable live while its session is held. A process that stops saying it
//! is alive takes its users with it. What a user may see of this board is the use cases' rule
//! (`presence_shown`), asked by the route and by the watchers' frames.
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use confab_eventlog::SignalBus;
use confab_producers::{Watched, now_ms};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{ApiError, AppState};
use confab_schemas::{OnlineUser, Signal};

/// Users one `online` answer names at most, so that a record stays far below a megabyte.
const ONLINE_CHUNK: usize = 2000;
/// Remembered last-seen times at most; the oldest are forgotten first.
const MAX_REMEMBERED: usize = 200_000;

/// How presence behaves.
#[derive(Debug, Clone, Copy)]
pub struct PresenceSettings {
    /// How long after a user's last connection closes they still count as online: a
    /// reconnect within it (a network change, a page reload) shows nothing.
    pub grace: Duration,
    /// How often a process says it is alive; one unheard for four of these is gone.
    pub alive_every: Duration,
}

/// What changed for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) user_id: String,
    pub(crate) username: String,
    pub(crate) online: bool,
    pub(crate) last_seen_ms: Option<i64>,
    /// The connections watching them: (user id, connection id).
    pub(crate) watchers: Vec<(String, u64)>,
}

/// One user's presence as the board has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) online: bool,
    pub(crate) last_seen_ms: Option<i64>,
}

pub struct Presence {
    process: String,
    bus: Arc<dyn SignalBus>,
    settings: PresenceSettings,
    board: Mutex<Board>,
}

/// (user id, session id).
type SessionKey = (String, String);
/// (process, session id) pairs holding a user, each with whether a connection is open now.
type Holders = HashMap<(String, String), bool>;

#[derive(Default)]
struct Board {
    /// Sessions with connections to this process.
    local: HashMap<SessionKey, Local>,
    /// Online users: their username, and the (process, session) pairs holding them, each with
    /// whether it has a connection open now (not only within the grace period).
    online: HashMap<String, (String, Holders)>,
    /// When each user was last seen leaving.
    last_seen: HashMap<String, i64>,
    /// Processes heard from: when last, on this clock and on the wall's.
    processes: HashMap<String, (Instant, i64)>,
    /// The connections watching each user: (watcher's user id, connection id).
    watchers: HashMap<String, HashSet<(String, u64)>>,
    /// Whom each connection watches, to forget it when it closes.
    watching: HashMap<u64, (String, Vec<String>)>,
}

struct Local {
    username: String,
    connections: usize,
    /// Bumped by every connect, so that a grace period that ended before a reconnect knows it
    /// no longer speaks for the user.
    generation: u64,
}

impl Presence {
    pub fn new(bus: Arc<dyn SignalBus>, settings: PresenceSettings) -> Self {
        Self { process: uuid::Uuid::new_v4().to_string(), bus, settings, board: Mutex::default() }
    }

    pub(crate) fn settings(&self) -> PresenceSettings {
        self.settings
    }

    pub(crate) fn process(&self) -> &str {
        &self.process
    }

    pub(crate) fn bus(&self) -> &Arc<dyn SignalBus> {
        &self.bus
    }

    fn board(&self) -> MutexGuard<'_, Board> {
        // A panic while holding the lock leaves plain data behind; carry on with it.
        self.board.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A connection of `user_id`'s session `session` opened here.
    pub(crate) async fn connected(&self, user_id: &str, session: &str, username: &str) {
        let key = (user_id.to_owned(), session.to_owned());
        let first = {
            let mut board = self.board();
            let local = board.local.entry(key).or_insert_with(|| Local {
                username: username.to_owned(),
                connections: 0,
                generation: 0,
            });
            local.connections += 1;
            local.generation += 1;
            // The first, or the first again within the grace period: open once more.
            local.connections == 1
        };
        if first {
            self.announce(user_id, session, username, true, now_ms()).await;
        }
    }

    /// A connection of `user_id`'s session `session` closed here: if it was the session's last,
    /// it leaves once the grace period passes without another.
    pub(crate) fn disconnected(self: &Arc<Self>, user_id: &str, session: &str) {
        let left_at = now_ms();
        let key = (user_id.to_owned(), session.to_owned());
        let generation = {
            let mut board = self.board();
            let Some(local) = board.local.get_mut(&key) else { return };
            local.connections = local.connections.saturating_sub(1);
            if local.connections > 0 {
                return;
            }
            local.generation
        };
        let presence = Arc::clone(self);
        drop(tokio::spawn(async move {
            let idle =
                Signal::Idle { process: presence.process.clone(), user_id: key.0.clone(), session: key.1.clone() };
            presence.send(&idle).await;
            tokio::time::sleep(presence.settings.grace).await;
            let username = {
                let mut board = presence.board();
                match board.local.get(&key) {
                    Some(local) if local.connections == 0 && local.generation == generation => {
                        board.local.remove(&key).map(|l| l.username)
                    }
                    _ => None,
                }
            };
            if let Some(username) = username {
                presence.announce(&key.0, &key.1, &username, false, left_at).await;
            }
        }));
    }

    async fn announce(&self, user_id: &str, session: &str, username: &str, online: bool, at: i64) {
        let signal = Signal::Presence {
            process: self.process.clone(),
            user_id: user_id.to_owned(),
            username: username.to_owned(),
            session: session.to_owned(),
            online,
            at,
        };
        self.send(&signal).await;
    }

    /// Sends a signal; a failure only costs what it would have told.
    pub(crate) async fn send(&self, signal: &Signal) {
        let sent = match signal.to_bytes() {
            Ok(bytes) => self.bus.send(signal.key(), bytes).await.map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        if let Err(error) = sent {
            tracing::warn!(error, "cannot send a signal");
        }
    }

    /// The `online` answers to a newcomer's `hello`: the users this process holds.
    pub(crate) fn online_answers(&self) -> Vec<Signal> {
        let board = self.board();
        let users: Vec<OnlineUser> = board
            .local
            .iter()
            .map(|((user_id, session), local)| OnlineUser {
                user_id: user_id.clone(),
                username: local.username.clone(),
                session: session.clone(),
                open: local.connections > 0,
            })
            .collect();
        users
            .chunks(ONLINE_CHUNK)
            .map(|chunk| Signal::Online { process: self.process.clone(), users: chunk.to_vec() })
            .collect()
    }

    /// Takes in a signal about presence; answers what changed for whom.
    pub(crate) fn apply(&self, signal: &Signal) -> Vec<Change> {
        let mut board = self.board();
        match signal {
            Signal::Presence { process, user_id, username, session, online, at } => {
                board.heard(process);
                let held = (process.clone(), session.clone());
                let state = online.then_some(true);
                board.set(user_id, username, held, state, *at).into_iter().collect()
            }
            Signal::Idle { process, user_id, session } => {
                board.heard(process);
                if let Some(open) = board
                    .online
                    .get_mut(user_id)
                    .and_then(|(_, holders)| holders.get_mut(&(process.clone(), session.clone())))
                {
                    *open = false;
                }
                Vec::new()
            }
            Signal::Online { process, users } => {
                board.heard(process);
                users
                    .iter()
                    .filter_map(|u| {
                        let held = (process.clone(), u.session.clone());
                        board.set(&u.user_id, &u.username, held, Some(u.open), 0)
                    })
                    .collect()
            }
            Signal::Alive { process } | Signal::Hello { process } => {
                board.heard(process);
                Vec::new()
            }
            Signal::Frame { .. } => Vec::new(),
        }
    }

    /// Forgets the processes unheard for four alive periods, and the users only they held.
    pub(crate) fn expire(&self) -> Vec<Change> {
        let deadline = self.settings.alive_every * 4;
        let mut board = self.board();
        let gone: Vec<(String, i64)> = board
            .processes
            .iter()
            .filter(|(process, (heard, _))| **process != self.process && heard.elapsed() > deadline)
            .map(|(process, (_, at))| (process.clone(), *at))
            .collect();
        let mut changes = Vec::new();
        for (process, last_heard_ms) in gone {
            let _ = board.processes.remove(&process);
            tracing::info!(process, "a process stopped saying it is alive; its users are offline");
            let held: Vec<(String, String, String)> = board
                .online
                .iter()
                .flat_map(|(user_id, (username, holders))| {
                    holders
                        .keys()
                        .filter(|(p, _)| *p == process)
                        .map(|(_, session)| (user_id.clone(), username.clone(), session.clone()))
                })
                .collect();
            for (user_id, username, session) in held {
                changes.extend(board.set(&user_id, &username, (process.clone(), session), None, last_heard_ms));
            }
        }
        changes
    }

    /// Whether `user_id`'s session `session` has a connection open to any process now (one
    /// within the grace period after its last does not count: nothing would reach it).
    pub fn session_open(&self, user_id: &str, session: &str) -> bool {
        self.board()
            .online
            .get(user_id)
            .is_some_and(|(_, holders)| holders.iter().any(|((_, s), open)| s == session && *open))
    }

    /// `user_id`'s presence as this board has it.
    pub(crate) fn status(&self, user_id: &str) -> Status {
        let board = self.board();
        Status { online: board.online.contains_key(user_id), last_seen_ms: board.last_seen.get(user_id).copied() }
    }

    /// Connection `connection` of `watcher` now watches `watched` (replacing what it watched).
    pub(crate) fn watch(&self, watcher: &str, connection: u64, watched: &[Watched]) {
        let mut board = self.board();
        board.unwatch(connection);
        let ids: Vec<String> = watched.iter().map(|w| w.user_id.clone()).collect();
        for id in &ids {
            let _ = board.watchers.entry(id.clone()).or_default().insert((watcher.to_owned(), connection));
        }
        let _ = board.watching.insert(connection, (watcher.to_owned(), ids));
    }

    /// Connection `connection` closed.
    pub(crate) fn forget(&self, connection: u64) {
        self.board().unwatch(connection);
    }
}

impl Board {
    fn heard(&mut self, process: &str) {
        let _ = self.processes.insert(process.to_owned(), (Instant::now(), now_ms()));
    }

    /// `held` (a process and one of the user's sessions) holds `user_id` (`Some(open)`: with
    /// a connection open now or not), or no longer does since `at` (None); a change if the
    /// user as a whole came online or went offline.
    fn set(
        &mut self,
        user_id: &str,
        username: &str,
        held: (String, String),
        state: Option<bool>,
        at: i64,
    ) -> Option<Change> {
        let was_online = self.online.contains_key(user_id);
        if let Some(open) = state {
            let entry = self.online.entry(user_id.to_owned()).or_insert_with(|| (username.to_owned(), HashMap::new()));
            let _ = entry.1.insert(held, open);
        } else if let Some((_, holders)) = self.online.get_mut(user_id) {
            let _ = holders.remove(&held);
            if holders.is_empty() {
                let _ = self.online.remove(user_id);
            }
        }
        if state.is_none() {
            if self.last_seen.len() >= MAX_REMEMBERED && !self.last_seen.contains_key(user_id) {
                self.forget_oldest_seen();
            }
            let seen = self.last_seen.entry(user_id.to_owned()).or_insert(at);
            *seen = (*seen).max(at);
        }
        let is_online = self.online.contains_key(user_id);
        (was_online != is_online).then(|| Change {
            user_id: user_id.to_owned(),
            username: username.to_owned(),
            online: is_online,
            last_seen_ms: self.last_seen.get(user_id).copied(),
            watchers: self.watchers.get(user_id).map(|w| w.iter().cloned().collect()).unwrap_or_default(),
        })
    }

    fn forget_oldest_seen(&mut self) {
        if let Some(oldest) = self.last_seen.iter().min_by_key(|(_, at)| **at).map(|(user, _)| user.clone()) {
            let _ = self.last_seen.remove(&oldest);
        }
    }

    fn unwatch(&mut self, connection: u64) {
        let Some((watcher, ids)) = self.watching.remove(&connection) else { return };
        for id in ids {
            if let Some(watchers) = self.watchers.get_mut(&id) {
                let _ = watchers.remove(&(watcher.clone(), connection));
                if watchers.is_empty() {
                    let _ = self.watchers.remove(&id);
                }
            }
        }
    }
}

/// What one user may know of another's presence.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PresenceView {
    #[schema(format = Uuid)]
    user_id: String,
    username: String,
    /// `online` while any of their devices has a live connection; `offline` once the last one
    /// closed (after a short grace period); `hidden` when they or you do not show presence.
    #[schema(pattern = "^(online|offline|hidden)$")]
    status: &'static str,
    /// When they were last online, RFC 3339: with `offline` only; null if not known.
    last_seen: Option<String>,
}

impl PresenceView {
    /// What a change shows those who may see it.
    pub(crate) fn of_change(change: &Change) -> Self {
        Self {
            user_id: change.user_id.clone(),
            username: change.username.clone(),
            status: if change.online { "online" } else { "offline" },
            last_seen: change.last_seen_ms.filter(|_| !change.online).map(confab_producers::rfc3339),
        }
    }

    /// The frame telling a watching connection.
    pub(crate) fn frame(&self) -> String {
        let mut frame = serde_json::json!(self);
        frame["type"] = serde_json::json!("presence");
        frame.to_string()
    }
}

/// What `watched` shows of their presence now: the board's, with the last seen a running
/// process saw, or else the last activity their sessions recorded.
pub(crate) async fn view(state: &AppState, watched: Watched) -> Result<PresenceView, ApiError> {
    let (status, last_seen) = if !watched.shown {
        ("hidden", None)
    } else {
        let status = state.presence.status(&watched.user_id);
        if status.online {
            ("online", None)
        } else {
            let last_seen = match status.last_seen_ms {
                Some(at) => Some(at),
                None => state.use_cases.last_active_ms(&watched.user_id).await?,
            };
            ("offline", last_seen)
        }
    };
    Ok(PresenceView {
        user_id: watched.user_id,
        username: watched.username,
        status,
        last_seen: last_seen.map(confab_producers::rfc3339),
    })
}
