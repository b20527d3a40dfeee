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
    pub sender_id: String,
    pub sender_username: String,
    pub recipient_id: String,
    pub recipient_username: String,
    pub content: String,
    pub sent_at_ms: i64,
    pub client_message_id: Option<String>,
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
