//! Who is online, as every API process tells it. Each process announces the users whose first
//! connection it holds (`online`) and, after a grace period without any, that they left
//! (`offline`, with when); every process hears every announcement (signals) and keeps the same
//! board: a user is online while any live process holds them. A process that stops saying it
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

#[derive(Default)]
struct Board {
    /// Users with connections to this process.
    local: HashMap<String, Local>,
    /// Online users: the processes holding each, and their username.
    online: HashMap<String, (String, HashSet<String>)>,
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

    /// A connection of `user_id` opened here.
    pub(crate) async fn connected(&self, user_id: &str, username: &str) {
        let first = {
            let mut board = self.board();
            let local = board.local.entry(user_id.to_owned()).or_insert_with(|| Local {
                username: username.to_owned(),
                connections: 0,
                generation: 0,
            });
            local.connections += 1;
            local.generation += 1;
            local.connections == 1 && local.generation == 1
        };
        if first {
            self.announce(user_id, username, true, now_ms()).await;
        }
    }

    /// A connection of `user_id` closed here: if it was their last, they leave once the grace
    /// period passes without another.
    pub(crate) fn disconnected(self: &Arc<Self>, user_id: &str) {
        let left_at = now_ms();
        let generation = {
            let mut board = self.board();
            let Some(local) = board.local.get_mut(user_id) else { return };
            local.connections = local.connections.saturating_sub(1);
            if local.connections > 0 {
                return;
            }
            local.generation
        };
        let presence = Arc::clone(self);
        let user_id = user_id.to_owned();
        drop(tokio::spawn(async move {
            tokio::time::sleep(presence.settings.grace).await;
            let username = {
                let mut board = presence.board();
                match board.local.get(&user_id) {
                    Some(local) if local.connections == 0 && local.generation == generation => {
                        board.local.remove(&user_id).map(|l| l.username)
                    }
                    _ => None,
                }
            };
            if let Some(username) = username {
                presence.announce(&user_id, &username, false, left_at).await;
            }
        }));
    }

    async fn announce(&self, user_id: &str, username: &str, online: bool, at: i64) {
        let signal = Signal::Presence {
            process: self.process.clone(),
            user_id: user_id.to_owned(),
            username: username.to_owned(),
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
            .map(|(user_id, local)| OnlineUser { user_id: user_id.clone(), username: local.username.clone() })
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
            Signal::Presence { process, user_id, username, online, at } => {
                board.heard(process);
                board.set(user_id, username, process, *online, *at).into_iter().collect()
            }
            Signal::Online { process, users } => {
                board.heard(process);
                users.iter().filter_map(|u| board.set(&u.user_id, &u.username, process, true, 0)).collect()
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
            let held: Vec<(String, String)> = board
                .online
                .iter()
                .filter(|(_, (_, processes))| processes.contains(&process))
                .map(|(user_id, (username, _))| (user_id.clone(), username.clone()))
                .collect();
            for (user_id, username) in held {
                changes.extend(board.set(&user_id, &username, &process, false, last_heard_ms));
            }
        }
        changes
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

    /// `process` holds `user_id` (or no longer does, since `at`); a change if the user as a
    /// whole came online or went offline.
    fn set(&mut self, user_id: &str, username: &str, process: &str, online: bool, at: i64) -> Option<Change> {
        let was_online = self.online.contains_key(user_id);
        if online {
            let entry = self.online.entry(user_id.to_owned()).or_insert_with(|| (username.to_owned(), HashSet::new()));
            let _ = entry.1.insert(process.to_owned());
        } else if let Some((_, processes)) = self.online.get_mut(user_id) {
            let _ = processes.remove(process);
            if processes.is_empty() {
                let _ = self.online.remove(user_id);
            }
        }
        if !online {
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
