//! The `EventLog` port: Kafka's shape (topics of partitions, records with key, value and headers,
//! offsets, consumer groups with committed offsets) so that the embedded log and Kafka are
//! interchangeable behind it.

mod claim;
pub mod embedded;
mod error;
pub mod kafka;
mod partitioner;
mod port;
mod record;
mod signals;
pub mod trace_context;

pub use claim::{Claim, ClaimStore, ClaimedAppend, HeldClaim, PendingAppend};
pub use error::{Cause, LogError, cause};
pub use partitioner::{murmur2, partition_for_key};
pub use port::{CommittedOffset, EventLog, LogReader, OffsetTarget, ReadStart, Subscription, TopicSpec};
pub use record::{ConsumedRecord, Header, Position, Record};
pub use signals::{InProcessSignals, LogSignals, SignalBus, SignalBytes};
