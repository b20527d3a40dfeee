//! The claims of the Kafka backend: a conditional put per claim, holding the pending record until
//! the log has it.
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use confab_eventlog::{Claim, ClaimStore, HeldClaim, LogError, PendingAppend, Record};

use crate::dynamodb::{
    DynamoStore,
    items::{Item, b, get_b, get_n, get_s, n, s},
};

/// A claim-store failure as the log reports it, the store error kept as its source.
fn log_error(e: crate::StoreError) -> LogError {
    LogError::Unavailable(confab_eventlog::cause(e))
}

fn held(item: &Item) -> Result<HeldClaim, LogError> {
    let pending = match item.get("pending_record").and_then(|v| v.as_b().ok()) {
        Some(bytes) => Some(PendingAppend {
            topic: get_s(item, "pending_topic").map_err(log_error)?,
            record: Record::from_bytes(bytes.as_ref())?,
        }),
        None => None,
    };
    Ok(HeldClaim {
        value: get_b(item, "value").map_err(log_error)?,
        pending,
        claimed_at_ms: get_n(item, "claimed_at_ms").map_err(log_error)?,
    })
}

#[async_trait]
impl ClaimStore for DynamoStore {
    async fn try_claim(
        &self,
        claim: &Claim,
        pending: &PendingAppend,
        now_ms: i64,
    ) -> Result<Option<HeldClaim>, LogError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.claims)
            .item("scope", s(&claim.scope))
            .item("claim_key", s(&claim.key))
            .item("value", b(&claim.value))
            .item("claimed_at_ms", n(now_ms))
            .item("pending_topic", s(&pending.topic))
            .item("pending_record", b(&pending.record.to_bytes()))
            .condition_expression("attribute_not_exists(claim_key)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(None),
            Err(e) if e.as_service_error().is_some_and(PutItemError::is_conditional_check_failed_exception) => {
                match self.get(&claim.scope, &claim.key).await? {
                    Some(holder) => Ok(Some(holder)),
                    // Released between our put and our read: the caller may simply try again.
                    None => Err(LogError::Unavailable(confab_eventlog::cause("claim changed hands, retry"))),
                }
            }
            Err(e) => Err(log_error(super::sdk_error(e))),
        }
    }

    async fn settle(&self, scope: &str, key: &str) -> Result<(), LogError> {
        self.client
            .update_item()
            .table_name(&self.tables.claims)
            .key("scope", s(scope))
            .key("claim_key", s(key))
            .update_expression("REMOVE pending_record, pending_topic")
            .condition_expression("attribute_exists(claim_key)")
            .send()
            .await
            .map(drop)
            .map_err(|e| log_error(super::sdk_error(e)))
    }

    async fn release(&self, scope: &str, key: &str) -> Result<(), LogError> {
        self.client
            .delete_item()
            .table_name(&self.tables.claims)
            .key("scope", s(scope))
            .key("claim_key", s(key))
            // Only an unsettled claim may be freed: a settled one has its record on the log.
            .condition_expression("attribute_exists(pending_record)")
            .send()
            .await
            .map(drop)
            .map_err(|e| log_error(super::sdk_error(e)))
    }

    async fn abandon(&self, scope: &str, key: &str) -> Result<(), LogError> {
        self.client
            .update_item()
            .table_name(&self.tables.claims)
            .key("scope", s(scope))
            .key("claim_key", s(key))
            .update_expression("SET claimed_at_ms = :orphaned")
            .expression_attribute_values(":orphaned", n(0))
            .condition_expression("attribute_exists(pending_record)")
            .send()
            .await
            .map(drop)
            .map_err(|e| log_error(super::sdk_error(e)))
    }

    async fn get(&self, scope: &str, key: &str) -> Result<Option<HeldClaim>, LogError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.tables.claims)
            .key("scope", s(scope))
            .key("claim_key", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| log_error(super::sdk_error(e)))?;
        item.item().map(held).transpose()
    }
}
