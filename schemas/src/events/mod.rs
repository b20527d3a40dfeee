//! The event types: one Rust type per `.avsc` file, checked against it by the contract tests.

mod accounts;
mod attachments;
mod blocks;
mod direct;
mod envelope;
mod groups;
mod lifecycle;
mod profiles;
mod push;
mod receipts;
mod sessions;
mod users;

pub use accounts::{AccountDeleted, AccountDeletedPayload};
pub use attachments::{
    AttachmentRef, AttachmentRequested, AttachmentRequestedPayload, AttachmentUploaded, AttachmentUploadedPayload,
};
pub use blocks::{BlockPayload, UserBlocked, UserUnblocked};
pub use direct::{DirectMessageSent, DirectMessageSentPayload};
pub use groups::{
    GroupCreated, GroupCreatedPayload, GroupMember, GroupMemberAdded, GroupMemberAddedPayload, GroupMemberRemoved,
    GroupMemberRemovedPayload, GroupMemberRoleChanged, GroupMemberRoleChangedPayload, GroupMembershipMarked,
    GroupMembershipMarkedPayload, GroupMessageSent, GroupMessageSentPayload, GroupRenamed, GroupRenamedPayload,
};
pub use lifecycle::{
    ChangedMessage, MessageDeleted, MessageDeletedPayload, MessageEdited, MessageEditedPayload, MessageHidden,
    MessageHiddenPayload, MessagePinned, MessagePinnedPayload, MessageReacted, MessageReactedPayload, place_kind,
};
pub use profiles::{ProfileUpdated, ProfileUpdatedPayload};
pub use push::{
    PlaceMuted, PlaceMutedPayload, PushTargetRegistered, PushTargetRegisteredPayload, PushTargetRemoved,
    PushTargetRemovedPayload, push_kind, removal_reason,
};
pub use receipts::{
    DirectMessagesDelivered, DirectMessagesRead, DirectReceiptPayload, GroupMessagesDelivered, GroupMessagesRead,
    GroupReceiptPayload,
};
pub use sessions::{
    PasswordChanged, PasswordChangedPayload, SessionEnded, SessionEndedPayload, SessionRefreshed,
    SessionRefreshedPayload, SessionStarted, SessionStartedPayload, end_reason,
};
pub use users::{UserRegistered, UserRegisteredPayload};

use crate::Topic;

/// Declares the `Event` enum, and what each variant's topic and key are, in one place.
macro_rules! events {
    ($($variant:ident => $topic:expr, |$e:ident| $key:expr;)+) => {
        /// Every event type of the stream.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Event {
            $($variant($variant),)+
        }

        impl Event {
            /// Full names of every event type, each also a `confab.event-type` header value.
            pub const FULL_NAMES: &'static [&'static str] = &[$(concat!("io.confab.events.", stringify!($variant)),)+];

            /// The Avro full name of the event's schema, also its `confab.event-type` header.
            pub fn full_name(&self) -> &'static str {
                match self {
                    $(Event::$variant(_) => concat!("io.confab.events.", stringify!($variant)),)+
                }
            }

            pub fn topic(&self) -> Topic {
                match self {
                    $(Event::$variant(_) => $topic,)+
                }
            }

            /// The record key: the aggregate whose events must stay in order.
            pub fn key(&self) -> &str {
                match self {
                    $(Event::$variant($e) => $key,)+
                }
            }

            pub fn event_id(&self) -> &str {
                match self {
                    $(Event::$variant(e) => &e.event_id,)+
                }
            }

            pub fn occurred_at(&self) -> i64 {
                match self {
                    $(Event::$variant(e) => e.occurred_at,)+
                }
            }

            pub fn actor_id(&self) -> &str {
                match self {
                    $(Event::$variant(e) => &e.actor_id,)+
                }
            }

            /// The event as JSON, its field names as in its schema.
            pub fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
                match self {
                    $(Event::$variant(e) => serde_json::to_value(e),)+
                }
            }

            /// The event as a serde value of its own type, for encoders.
            pub(crate) fn to_avro_value(&self) -> Result<apache_avro::types::Value, crate::SchemaError> {
                let value = match self {
                    $(Event::$variant(e) => apache_avro::to_value(e),)+
                };
                Ok(value?)
            }

            /// Builds the event named `full_name` from a decoded Avro value.
            pub(crate) fn from_avro_value(
                full_name: &str,
                value: &apache_avro::types::Value,
            ) -> Option<Result<Self, crate::SchemaError>> {
                $(if full_name == concat!("io.confab.events.", stringify!($variant)) {
                    return Some(apache_avro::from_value(value).map(Event::$variant).map_err(crate::SchemaError::from));
                })+
                None
            }
        }
    };
}

events! {
    UserRegistered => Topic::Users, |e| &e.payload.username;
    SessionStarted => Topic::Users, |e| &e.payload.username;
    SessionRefreshed => Topic::Users, |e| &e.payload.username;
    SessionEnded => Topic::Users, |e| &e.payload.username;
    PasswordChanged => Topic::Users, |e| &e.payload.username;
    ProfileUpdated => Topic::Users, |e| &e.payload.username;
    AccountDeleted => Topic::Users, |e| &e.payload.username;
    PushTargetRegistered => Topic::Users, |e| &e.payload.username;
    PushTargetRemoved => Topic::Users, |e| &e.payload.username;
    PlaceMuted => Topic::Users, |e| &e.payload.username;
    DirectMessageSent => Topic::Messages, |e| &e.payload.conversation_id;
    GroupMessageSent => Topic::Messages, |e| &e.payload.group_id;
    DirectMessagesDelivered => Topic::Messages, |e| &e.payload.conversation_id;
    DirectMessagesRead => Topic::Messages, |e| &e.payload.conversation_id;
    GroupMessagesDelivered => Topic::Messages, |e| &e.payload.group_id;
    GroupMessagesRead => Topic::Messages, |e| &e.payload.group_id;
    GroupMembershipMarked => Topic::Messages, |e| &e.payload.group_id;
    MessageEdited => Topic::Messages, |e| &e.payload.place_id;
    MessageDeleted => Topic::Messages, |e| &e.payload.place_id;
    MessageReacted => Topic::Messages, |e| &e.payload.place_id;
    MessageHidden => Topic::Messages, |e| &e.payload.place_id;
    MessagePinned => Topic::Messages, |e| &e.payload.place_id;
    UserBlocked => Topic::Messages, |e| &e.payload.conversation_id;
    UserUnblocked => Topic::Messages, |e| &e.payload.conversation_id;
    GroupCreated => Topic::Groups, |e| &e.payload.group_id;
    GroupMemberAdded => Topic::Groups, |e| &e.payload.group_id;
    GroupMemberRemoved => Topic::Groups, |e| &e.payload.group_id;
    GroupRenamed => Topic::Groups, |e| &e.payload.group_id;
    GroupMemberRoleChanged => Topic::Groups, |e| &e.payload.group_id;
    AttachmentRequested => Topic::Attachments, |e| &e.payload.attachment_id;
    AttachmentUploaded => Topic::Attachments, |e| &e.payload.attachment_id;
}
