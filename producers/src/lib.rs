//! The write side: the use cases of the chat, one module per aggregate (users, direct messages,
//! groups, receipts, attachments, typing, blocks). Each takes a caller and a command, checks the rules
//! against the read models, seals what must not reach the log in clear, appends the event and
//! waits until the caller's next read can see it. HTTP and WebSocket both call these functions;
//! neither holds a rule.

mod accounts;
mod attachments;
mod blocks;
mod data_keys;
mod deliveries;
mod direct;
mod encryption;
mod error;
mod export;
mod group_messages;
mod groups;
mod login_guard;
mod mentions;
mod message_changes;
pub use mentions::MAX_MENTIONS;
mod messaging;
mod mutes;
pub use mutes::MutedPlace;
pub mod metrics;
mod opened;
mod password;
mod pins;
mod presence;
mod push_targets;
pub use pins::MAX_PINS;
pub use presence::{MAX_WATCHED, Watched};
pub use push_targets::{
    MAX_DEVICE_ID_CHARS, MAX_PUSH_URL_CHARS, OpenedPushTarget, PushEndpoints, PushTarget, is_private_address,
};
mod profiles;
mod projected;
mod publisher;
mod queries;
mod rate_limits;
mod receipts;
mod replies;
mod request_id;
mod sealing;
mod sessions;
mod text;
mod time;
mod tokens;
mod typing;
mod use_cases;
mod users;

pub use attachments::{
    AVATAR_CONTENT_TYPES, AttachmentLimits, AttachmentRequest, Download, MAX_ATTACHMENTS_PER_MESSAGE, MAX_AVATAR_BYTES,
    MAX_CONTENT_TYPE_BYTES, MAX_FILE_NAME_CHARS, UploadTicket, scope_of,
};
pub use blocks::BlockedPage;
pub use data_keys::DataKeys;
pub use deliveries::{Acks, SentMessage};
pub use direct::{DirectSend, DirectSent, conversation_id};
pub use error::{ChatError, Kind, PublishError};
pub use group_messages::GroupSent;
pub use groups::{MAX_GROUP_NAME_CHARS, NewGroup};
pub use login_guard::LoginFailureSpecs;
pub use message_changes::Changed;
pub use messaging::{MAX_CLIENT_MESSAGE_ID, MAX_MESSAGE_BYTES, MessageCommand};
pub use opened::{Opened, OpenedAttachment, OpenedFile, OpenedProfile, OpenedUser, Opener};
pub use password::PasswordHasher;
pub use profiles::{
    FieldChange, FoundUsers, MAX_ABOUT_CHARS, MAX_DISPLAY_NAME_CHARS, MAX_SEARCH_RESULTS, ProfileChange,
};
pub use projected::Projected;
pub use publisher::{EventPublisher, topic_specs};
pub use queries::{
    AttachmentPage, AttachmentsOf, ConversationEntry, ConversationPage, DEFAULT_PAGE, DirectHistory, GroupDetails,
    GroupHistory, GroupListEntry, GroupPage, MAX_PAGE, Missed, MissedMessage, ResumeBounds, Tally, page_limit,
};
pub use rate_limits::{RateLimits, RateSpec, RateSpecs};
pub use receipts::{Conversation, ReadReceipt};
pub use replies::{PREVIEW_CHARS, Quote, Quoter};
pub use request_id::{MAX_REQUEST_ID_CHARS, RequestId};
pub use sealing::{CryptoError, DataKey, KeyScope, Keyring, MessageBinding, profile_field_binding, under_data_key};
pub use sessions::{Login, MAX_DEVICE_NAME_CHARS, SessionView};
pub use text::patterns;
pub use time::{now_ms, rfc3339};
pub use tokens::{Caller, Claims, TokenError, TokenKeys};
pub use typing::{TYPING_MAX_GROUP_MEMBERS, Typing};
pub use use_cases::{Limits, UseCases};
pub use users::normalize_username;
