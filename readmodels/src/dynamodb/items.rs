//! Rows to DynamoDB items and back.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::{primitives::Blob, types::AttributeValue};
use base64::{Engine, engine::general_purpose::STANDARD};
use confab_schemas::AttachmentRef;
use serde_json::{Value, json};

use crate::{
    ConversationRow, GroupMessageRow, GroupRole, GroupRow, Lifecycle, MemberRow, MessageRow, Pin, ProfileFields,
    StoreError, UserRow,
};

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

pub(crate) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn b(value: &[u8]) -> AttributeValue {
    AttributeValue::B(Blob::new(value))
}

fn missing(name: &str) -> StoreError {
    StoreError::corrupt("dynamodb", format!("attribute {name} missing or of the wrong type"))
}

pub(crate) fn get_s(item: &Item, name: &str) -> Result<String, StoreError> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned().ok_or_else(|| missing(name))
}

pub(crate) fn get_n(item: &Item, name: &str) -> Result<i64, StoreError> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).ok_or_else(|| missing(name))
}

pub(crate) fn get_b(item: &Item, name: &str) -> Result<Vec<u8>, StoreError> {
    item.get(name).and_then(|v| v.as_b().ok()).map(|b| b.as_ref().to_vec()).ok_or_else(|| missing(name))
}

pub(crate) fn user_from_item(item: &Item) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        user_id: get_s(item, "user_id")?,
        username: get_s(item, "username")?,
        password_hash: get_s(item, "password_hash")?,
        registered_at_ms: get_n(item, "registered_at_ms")?,
        profile: ProfileFields {
            display_name: get_opt_s(item, "display_name"),
            about: get_opt_s(item, "about"),
            sealed: item.get("profile_sealed").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
            avatar_id: get_opt_s(item, "avatar_id"),
            show_presence: item.get("show_presence").and_then(|v| v.as_bool().ok()).copied().unwrap_or(true),
        },
        deleted_at_ms: item.get("deleted_at_ms").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()),
    })
}

pub(crate) fn message_item(m: &MessageRow) -> Item {
    let mut item = Item::from([
        ("conversation_id".to_owned(), s(&m.conversation_id)),
        ("message_id".to_owned(), s(&m.message_id)),
        ("seq".to_owned(), s(&seq_key(m.seq))),
        ("ordinal".to_owned(), n(m.ordinal as i64)),
        ("sender_id".to_owned(), s(&m.sender_id)),
        ("sender_username".to_owned(), s(&m.sender_username)),
        ("recipient_id".to_owned(), s(&m.recipient_id)),
        ("recipient_username".to_owned(), s(&m.recipient_username)),
        ("content".to_owned(), s(&m.content)),
        ("sent_at_ms".to_owned(), n(m.sent_at_ms)),
    ]);
    if let Some(id) = &m.client_message_id {
        let _ = item.insert("client_message_id".to_owned(), s(id));
    }
    if !m.attachments.is_empty() {
        let _ = item.insert("attachments".to_owned(), attachments_attribute(&m.attachments));
    }
    if let Some(reply_to) = &m.reply_to {
        let _ = item.insert("reply_to".to_owned(), s(reply_to));
    }
    put_lifecycle(&mut item, &m.lifecycle);
    item
}

pub(crate) fn message_from_item(item: &Item) -> Result<MessageRow, StoreError> {
    Ok(MessageRow {
        message_id: get_s(item, "message_id")?,
        conversation_id: get_s(item, "conversation_id")?,
        seq: get_seq(item)?,
        ordinal: get_ordinal(item),
        sender_id: get_s(item, "sender_id")?,
        sender_username: get_s(item, "sender_username")?,
        recipient_id: get_s(item, "recipient_id")?,
        recipient_username: get_s(item, "recipient_username")?,
        content: get_s(item, "content")?,
        sent_at_ms: get_n(item, "sent_at_ms")?,
        client_message_id: get_opt_s(item, "client_message_id"),
        attachments: attachments_from_item(item)?,
        reply_to: get_opt_s(item, "reply_to"),
        lifecycle: lifecycle_from_item(item)?,
    })
}

