//! Signals: what the API processes of one deployment tell each other as it happens (someone is
//! typing, someone came online or went away). They are not events: not part of the stream's
//! history, never projected or replayed, kept minutes on `confab.signals`. Each record value is
//! one JSON object with a `type`; a process ignores types it does not know, so a newer process
//! may add some during a rolling upgrade.
use serde::{Deserialize, Serialize};

/// The topic signals travel on between processes.
pub const SIGNALS_TOPIC: &str = "confab.signals";

/// One signal. `process` is the id a process picks at start; `at` is milliseconds since the
/// epoch on the sender's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Signal {
    /// A frame for the live connections of `audience` (user ids), wherever they are connected:
    /// typing indicators. `frame` is the frame's JSON text.
    Frame { audience: Vec<String>, frame_type: String, frame: String },
    /// `user_id`'s session `session` opened its first connection to `process` (`online`), or
    /// closed its last one there and did not come back within the grace period.
    Presence { process: String, user_id: String, username: String, session: String, online: bool, at: i64 },
    /// `user_id`'s session `session` closed its last connection to `process` just now: still
    /// online through the grace period, but a device with no socket (push notifications reach
    /// it instead).
    Idle { process: String, user_id: String, session: String },
    /// `process` still runs; sent every few seconds. A process unheard for long is gone, and
    /// so are the users only it held.
    Alive { process: String },
    /// `process` just started and asks the others whom they hold (they answer `Online`).
    Hello { process: String },
    /// Users connected to `process`, in answer to a `Hello`.
    Online { process: String, users: Vec<OnlineUser> },
}

/// A user's session held by a process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OnlineUser {
    pub user_id: String,
    pub username: String,
    pub session: String,
    /// Whether it has a connection open now (false: within the grace period after its last).
    pub open: bool,
}

impl Signal {
    /// The record key: who or what the signal is about.
    pub fn key(&self) -> &str {
        match self {
            Signal::Frame { frame_type, .. } => frame_type,
            Signal::Presence { user_id, .. } | Signal::Idle { user_id, .. } => user_id,
            Signal::Alive { process } | Signal::Hello { process } | Signal::Online { process, .. } => process,
        }
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// None for what is not a signal this version knows.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_ignores_unknown_types() {
        let presence = Signal::Presence {
            process: "p1".into(),
            user_id: "u1".into(),
            username: "alice".into(),
            session: "s1".into(),
            online: true,
            at: 5,
        };
        let bytes = presence.to_bytes().unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"type":"presence","process":"p1","userId":"u1","username":"alice","session":"s1","online":true,"at":5}"#
        );
        assert_eq!(Signal::from_bytes(&bytes), Some(presence));
        assert_eq!(Signal::from_bytes(br#"{"type":"later","x":1}"#), None);
    }
}
