//! The receipts read model: how far each reader has received and read a conversation or group.
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Whether a receipt says received or read; read implies received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiptStatus {
    Delivered,
    Read,
}

impl ReceiptStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiptStatus::Delivered => "delivered",
            ReceiptStatus::Read => "read",
        }
    }
}

/// A receipt resolved to a position: everything in `conversation_id` (a direct conversation or a
/// group) up to `seq` has reached `user_id`, or been read by them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptAdvance {
    pub conversation_id: String,
    pub user_id: String,
    pub status: ReceiptStatus,
    pub seq: u64,
}

/// Everything in `place_id` (a direct conversation or a group) up to `seq`, the message
/// numbered `ordinal` there or after it, is behind `user_id`: they read it, wrote after it, or
/// joined after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenAdvance {
    pub place_id: String,
    pub user_id: String,
    pub seq: u64,
    pub ordinal: u64,
}

/// How far one reader of a conversation or group has received and read it: seqs, each only
/// ever raised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRow {
    pub conversation_id: String,
    pub user_id: String,
    pub delivered_seq: Option<u64>,
    pub read_seq: Option<u64>,
    /// Where the reader's unread messages start after: the newest of their read watermark, their
    /// own last message and their joining (a group), by seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_seq: Option<u64>,
    /// The ordinal of the newest message at or before `seen_seq`.
    #[serde(default)]
    pub seen_ordinal: u64,
}

impl ReceiptRow {
    /// Raises the watermark `advance` names (and, for a read, the delivered one too).
    pub fn raise(&mut self, advance: &ReceiptAdvance) {
        let raise = |current: &mut Option<u64>| *current = Some(current.map_or(advance.seq, |c| c.max(advance.seq)));
        raise(&mut self.delivered_seq);
        if advance.status == ReceiptStatus::Read {
            raise(&mut self.read_seq);
        }
    }

    /// Raises the seen watermark to `advance`, if it is further.
    pub fn see(&mut self, advance: &SeenAdvance) {
        if self.seen_seq.is_none_or(|seen| seen < advance.seq) {
            self.seen_seq = Some(advance.seq);
            self.seen_ordinal = advance.ordinal;
        }
    }

    /// How many messages of a place whose newest stored message is numbered `last_ordinal` came
    /// after what the reader has seen.
    pub fn unread(&self, last_ordinal: u64) -> u64 {
        last_ordinal.saturating_sub(self.seen_ordinal)
    }

    /// What the reader has done with the message at `seq`, if anything.
    pub fn status_of(&self, seq: u64) -> Option<ReceiptStatus> {
        if self.read_seq.is_some_and(|r| r >= seq) {
            Some(ReceiptStatus::Read)
        } else if self.delivered_seq.is_some_and(|d| d >= seq) {
            Some(ReceiptStatus::Delivered)
        } else {
            None
        }
    }
}

/// Receipt watermarks of direct conversations and groups.
#[async_trait]
pub trait ReceiptStore: Send + Sync + 'static {
    /// Raises receipt watermarks; a lower or equal one changes nothing, so re-applying is safe.
    async fn advance_receipts(&self, advances: &[ReceiptAdvance]) -> Result<(), StoreError>;

    /// Every reader's watermarks in a conversation or group.
    async fn receipts(&self, conversation_id: &str) -> Result<Vec<ReceiptRow>, StoreError>;

    /// Raises seen watermarks; a lower or equal one changes nothing, so re-applying is safe.
    async fn advance_seen(&self, advances: &[SeenAdvance]) -> Result<(), StoreError>;

    /// One reader's watermarks in a conversation or group.
    async fn receipt(&self, place_id: &str, user_id: &str) -> Result<Option<ReceiptRow>, StoreError>;
}
