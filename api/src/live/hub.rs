//! The connections this process holds, by user, and the notifier's progress. The notifier hands
//! every batch here; each frame goes into each of the user's connections' bounded queues, never
//! waiting: a connection whose queue is full is dropped and told to resume, so one slow client
//! cannot hold up anyone else.
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::extract::ws::Utf8Bytes;
use confab_consumers::{
    notifier::{Notification, NotificationSink},
    revocations::{EndedSession, SessionEndSink},
};
use confab_eventlog::Position;
use confab_schemas::Topic;
use tokio::sync::mpsc;

use confab_producers::Quoter;

use crate::live::{
    cursor::Cursor,
    frames::{self, Outbound},
};

pub struct Hub {
    /// Opens message content and what replies quote, once per frame.
    quoter: Quoter,
    queue_capacity: usize,
    /// Connections one user may have open at once; a new one closes the oldest.
    max_per_user: usize,
    state: Mutex<HubState>,
}

#[derive(Default)]
struct HubState {
    /// Next offset the notifier will read in each `confab.messages` partition; None until it
    /// has started.
    progress: Option<Vec<u64>>,
    connections: HashMap<String, Vec<Connection>>,
    next_id: u64,
}

struct Connection {
    id: u64,
    /// The session whose token opened it.
    session: String,
    /// Message frames below these offsets were already sent (resumed from the read models, or
    /// by another process before a reconnect).
    floor: Vec<u64>,
    queue: mpsc::Sender<Outbound>,
    overflowed: Arc<AtomicBool>,
    replaced: Arc<AtomicBool>,
    session_ended: Arc<AtomicBool>,
}

/// A connection's end of the hub.
pub(crate) struct Attachment {
    pub(crate) id: u64,
    pub(crate) frames: mpsc::Receiver<Outbound>,
    /// Set when the hub dropped the connection because its queue was full.
    pub(crate) overflowed: Arc<AtomicBool>,
    /// Set when the hub dropped the connection for a newer one of the same user.
    pub(crate) replaced: Arc<AtomicBool>,
    /// Set when the hub dropped the connection because its session ended.
    pub(crate) session_ended: Arc<AtomicBool>,
    /// The notifier's progress at attach time: everything below it comes from the read models.
    pub(crate) live_from: Vec<u64>,
}

impl Hub {
    pub fn new(quoter: Quoter, queue_capacity: usize, max_per_user: usize) -> Self {
        Self { quoter, queue_capacity, max_per_user: max_per_user.max(1), state: Mutex::default() }
    }

    fn state(&self) -> MutexGuard<'_, HubState> {
        // A panic while holding the lock leaves plain data behind; carry on with it.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Partitions of `confab.messages`, once the notifier has started.
    pub(crate) fn partitions(&self) -> Option<usize> {
        self.state().progress.as_ref().map(Vec::len)
    }

    /// Registers a connection of `user`. Live message frames below `since` are skipped: the
    /// client has them. None until the notifier has started.
    pub(crate) fn attach(&self, user: &str, session: &str, since: Option<&Cursor>) -> Option<Attachment> {
        let (queue, frames) = mpsc::channel(self.queue_capacity);
        let overflowed = Arc::new(AtomicBool::new(false));
        let replaced = Arc::new(AtomicBool::new(false));
        let session_ended = Arc::new(AtomicBool::new(false));
        let mut state = self.state();
        let live_from = state.progress.clone()?;
        let floor = since.map_or_else(|| live_from.clone(), |since| since.max(&live_from).0);
        state.next_id += 1;
        let id = state.next_id;
        let connection = Connection {
            id,
            session: session.to_owned(),
            floor,
            queue,
            overflowed: Arc::clone(&overflowed),
            replaced: Arc::clone(&replaced),
            session_ended: Arc::clone(&session_ended),
        };
        let connections = state.connections.entry(user.to_owned()).or_default();
        // The newest device wins: the oldest connection is most likely one whose network died.
        while connections.len() >= self.max_per_user {
            let oldest = connections.remove(0);
            oldest.replaced.store(true, Ordering::Release);
            tracing::info!(user, connection = oldest.id, "too many connections; closing the oldest");
        }
        connections.push(connection);
        Some(Attachment { id, frames, overflowed, replaced, session_ended, live_from })
    }

    pub(crate) fn detach(&self, user: &str, id: u64) {
        let mut state = self.state();
        if let Some(connections) = state.connections.get_mut(user) {
            connections.retain(|c| c.id != id);
            if connections.is_empty() {
                let _ = state.connections.remove(user);
            }
        }
    }

