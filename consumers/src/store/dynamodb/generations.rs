//! The generation pointer on DynamoDB: one item in the `meta` table that every process reads at
//! start-up to know which read-model tables are live.
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