/// A conversation carries a copy of its newest message, so listing needs one Query.
pub(crate) fn conversation_item(row: &ConversationRow) -> Item {
    let last = message_item(&row.last_message);
    Item::from([
        ("user_id".to_owned(), s(&row.user_id)),
        ("conversation_id".to_owned(), s(&row.conversation_id)),
        ("peer_id".to_owned(), s(&row.peer_id)),
        ("peer_username".to_owned(), s(&row.peer_username)),
        ("last_message_id".to_owned(), s(&row.last_message.message_id)),
        ("last_message".to_owned(), AttributeValue::M(last)),
    ])
}

pub(crate) fn conversation_from_item(item: &Item) -> Result<ConversationRow, StoreError> {
    let last = item.get("last_message").and_then(|v| v.as_m().ok()).ok_or_else(|| missing("last_message"))?;
    Ok(ConversationRow {
        user_id: get_s(item, "user_id")?,
        conversation_id: get_s(item, "conversation_id")?,
        peer_id: get_s(item, "peer_id")?,
        peer_username: get_s(item, "peer_username")?,
        last_message: message_from_item(last)?,
    })
}

/// An item as plain JSON, for dumps.
pub(crate) fn to_json(item: &Item) -> Value {
    let mut keys: Vec<_> = item.keys().collect();
    keys.sort();
    let map: serde_json::Map<String, Value> = keys.into_iter().map(|k| (k.clone(), attribute_json(&item[k]))).collect();
    Value::Object(map)
}

fn attribute_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(v) => json!(v),
        AttributeValue::N(v) => json!({ "N": v }),
        AttributeValue::B(v) => json!({ "B": STANDARD.encode(v.as_ref()) }),
        AttributeValue::Bool(v) => json!(v),
        AttributeValue::M(m) => to_json(m),
        AttributeValue::L(l) => Value::Array(l.iter().map(attribute_json).collect()),
        AttributeValue::Null(_) => Value::Null,
        other => json!(format!("{other:?}")),
    }
}

/// A message's changes, as attributes beside its own; none while it is as sent.
fn put_lifecycle(item: &mut Item, lifecycle: &Lifecycle) {
    if lifecycle.is_untouched() {
        return;
    }
    let _ = item.insert("changed_seq".to_owned(), s(&seq_key(lifecycle.changed_seq)));
    let _ = item.insert("edit_count".to_owned(), n(i64::from(lifecycle.edit_count)));
    for (name, at) in [("edited_at_ms", lifecycle.edited_at_ms), ("deleted_at_ms", lifecycle.deleted_at_ms)] {
        if let Some(at) = at {
            let _ = item.insert(name.to_owned(), n(at));
        }
    }
    if let Some(edit_id) = &lifecycle.edit_id {
        let _ = item.insert("edit_id".to_owned(), s(edit_id));
    }
    if !lifecycle.reactions.is_empty() {
        let reactions = lifecycle
            .reactions
            .iter()
            .map(|(emoji, users)| (emoji.clone(), AttributeValue::Ss(users.iter().cloned().collect())))
            .collect();
        let _ = item.insert("reactions".to_owned(), AttributeValue::M(reactions));
    }
    if !lifecycle.hidden_for.is_empty() {
        let users = lifecycle.hidden_for.iter().cloned().collect();
        let _ = item.insert("hidden_for".to_owned(), AttributeValue::Ss(users));
    }
    if let Some(pin) = &lifecycle.pinned {
        let _ = item.insert("pinned_by".to_owned(), s(&pin.by));
        let _ = item.insert("pinned_at_ms".to_owned(), n(pin.at_ms));
    }
}

