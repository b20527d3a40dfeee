//! Data keys on DynamoDB: `confab_data_keys`, one item per (owner, place), and one item per
//! erased owner under the place `~erased` (place ids are UUIDs, so no place is named that).
//! DynamoDB has no transaction here, so a new key is put first and the erasure read after: a
//! put that finds its owner erased takes its key back, and an erasure marked before that read
//! is followed by [`DataKeyStore::destroy`], whose Query sees the key. Either way no key of an
//! erased owner outlives the eraser.
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;

use super::{
    DynamoStore,
    items::{Item, get_n, get_s, n, s},
    query, sdk_error,
};
use crate::{DataKeyStore, StoreError, WrappedKey};

/// The place of the item that says an owner is erased.
const ERASED: &str = "~erased";

fn key_from_item(item: &Item) -> Result<WrappedKey, StoreError> {
    Ok(WrappedKey {
        owner_id: get_s(item, "owner_id")?,
        place_id: get_s(item, "place_id")?,
        wrapped: get_s(item, "wrapped")?,
        created_at_ms: get_n(item, "created_at_ms")?,
    })
}

impl DynamoStore {
    async fn is_erased(&self, owner_id: &str) -> Result<bool, StoreError> {
        Ok(self.get_item(&self.tables.data_keys, &[("owner_id", owner_id), ("place_id", ERASED)]).await?.is_some())
    }

    async fn delete_key(&self, owner_id: &str, place_id: &str) -> Result<(), StoreError> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.tables.data_keys)
            .key("owner_id", s(owner_id))
            .key("place_id", s(place_id));
        delete.send().await.map(drop).map_err(sdk_error)
    }
}

#[async_trait]
impl DataKeyStore for DynamoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.client.describe_table().table_name(&self.tables.data_keys).send().await.map(drop).map_err(sdk_error)
    }

    async fn put_if_absent(&self, key: &WrappedKey) -> Result<Option<WrappedKey>, StoreError> {
        if self.is_erased(&key.owner_id).await? {
            return Ok(None);
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.data_keys)
            .item("owner_id", s(&key.owner_id))
            .item("place_id", s(&key.place_id))
            .item("wrapped", s(&key.wrapped))
            .item("created_at_ms", n(key.created_at_ms))
            .condition_expression("attribute_not_exists(place_id)")
            .send()
            .await;
        match put {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(PutItemError::is_conditional_check_failed_exception) => {
                return self.key(&key.owner_id, &key.place_id).await;
            }
            Err(e) => return Err(sdk_error(e)),
        }
        if self.is_erased(&key.owner_id).await? {
            self.delete_key(&key.owner_id, &key.place_id).await?;
            return Ok(None);
        }
        Ok(Some(key.clone()))
    }

    async fn key(&self, owner_id: &str, place_id: &str) -> Result<Option<WrappedKey>, StoreError> {
        if place_id == ERASED {
            return Ok(None);
        }
        let item = self.get_item(&self.tables.data_keys, &[("owner_id", owner_id), ("place_id", place_id)]).await?;
        item.as_ref().map(key_from_item).transpose()
    }

    async fn places(&self, owner_id: &str) -> Result<Vec<String>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.tables.data_keys)
            .key_condition_expression("owner_id = :o")
            .expression_attribute_values(":o", s(owner_id))
            .projection_expression("place_id")
            .consistent_read(true);
        let items = query::all(query).await?;
        let places = items.iter().map(|item| get_s(item, "place_id")).collect::<Result<Vec<_>, _>>()?;
        Ok(places.into_iter().filter(|place| place != ERASED).collect())
    }

    async fn mark_erased(&self, owner_id: &str) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.data_keys)
            .item("owner_id", s(owner_id))
            .item("place_id", s(ERASED))
            .item("created_at_ms", n(chrono::Utc::now().timestamp_millis()));
        put.send().await.map(drop).map_err(sdk_error)
    }

    async fn destroy(&self, owner_id: &str) -> Result<usize, StoreError> {
        let places = self.places(owner_id).await?;
        for place in &places {
            self.delete_key(owner_id, place).await?;
        }
        Ok(places.len())
    }
}
