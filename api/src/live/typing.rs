//! Typing indicators: relayed to the other participants' connections as they happen, never
//! stored, and at most one per second per target from one connection.
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use uuid::Uuid;

use crate::{
    ApiError, AppState,
    auth::token::Claims,
    live::frames,
    routes::groups::{membership, user_named},
    time::now_ms,
};

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
pub(crate) async fn send(state: &AppState, caller: &Claims, to: &str) -> Result<(), ApiError> {
    let (audience, group_id) = if Uuid::parse_str(to).is_ok() {
        let (group, _) = membership(state, to, &caller.sub).await?;
        let members = state.groups.members(&group.group_id).await?;
        (members.into_iter().map(|m| m.user_id).filter(|id| *id != caller.sub).collect(), Some(group.group_id))
    } else {
        let peer = user_named(state, to).await?;
        (vec![peer.user_id].into_iter().filter(|id| *id != caller.sub).collect::<Vec<_>>(), None)
    };
    let frame = frames::typing(&caller.sub, &caller.name, group_id.as_deref(), now_ms());
    state.hub.signal(&audience, &frame);
    Ok(())
}
