//! The generation pointer on DynamoDB: one item in the `meta` table that every process reads at
//! start-up to know which read-model tables are live; and which generations have tables.
use aws_sdk_dynamodb::Client;

use super::{
    items::{get_n, n, s},
    sdk_error,
};
use crate::StoreError;

const POINTER: &str = "read_models";

pub(super) async fn current(client: &Client, meta: &str) -> Result<u32, StoreError> {
    let item = client
        .get_item()
        .table_name(meta)
        .key("name", s(POINTER))
        .consistent_read(true)
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(item.item().and_then(|i| get_n(i, "generation").ok()).map_or(0, |g| g as u32))
}

pub(super) async fn set(client: &Client, meta: &str, generation: u32) -> Result<(), StoreError> {
    let _ = client
        .put_item()
        .table_name(meta)
        .item("name", s(POINTER))
        .item("generation", n(i64::from(generation)))
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}

/// The generations of `namespace` that have tables: each one's users table marks it.
pub(super) async fn existing(client: &Client, namespace: &str) -> Result<Vec<u32>, StoreError> {
    let marker = format!("{namespace}confab_users");
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let page = client.list_tables().set_exclusive_start_table_name(start).send().await.map_err(sdk_error)?;
        for rest in page.table_names().iter().filter_map(|name| name.strip_prefix(&marker)) {
            match rest {
                "" => found.push(0),
                _ => found.extend(rest.strip_prefix("_g").and_then(|n| n.parse::<u32>().ok())),
            }
        }
        start = page.last_evaluated_table_name().map(str::to_owned);
        if start.is_none() {
            break;
        }
    }
    found.sort_unstable();
    Ok(found)
}
