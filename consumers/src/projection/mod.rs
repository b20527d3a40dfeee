//! Projections: each turns a batch of events into idempotent read-model writes.

mod attachments;
mod erasure;
mod groups;
mod messages;
mod numbering;
mod users;
mod withdrawals;

use async_trait::async_trait;
use confab_eventlog::Position;
use confab_schemas::{Event, Topic};

pub use attachments::{ATTACHMENTS, AttachmentIndexer, requested_row};
pub use erasure::Erasure;
pub use groups::{GROUPS, GroupsProjection};
pub use messages::{MESSAGES, MessagesProjection, direct_message_row, group_message_row};
pub use users::{USERS, UsersProjection};
pub use withdrawals::Withdrawals;

use std::sync::Arc;

use confab_objects::{ObjectError, ObjectStore};
use confab_readmodels::{AnalyticsStore, DataKeyStore, ReadModels, StoreError, projection_group};

/// A decoded event and where it sits in the log; positions order a group's messages and make
/// group changes idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    pub event: Event,
    pub position: Position,
}

#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Its entry in the catalog: name and topics.
    fn spec(&self) -> &'static ProjectionSpec;

    /// Short name; its consumer group is `confab.projector.<name>`.
    fn name(&self) -> &'static str {
        self.spec().name
    }

    /// The topics it reads.
    fn topics(&self) -> &'static [Topic] {
        self.spec().topics
    }

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

/// What consumers write into (and the attachment indexer reads).
pub struct Sinks<'a> {
    pub read_models: &'a ReadModels,
    pub objects: &'a Arc<dyn ObjectStore>,
    pub analytics: &'a Arc<dyn AnalyticsStore>,
    /// The data keys, which an account's erasure destroys.
    pub data_keys: &'a Arc<dyn DataKeyStore>,
}

/// How a consumer is built from what consumers write into.
pub type BuildFromSinks = fn(&Sinks<'_>) -> Arc<dyn Projection>;

/// One consumer of the log.
pub struct ProjectionSpec {
    /// Short name; its consumer group is `confab.projector.<name>`.
    pub name: &'static str,
    /// The topics it reads.
    pub topics: &'static [Topic],
    /// How it is built from what consumers write into; None for one its role builds with what
    /// only that role has (the push consumer: its sender).
    pub build: Option<BuildFromSinks>,
}

impl std::fmt::Debug for ProjectionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl ProjectionSpec {
    /// It, built into `sinks`; an error for one its role builds.
    pub fn build(&self, sinks: &Sinks<'_>) -> Result<Arc<dyn Projection>, NotBuiltFromSinks> {
        self.build.map(|build| build(sinks)).ok_or(NotBuiltFromSinks(self.name))
    }

    /// Its consumer group for the read models of `generation`.
    pub fn group(&self, generation: u32) -> String {
        projection_group(self.name, generation)
    }
}

/// A consumer its role builds (with what only that role has), asked to be built from sinks.
#[derive(Debug, thiserror::Error)]
#[error("the {0} consumer is built by its own role, not from the read models")]
pub struct NotBuiltFromSinks(pub &'static str);

/// An object store's failure, as projections report a store's: retried, never dead-lettered.
pub(crate) fn object_error(e: ObjectError) -> StoreError {
    StoreError::Storage(confab_eventlog::cause(e))
}
