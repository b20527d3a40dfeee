//! The write side of the log: turns domain events into records (key, Avro single-object value,
//! type and fingerprint headers) on the topic each event belongs to.

mod error;
mod publisher;

pub use error::PublishError;
pub use publisher::{EventPublisher, topic_specs};
