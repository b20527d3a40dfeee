//! The frames a client receives, as JSON text with a `type` field; README lists them all. Each
//! is rendered (and its content decrypted) once, whoever many devices get it.
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use confab_consumers::{
    notifier::Notification,
    projection::{LoggedEvent, direct_message_row, group_message_row},
};
use confab_producers::{Conversation, Opened, Opener, Quoter, SentMessage, rfc3339};
use confab_readmodels::{GroupMessageRow, MessageRow, ProfileFields};
use confab_schemas::{Event, ProfileUpdated};
use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    ApiError,
    live::cursor::Cursor,
    views::messages::{GroupMessageView, MessageView},
};

/// A frame rendered once for everyone who gets it.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    /// A JSON object's text; message frames get their cursor spliced in per connection.
    pub(crate) body: Arc<str>,
    pub(crate) message: Option<Arc<SentMessage>>,
    /// Its `type`, for the frame counts.
    pub(crate) frame_type: &'static str,
    /// Who a group message mentions, sorted: their frames say `mention: true`.
    pub(crate) mentioned: Vec<String>,
}

impl Rendered {
    fn new(body: Arc<str>, message: Option<Arc<SentMessage>>, frame_type: &'static str) -> Self {
        Self { body, message, frame_type, mentioned: Vec::new() }
    }

    /// Whether the message mentions `user`.
    pub(crate) fn mentions(&self, user: &str) -> bool {
        self.mentioned.binary_search_by(|id| id.as_str().cmp(user)).is_ok()
    }
}

/// One frame on its way to one connection. The text is shared: a group message's frame is one
/// allocation however many members' queues hold it.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    pub(crate) text: Utf8Bytes,
    pub(crate) message: Option<Arc<SentMessage>>,
    pub(crate) frame_type: &'static str,
}

#[derive(Serialize)]
struct MessageFrame<V> {
    #[serde(rename = "type")]
    frame_type: &'static str,
    kind: &'static str,
    #[serde(flatten)]
    view: V,
}

fn to_text(value: &impl Serialize) -> Result<Arc<str>, ApiError> {
    serde_json::to_string(value).map(Arc::from).map_err(ApiError::internal)
}

pub(crate) fn direct_message(message: Opened<MessageRow>, partition: u32) -> Result<Rendered, ApiError> {
    let row = &message.row;
    let sent = SentMessage {
        message_id: row.message_id.clone(),
        sender_id: row.sender_id.clone(),
        conversation: Conversation::Direct {
            conversation_id: row.conversation_id.clone(),
            sender_id: row.sender_id.clone(),
            recipient_id: row.recipient_id.clone(),
        },
        partition,
        seq: row.seq,
    };
    let frame = MessageFrame { frame_type: "message", kind: "direct", view: MessageView::from(message) };
    Ok(Rendered::new(to_text(&frame)?, Some(Arc::new(sent)), "message"))
}

pub(crate) fn group_message(message: Opened<GroupMessageRow>, partition: u32) -> Result<Rendered, ApiError> {
    let row = &message.row;
    let sent = SentMessage {
        message_id: row.message_id.clone(),
        sender_id: row.sender_id.clone(),
        conversation: Conversation::Group { group_id: row.group_id.clone() },
        partition,
        seq: row.seq,
    };
    let mentioned = row.mentions.clone();
    let frame = MessageFrame { frame_type: "message", kind: "group", view: GroupMessageView::from(message) };
    Ok(Rendered { mentioned, ..Rendered::new(to_text(&frame)?, Some(Arc::new(sent)), "message") })
}

/// The payload's own fields, with `type`, `labels` (what happened), who acted and when.
fn payload_frame(
    frame_type: &'static str,
    labels: &[(&str, &str)],
    payload: &impl Serialize,
    event: &Event,
) -> Result<Rendered, ApiError> {
    let mut value = serde_json::to_value(payload).map_err(ApiError::internal)?;
    if let Value::Object(fields) = &mut value {
        let _ = fields.insert("type".into(), json!(frame_type));
        for (name, label) in labels {
            let _ = fields.insert((*name).into(), json!(label));
        }
        let _ = fields.insert("actorId".into(), json!(event.actor_id()));
        let _ = fields.insert("timestamp".into(), json!(rfc3339(event.occurred_at())));
    }
    Ok(Rendered::new(to_text(&value)?, None, frame_type))
}

