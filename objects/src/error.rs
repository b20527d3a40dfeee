use thiserror::Error;

#[derive(Debug, Error)]
pub enum ObjectError {
    /// The store could not be reached or failed; worth retrying.
    #[error("object storage failed: {0}")]
    Unavailable(String),
    #[error("invalid object key {0:?}")]
    InvalidKey(String),
    #[error("no such object {0:?}")]
    NotFound(String),
    /// A stored object that does not decrypt or parse.
    #[error("corrupt object {key:?}: {reason}")]
    Corrupt { key: String, reason: String },
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> ObjectError {
    ObjectError::Unavailable(e.to_string())
}
