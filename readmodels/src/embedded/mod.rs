//! The read models in one redb file on local disk. Rows are JSON; keys are laid out so every
//! query is one ordered range read.
//!
//! Writes commit without an fsync and become durable together at the next [`Flush::flush`]; the
//! projection runner flushes before it commits its log offsets, so a crash rolls the file back to
//! a flush and the projections replay the log from there. Reads run on the caller's thread: a
//! redb read never waits for a writer and a cached page costs microseconds, less than a hand-off
//! to the blocking pool.
mod analytics;
mod attachments;
mod blocks;
pub mod generations;
mod groups;
mod keys;
mod messages;
mod push;
mod receipts;
mod sessions;
mod users;

pub use analytics::EmbeddedAnalytics;
pub use keys::EmbeddedKeys;

use std::{path::Path, sync::Arc};

use async_trait::async_trait;
use redb::{Database, Durability, ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

use crate::{Flush, StoreError, error::storage_error};

/// username -> UserRow.
const USERS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("users");
/// user id -> username.
const USER_IDS: TableDefinition<'_, &str, &str> = TableDefinition::new("user_ids");
/// (conversation id, message id) -> MessageRow. Message ids are UUID v7, so this sorts by time.
const MESSAGES: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("messages");
/// (conversation id, seq) -> message id: a conversation in log order.
const MESSAGE_SEQS: TableDefinition<'_, (&str, u64), &str> = TableDefinition::new("message_seqs");
/// message id -> conversation id: where a direct message is, from its id alone.
const MESSAGE_PLACES: TableDefinition<'_, &str, &str> = TableDefinition::new("message_places");
/// (user id, conversation id) -> ConversationRow.
const CONVERSATIONS: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("conversations");
/// (user id, last message id, conversation id): a user's conversations by newest activity.
const ACTIVITY: TableDefinition<'_, (&str, &str, &str), ()> = TableDefinition::new("activity");

/// (conversation or group id, user id) -> ReceiptRow.
const RECEIPTS: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("receipts");

/// group id -> GroupRow.
const GROUPS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("groups");
/// (group id, user id) -> MemberRow.
const MEMBERS: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("group_members");
/// (user id, group id): a user's groups.
const USER_GROUPS: TableDefinition<'_, (&str, &str), ()> = TableDefinition::new("user_groups");
/// (group id, seq) -> GroupMessageRow, in the group's log order.
const GROUP_MESSAGES: TableDefinition<'_, (&str, u64), &[u8]> = TableDefinition::new("group_messages");
/// (group id, message id) -> seq.
const GROUP_MESSAGE_IDS: TableDefinition<'_, (&str, &str), u64> = TableDefinition::new("group_message_ids");
/// (group id, user id, seq) -> member: each membership mark in the group's message order.
const MEMBERSHIP_MARKS: TableDefinition<'_, (&str, &str, u64), bool> = TableDefinition::new("membership_marks");
/// (conversation or group id, seq) -> the id of the message at that seq, pinned there.
const PINS: TableDefinition<'_, (&str, u64), &str> = TableDefinition::new("pins");
/// (group id, user id, seq) -> the id of the message at that seq that mentions the user.
const MENTIONS: TableDefinition<'_, (&str, &str, u64), &str> = TableDefinition::new("mentions");
/// (group id, user id, seq) -> the event id of the change a membership mark marks.
const MEMBERSHIP_CHANGES: TableDefinition<'_, (&str, &str, u64), &str> = TableDefinition::new("membership_changes");

/// (group id, offset of a membership change) -> whether it was applied.
const CHANGE_OUTCOMES: TableDefinition<'_, (&str, u64), bool> = TableDefinition::new("change_outcomes");

/// Sorts after every id: ids are lowercase hyphenated UUIDs, all below `~`.
const AFTER_ALL_IDS: &str = "~";

/// redb's page cache; its default (1 GiB per database) is more than a chat server should hold.
const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// The embedded read-model store.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

fn to_json<T: Serialize>(row: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(row).map_err(storage_error)
}

fn from_json<T: DeserializeOwned>(table: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(table, e))
}

