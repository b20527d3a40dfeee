//! Read-your-writes: the port through which a use case waits until the projection that reads an
//! event has applied it, so the caller's next read sees its own write.
use async_trait::async_trait;
use confab_eventlog::Position;

#[async_trait]
pub trait Projected: Send + Sync + 'static {
    /// Waits (within a bound of its own) until every read model fed by `position`'s topic has
    /// applied it; false if the bound passed first. The write is durable either way.
    async fn wait(&self, position: &Position) -> bool;
}
