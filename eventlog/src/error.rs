use thiserror::Error;

/// Why the log could not do what was asked.
#[derive(Debug, Error)]
pub enum LogError {
    #[error("topic {0} does not exist")]
    UnknownTopic(String),
    #[error("log storage failed: {0}")]
    Storage(String),
    #[error("log is unavailable: {0}")]
    Unavailable(String),
    #[error("log was shut down")]
    Closed,
}
