use confab_eventlog::{Cause, cause};
use thiserror::Error;

/// Why a read-model store could not answer or write.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The store did not answer or refused: a dependency is down, the call may be retried.
    #[error("read-model storage failed: {0}")]
    Storage(#[source] Cause),
    /// A row the store holds cannot be read back: a bug or damage, not an outage.
    #[error("corrupt read-model row in {table}: {source}")]
    Corrupt {
        table: &'static str,
        #[source]
        source: Cause,
    },
}

impl StoreError {
    /// A row of `table` that does not decode, for `reason` (an error or a message).
    pub fn corrupt(table: &'static str, reason: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Corrupt { table, source: cause(reason) }
    }

    /// What a reader needs is not written yet (another projection is behind): like an outage,
    /// to be tried again.
    pub fn not_yet(reason: &'static str) -> Self {
        StoreError::Storage(cause(reason))
    }
}

/// A storage failure, keeping `e` as its source.
pub(crate) fn storage_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::Storage(cause(e))
}
