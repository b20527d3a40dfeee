//! The read models, claims and projection checkpoints on DynamoDB. Every write is conditional, so
//! a redelivered event changes nothing; every read is a GetItem or a Query, never a Scan (the
//! dump used to compare tables in tests is the one exception).

mod attachments;
mod claims;
mod generations;
pub(crate) mod groups;
pub(crate) mod items;
mod receipts;
mod tables;

use std::{collections::HashMap, time::Duration};

use async_trait::async_trait;
use aws_config::{BehaviorVersion, meta::region::RegionProviderChain, timeout::TimeoutConfig};
use aws_sdk_dynamodb::{
    Client,
    error::SdkError,
    operation::put_item::{PutItemError, builders::PutItemFluentBuilder},
};
use futures::{StreamExt, TryStreamExt, stream};
use serde_json::Value;

pub use tables::TableNames;

use crate::{
    StoreError,
    store::{
        CheckpointStore, ConversationRow, GroupMessageRow, MessageRow, MessageStore, ReceiptAdvance, ReceiptRow,
        UserRow, UserStore,
        dynamodb::items::{
            conversation_from_item, conversation_item, get_n, get_s, message_from_item, message_item, n, s,
            user_from_item,
        },
    },
};

/// How to reach DynamoDB. Region and credentials come from the standard AWS environment and
/// config chain; `endpoint` points the client at a local server.
#[derive(Debug, Clone, Default)]
pub struct DynamoConfig {
    pub endpoint: Option<String>,
    /// Prefix of every table name, so several deployments (or test runs) can share an account.
    pub namespace: String,
    /// The generation of read models to use; the current one (the pointer's) when None.
    pub generation: Option<u32>,
    /// Deletes that generation's tables first: they are a half-built replay's, not live ones.
    pub fresh: bool,
}

#[derive(Clone)]
pub struct DynamoStore {
    pub(crate) client: Client,
    /// Shared: a store is cloned into every port and task.
    pub(crate) tables: std::sync::Arc<TableNames>,
    namespace: String,
    generation: u32,
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Storage(e.to_string())
}

/// Ignores a failed condition: the write was already done, which is what idempotence means here.
pub(crate) fn already_applied<T>(result: Result<T, SdkError<PutItemError>>) -> Result<(), StoreError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(PutItemError::is_conditional_check_failed_exception) => Ok(()),
        Err(e) => Err(unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e))),
    }
}

/// How many conditional puts of one batch are in flight at once.
const WRITE_CONCURRENCY: usize = 16;

/// Sends conditional puts concurrently. Their order does not matter: each either inserts what is
/// absent or moves a row forward to a newer message, so any order ends in the same state.
async fn run_concurrently(puts: Vec<PutItemFluentBuilder>) -> Result<(), StoreError> {
    stream::iter(puts.into_iter().map(|put| async move { already_applied(put.send().await) }))
        .buffer_unordered(WRITE_CONCURRENCY)
        .try_collect()
        .await
}

impl DynamoStore {
    /// Connects and creates the tables that are missing (on-demand billing).
    pub async fn connect(config: &DynamoConfig) -> Result<Self, StoreError> {
        let region = RegionProviderChain::default_provider().or_else("us-east-1");
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .region(region)
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(3))
                    .connect_timeout(Duration::from_secs(2))
                    .build(),
            )
            .load()
            .await;
        let mut builder = aws_sdk_dynamodb::config::Builder::from(&shared);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        let client = Client::from_conf(builder.build());
        let shared = TableNames::new(&config.namespace, 0);
        tables::ensure_meta(&client, &shared.meta).await?;
        let generation = match config.generation {
            Some(generation) => generation,
            None => generations::current(&client, &shared.meta).await?,
        };
        let store = Self {
            client,
            tables: std::sync::Arc::new(TableNames::new(&config.namespace, generation)),
            namespace: config.namespace.clone(),
            generation,
        };
        if config.fresh {
            tables::delete(&store.client, &store.tables.generational()).await?;
        }
        tables::ensure(&store.client, &store.tables).await?;
        Ok(store)
    }

    /// The generation of read models this store reads and writes.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The generation the pointer names now (another process may have moved it).
    pub async fn live_generation(&self) -> Result<u32, StoreError> {
        generations::current(&self.client, &self.tables.meta).await
    }

    /// Makes this store's generation the current one, for every process that starts from now on.
    pub async fn make_current(&self) -> Result<(), StoreError> {
        generations::set(&self.client, &self.tables.meta, self.generation).await
    }

    /// The generations that have read-model tables, oldest first.
    pub async fn generations(&self) -> Result<Vec<u32>, StoreError> {
        generations::existing(&self.client, &self.namespace).await
    }

    /// Deletes the read-model tables of `generation`; which one may go is the caller's call.
    pub async fn drop_generation(&self, generation: u32) -> Result<(), StoreError> {
        tables::delete(&self.client, &TableNames::new(&self.namespace, generation).generational()).await
    }

    /// Every read-model table, items sorted: what "identical tables" means. Scans; tests only.
    pub async fn dump(&self) -> Result<Value, StoreError> {
        let mut out = serde_json::Map::new();
        for (name, table) in self.tables.read_models() {
            let mut items = Vec::new();
            let mut start = None;
            loop {
                let page = self
                    .client
                    .scan()
                    .table_name(table)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
                items.extend(page.items().iter().map(items::to_json));
                start = page.last_evaluated_key().cloned();
                if start.is_none() {
                    break;
                }
            }
            items.sort_by_key(|item| item.to_string());
            let _ = out.insert(name.to_owned(), Value::Array(items));
        }
        Ok(Value::Object(out))
    }
}

