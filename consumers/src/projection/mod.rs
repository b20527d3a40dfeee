//! Projections: each turns a batch of events into idempotent read-model writes.

mod messages;
mod users;

use async_trait::async_trait;
use confab_schemas::{Event, Topic};

pub use messages::MessagesProjection;
pub use users::UsersProjection;

use crate::StoreError;

#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Short name; its consumer group is `confab.projector.<name>`.
    fn name(&self) -> &'static str;

    /// The topics it reads.
    fn topics(&self) -> &'static [Topic];

    /// Answers once its store can be written; tells a poison event from a store outage.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Applies a batch in log order. Applying the same events again must change nothing.
    async fn apply(&self, events: &[Event]) -> Result<(), StoreError>;
}

/// The consumer group a projection commits its offsets under.
pub fn group_name(projection: &dyn Projection) -> String {
    format!("confab.projector.{}", projection.name())
}