fn lifecycle_from_item(item: &Item) -> Result<Lifecycle, StoreError> {
    let Some(changed_seq) = get_opt_s(item, "changed_seq") else { return Ok(Lifecycle::default()) };
    let number = |name| item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i64>().ok());
    Ok(Lifecycle {
        changed_seq: changed_seq.parse().map_err(|_| missing("changed_seq"))?,
        edit_count: u32::try_from(get_n(item, "edit_count")?).map_err(|_| missing("edit_count"))?,
        edited_at_ms: number("edited_at_ms"),
        edit_id: get_opt_s(item, "edit_id"),
        deleted_at_ms: number("deleted_at_ms"),
        reactions: reactions_from_item(item)?,
        hidden_for: match item.get("hidden_for") {
            Some(users) => users.as_ss().map_err(|_| missing("hidden_for"))?.iter().cloned().collect(),
            None => BTreeSet::new(),
        },
        pinned: match (get_opt_s(item, "pinned_by"), number("pinned_at_ms")) {
            (Some(by), Some(at_ms)) => Some(Pin { by, at_ms }),
            _ => None,
        },
    })
}

/// Who reacted with what: a map of emoji to string sets (never empty: an emoji no one gives is
/// not kept).
fn reactions_from_item(item: &Item) -> Result<BTreeMap<String, BTreeSet<String>>, StoreError> {
    let Some(map) = item.get("reactions") else { return Ok(BTreeMap::new()) };
    let map = map.as_m().map_err(|_| missing("reactions"))?;
    map.iter()
        .map(|(emoji, users)| {
            let users = users.as_ss().map_err(|_| missing("reactions"))?;
            Ok((emoji.clone(), users.iter().cloned().collect()))
        })
        .collect()
}

/// A message's attachments as a list of maps.
fn attachments_attribute(attachments: &[AttachmentRef]) -> AttributeValue {
    AttributeValue::L(
        attachments
            .iter()
            .map(|a| {
                AttributeValue::M(Item::from([
                    ("attachment_id".to_owned(), s(&a.attachment_id)),
                    ("file_name".to_owned(), s(&a.file_name)),
                    ("content_type".to_owned(), s(&a.content_type)),
                    ("size".to_owned(), n(a.size)),
                    ("sha256".to_owned(), s(&a.sha256)),
                ]))
            })
            .collect(),
    )
}

fn attachments_from_item(item: &Item) -> Result<Vec<AttachmentRef>, StoreError> {
    let Some(list) = item.get("attachments") else { return Ok(Vec::new()) };
    let list = list.as_l().map_err(|_| missing("attachments"))?;
    list.iter()
        .map(|entry| {
            let entry = entry.as_m().map_err(|_| missing("attachments"))?;
            Ok(AttachmentRef {
                attachment_id: get_s(entry, "attachment_id")?,
                file_name: get_s(entry, "file_name")?,
                content_type: get_s(entry, "content_type")?,
                size: get_n(entry, "size")?,
                sha256: get_s(entry, "sha256")?,
            })
        })
        .collect()
}

/// Message seqs as fixed-width strings, so the string sort key sorts as the number.
pub(crate) fn seq_key(seq: u64) -> String {
    format!("{seq:020}")
}

/// A direct message's seq; zero in items written before it was kept.
pub(crate) fn get_seq(item: &Item) -> Result<u64, StoreError> {
    let Some(seq) = get_opt_s(item, "seq") else { return Ok(0) };
    seq.parse().map_err(|_| StoreError::corrupt("messages", "seq is not a number"))
}

