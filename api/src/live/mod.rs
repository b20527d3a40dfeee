//! Real-time delivery over WebSocket: the hub that holds this process's connections, the frames,
//! resuming from a cursor, receipts and typing. The notifier (in `consumers`) feeds the hub.
pub(crate) mod cursor;
pub(crate) mod frames;
pub(crate) mod hub;
pub(crate) mod receipts;
pub(crate) mod resume;
pub(crate) mod socket;
pub(crate) mod typing;
