//! One-on-one messages: sending, at most once per client idempotency key.
use confab_schemas::{DirectMessageSent, DirectMessageSentPayload, Event};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Caller, ChatError, MessageBinding, MessageCommand, UseCases,
    messaging::Published,
    rate_limits::UserAction,
    time::{now_ms, rfc3339},
};

/// Claim scope that makes a client's retry of one send idempotent.
const CLIENT_MESSAGE_CLAIM: &str = "client-message";
/// Namespace of conversation ids (UUID v5 of the two user ids).
const CONVERSATION_NAMESPACE: Uuid = Uuid::from_u128(0x5f1c_0d8e_6a3b_4c2d_9e7f_0a1b_2c3d_4e5f);

/// The one conversation between two users, whoever writes first.
pub fn conversation_id(a: &str, b: &str) -> Uuid {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    Uuid::new_v5(&CONVERSATION_NAMESPACE, format!("{low}:{high}").as_bytes())
}

/// A message to a person.
#[derive(Debug, Clone)]
pub struct DirectSend {
    /// Username of the recipient; the caller's own for notes-to-self.
    pub recipient: String,
    pub message: MessageCommand,
}

/// A stored direct message. Also what a client-message claim remembers (with the recipient), so
/// its serialized form is kept stable.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectSent {
    pub message_id: Uuid,
    pub conversation_id: Uuid,
    /// RFC 3339 UTC with milliseconds.
    pub timestamp: String,
}

/// What a client-message claim remembers, to answer a retry.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FirstSend {
    recipient_id: String,
    #[serde(flatten)]
    sent: DirectSent,
}

impl UseCases {
    /// Sends a direct message; readable by the sender once this answers.
    pub async fn send_direct(&self, caller: &Caller, command: DirectSend) -> Result<DirectSent, ChatError> {
        self.rate_limits.user(UserAction::Send, &caller.sub)?;
        let text = command.message.validated_text()?;
        let recipient = self.user_named(&command.recipient).await.map_err(ChatError::as_recipient)?;
        self.refuse_if_blocked(&caller.sub, &recipient.user_id).await?;
        let conversation_id = conversation_id(&caller.sub, &recipient.user_id);
        let attachments = self.attach(caller, &conversation_id.to_string(), &command.message.attachments).await?;
        let reply_to = self.direct_reply(&conversation_id.to_string(), command.message.reply_to.as_deref()).await?;
        let message_id = Uuid::now_v7();
        let occurred_at = now_ms();
        let (message_id_text, place_id) = (message_id.to_string(), conversation_id.to_string());
        let binding =
            MessageBinding::direct(&message_id_text, &caller.sub, &place_id, &recipient.user_id, &attachments);
        let content = self
            .data_keys
            .for_sealing(&caller.sub, &place_id)
            .await?
            .seal(text.as_bytes(), &binding.associated_data())
            .map_err(ChatError::internal)?;
        let client_message_id = command.message.client_message_id;
        let event = Event::DirectMessageSent(DirectMessageSent {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: DirectMessageSentPayload {
                message_id: message_id.to_string(),
                conversation_id: conversation_id.to_string(),
                sender_id: caller.sub.clone(),
                sender_username: caller.name.clone(),
                recipient_id: recipient.user_id.clone(),
                recipient_username: recipient.username.clone(),
                content,
                client_message_id: client_message_id.clone(),
                attachments,
                reply_to_message_id: reply_to,
            },
        });
        let first = FirstSend {
            recipient_id: recipient.user_id.clone(),
            sent: DirectSent { message_id, conversation_id, timestamp: rfc3339(occurred_at) },
        };
        let claim = client_message_id.as_deref().map(|id| (CLIENT_MESSAGE_CLAIM, caller.sub.as_str(), id));
        match self.publish_once(claim, &first, &event, occurred_at).await? {
            Published::Appended(position) => {
                self.read_your_write(&position).await;
                // A block the check above did not see yet may have come first in the
                // conversation's order: then the projection drops the message, by the same rule.
                self.refuse_if_blocked_at(&caller.sub, &recipient.user_id, position.offset).await?;
                Ok(first.sent)
            }
            Published::Retried(value) => retried_send(&value, &recipient.user_id),
        }
    }
}

/// The answer to a retry: the first send's ids, if the retry is really the same send.
fn retried_send(first: &[u8], recipient_id: &str) -> Result<DirectSent, ChatError> {
    let first: FirstSend = serde_json::from_slice(first).map_err(ChatError::internal)?;
    if first.recipient_id != recipient_id {
        return Err(ChatError::conflict(
            "client_message_id_reused",
            "this clientMessageId was already used for a message to another recipient",
        ));
    }
    Ok(first.sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_is_the_same_whoever_writes_first() {
        assert_eq!(conversation_id("a", "b"), conversation_id("b", "a"));
        assert_ne!(conversation_id("a", "b"), conversation_id("a", "c"));
    }

    #[test]
    fn a_retry_is_answered_with_the_first_send_only_for_the_same_recipient() {
        let sent = DirectSent { message_id: Uuid::now_v7(), conversation_id: Uuid::now_v7(), timestamp: "t".into() };
        let first = FirstSend { recipient_id: "bob".into(), sent: sent.clone() };
        let stored = serde_json::to_vec(&first).unwrap_or_default();
        let again = retried_send(&stored, "bob").map(|s| s.message_id);
        assert_eq!(again.ok(), Some(sent.message_id));
        assert_eq!(retried_send(&stored, "carol").err().map(|e| e.code()), Some("client_message_id_reused"));
        // The claim value's shape is what earlier processes stored: keep it.
        let json: serde_json::Value = serde_json::from_slice(&stored).unwrap_or_default();
        for field in ["recipientId", "messageId", "conversationId", "timestamp"] {
            assert!(json.get(field).is_some(), "{field} missing from {json}");
        }
    }
}
