//! Turning acks and reads into receipt events. A receipt is a watermark ("up to this message"),
//! appended at most once per (reader, conversation, status, message) through a claim, so two
//! devices acking the same frames, or a client retrying, append it once.
use confab_consumers::store::ReceiptStatus;
use confab_eventlog::{Claim, ClaimedAppend, Position};
use confab_schemas::{
    DirectMessagesDelivered, DirectMessagesRead, DirectReceiptPayload, Event, GroupMessagesDelivered,
    GroupMessagesRead, GroupReceiptPayload,
};
use uuid::Uuid;

use crate::{ApiError, AppState, live::frames::Conversation, time::now_ms};

const RECEIPT_CLAIM: &str = "receipt";

/// Appends `reader`'s receipt for `conversation` up to `message_id`. The position is None when
/// the same receipt was appended before.
pub(crate) async fn publish(
    state: &AppState,
    reader: &str,
    conversation: &Conversation,
    message_id: &str,
    status: ReceiptStatus,
) -> Result<Option<Position>, ApiError> {
    let (event_id, occurred_at, actor_id) = (Uuid::now_v7().to_string(), now_ms(), reader.to_owned());
    let up_to_message_id = message_id.to_owned();
    let event = match conversation {
        Conversation::Direct { conversation_id, sender_id, recipient_id } => {
            let peer_id = if sender_id == reader { recipient_id } else { sender_id };
            let payload = DirectReceiptPayload {
                conversation_id: conversation_id.clone(),
                reader_id: reader.to_owned(),
                peer_id: peer_id.clone(),
                up_to_message_id,
            };
            match status {
                ReceiptStatus::Delivered => {
                    Event::DirectMessagesDelivered(DirectMessagesDelivered { event_id, occurred_at, actor_id, payload })
                }
                ReceiptStatus::Read => {
                    Event::DirectMessagesRead(DirectMessagesRead { event_id, occurred_at, actor_id, payload })
                }
            }
        }
        Conversation::Group { group_id } => {
            let payload =
                GroupReceiptPayload { group_id: group_id.clone(), reader_id: reader.to_owned(), up_to_message_id };
            match status {
                ReceiptStatus::Delivered => {
                    Event::GroupMessagesDelivered(GroupMessagesDelivered { event_id, occurred_at, actor_id, payload })
                }
                ReceiptStatus::Read => {
                    Event::GroupMessagesRead(GroupMessagesRead { event_id, occurred_at, actor_id, payload })
                }
            }
        }
    };
    let claim = Claim {
        scope: RECEIPT_CLAIM.into(),
        key: format!("{reader}/{}/{}/{message_id}", event.key(), status.as_str()),
        value: Vec::new(),
    };
    Ok(match state.publisher.publish_claimed(claim, &event, occurred_at).await? {
        ClaimedAppend::Appended(position) => Some(position),
        ClaimedAppend::Taken { .. } => None,
    })
}

/// What a read answers with.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReadReceipt {
    /// The direct conversation's id, or the group's.
    conversation_id: String,
    up_to_message_id: String,
}

fn message_not_found() -> ApiError {
    ApiError::not_found("message_not_found", "no such message in that conversation")
}

/// `reader` read their conversation with `peer` (a username) up to `message_id`.
pub(crate) async fn read_direct(
    state: &AppState,
    reader: &crate::auth::token::Claims,
    peer: &str,
    message_id: &str,
) -> Result<ReadReceipt, ApiError> {
    let peer = crate::routes::groups::user_named(state, peer).await?;
    let conversation_id = crate::routes::chat::conversation_id(&reader.sub, &peer.user_id).to_string();
    let message_id = Uuid::parse_str(message_id).map_err(|_| message_not_found())?.to_string();
    let row = state.messages.message(&conversation_id, &message_id).await?.ok_or_else(message_not_found)?;
    let conversation = Conversation::Direct {
        conversation_id: conversation_id.clone(),
        sender_id: row.sender_id,
        recipient_id: row.recipient_id,
    };
    read(state, &reader.sub, conversation, message_id).await
}

/// `reader` read group `group_id` up to `message_id`.
pub(crate) async fn read_group(
    state: &AppState,
    reader: &crate::auth::token::Claims,
    group_id: &str,
    message_id: &str,
) -> Result<ReadReceipt, ApiError> {
    let (group, _) = crate::routes::groups::membership(state, group_id, &reader.sub).await?;
    let message_id = Uuid::parse_str(message_id).map_err(|_| message_not_found())?.to_string();
    let _ = state.messages.group_message(&group.group_id, &message_id).await?.ok_or_else(message_not_found)?;
    read(state, &reader.sub, Conversation::Group { group_id: group.group_id }, message_id).await
}

/// A `read` frame's `to`: a group id (36 characters, longer than any username) or a username.
pub(crate) async fn read_either(
    state: &AppState,
    reader: &crate::auth::token::Claims,
    to: &str,
    message_id: &str,
) -> Result<ReadReceipt, ApiError> {
    if Uuid::parse_str(to).is_ok() {
        read_group(state, reader, to, message_id).await
    } else {
        read_direct(state, reader, to, message_id).await
    }
}

async fn read(
    state: &AppState,
    reader: &str,
    conversation: Conversation,
    message_id: String,
) -> Result<ReadReceipt, ApiError> {
    if let Some(position) = publish(state, reader, &conversation, &message_id, ReceiptStatus::Read).await? {
        state.read_your_write(&state.projections.messages, &position).await;
    }
    let conversation_id = match conversation {
        Conversation::Direct { conversation_id, .. } => conversation_id,
        Conversation::Group { group_id } => group_id,
    };
    Ok(ReadReceipt { conversation_id, up_to_message_id: message_id })
}