impl DynamoStore {
    /// Answers once every one of `tables` is there and ACTIVE.
    pub(crate) async fn all_active(&self, tables: &[&str]) -> Result<(), StoreError> {
        for table in tables {
            let description = self.client.describe_table().table_name(*table).send().await.map_err(sdk_error)?;
            let status = description.table().and_then(|d| d.table_status());
            if status != Some(&aws_sdk_dynamodb::types::TableStatus::Active) {
                return Err(StoreError::Storage(format!("table {table} is {status:?}, not active")));
            }
        }
        Ok(())
    }

    /// Up to `limit` items of a conversation (or group), newest first by sort key `sort`, after
    /// `before` when paging back (that key need not exist).
    pub(crate) async fn newest_first(
        &self,
        table: &str,
        conversation_id: &str,
        sort: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<items::Item>, StoreError> {
        let start = before.map(|before| {
            HashMap::from([("conversation_id".to_owned(), s(conversation_id)), (sort.to_owned(), s(before))])
        });
        let page = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("conversation_id = :c")
            .expression_attribute_values(":c", s(conversation_id))
            .set_exclusive_start_key(start)
            .scan_index_forward(false)
            .limit(limit.min(1000) as i32)
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(page.items().to_vec())
    }

    /// One item by its key, read consistently.
    pub(crate) async fn get_item(&self, table: &str, key: &[(&str, &str)]) -> Result<Option<items::Item>, StoreError> {
        let mut request = self.client.get_item().table_name(table).consistent_read(true);
        for (name, value) in key {
            request = request.key(*name, s(value));
        }
        Ok(request.send().await.map_err(sdk_error)?.item().cloned())
    }
}

pub(crate) fn sdk_error<E: std::error::Error + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> StoreError {
    unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e))
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.client.describe_table().table_name(&self.tables.users).send().await.map(drop).map_err(sdk_error)
    }

    async fn put_users(&self, users: &[UserRow]) -> Result<(), StoreError> {
        let puts: Vec<PutItemFluentBuilder> = users
            .iter()
            .flat_map(|user| {
                [
                    self.client
                        .put_item()
                        .table_name(&self.tables.users)
                        .item("username", s(&user.username))
                        .item("user_id", s(&user.user_id))
                        .item("password_hash", s(&user.password_hash))
                        .item("registered_at_ms", n(user.registered_at_ms))
                        .condition_expression("attribute_not_exists(username)"),
                    self.client
                        .put_item()
                        .table_name(&self.tables.user_ids)
                        .item("user_id", s(&user.user_id))
                        .item("username", s(&user.username))
                        .condition_expression("attribute_not_exists(user_id)"),
                ]
            })
            .collect();
        run_concurrently(puts).await
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        self.get_item(&self.tables.users, &[("username", username)]).await?.as_ref().map(user_from_item).transpose()
    }

    async fn user_by_id(&self, user_id: &str) -> Result<Option<UserRow>, StoreError> {
        match self.get_item(&self.tables.user_ids, &[("user_id", user_id)]).await? {
            Some(item) => self.user_by_name(&get_s(&item, "username")?).await,
            None => Ok(None),
        }
    }
}

#[async_trait]
impl MessageStore for DynamoStore {
    /// Every table the messages projection writes must be there and ACTIVE: one that is not is
    /// an outage to wait out, not a reason to dead-letter the event that touched it.
    async fn ping(&self) -> Result<(), StoreError> {
        let t = &self.tables;
        self.all_active(&[&t.messages, &t.conversations, &t.group_messages, &t.groups, &t.receipts]).await
    }