/// A message's ordinal; zero in items written before it was kept.
fn get_ordinal(item: &Item) -> u64 {
    item.get("ordinal").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

pub(crate) fn get_opt_s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

pub(crate) fn group_message_item(m: &GroupMessageRow) -> Item {
    let mut item = Item::from([
        ("group_id".to_owned(), s(&m.group_id)),
        ("seq".to_owned(), s(&seq_key(m.seq))),
        ("ordinal".to_owned(), n(m.ordinal as i64)),
        ("message_id".to_owned(), s(&m.message_id)),
        ("sender_id".to_owned(), s(&m.sender_id)),
        ("sender_username".to_owned(), s(&m.sender_username)),
        ("content".to_owned(), s(&m.content)),
        ("sent_at_ms".to_owned(), n(m.sent_at_ms)),
    ]);
    if let Some(id) = &m.client_message_id {
        let _ = item.insert("client_message_id".to_owned(), s(id));
    }
    if !m.attachments.is_empty() {
        let _ = item.insert("attachments".to_owned(), attachments_attribute(&m.attachments));
    }
    if let Some(reply_to) = &m.reply_to {
        let _ = item.insert("reply_to".to_owned(), s(reply_to));
    }
    if !m.mentions.is_empty() {
        let _ = item.insert("mentions".to_owned(), AttributeValue::L(m.mentions.iter().map(|id| s(id)).collect()));
    }
    put_lifecycle(&mut item, &m.lifecycle);
    item
}

pub(crate) fn group_message_from_item(item: &Item) -> Result<GroupMessageRow, StoreError> {
    Ok(GroupMessageRow {
        group_id: get_s(item, "group_id")?,
        seq: get_s(item, "seq")?.parse().map_err(|_| missing("seq"))?,
        ordinal: get_ordinal(item),
        message_id: get_s(item, "message_id")?,
        sender_id: get_s(item, "sender_id")?,
        sender_username: get_s(item, "sender_username")?,
        content: get_s(item, "content")?,
        sent_at_ms: get_n(item, "sent_at_ms")?,
        client_message_id: get_opt_s(item, "client_message_id"),
        attachments: attachments_from_item(item)?,
        reply_to: get_opt_s(item, "reply_to"),
        mentions: match item.get("mentions") {
            Some(list) => list
                .as_l()
                .map_err(|_| missing("mentions"))?
                .iter()
                .map(|id| id.as_s().cloned().map_err(|_| missing("mentions")))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        },
        lifecycle: lifecycle_from_item(item)?,
    })
}

/// A group item also holds the last message, written by another projection; a group item
/// without a name is only that, and the group does not exist yet.
pub(crate) fn group_from_item(item: &Item) -> Result<Option<GroupRow>, StoreError> {
    if !item.contains_key("name") {
        return Ok(None);
    }
    Ok(Some(GroupRow {
        group_id: get_s(item, "group_id")?,
        name: get_s(item, "name")?,
        owner_id: get_s(item, "owner_id")?,
        owner_username: get_s(item, "owner_username")?,
        created_at_ms: get_n(item, "created_at_ms")?,
        next_offset: get_n(item, "next_offset")? as u64,
    }))
}

pub(crate) fn last_message_from_item(item: &Item) -> Result<Option<GroupMessageRow>, StoreError> {
    item.get("last_message").and_then(|v| v.as_m().ok()).map(group_message_from_item).transpose()
}

pub(crate) fn member_item(m: &MemberRow) -> Item {
    let mut item = Item::from([
        ("group_id".to_owned(), s(&m.group_id)),
        ("user_id".to_owned(), s(&m.user_id)),
        ("username".to_owned(), s(&m.username)),
        ("role".to_owned(), s(m.role.as_str())),
        ("joined_at_ms".to_owned(), n(m.joined_at_ms)),
        ("seniority".to_owned(), s(&m.seniority)),
    ]);
    if let Some(after) = &m.history_after {
        let _ = item.insert("history_after".to_owned(), s(after));
    }
    if let Some(added_by) = &m.added_by {
        let _ = item.insert("added_by".to_owned(), s(added_by));
    }
    item
}

pub(crate) fn member_from_item(item: &Item) -> Result<MemberRow, StoreError> {
    Ok(MemberRow {
        group_id: get_s(item, "group_id")?,
        user_id: get_s(item, "user_id")?,
        username: get_s(item, "username")?,
        role: GroupRole::from_event(&get_s(item, "role")?),
        joined_at_ms: get_n(item, "joined_at_ms")?,
        seniority: get_s(item, "seniority")?,
        history_after: get_opt_s(item, "history_after"),
        added_by: get_opt_s(item, "added_by"),
    })
}
