use confab_schemas::AttachmentRef;
use serde::{Deserialize, Serialize};

/// An account as login needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub user_id: String,
    pub username: String,
    pub password_hash: String,
    pub registered_at_ms: i64,
}

/// A stored message; `content` is sealed exactly as it was on the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRow {
    pub message_id: String,
    pub conversation_id: String,
    /// Its offset in its `confab.messages` partition, which the whole conversation shares: where
    /// a live-delivery cursor points. Zero in rows written before it was kept.
    #[serde(default)]
    pub seq: u64,
    pub sender_id: String,
    pub sender_username: String,
    pub recipient_id: String,
    pub recipient_username: String,
    pub content: String,
    pub sent_at_ms: i64,
    pub client_message_id: Option<String>,
    /// As the message event carries them (file names sealed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentRef>,
}

/// One user's view of a conversation: who the peer is and the newest message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationRow {
    pub user_id: String,
    pub conversation_id: String,
    pub peer_id: String,
    pub peer_username: String,
    pub last_message: MessageRow,
}

impl MessageRow {
    /// The conversation rows this message makes current: one per participant, one for a
    /// note-to-self.
    pub fn conversation_rows(&self) -> Vec<ConversationRow> {
        let mut rows = vec![ConversationRow {
            user_id: self.sender_id.clone(),
            conversation_id: self.conversation_id.clone(),
            peer_id: self.recipient_id.clone(),
            peer_username: self.recipient_username.clone(),
            last_message: self.clone(),
        }];
        if self.recipient_id != self.sender_id {
            rows.push(ConversationRow {
                user_id: self.recipient_id.clone(),
                conversation_id: self.conversation_id.clone(),
                peer_id: self.sender_id.clone(),
                peer_username: self.sender_username.clone(),
                last_message: self.clone(),
            });
        }
        rows
    }
}

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

/// How far one reader of a conversation or group has received and read it: seqs, each only
/// ever raised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRow {
    pub conversation_id: String,
    pub user_id: String,
    pub delivered_seq: Option<u64>,
    pub read_seq: Option<u64>,
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
