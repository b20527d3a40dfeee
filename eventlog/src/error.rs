use std::{error::Error, sync::Arc};

use thiserror::Error;

/// The underlying error of a failure, kept whole so logs show its chain; shared, so one failure
/// can answer every caller of a batch.
pub type Cause = Arc<dyn Error + Send + Sync + 'static>;

/// Wraps an error (or a message) as a [`Cause`].
pub fn cause(e: impl Into<Box<dyn Error + Send + Sync + 'static>>) -> Cause {
    Arc::from(e.into())
}

/// Why the log could not do what was asked.
#[derive(Debug, Error)]
pub enum LogError {
    #[error("topic {0} does not exist")]
    UnknownTopic(String),
    #[error("log storage failed: {0}")]
    Storage(#[source] Cause),
    #[error("log is unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// The append failed in a way that leaves it unknown whether the log has the record (a
    /// produce that timed out after it was sent).
    #[error("the log may or may not have the record: {0}")]
    Ambiguous(#[source] Cause),
    #[error("log was shut down")]
    Closed,
}
