//! The read side: projections consume the log and keep the read models (users, conversations,
//! messages, groups) that the API queries. Every projection is idempotent, so at-least-once delivery and
//! replays from offset 0 never duplicate anything.

pub mod analytics;
mod backoff;
mod error;
pub mod notifier;
mod progress;
pub mod projection;
mod runner;
pub mod store;

use backoff::Backoff;
pub use error::StoreError;
pub use progress::{ProjectionHandle, ProjectionStatus};
pub use runner::{
    Offsets, ProjectionRunner, ReplayError, follow, read_between, read_to_end, replay, replay_from, topic_names,
};
