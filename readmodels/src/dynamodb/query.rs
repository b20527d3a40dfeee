//! DynamoDB's Query in whole pages. One response holds at most 1 MB of items, so a page of large
//! rows (a history of 64 KiB messages) spans several responses; every read here follows
//! `LastEvaluatedKey` until it has the rows it asked for or the partition ends.
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;

use super::{items::Item, sdk_error};
use crate::{MAX_PAGE_ROWS, StoreError};

/// Up to `limit` items the query selects (at most [`MAX_PAGE_ROWS`]), from the query's own
/// `ExclusiveStartKey` on, in its order.
pub(crate) async fn up_to(query: QueryFluentBuilder, limit: usize) -> Result<Vec<Item>, StoreError> {
    collect(query, Some(limit.clamp(1, MAX_PAGE_ROWS))).await
}

/// Every item the query selects: for partitions bounded by a rule of their own (a group's
/// members, a projection's checkpoints), never for a page a client asks for.
pub(crate) async fn all(query: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
    collect(query, None).await
}

async fn collect(query: QueryFluentBuilder, limit: Option<usize>) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut start = query.get_exclusive_start_key().clone();
    loop {
        let wanted = limit.map(|limit| i32::try_from(limit - items.len()).unwrap_or(i32::MAX));
        let response =
            query.clone().set_exclusive_start_key(start).set_limit(wanted).send().await.map_err(sdk_error)?;
        items.extend(response.items().iter().cloned());
        start = response.last_evaluated_key().cloned();
        if start.is_none() || limit.is_some_and(|limit| items.len() >= limit) {
            return Ok(items);
        }
    }
}
