//! Projections: each turns a batch of events into idempotent read-model writes.

mod attachments;
mod groups;
mod messages;
mod users;

use async_trait::async_trait;
use confab_eventlog::Position;
use confab_schemas::{Event, Topic};

pub use attachments::{AttachmentIndexer, requested_row};
pub use groups::{GroupsProjection, group_created};
pub use messages::{MessagesProjection, direct_message_row, group_message_row};
pub use users::UsersProjection;

use crate::StoreError;

/// A decoded event and where it sits in the log; positions order a group's messages and make
/// group changes idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    pub event: Event,
    pub position: Position,
}

#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Short name; its consumer group is `confab.projector.<name>`.
    fn name(&self) -> &'static str;

    /// The topics it reads.
    fn topics(&self) -> &'static [Topic];

    /// Answers once its store can be written; tells a poison event from a store outage.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Applies a batch in log order. Applying the same events again must change nothing.
    async fn apply(&self, events: &[LoggedEvent]) -> Result<(), StoreError>;
}

/// The consumer group a projection commits its offsets under, for the read models of
/// `generation` (0 until a blue/green replay made another current).
pub fn group_name(projection: &dyn Projection, generation: u32) -> String {
    projection_group(projection.name(), generation)
}

/// The consumer group of the projection named `name` in `generation`.
pub fn projection_group(name: &str, generation: u32) -> String {
    match generation {
        0 => format!("confab.projector.{name}"),
        n => format!("confab.projector.{name}.g{n}"),
    }
}