    async fn put_messages(&self, messages: &[MessageRow]) -> Result<(), StoreError> {
        let puts: Vec<PutItemFluentBuilder> = messages
            .iter()
            .flat_map(|message| {
                let stored = self
                    .client
                    .put_item()
                    .table_name(&self.tables.messages)
                    .set_item(Some(message_item(message)))
                    .condition_expression("attribute_not_exists(message_id)");
                // Written even when the message exists: a crash may have come between the puts.
                let conversations = message.conversation_rows().into_iter().map(|row| {
                    self.client
                        .put_item()
                        .table_name(&self.tables.conversations)
                        .set_item(Some(conversation_item(&row)))
                        .condition_expression("attribute_not_exists(user_id) OR last_message_id < :m")
                        .expression_attribute_values(":m", s(&row.last_message.message_id))
                });
                std::iter::once(stored).chain(conversations).collect::<Vec<_>>()
            })
            .collect();
        run_concurrently(puts).await
    }

    async fn history(
        &self,
        conversation_id: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let items = self.newest_first(&self.tables.messages, conversation_id, "message_id", before, limit).await?;
        items.iter().map(message_from_item).collect()
    }

    async fn history_by_seq(
        &self,
        conversation_id: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MessageRow>, StoreError> {
        let (table, key) = (&self.tables.messages, ("conversation_id", conversation_id));
        let items = self.seq_range(table, Some(tables::BY_SEQ), key, after, before, limit).await?;
        items.iter().map(message_from_item).collect()
    }

    async fn message(&self, conversation_id: &str, message_id: &str) -> Result<Option<MessageRow>, StoreError> {
        let key = [("conversation_id", conversation_id), ("message_id", message_id)];
        self.get_item(&self.tables.messages, &key).await?.as_ref().map(message_from_item).transpose()
    }

    async fn advance_receipts(&self, advances: &[ReceiptAdvance]) -> Result<(), StoreError> {
        DynamoStore::advance_receipts(self, advances).await
    }

    async fn receipts(&self, conversation_id: &str) -> Result<Vec<ReceiptRow>, StoreError> {
        DynamoStore::receipts(self, conversation_id).await
    }

    async fn conversations(&self, user_id: &str, limit: usize) -> Result<Vec<ConversationRow>, StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.tables.conversations)
            .index_name(tables::BY_ACTIVITY)
            .key_condition_expression("user_id = :u")
            .expression_attribute_values(":u", s(user_id))
            .scan_index_forward(false)
            .limit(limit.min(1000) as i32)
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        page.items().iter().map(conversation_from_item).collect()
    }

    async fn put_group_messages(&self, messages: &[GroupMessageRow]) -> Result<(), StoreError> {
        DynamoStore::put_group_messages(self, messages).await
    }

    async fn group_history(
        &self,
        group_id: &str,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<GroupMessageRow>, StoreError> {
        DynamoStore::group_history(self, group_id, after, before, limit).await
    }

    async fn group_message(&self, group_id: &str, message_id: &str) -> Result<Option<GroupMessageRow>, StoreError> {
        DynamoStore::group_message(self, group_id, message_id).await
    }
}

#[async_trait]
impl CheckpointStore for DynamoStore {
    async fn save_checkpoint(&self, projection: &str, next_offsets: &[(String, u32, u64)]) -> Result<(), StoreError> {
        for (topic, partition, next) in next_offsets {
            already_applied(
                self.client
                    .put_item()
                    .table_name(&self.tables.checkpoints)
                    .item("projection", s(projection))
                    .item("partition_key", s(&format!("{topic}/{partition}")))
                    .item("next_offset", n(*next as i64))
                    .condition_expression("attribute_not_exists(next_offset) OR next_offset < :n")
                    .expression_attribute_values(":n", n(*next as i64))
                    .send()
                    .await,
            )?;
        }
        Ok(())
    }

    async fn checkpoint(&self, projection: &str) -> Result<HashMap<(String, u32), u64>, StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.tables.checkpoints)
            // `projection` is a DynamoDB reserved word.
            .key_condition_expression("#projection = :p")
            .expression_attribute_names("#projection", "projection")
            .expression_attribute_values(":p", s(projection))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        let mut out = HashMap::new();
        for item in page.items() {
            let key = get_s(item, "partition_key")?;
            let Some((topic, partition)) = key.rsplit_once('/') else {
                continue;
            };
            let Ok(partition) = partition.parse::<u32>() else {
                continue;
            };
            let _ = out.insert((topic.to_owned(), partition), get_n(item, "next_offset")? as u64);
        }
        Ok(out)
    }
}