/// The frame a notification becomes; None for events no client is told of.
pub(crate) async fn render(quoter: &Quoter, notification: &Notification) -> Result<Option<Rendered>, ApiError> {
    let opener = quoter.opener();
    let event = &notification.event;
    let logged = LoggedEvent { event: event.clone(), position: notification.position.clone() };
    let partition = notification.position.partition;
    let rendered = match event {
        Event::DirectMessageSent(_) => match direct_message_row(&logged) {
            Some(row) => Some(direct_message(quoter.direct(row).await?, partition)?),
            None => None,
        },
        Event::GroupMessageSent(_) => match group_message_row(&logged) {
            Some(row) => Some(group_message(quoter.group(row).await?, partition)?),
            None => None,
        },
        Event::GroupCreated(e) => Some(payload_frame("group", &[("event", "created")], &e.payload, event)?),
        Event::GroupMemberAdded(e) => Some(payload_frame("group", &[("event", "memberAdded")], &e.payload, event)?),
        Event::GroupMemberRemoved(e) => Some(payload_frame("group", &[("event", "memberRemoved")], &e.payload, event)?),
        Event::GroupRenamed(e) => Some(payload_frame("group", &[("event", "renamed")], &e.payload, event)?),
        Event::GroupMemberRoleChanged(e) => {
            Some(payload_frame("group", &[("event", "roleChanged")], &e.payload, event)?)
        }
        Event::DirectMessagesDelivered(e) => Some(receipt("delivered", "direct", &e.payload, event)?),
        Event::DirectMessagesRead(e) => Some(receipt("read", "direct", &e.payload, event)?),
        Event::GroupMessagesDelivered(e) => Some(receipt("delivered", "group", &e.payload, event)?),
        Event::GroupMessagesRead(e) => Some(receipt("read", "group", &e.payload, event)?),
        Event::ProfileUpdated(e) => Some(profile(opener, e, event).await?),
        Event::MessageEdited(e) => changed(opener, event, Change::Edited(&e.event_id, &e.payload.content)).await?,
        Event::MessageDeleted(_) => changed(opener, event, Change::Gone("messageDeleted")).await?,
        Event::MessageReacted(e) => changed(opener, event, Change::Reacted(&e.payload.emoji, e.payload.added)).await?,
        Event::MessageHidden(_) => changed(opener, event, Change::Gone("messageHidden")).await?,
        Event::MessagePinned(e) => changed(opener, event, Change::Pinned(e.payload.pinned)).await?,
        Event::UserRegistered(_)
        | Event::SessionStarted(_)
        | Event::SessionRefreshed(_)
        | Event::SessionEnded(_)
        | Event::PasswordChanged(_)
        | Event::AccountDeleted(_)
        | Event::PushTargetRegistered(_)
        | Event::PushTargetRemoved(_)
        | Event::PlaceMuted(_)
        | Event::AttachmentRequested(_)
        | Event::AttachmentUploaded(_)
        | Event::GroupMembershipMarked(_)
        | Event::UserBlocked(_)
        | Event::UserUnblocked(_) => None,
    };
    Ok(rendered)
}

/// What a change frame says of its message.
enum Change<'a> {
    /// New text: the edit's id and its sealed text.
    Edited(&'a str, &'a str),
    /// Gone from history (the frame's type says for whom).
    Gone(&'static str),
    /// A reaction added (`true`) or taken back.
    Reacted(&'a str, bool),
    /// Pinned (`true`) or unpinned.
    Pinned(bool),
}

/// Which message a change frame is about, as every change frame names it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChangedFrame<'a> {
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    conversation_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<&'a str>,
    message_id: &'a str,
    sender_id: &'a str,
    /// An edit's new text, opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    emoji: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    added: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pinned: Option<bool>,
}

