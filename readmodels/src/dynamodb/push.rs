//! Push targets and mutes on DynamoDB: one item per (user, device) and per (user, place).
use async_trait::async_trait;
use aws_sdk_dynamodb::{operation::delete_item::DeleteItemError, types::AttributeValue};

use super::{
    DynamoStore,
    items::{Item, get_n, get_opt_s, get_s, n, s},
    query, sdk_error,
};
use crate::{MAX_PAGE_ROWS, MuteRow, PushStore, PushTargetRow, StoreError};

fn get_bool(item: &Item, name: &str) -> bool {
    item.get(name).and_then(|v| v.as_bool().ok()).copied().unwrap_or(false)
}

fn target_from_item(item: &Item) -> Result<PushTargetRow, StoreError> {
    Ok(PushTargetRow {
        user_id: get_s(item, "user_id")?,
        device_id: get_s(item, "device_id")?,
        session_id: get_s(item, "session_id")?,
        kind: get_s(item, "kind")?,
        endpoint: get_s(item, "endpoint")?,
        p256dh: get_opt_s(item, "p256dh"),
        auth: get_opt_s(item, "auth"),
        previews: get_bool(item, "previews"),
        registered_at_ms: get_n(item, "registered_at_ms")?,
        event_id: get_s(item, "event_id")?,
    })
}

fn mute_from_item(item: &Item) -> Result<MuteRow, StoreError> {
    Ok(MuteRow {
        user_id: get_s(item, "user_id")?,
        place_id: get_s(item, "place_id")?,
        kind: get_s(item, "kind")?,
        until_ms: item.get("until_ms").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()),
        everything: get_bool(item, "everything"),
        muted_at_ms: get_n(item, "muted_at_ms")?,
    })
}

impl DynamoStore {
    async fn delete_target(
        &self,
        user_id: &str,
        device_id: &str,
        registration: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.tables.push_targets)
            .key("user_id", s(user_id))
            .key("device_id", s(device_id));
        if let Some(registration) = registration {
            delete = delete.condition_expression("event_id = :e").expression_attribute_values(":e", s(registration));
        }
        match delete.send().await {
            Ok(_) => Ok(()),
            // A newer registration of the device stays.
            Err(e) if e.as_service_error().is_some_and(DeleteItemError::is_conditional_check_failed_exception) => {
                Ok(())
            }
            Err(e) => Err(sdk_error(e)),
        }
    }
}

#[async_trait]
impl PushStore for DynamoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.client.describe_table().table_name(&self.tables.push_targets).send().await.map(drop).map_err(sdk_error)
    }

    async fn put_push_target(&self, target: &PushTargetRow) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.tables.push_targets)
            .item("user_id", s(&target.user_id))
            .item("device_id", s(&target.device_id))
            .item("session_id", s(&target.session_id))
            .item("kind", s(&target.kind))
            .item("endpoint", s(&target.endpoint))
            .item("previews", AttributeValue::Bool(target.previews))
            .item("registered_at_ms", n(target.registered_at_ms))
            .item("event_id", s(&target.event_id));
        if let Some(p256dh) = &target.p256dh {
            put = put.item("p256dh", s(p256dh));
        }
        if let Some(auth) = &target.auth {
            put = put.item("auth", s(auth));
        }
        put.send().await.map(drop).map_err(sdk_error)
    }

    async fn remove_push_target(
        &self,
        user_id: &str,
        device_id: &str,
        registration: Option<&str>,
    ) -> Result<(), StoreError> {
        self.delete_target(user_id, device_id, registration).await
    }

    async fn remove_push_targets_of(&self, user_id: &str, session_id: Option<&str>) -> Result<(), StoreError> {
        for target in self.push_targets(user_id).await? {
            if session_id.is_none_or(|session| session == target.session_id) {
                self.delete_target(user_id, &target.device_id, Some(&target.event_id)).await?;
            }
        }
        Ok(())
    }

    async fn push_targets(&self, user_id: &str) -> Result<Vec<PushTargetRow>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.tables.push_targets)
            .key_condition_expression("user_id = :u")
            .expression_attribute_values(":u", s(user_id))
            .consistent_read(true);
        query::up_to(query, MAX_PAGE_ROWS).await?.iter().map(target_from_item).collect()
    }

    async fn put_mute(&self, mute: &MuteRow) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.tables.mutes)
            .item("user_id", s(&mute.user_id))
            .item("place_id", s(&mute.place_id))
            .item("kind", s(&mute.kind))
            .item("everything", AttributeValue::Bool(mute.everything))
            .item("muted_at_ms", n(mute.muted_at_ms));
        if let Some(until) = mute.until_ms {
            put = put.item("until_ms", n(until));
        }
        put.send().await.map(drop).map_err(sdk_error)
    }

    async fn lift_mute(&self, user_id: &str, place_id: &str) -> Result<(), StoreError> {
        let delete = self.client.delete_item().table_name(&self.tables.mutes);
        delete.key("user_id", s(user_id)).key("place_id", s(place_id)).send().await.map(drop).map_err(sdk_error)
    }

    async fn mute(&self, user_id: &str, place_id: &str) -> Result<Option<MuteRow>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.tables.mutes)
            .key("user_id", s(user_id))
            .key("place_id", s(place_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        got.item.as_ref().map(mute_from_item).transpose()
    }

    async fn mutes(&self, user_id: &str) -> Result<Vec<MuteRow>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.tables.mutes)
            .key_condition_expression("user_id = :u")
            .expression_attribute_values(":u", s(user_id))
            .consistent_read(true);
        query::up_to(query, MAX_PAGE_ROWS).await?.iter().map(mute_from_item).collect()
    }
}