    /// Best effort, for frames nobody resumes (typing): a full queue just misses it.
    pub(crate) fn signal(&self, users: &[String], frame_type: &'static str, text: &str) {
        let text = Utf8Bytes::from(text);
        let state = self.state();
        for user in users {
            for connection in state.connections.get(user).into_iter().flatten() {
                let _ = connection.queue.try_send(Outbound { text: text.clone(), message: None, frame_type });
            }
        }
    }
}

impl Hub {
    /// Best effort, to one connection of `user` (presence it watches).
    pub(crate) fn signal_connection(&self, user: &str, connection: u64, frame_type: &'static str, text: &str) {
        let state = self.state();
        if let Some(connection) = state.connections.get(user).into_iter().flatten().find(|c| c.id == connection) {
            let _ = connection.queue.try_send(Outbound { text: Utf8Bytes::from(text), message: None, frame_type });
        }
    }
}

impl HubState {
    /// Queues a frame on every connection of `user`; drops those that are full or gone. `shared`
    /// is the frame's text for every connection whose cursor is the hub's progress (all but
    /// those resuming from ahead of it), made once per frame, not once per member.
    fn push(&mut self, user: &str, rendered: &frames::Rendered, shared: &mut Option<Utf8Bytes>) {
        let Some(progress) = &self.progress else { return };
        let Some(connections) = self.connections.get_mut(user) else { return };
        connections.retain(|connection| {
            let text = match &rendered.message {
                Some(message) => {
                    let p = message.partition as usize;
                    if connection.floor.get(p).is_some_and(|floor| message.seq < *floor) {
                        return true; // the client had it before it reconnected
                    }
                    let current = connection.floor.iter().zip(progress).all(|(floor, reached)| floor <= reached);
                    if current && !rendered.mentions(user) {
                        shared
                            .get_or_insert_with(|| {
                                frames::with_cursor(rendered, &Cursor(progress.clone()), user).into()
                            })
                            .clone()
                    } else {
                        let cursor = Cursor(connection.floor.clone()).max(progress);
                        frames::with_cursor(rendered, &cursor, user).into()
                    }
                }
                None => shared.get_or_insert_with(|| Utf8Bytes::from(&*rendered.body)).clone(),
            };
            let frame_type = rendered.frame_type;
            match connection.queue.try_send(Outbound { text, message: rendered.message.clone(), frame_type }) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    connection.overflowed.store(true, Ordering::Release);
                    tracing::info!(user, connection = connection.id, "client too slow; disconnecting it");
                    crate::metrics::slow_client_dropped();
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        if connections.is_empty() {
            let _ = self.connections.remove(user);
        }
    }

    fn advance(&mut self, position: &Position) {
        if position.topic != Topic::Messages.name() {
            return;
        }
        if let Some(next) = self.progress.as_mut().and_then(|p| p.get_mut(position.partition as usize)) {
            *next = (*next).max(position.offset + 1);
        }
    }
}

#[async_trait::async_trait]
impl NotificationSink for Hub {
    fn started(&self, messages_start: Vec<u64>) {
        self.state().progress = Some(messages_start);
    }

    async fn deliver(&self, notifications: Vec<Notification>, positions: &[Position]) {
        // Rendered (and decrypted) outside the lock, once per event.
        let mut rendered = Vec::with_capacity(notifications.len());
        for n in &notifications {
            match frames::render(&self.quoter, n).await {
                Ok(frame) => rendered.extend(frame.map(|r| (n, r))),
                Err(error) => tracing::error!(?error, position = ?n.position, "cannot render a frame"),
            }
        }
        let mut state = self.state();
        for (notification, frame) in &rendered {
            // A message's own cursor covers it.
            state.advance(&notification.position);
            let mut shared = None;
            for user in &notification.audience {
                state.push(user, frame, &mut shared);
            }
        }
        for position in positions {
            state.advance(position);
        }
    }
}

/// Closes the connections of sessions that ended: dropped here, each one's socket sees its
/// queue end and closes with 4005.
impl SessionEndSink for Hub {
    fn sessions_ended(&self, ended: &[EndedSession]) {
        let mut state = self.state();
        for session in ended {
            let Some(connections) = state.connections.get_mut(&session.user_id) else { continue };
            connections.retain(|connection| {
                let ends = connection.session == session.session_id;
                if ends {
                    connection.session_ended.store(true, Ordering::Release);
                }
                !ends
            });
            if connections.is_empty() {
                let _ = state.connections.remove(&session.user_id);
            }
        }
    }
}
