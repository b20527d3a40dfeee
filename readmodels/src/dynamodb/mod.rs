//! The read models, claims and projection checkpoints on DynamoDB. Every write is conditional, so
//! a redelivered event changes nothing; every read is a GetItem or a Query, never a Scan (the
//! dump used to compare tables in tests is the one exception).

mod analytics;
mod attachments;
mod blocks;
mod checkpoints;
mod claims;
mod generations;
mod groups;
mod items;
mod keys;
mod lifecycle;
mod messages;
mod push;
mod query;
mod receipts;
mod sessions;
mod tables;
mod users;

use std::{collections::HashMap, time::Duration};

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
    dynamodb::items::{
        conversation_from_item, conversation_item, get_n, get_s, message_from_item, message_item, n, s, user_from_item,
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
    /// Creates missing tables (and waits for them). Off where tables are provisioned beforehand
    /// (`confab setup`, a CloudFormation stack) and creating them is neither allowed nor wanted,
    /// such as a Lambda function's cold start.
    pub create_tables: bool,
}

#[derive(Clone)]
pub struct DynamoStore {
    pub(crate) client: Client,
    /// Shared: a store is cloned into every port and task.
    pub(crate) tables: std::sync::Arc<TableNames>,
    namespace: String,
    generation: u32,
}

pub(crate) fn unavailable(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    crate::error::storage_error(e)
}

/// Ignores a failed condition: the write was already done, which is what idempotence means here.
pub(crate) fn already_applied<T>(result: Result<T, SdkError<PutItemError>>) -> Result<(), StoreError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(PutItemError::is_conditional_check_failed_exception) => Ok(()),
        Err(e) => Err(sdk_error(e)),
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
        if config.create_tables {
            tables::ensure_meta(&client, &shared.meta).await?;
        }
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
        if config.create_tables {
            tables::ensure(&store.client, &store.tables).await?;
        }
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
                    .map_err(sdk_error)?;
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
                return Err(crate::error::storage_error(format!("table {table} is {status:?}, not active")));
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
        let query = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("conversation_id = :c")
            .expression_attribute_values(":c", s(conversation_id))
            .set_exclusive_start_key(start)
            .scan_index_forward(false)
            .consistent_read(true);
        query::up_to(query, limit).await
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

pub(crate) fn sdk_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    unavailable(SdkFailure(e))
}

/// An SDK error that prints its whole context (the SDK's own `Display` says only "service
/// error") and keeps the SDK error as its source.
#[derive(Debug)]
struct SdkFailure<E, R>(SdkError<E, R>);

impl<E: std::error::Error + 'static, R: std::fmt::Debug> std::fmt::Display for SdkFailure<E, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", aws_sdk_dynamodb::error::DisplayErrorContext(&self.0))
    }
}

impl<E: std::error::Error + 'static, R: std::fmt::Debug + 'static> std::error::Error for SdkFailure<E, R> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}
