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
    /// What a reader needs is not written yet: another projection is behind. Waited out like
    /// an outage, and never a reason to dead-letter the event that needs it.
    #[error("not decided yet: {0}")]
    Behind(&'static str),
}

impl StoreError {
    /// A row of `table` that does not decode, for `reason` (an error or a message).
    pub fn corrupt(table: &'static str, reason: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Corrupt { table, source: cause(reason) }
    }
}

/// A storage failure, keeping `e` as its source.
pub(crate) fn storage_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::Storage(cause(e))
}