impl EmbeddedStore {
    /// Opens or creates the store at `path`. Blocks on disk.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::builder().set_cache_size(CACHE_BYTES).create(path).map_err(storage_error)?;
        let txn = db.begin_write().map_err(storage_error)?;
        {
            let _ = txn.open_table(USERS).map_err(storage_error)?;
            let _ = txn.open_table(USER_IDS).map_err(storage_error)?;
            let _ = txn.open_table(MESSAGES).map_err(storage_error)?;
            let _ = txn.open_table(MESSAGE_SEQS).map_err(storage_error)?;
            let _ = txn.open_table(MESSAGE_PLACES).map_err(storage_error)?;
            let _ = txn.open_table(RECEIPTS).map_err(storage_error)?;
            let _ = txn.open_table(CONVERSATIONS).map_err(storage_error)?;
            let _ = txn.open_table(ACTIVITY).map_err(storage_error)?;
            let _ = txn.open_table(GROUPS).map_err(storage_error)?;
            let _ = txn.open_table(MEMBERS).map_err(storage_error)?;
            let _ = txn.open_table(USER_GROUPS).map_err(storage_error)?;
            let _ = txn.open_table(GROUP_MESSAGES).map_err(storage_error)?;
            let _ = txn.open_table(GROUP_MESSAGE_IDS).map_err(storage_error)?;
            let _ = txn.open_table(MEMBERSHIP_MARKS).map_err(storage_error)?;
            let _ = txn.open_table(MEMBERSHIP_CHANGES).map_err(storage_error)?;
            let _ = txn.open_table(MENTIONS).map_err(storage_error)?;
            let _ = txn.open_table(PINS).map_err(storage_error)?;
            let _ = txn.open_table(CHANGE_OUTCOMES).map_err(storage_error)?;
            let _ = txn.open_table(attachments::ATTACHMENTS).map_err(storage_error)?;
            let _ = txn.open_table(attachments::CONVERSATION_ATTACHMENTS).map_err(storage_error)?;
            let _ = txn.open_table(attachments::PENDING_UPLOADS).map_err(storage_error)?;
            let _ = txn.open_table(attachments::ATTACHMENT_CARRIERS).map_err(storage_error)?;
            let _ = txn.open_table(sessions::SESSIONS).map_err(storage_error)?;
            let _ = txn.open_table(blocks::BLOCK_MARKS).map_err(storage_error)?;
            let _ = txn.open_table(blocks::BLOCKED_USERS).map_err(storage_error)?;
            let _ = txn.open_table(push::PUSH_TARGETS).map_err(storage_error)?;
            let _ = txn.open_table(push::MUTES).map_err(storage_error)?;
        }
        txn.commit().map_err(storage_error)?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Runs a read on this thread (see the module comment).
    fn read<T>(&self, f: impl FnOnce(&Database) -> Result<T, StoreError>) -> Result<T, StoreError> {
        f(&self.db)
    }

