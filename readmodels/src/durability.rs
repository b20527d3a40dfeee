//! When read-model writes reach the disk. The log is the truth: a store may take a projection's
//! writes without flushing each one, as long as the projection commits its log offsets only past
//! writes that are durable. A crash then loses nothing; the projection replays the rest.
use async_trait::async_trait;

use crate::StoreError;

/// A store whose writes are visible at once but durable only at the next [`Flush::flush`].
#[async_trait]
pub trait Flush: Send + Sync + 'static {
    /// Makes every write that has returned so far durable (one fsync).
    async fn flush(&self) -> Result<(), StoreError>;
}
