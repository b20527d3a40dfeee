//! Group messages: sending to every member, at most once per client idempotency key.
use confab_schemas::{Event, GroupMessageSent, GroupMessageSentPayload};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Caller, ChatError, MessageBinding, MessageCommand, UseCases,
    messaging::Published,
    rate_limits::UserAction,
    time::{now_ms, rfc3339},
};

/// Claim scope that makes a client's retry of one group send idempotent.
const GROUP_MESSAGE_CLAIM: &str = "group-client-message";

/// A stored group message. Also what a client-message claim remembers, so its serialized form
/// is kept stable.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSent {
    pub message_id: Uuid,
    pub group_id: String,
    /// RFC 3339 UTC with milliseconds.
    pub timestamp: String,
}

impl UseCases {
    /// Sends a message to a group the caller is a member of; readable by the sender once this
    /// answers.
    pub async fn send_group(
        &self,
        caller: &Caller,
        raw_group_id: &str,
        command: MessageCommand,
    ) -> Result<GroupSent, ChatError> {
        self.rate_limits.user(UserAction::Send, &caller.sub)?;
        let text = command.validated_text()?;
        let (group, member) = self.membership(raw_group_id, &caller.sub).await?;
        let group_id = group.group_id;
        let attachments = self.attach(caller, &group_id, &command.attachments).await?;
        let reply_to = self.group_reply(&member, command.reply_to.as_deref()).await?;
        let mentions = self.mentions(&group_id, &caller.sub, text, &command.mentions).await?;
        let message_id = Uuid::now_v7();
        let occurred_at = now_ms();
        let message_id_text = message_id.to_string();
        let binding = MessageBinding::group(&message_id_text, &caller.sub, &group_id, &attachments);
        let content = self
            .data_keys
            .for_sealing(&caller.sub, &group_id)
            .await?
            .seal(text.as_bytes(), &binding.associated_data())
            .map_err(ChatError::internal)?;
        let client_message_id = command.client_message_id;
        let event = Event::GroupMessageSent(GroupMessageSent {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: caller.sub.clone(),
            payload: GroupMessageSentPayload {
                message_id: message_id.to_string(),
                group_id: group_id.clone(),
                sender_id: caller.sub.clone(),
                sender_username: caller.name.clone(),
                content,
                client_message_id: client_message_id.clone(),
                attachments,
                reply_to_message_id: reply_to,
                mentions,
            },
        });
        let sent = GroupSent { message_id, group_id: group_id.clone(), timestamp: rfc3339(occurred_at) };
        let claim = client_message_id.as_deref().map(|id| (GROUP_MESSAGE_CLAIM, caller.sub.as_str(), id));
        match self.publish_once(claim, &sent, &event, occurred_at).await? {
            Published::Appended(position) => {
                // The projection drops a message its sender sent after being removed (the check
                // above read a membership that was behind): it was not sent.
                if self.caught_up(&position).await
                    && self.read().messages.group_message(&group_id, &message_id.to_string()).await?.is_none()
                {
                    return Err(ChatError::forbidden(
                        "not_a_member",
                        "you were removed from this group before your message reached it",
                    ));
                }
                Ok(sent)
            }
            Published::Retried(value) => retried_send(&value, &group_id),
        }
    }
}

/// The answer to a retry: the first send, if it went to the same group.
fn retried_send(first: &[u8], group_id: &str) -> Result<GroupSent, ChatError> {
    let first: GroupSent = serde_json::from_slice(first).map_err(ChatError::internal)?;
    if first.group_id != group_id {
        return Err(ChatError::conflict(
            "client_message_id_reused",
            "this clientMessageId was already used for a message to another group",
        ));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_is_answered_with_the_first_send_only_for_the_same_group() {
        let sent = GroupSent { message_id: Uuid::now_v7(), group_id: "g1".into(), timestamp: "t".into() };
        let stored = serde_json::to_vec(&sent).unwrap_or_default();
        assert_eq!(retried_send(&stored, "g1").ok().map(|s| s.message_id), Some(sent.message_id));
        assert_eq!(retried_send(&stored, "g2").err().map(|e| e.code()), Some("client_message_id_reused"));
    }
}
