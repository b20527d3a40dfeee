//! The push consumer asks the presence board whether a device's session has a socket open now.
use std::sync::Arc;

use confab_consumers::push::LiveSessions;

use crate::live::Presence;

/// The presence board, as the push consumer asks it.
pub struct BoardSessions(pub Arc<Presence>);

impl LiveSessions for BoardSessions {
    fn session_open(&self, user_id: &str, session_id: &str) -> bool {
        self.0.session_open(user_id, session_id)
    }
}
