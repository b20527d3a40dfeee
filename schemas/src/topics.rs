/// Header naming the event's schema full name, e.g. `io.confab.events.UserRegistered`.
pub const HEADER_EVENT_TYPE: &str = "confab.event-type";
/// Header carrying the writer schema's CRC-64-AVRO fingerprint as 16 lowercase hex digits.
pub const HEADER_SCHEMA_FINGERPRINT: &str = "confab.schema-fingerprint";
/// Header carrying the id of the API request that wrote the event (`X-Request-Id`), when one did.
pub const HEADER_REQUEST_ID: &str = "confab.request-id";

/// The topics of the stream. Each event type lives on exactly one topic, keyed by its aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Accounts; key = username.
    Users,
    /// Messages: one-on-one (key = conversation id) and group (key = group id).
    Messages,
    /// Group creation and membership changes; key = group id.
    Groups,
    /// Attachment uploads and their verification requests; key = attachment id.
    Attachments,
    /// Records a projection could not decode or apply, copied with headers saying where they
    /// came from and why; key and value are the original's.
    DeadLetter,
}

impl Topic {
    pub const ALL: [Topic; 5] = [Topic::Users, Topic::Messages, Topic::Groups, Topic::Attachments, Topic::DeadLetter];

    pub fn name(self) -> &'static str {
        match self {
            Topic::Users => "confab.users",
            Topic::Messages => "confab.messages",
            Topic::Groups => "confab.groups",
            Topic::Attachments => "confab.attachments",
            Topic::DeadLetter => "confab.deadletter",
        }
    }
}

/// Headers a dead-lettered record carries besides its original ones.
pub mod dead_letter {
    pub const SOURCE_TOPIC: &str = "confab.dlq.topic";
    pub const SOURCE_PARTITION: &str = "confab.dlq.partition";
    pub const SOURCE_OFFSET: &str = "confab.dlq.offset";
    pub const CONSUMER_GROUP: &str = "confab.dlq.group";
    pub const REASON: &str = "confab.dlq.reason";
}
