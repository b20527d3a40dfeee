use thiserror::Error;

#[derive(Debug, Error)]
pub enum ObjectError {
    /// The store could not be reached or failed; worth retrying.
    #[error("object storage failed: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("invalid object key {0:?}")]
    InvalidKey(String),
    #[error("no such object {0:?}")]
    NotFound(String),
    /// A stored object that does not decrypt or parse.
    #[error("corrupt object {key:?}: {reason}")]
    Corrupt { key: String, reason: String },
}

/// A storage failure, keeping `e` (an error or a message) as its source.
pub(crate) fn unavailable(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> ObjectError {
    ObjectError::Unavailable(e.into())
}
