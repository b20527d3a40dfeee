//! Typing indicators: relayed to the other participants' connections, on whichever API process
//! they are, as signals; never stored. The use case drops repeats (at most one per second per
//! target).
use confab_producers::{Caller, now_ms};
use confab_schemas::Signal;

use crate::{ApiError, AppState, live::frames};

/// Tells the others in `to` (a group id, or a username) that the caller is typing.
pub(crate) async fn send(state: &AppState, caller: &Caller, to: &str) -> Result<(), ApiError> {
    let typing = state.use_cases.typing(caller, to).await?;
    if typing.audience.is_empty() {
        return Ok(());
    }
    let frame = frames::typing(&caller.sub, &caller.name, typing.group_id.as_deref(), now_ms());
    // Through every API process: the audience may be connected to any of them.
    let signal = Signal::Frame { audience: typing.audience, frame_type: "typing".to_owned(), frame };
    state.presence.send(&signal).await;
    Ok(())
}
