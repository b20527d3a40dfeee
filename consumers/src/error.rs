use thiserror::Error;

/// Why a read-model store could not answer or write.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("read-model storage failed: {0}")]
    Storage(String),
    #[error("corrupt read-model row in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
}

pub(crate) fn storage_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Storage(e.to_string())
}
