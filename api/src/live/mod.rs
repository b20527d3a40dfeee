//! Real-time delivery over WebSocket: the hub that holds this process's connections, the frames,
//! resuming from a cursor, acks and typing. The notifier (in `consumers`) feeds the hub; acks,
//! reads and typing go to the use cases like any request.
pub(crate) mod cursor;
pub(crate) mod frames;
pub(crate) mod hub;
pub(crate) mod presence;
pub(crate) mod remembered;
pub(crate) mod resume;
pub mod signals;
pub(crate) mod socket;
pub(crate) mod typing;

pub use hub::Hub;
pub use presence::{Presence, PresenceSettings};
pub use resume::ResumeLimits;
pub use socket::LiveSettings;