    /// Commits `f`'s writes, visible at once, durable at the next flush. On the blocking pool:
    /// a write waits for the one before it, which may be a flush.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        on_blocking_pool(&self.db, move |db| {
            let mut txn = db.begin_write().map_err(storage_error)?;
            txn.set_durability(Durability::None);
            let written = f(&txn)?;
            txn.commit().map_err(storage_error)?;
            Ok(written)
        })
        .await
    }

    /// Every table, every row, in key order: what "identical tables" means.
    pub fn dump(&self) -> Result<Value, StoreError> {
        let txn = self.db.begin_read().map_err(storage_error)?;
        let mut out = serde_json::Map::new();
        let _ = out
            .insert("users".into(), dump_table(&txn, USERS, |k, v| Ok(json!([k, from_json::<Value>("users", v)?])))?);
        let _ = out.insert("user_ids".into(), dump_table(&txn, USER_IDS, |k, v| Ok(json!([k, v])))?);
        let _ = out.insert(
            "messages".into(),
            dump_table(&txn, MESSAGES, |k, v| Ok(json!([k, from_json::<Value>("messages", v)?])))?,
        );
        let _ = out.insert("message_seqs".into(), dump_table(&txn, MESSAGE_SEQS, |k, v| Ok(json!([k, v])))?);
        let _ = out.insert(
            "receipts".into(),
            dump_table(&txn, RECEIPTS, |k, v| Ok(json!([k, from_json::<Value>("receipts", v)?])))?,
        );
        let _ = out.insert("message_places".into(), dump_table(&txn, MESSAGE_PLACES, |k, v| Ok(json!([k, v])))?);
        let _ = out.insert(
            "conversations".into(),
            dump_table(&txn, CONVERSATIONS, |k, v| Ok(json!([k, from_json::<Value>("conversations", v)?])))?,
        );
        let _ = out.insert("activity".into(), dump_table(&txn, ACTIVITY, |k, ()| Ok(json!(k)))?);
        let _ = out.insert(
            "groups".into(),
            dump_table(&txn, GROUPS, |k, v| Ok(json!([k, from_json::<Value>("groups", v)?])))?,
        );
        let _ = out.insert(
            "group_members".into(),
            dump_table(&txn, MEMBERS, |k, v| Ok(json!([k, from_json::<Value>("group_members", v)?])))?,
        );
        let _ = out.insert("user_groups".into(), dump_table(&txn, USER_GROUPS, |k, ()| Ok(json!(k)))?);
        let _ = out.insert(
            "group_messages".into(),
            dump_table(&txn, GROUP_MESSAGES, |k, v| Ok(json!([k, from_json::<Value>("group_messages", v)?])))?,
        );
        let _ = out.insert("group_message_ids".into(), dump_table(&txn, GROUP_MESSAGE_IDS, |k, v| Ok(json!([k, v])))?);
        let _ = out.insert("membership_marks".into(), dump_table(&txn, MEMBERSHIP_MARKS, |k, v| Ok(json!([k, v])))?);
        let _ =
            out.insert("membership_changes".into(), dump_table(&txn, MEMBERSHIP_CHANGES, |k, v| Ok(json!([k, v])))?);
        let _ = out.insert("mentions".into(), dump_table(&txn, MENTIONS, |k, v| Ok(json!([k, v])))?);
        let _ = out.insert("pins".into(), dump_table(&txn, PINS, |k, v| Ok(json!([k, v])))?);
        let _ = out.insert("change_outcomes".into(), dump_table(&txn, CHANGE_OUTCOMES, |k, v| Ok(json!([k, v])))?);
        let _ = out.insert(
            "attachments".into(),
            dump_table(&txn, attachments::ATTACHMENTS, |k, v| Ok(json!([k, from_json::<Value>("attachments", v)?])))?,
        );
        let _ = out.insert(
            "conversation_attachments".into(),
            dump_table(&txn, attachments::CONVERSATION_ATTACHMENTS, |k, ()| Ok(json!(k)))?,
        );
        let _ =
            out.insert("pending_uploads".into(), dump_table(&txn, attachments::PENDING_UPLOADS, |k, ()| Ok(json!(k)))?);
        let _ = out.insert(
            "attachment_carriers".into(),
            dump_table(&txn, attachments::ATTACHMENT_CARRIERS, |k, ()| Ok(json!(k)))?,
        );
        let _ = out.insert(
            "sessions".into(),
            dump_table(&txn, sessions::SESSIONS, |k, v| Ok(json!([k, from_json::<Value>("sessions", v)?])))?,
        );
        let _ = out.insert(
            "block_marks".into(),
            dump_table(&txn, blocks::BLOCK_MARKS, |k, v| Ok(json!([k, from_json::<Value>("block_marks", v)?])))?,
        );
        let _ = out.insert(
            "blocked_users".into(),
            dump_table(&txn, blocks::BLOCKED_USERS, |k, v| Ok(json!([k, from_json::<Value>("blocked_users", v)?])))?,
        );
        let _ = out.insert(
            "push_targets".into(),
            dump_table(&txn, push::PUSH_TARGETS, |k, v| Ok(json!([k, from_json::<Value>("push_targets", v)?])))?,
        );
        let _ = out.insert(
            "mutes".into(),
            dump_table(&txn, push::MUTES, |k, v| Ok(json!([k, from_json::<Value>("mutes", v)?])))?,
        );
        Ok(Value::Object(out))
    }

    /// Answers once the database can be read: what readiness means for this store.
    pub async fn check(&self) -> Result<(), StoreError> {
        self.read(|db| db.begin_read().map(drop).map_err(storage_error))
    }
}

#[async_trait]
impl Flush for EmbeddedStore {
    /// An empty durable commit: redb persists every non-durable commit before it with it.
    async fn flush(&self) -> Result<(), StoreError> {
        on_blocking_pool(&self.db, |db| {
            let mut txn = db.begin_write().map_err(storage_error)?;
            txn.set_durability(Durability::Immediate);
            txn.commit().map_err(storage_error)
        })
        .await
    }
}

/// Runs `f` on `db` on the blocking pool: redb reads and commits wait on disk.
pub(crate) async fn on_blocking_pool<T: Send + 'static>(
    db: &Arc<Database>,
    f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let db = Arc::clone(db);
    tokio::task::spawn_blocking(move || f(&db)).await.map_err(storage_error)?
}

/// Keeps `(place_id, seq)` in the pins index as the message there stands: listed while pinned.
fn index_pin(
    txn: &WriteTransaction,
    place_id: &str,
    seq: u64,
    message_id: &str,
    pinned: bool,
) -> Result<(), StoreError> {
    let mut pins = txn.open_table(PINS).map_err(storage_error)?;
    if pinned {
        let _ = pins.insert((place_id, seq), message_id).map_err(storage_error)?;
    } else {
        let _ = pins.remove((place_id, seq)).map_err(storage_error)?;
    }
    Ok(())
}

/// Every row of one table, in key order, each turned into JSON by `row`.
fn dump_table<K, V>(
    txn: &ReadTransaction,
    table: TableDefinition<'_, K, V>,
    row: impl Fn(K::SelfType<'_>, V::SelfType<'_>) -> Result<Value, StoreError>,
) -> Result<Value, StoreError>
where
    K: redb::Key + 'static,
    V: redb::Value + 'static,
{
    let mut rows = Vec::new();
    for entry in txn.open_table(table).map_err(storage_error)?.iter().map_err(storage_error)? {
        let (k, v) = entry.map_err(storage_error)?;
        rows.push(row(k.value(), v.value())?);
    }
    Ok(Value::Array(rows))
}
