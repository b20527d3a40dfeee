//! Typing indicators: relayed to the other participants' connections as they happen, never
//! stored; the use case drops repeats (at most one per second per target).
use confab_producers::{Caller, now_ms};

use crate::{ApiError, AppState, live::frames};

/// Tells the others in `to` (a group id, or a username) that the caller is typing.
pub(crate) async fn send(state: &AppState, caller: &Caller, to: &str) -> Result<(), ApiError> {
    let typing = state.use_cases.typing(caller, to).await?;
    let frame = frames::typing(&caller.sub, &caller.name, typing.group_id.as_deref(), now_ms());
    state.hub.signal(&typing.audience, "typing", &frame);
    Ok(())
}
