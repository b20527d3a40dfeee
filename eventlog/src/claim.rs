use async_trait::async_trait;

use crate::{LogError, Position, Record};

/// A write-side uniqueness claim appended together with a record: the record is appended only if
/// nobody holds `(scope, key)` yet, and the claim then holds `value` for good. This is how a
/// username stays unique and a client's retry finds its first message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub scope: String,
    pub key: String,
    pub value: Vec<u8>,
}

/// The outcome of an append guarded by a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimedAppend {
    /// The claim was free: it is now held and the record is durable at this position.
    Appended(Position),
    /// Somebody holds the claim already; nothing new was appended. Carries the holder's value,
    /// and, when this call finished the holder's append (its claimer died, or its append timed
    /// out ambiguously), where that record now is.
    Taken { value: Vec<u8>, finished: Option<Position> },
}

/// The record a claim was taken for, kept until it is known to be on the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAppend {
    pub topic: String,
    pub record: Record,
}

/// A claim as a [`ClaimStore`] holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldClaim {
    pub value: Vec<u8>,
    /// Set from taking the claim until its record is acknowledged by the log.
    pub pending: Option<PendingAppend>,
    pub claimed_at_ms: i64,
}

/// Where claims live when the log itself cannot hold them (Kafka): taking a claim and appending
/// become two steps, claim first, so a claim is never missing for a record on the log. The
/// pending record lets anyone finish an append whose claimer died in between.
#[async_trait]
pub trait ClaimStore: Send + Sync + 'static {
    /// Takes the claim with its pending append; if somebody holds it, returns that holder.
    async fn try_claim(
        &self,
        claim: &Claim,
        pending: &PendingAppend,
        now_ms: i64,
    ) -> Result<Option<HeldClaim>, LogError>;

    /// The pending record is on the log: keep the claim, drop the record.
    async fn settle(&self, scope: &str, key: &str) -> Result<(), LogError>;

    /// The append failed: free the claim for the next attempt.
    async fn release(&self, scope: &str, key: &str) -> Result<(), LogError>;

    /// The append may or may not be on the log: keep the claim and its pending record, and let
    /// the next attempt finish it at once (as it finishes an orphan's).
    async fn abandon(&self, scope: &str, key: &str) -> Result<(), LogError>;

    async fn get(&self, scope: &str, key: &str) -> Result<Option<HeldClaim>, LogError>;
}
