//! A reconnecting client's missed messages as frames, one at a time: the query
//! (`missed_messages` in `confab-producers`) plans what they are and reads them as they go out;
//! this renders each with its cursor. Resumes running at once are bounded per process: each
//! reads the store and holds up to a buffer of messages while it lasts.
use std::{sync::Arc, time::Duration};

use confab_producers::{Missed, MissedMessage, ResumeBounds};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{
    ApiError, AppState,
    live::{
        cursor::Cursor,
        frames::{self, Outbound},
    },
};

/// How long a resume waits for its turn before the client is told to try again.
const TURN_WAIT: Duration = Duration::from_secs(10);

/// What resumes may cost.
#[derive(Debug, Clone)]
pub struct ResumeLimits {
    pub bounds: ResumeBounds,
    /// Resumes running at once.
    running: Arc<Semaphore>,
}

impl ResumeLimits {
    pub fn new(bounds: ResumeBounds, max_running: usize) -> Self {
        Self { bounds, running: Arc::new(Semaphore::new(max_running.max(1))) }
    }

    /// A place among the resumes running; None if none frees up in time.
    pub(crate) async fn turn(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(TURN_WAIT, Arc::clone(&self.running).acquire_owned()).await.ok()?.ok()
    }
}

/// The missed messages still to send, and the cursor the last one sent moved to.
pub(crate) struct Resume {
    user: String,
    missed: Missed,
    cursor: Cursor,
}

/// What `user` missed in `[since, until)`; None when that is more than the bounds allow.
pub(crate) async fn missed(
    state: &AppState,
    user: &str,
    since: &Cursor,
    until: &[u64],
) -> Result<Option<Resume>, ApiError> {
    let bounds = state.live.resume.bounds;
    let planned = state.use_cases.missed_messages(user, &since.0, until, bounds).await?;
    Ok(planned.map(|missed| Resume { user: user.to_owned(), missed, cursor: since.clone() }))
}

impl Resume {
    /// The next missed message's frame; its cursor moves only its own partition forward.
    pub(crate) async fn next(&mut self, state: &AppState) -> Result<Option<Outbound>, ApiError> {
        let Some((partition, message)) = self.missed.next(&state.use_cases).await? else { return Ok(None) };
        let seq = message.seq();
        let frame = match message {
            MissedMessage::Direct(m) => frames::direct_message(m, partition)?,
            MissedMessage::Group(m) => frames::group_message(m, partition)?,
        };
        if let Some(offset) = self.cursor.0.get_mut(partition as usize) {
            *offset = (*offset).max(seq + 1);
        }
        let text = frames::with_cursor(&frame, &self.cursor, &self.user).into();
        Ok(Some(Outbound { text, message: frame.message, frame_type: frame.frame_type }))
    }
}
