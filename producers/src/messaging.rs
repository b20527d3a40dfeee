//! What direct and group messages share: the command, its content rules, and sending at most once
//! per client idempotency key.
use confab_eventlog::{Claim, ClaimedAppend, Position};
use confab_schemas::Event;
use serde::Serialize;

use crate::{ChatError, UseCases, attachments::MAX_ATTACHMENTS_PER_MESSAGE};

/// Largest message, in bytes of UTF-8.
/// Longest message text, in bytes of UTF-8.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Longest idempotency key, in characters.
pub const MAX_CLIENT_MESSAGE_ID: usize = 128;

/// A message to send, to a person or a group.
#[derive(Debug, Clone, Default)]
pub struct MessageCommand {
    /// Up to 64 KiB of text; may be left out when `attachments` are given.
    pub message: Option<String>,
    /// The client's idempotency key: resending with the same one returns the first message.
    pub client_message_id: Option<String>,
    /// Attachment ids of the same conversation or group, uploaded.
    pub attachments: Vec<String>,
    /// The id of an earlier message of the same conversation or group, which this one answers.
    pub reply_to: Option<String>,
    /// Members a group message mentions by user id, beside those its text names as
    /// `@username`; a direct message has no use for them (its reader is always told).
    pub mentions: Vec<String>,
}

impl MessageCommand {
    /// Checks the content, which may be left out when it carries attachments; returns the text.
    pub(crate) fn validated_text(&self) -> Result<&str, ChatError> {
        let message = self.message.as_deref().unwrap_or_default();
        if message.trim().is_empty() && self.attachments.is_empty() {
            return Err(ChatError::invalid("empty_message", "message must not be empty without attachments"));
        }
        if self.attachments.len() > MAX_ATTACHMENTS_PER_MESSAGE {
            return Err(ChatError::invalid(
                "too_many_attachments",
                format!("a message carries at most {MAX_ATTACHMENTS_PER_MESSAGE} attachments"),
            ));
        }
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(ChatError::invalid("message_too_long", "message must be at most 64 KiB"));
        }
        if self
            .client_message_id
            .as_deref()
            .is_some_and(|id| !(1..=MAX_CLIENT_MESSAGE_ID).contains(&id.chars().count()))
        {
            return Err(ChatError::invalid("invalid_client_message_id", "clientMessageId must be 1-128 characters"));
        }
        Ok(message)
    }
}

/// How a send ended: appended now, or a retry of a send that already holds the client's key.
pub(crate) enum Published {
    Appended(Position),
    /// The first send's claim value.
    Retried(Vec<u8>),
}

impl UseCases {
    /// Appends `event`; with `claim` = (scope, sender id, client message id), only if that key
    /// is free, remembering `first` as what a retry is answered with.
    pub(crate) async fn publish_once(
        &self,
        claim: Option<(&str, &str, &str)>,
        first: &impl Serialize,
        event: &Event,
        occurred_at: i64,
    ) -> Result<Published, ChatError> {
        let Some((scope, sender, client_id)) = claim else {
            return Ok(Published::Appended(self.publisher.publish(event, occurred_at).await?));
        };
        let claim = Claim {
            scope: scope.into(),
            key: format!("{sender}/{client_id}"),
            value: serde_json::to_vec(first).map_err(ChatError::internal)?,
        };
        Ok(match self.publisher.publish_claimed(claim, event, occurred_at).await? {
            ClaimedAppend::Appended(position) => Published::Appended(position),
            ClaimedAppend::Taken { value, finished } => {
                // This retry finished the first send's append: readable before it answers.
                if let Some(position) = finished {
                    self.read_your_write(&position).await;
                }
                Published::Retried(value)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(message: Option<&str>, attachments: usize, client_id: Option<&str>) -> MessageCommand {
        MessageCommand {
            message: message.map(str::to_owned),
            client_message_id: client_id.map(str::to_owned),
            attachments: (0..attachments).map(|i| i.to_string()).collect(),
            ..MessageCommand::default()
        }
    }

    fn code(result: Result<&str, ChatError>) -> &'static str {
        result.err().map_or("ok", |e| e.code())
    }

    #[test]
    fn content_rules() {
        assert_eq!(code(command(Some("hi"), 0, None).validated_text()), "ok");
        assert_eq!(code(command(Some("  "), 0, None).validated_text()), "empty_message");
        assert_eq!(code(command(None, 0, None).validated_text()), "empty_message");
        assert_eq!(code(command(None, 1, None).validated_text()), "ok", "attachments need no text");
        assert_eq!(code(command(None, 11, None).validated_text()), "too_many_attachments");
        let long = "x".repeat(MAX_MESSAGE_BYTES + 1);
        assert_eq!(code(command(Some(&long), 0, None).validated_text()), "message_too_long");
        assert_eq!(code(command(Some("hi"), 0, Some("")).validated_text()), "invalid_client_message_id");
        let key = "k".repeat(MAX_CLIENT_MESSAGE_ID + 1);
        assert_eq!(code(command(Some("hi"), 0, Some(&key)).validated_text()), "invalid_client_message_id");
        assert_eq!(code(command(Some("hi"), 0, Some("k1")).validated_text()), "ok");
    }
}
