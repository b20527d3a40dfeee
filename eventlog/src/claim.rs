use crate::Position;

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
    /// Somebody holds the claim already; nothing was appended. Carries the holder's value.
    Taken { value: Vec<u8> },
}
