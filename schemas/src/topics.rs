/// Header naming the event's schema full name, e.g. `io.confab.events.UserRegistered`.
pub const HEADER_EVENT_TYPE: &str = "confab.event-type";
/// Header carrying the writer schema's CRC-64-AVRO fingerprint as 16 lowercase hex digits.
pub const HEADER_SCHEMA_FINGERPRINT: &str = "confab.schema-fingerprint";

/// The topics of the stream. Each event type lives on exactly one topic, keyed by its aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Accounts; key = username.
    Users,
    /// One-on-one messages; key = conversation id.
    Messages,
}

impl Topic {
    pub const ALL: [Topic; 2] = [Topic::Users, Topic::Messages];

    pub fn name(self) -> &'static str {
        match self {
            Topic::Users => "confab.users",
            Topic::Messages => "confab.messages",
        }
    }
}
