//! The read side: projections consume the log and keep the read models (users, conversations,
//! messages, groups, attachments) that the API queries; the analytics consumer keeps its own
//! numbers; the notifier turns new events into live notifications. Every projection is
//! idempotent, so at-least-once delivery and replays from offset 0 never duplicate anything.

pub mod analytics;
mod backoff;
pub mod catalog;
pub mod metrics;
pub mod notifier;
mod progress;
pub mod projection;
pub mod push;
pub mod revocations;
mod runner;

use backoff::Backoff;
pub use progress::{ProjectionHandle, ProjectionStatus};
pub use runner::{
    Offsets, ProjectionRunner, ReplayError, follow, read_between, read_to_end, replay, replay_from, topic_names,
};
