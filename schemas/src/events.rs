use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use crate::Topic;

/// A new account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
pub struct UserRegistered {
    #[serde(rename = "eventId")]
    #[avro(rename = "eventId")]
    pub event_id: String,
    #[serde(rename = "occurredAt")]
    #[avro(rename = "occurredAt")]
    pub occurred_at: i64,
    #[serde(rename = "actorId")]
    #[avro(rename = "actorId")]
    pub actor_id: String,
    pub payload: UserRegisteredPayload,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
pub struct UserRegisteredPayload {
    #[serde(rename = "userId")]
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
    #[serde(rename = "passwordHash")]
    #[avro(rename = "passwordHash")]
    pub password_hash: String,
}

/// A one-on-one message; `content` is sealed, never plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
pub struct DirectMessageSent {
    #[serde(rename = "eventId")]
    #[avro(rename = "eventId")]
    pub event_id: String,
    #[serde(rename = "occurredAt")]
    #[avro(rename = "occurredAt")]
    pub occurred_at: i64,
    #[serde(rename = "actorId")]
    #[avro(rename = "actorId")]
    pub actor_id: String,
    pub payload: DirectMessageSentPayload,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
pub struct DirectMessageSentPayload {
    #[serde(rename = "messageId")]
    #[avro(rename = "messageId")]
    pub message_id: String,
    #[serde(rename = "conversationId")]
    #[avro(rename = "conversationId")]
    pub conversation_id: String,
    #[serde(rename = "senderId")]
    #[avro(rename = "senderId")]
    pub sender_id: String,
    #[serde(rename = "senderUsername")]
    #[avro(rename = "senderUsername")]
    pub sender_username: String,
    #[serde(rename = "recipientId")]
    #[avro(rename = "recipientId")]
    pub recipient_id: String,
    #[serde(rename = "recipientUsername")]
    #[avro(rename = "recipientUsername")]
    pub recipient_username: String,
    pub content: String,
    #[serde(rename = "clientMessageId", default)]
    #[avro(rename = "clientMessageId")]
    pub client_message_id: Option<String>,
}

/// Every event type of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    UserRegistered(UserRegistered),
    DirectMessageSent(DirectMessageSent),
}

impl Event {
    /// The Avro full name of the event's schema, also its `confab.event-type` header.
    pub fn full_name(&self) -> &'static str {
        match self {
            Event::UserRegistered(_) => "io.confab.events.UserRegistered",
            Event::DirectMessageSent(_) => "io.confab.events.DirectMessageSent",
        }
    }

    pub fn topic(&self) -> Topic {
        match self {
            Event::UserRegistered(_) => Topic::Users,
            Event::DirectMessageSent(_) => Topic::Messages,
        }
    }

    /// The record key: the aggregate whose events must stay in order.
    pub fn key(&self) -> &str {
        match self {
            Event::UserRegistered(e) => &e.payload.username,
            Event::DirectMessageSent(e) => &e.payload.conversation_id,
        }
    }

    pub fn event_id(&self) -> &str {
        match self {
            Event::UserRegistered(e) => &e.event_id,
            Event::DirectMessageSent(e) => &e.event_id,
        }
    }
}
