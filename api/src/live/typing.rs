//! Typing indicators: relayed to the other participants' connections as they happen, never
//! stored, and at most one per second per target from one connection.
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use confab_producers::{Caller, now_ms};

use crate::{ApiError, AppState, live::frames};

/// One typing frame per target per this long; the rest are dropped.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Default)]
pub(crate) struct RateLimit {
    last: HashMap<String, Instant>,
}

impl RateLimit {
    pub(crate) fn allow(&mut self, target: &str) -> bool {
        let now = Instant::now();
        self.last.retain(|_, at| now.duration_since(*at) < MIN_INTERVAL);
        if self.last.contains_key(target) {
            return false;
        }
        let _ = self.last.insert(target.to_owned(), now);
        true
    }
}

/// Tells the others in `to` (a group id, or a username) that the caller is typing.
pub(crate) async fn send(state: &AppState, caller: &Caller, to: &str) -> Result<(), ApiError> {
    let typing = state.use_cases.typing(caller, to).await?;
    let frame = frames::typing(&caller.sub, &caller.name, typing.group_id.as_deref(), now_ms());
    state.hub.signal(&typing.audience, &frame);
    Ok(())
}
