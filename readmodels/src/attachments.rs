//! The attachment index: every attachment, and each conversation's or group's available ones.
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Where an attachment is in its life: requested (URL handed out), then verified once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentStatus {
    /// Requested; the bytes are not (known to be) there yet.
    Pending,
    /// Verified: present with the declared size, type and SHA-256; can be sent and downloaded.
    Available,
    /// The uploaded bytes differ from what was declared; can never be sent.
    Rejected,
    /// Every message that carried it was deleted for everyone: its bytes are gone, it is listed
    /// nowhere and can be neither downloaded nor sent again.
    Withdrawn,
}

impl AttachmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentStatus::Pending => "pending",
            AttachmentStatus::Available => "available",
            AttachmentStatus::Rejected => "rejected",
            AttachmentStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(AttachmentStatus::Pending),
            "available" => Some(AttachmentStatus::Available),
            "rejected" => Some(AttachmentStatus::Rejected),
            "withdrawn" => Some(AttachmentStatus::Withdrawn),
            _ => None,
        }
    }
}

/// The attachment index's record of one attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRow {
    pub attachment_id: String,
    /// `direct`, `group` or `profile`.
    pub kind: String,
    /// The direct conversation's id, the group's id, or for a profile picture the uploader's id.
    pub conversation_id: String,
    /// The other participant of a direct conversation.
    pub recipient_id: Option<String>,
    pub uploader_id: String,
    pub uploader_username: String,
    /// Sealed, as on the log.
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    /// What the uploader declared, lowercase hex.
    pub declared_sha256: String,
    /// Where the upload lands.
    pub upload_key: String,
    pub status: AttachmentStatus,
    /// Why it was rejected.
    pub reason: Option<String>,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    /// When the upload that settled it was reported.
    pub settled_at_ms: Option<i64>,
    /// A group attachment's place in the group's message order (see [`crate::Sight`]); None for
    /// direct ones and those requested before it was kept.
    #[serde(default)]
    pub group_offset: Option<u64>,
}

impl AttachmentRow {
    /// Where verified bytes live: a copy only the indexer writes, so what was verified is what
    /// is downloaded, whatever the upload URL is used for later.
    pub fn stored_key(&self) -> String {
        stored_key(&self.attachment_id)
    }

    pub fn is_group(&self) -> bool {
        self.kind == "group"
    }

    /// Whether it was uploaded as a picture for its uploader's profile: its place is theirs.
    pub fn is_profile(&self) -> bool {
        self.kind == "profile"
    }
}

/// The key verified bytes of `attachment_id` are kept under.
pub fn stored_key(attachment_id: &str) -> String {
    format!("attachments/{attachment_id}")
}

/// Where a rejected attachment's verdict is kept once its bytes are deleted: what a replay reads
/// to reach the same verdict without them.
pub fn rejected_key(attachment_id: &str) -> String {
    format!("rejected/{attachment_id}")
}

/// Where the withdrawal of an attachment is kept once its bytes are deleted: what the indexer
/// reads to settle it withdrawn when it verifies the upload after the withdrawal (a replay's
/// indexer may run behind the messages projection that withdrew it).
pub fn withdrawn_key(attachment_id: &str) -> String {
    format!("withdrawn/{attachment_id}")
}

/// The key an upload of `attachment_id` is signed for.
pub fn upload_key(attachment_id: &str) -> String {
    format!("{UPLOADS}{attachment_id}")
}

/// The attachment an upload key belongs to; `None` for any other key.
pub fn uploaded_attachment(key: &str) -> Option<&str> {
    key.strip_prefix(UPLOADS)
}

const UPLOADS: &str = "uploads/";

/// The attachment index: every attachment, and each conversation's or group's available ones.
#[async_trait]
pub trait AttachmentStore: Send + Sync + 'static {
    /// Answers once the store can serve reads.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Inserts a requested attachment unless it is already there.
    async fn put_requested(&self, row: &AttachmentRow) -> Result<(), StoreError>;

    async fn attachment(&self, attachment_id: &str) -> Result<Option<AttachmentRow>, StoreError>;

    /// Records the verdict on a pending attachment (`row.status` available or rejected), and lists
    /// an available one under its conversation; the first verdict stands, and settling again only
    /// completes the listing.
    async fn settle(&self, row: &AttachmentRow) -> Result<(), StoreError>;

    /// Up to `limit` of the attachments `uploader_id` requested that are still pending, newest
    /// first (expired ones included: the caller knows the clock).
    async fn pending_uploads(&self, uploader_id: &str, limit: usize) -> Result<Vec<AttachmentRow>, StoreError>;

    /// Up to `limit` available attachments of a conversation or group with ids below `before`,
    /// newest first.
    async fn conversation_attachments(
        &self,
        conversation_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AttachmentRow>, StoreError>;

    /// Records that `message_id` carries each of `attachment_ids`; recording it again changes
    /// nothing.
    async fn carry(&self, message_id: &str, attachment_ids: &[String]) -> Result<(), StoreError>;

    /// Forgets that `message_id` carries each of `attachment_ids` (it was deleted for everyone);
    /// answers those of them no message carries any more, whether or not this call forgot the
    /// last carrier, so a repeat after a crash answers the same.
    async fn uncarry(&self, message_id: &str, attachment_ids: &[String]) -> Result<Vec<String>, StoreError>;

    /// Settles an available attachment withdrawn and takes it off its conversation's listing;
    /// one in any other state stays as it is (a pending one is settled withdrawn when its upload
    /// is verified, by its [`withdrawn_key`]).
    async fn withdraw(&self, attachment_id: &str) -> Result<(), StoreError>;
}
