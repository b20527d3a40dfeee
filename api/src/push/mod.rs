//! Push notifications for devices with no live connection: the VAPID identity (`vapid.rs`), the
//! sender (`sender.rs`), and what tells the push consumer a session has an open socket
//! (`sessions.rs`).
mod sender;
mod sessions;
pub mod vapid;

pub use sender::WebPushSender;
pub use sessions::BoardSessions;
pub use vapid::{VapidError, VapidKey};