/// A `messageEdited`, `messageDeleted`, `messageHidden`, `reaction` or `messagePinned` frame:
/// which message, where, and what changed (an edit's new text opened; who reacted or pinned is
/// the `actorId`); None for
/// an edit whose text no longer opens (its sender's account is erased: the message shows as
/// deleted).
async fn changed(opener: &Opener, event: &Event, change: Change<'_>) -> Result<Option<Rendered>, ApiError> {
    let Some(changed) = event.changed_message() else { return Ok(None) };
    let group = changed.kind == confab_schemas::place_kind::GROUP;
    let mut frame = ChangedFrame {
        kind: if group { "group" } else { "direct" },
        conversation_id: (!group).then_some(changed.place_id),
        group_id: group.then_some(changed.place_id),
        message_id: changed.message_id,
        sender_id: changed.sender_id,
        content: None,
        emoji: None,
        added: None,
        pinned: None,
    };
    let frame_type = match change {
        Change::Gone(frame_type) => frame_type,
        Change::Reacted(emoji, added) => {
            (frame.emoji, frame.added) = (Some(emoji), Some(added));
            "reaction"
        }
        Change::Pinned(pinned) => {
            frame.pinned = Some(pinned);
            "messagePinned"
        }
        Change::Edited(edit_id, sealed) => {
            let Some(text) = opener.edit(&changed, edit_id, sealed).await? else { return Ok(None) };
            frame.content = Some(text);
            "messageEdited"
        }
    };
    Ok(Some(payload_frame(frame_type, &[], &frame, event)?))
}

/// A profile frame: whose it is and its texts, opened.
async fn profile(opener: &Opener, updated: &ProfileUpdated, event: &Event) -> Result<Rendered, ApiError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ProfileFrame<'a> {
        user_id: &'a str,
        username: &'a str,
        display_name: Option<String>,
        about: Option<String>,
        avatar: Option<String>,
    }
    let p = &updated.payload;
    let texts = opener.profile(&p.user_id, &ProfileFields::from(p)).await?.unwrap_or_default();
    let frame = ProfileFrame {
        user_id: &p.user_id,
        username: &p.username,
        display_name: texts.display_name,
        about: texts.about,
        avatar: texts.avatar_id,
    };
    payload_frame("profile", &[], &frame, event)
}

fn receipt(status: &str, kind: &str, payload: &impl Serialize, event: &Event) -> Result<Rendered, ApiError> {
    payload_frame("receipt", &[("status", status), ("kind", kind)], payload, event)
}

/// A message frame's text for `user`: with its cursor, and `"mention": true` when the message
/// mentions them.
pub(crate) fn with_cursor(rendered: &Rendered, cursor: &Cursor, user: &str) -> String {
    // Every body is a JSON object: `{` then its fields.
    let fields = rendered.body.strip_prefix('{').unwrap_or(&rendered.body);
    let mention = if rendered.mentions(user) { "\"mention\":true," } else { "" };
    format!("{{\"cursor\":\"{}\",{mention}{fields}", cursor.encode())
}

/// Sent once what was missed has been sent: from here on frames are live.
pub(crate) fn ready(cursor: &Cursor) -> String {
    json!({ "type": "ready", "cursor": cursor.encode() }).to_string()
}

pub(crate) fn error(code: &str, message: &str) -> String {
    json!({ "type": "error", "code": code, "message": message }).to_string()
}

/// Someone is typing to a user (`groupId` absent) or in a group.
pub(crate) fn typing(from_id: &str, from_username: &str, group_id: Option<&str>, at_ms: i64) -> String {
    let mut frame = json!({
        "type": "typing",
        "kind": if group_id.is_some() { "group" } else { "direct" },
        "userId": from_id,
        "username": from_username,
        "timestamp": rfc3339(at_ms),
    });
    if let Some(group_id) = group_id {
        frame["groupId"] = json!(group_id);
    }
    frame.to_string()
}
