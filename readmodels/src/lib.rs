//! The read models: every port the projections write and the API queries (users, messages,
//! receipts, groups, attachments, sessions, blocks, analytics state, checkpoints) and the data
//! keys (not a read model, beside them for the same two adapters), their embedded (redb) and
//! DynamoDB adapters side by side, the generations of read models and the live one, and the
//! choice of adapter by configuration.

pub mod analytics;
mod attachments;
mod blocks;
mod checkpoints;
mod durability;
pub mod dynamodb;
pub mod embedded;
mod error;
mod generation;
mod groups;
mod keys;
mod lifecycle;
mod live;
mod messages;
mod push;
mod receipts;
mod select;
mod sessions;
mod users;
mod visibility;

pub use analytics::AnalyticsStore;
pub use attachments::{
    AttachmentRow, AttachmentStatus, AttachmentStore, rejected_key, stored_key, upload_key, uploaded_attachment,
    withdrawn_key,
};
pub use blocks::{BlockMark, BlockStore, BlockedUser};
pub use checkpoints::CheckpointStore;
pub use durability::Flush;
pub use error::StoreError;
pub use generation::projection_group;
pub use groups::{
    ChangeOutcome, GroupChange, GroupRole, GroupRow, GroupStore, GroupSummary, MemberRow, change_applied,
};
pub use keys::{DataKeyStore, KeyCache, WrappedKey};
pub use lifecycle::{
    ChangeKind, Lifecycle, MAX_EMOJI_PER_MESSAGE, MAX_REACTIONS_PER_USER, MessageChange, MessagePlace, Pin,
};
pub use live::LiveReadModels;
pub use messages::{ActivityKey, ConversationRow, GroupMessageRow, MembershipMark, MessageRow, MessageStore};
pub use push::{MAX_MUTES, MAX_PUSH_TARGETS, MuteRow, PushStore, PushTargetRow};
pub use receipts::{ReceiptAdvance, ReceiptRow, ReceiptStatus, ReceiptStore, SeenAdvance};
pub use select::{Adapter, ReadModels, ReadModelsConfig};
pub use sessions::{SessionChange, SessionRow, SessionStore};
pub use users::{MIN_PREFIX_CHARS, ProfileFields, UserRow, UserStore};
pub use visibility::{Sight, sight, sights, sights_with};

/// The most rows one paged read answers, on every adapter: a caller asking for more gets this
/// many and asks again from the last.
pub const MAX_PAGE_ROWS: usize = 1000;
