//! Live sessions on DynamoDB: one item per (user, session). Changes apply one at a time in log
//! order, each conditional, so a redelivered event changes nothing more.
use async_trait::async_trait;

use super::{
    DynamoStore, already_applied,
    groups::already_updated,
    items::{Item, get_n, get_opt_s, get_s, n, s},
    sdk_error,
};
use crate::{MAX_PAGE_ROWS, SessionChange, SessionRow, SessionStore, StoreError};

fn session_from_item(item: &Item) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        user_id: get_s(item, "user_id")?,
        session_id: get_s(item, "session_id")?,
        device_name: get_opt_s(item, "device_name"),
        started_at_ms: get_n(item, "started_at_ms")?,
        started_offset: u64::try_from(get_n(item, "started_offset")?).unwrap_or_default(),
        last_seen_ms: get_n(item, "last_seen_ms")?,
        refresh_token_hash: get_s(item, "refresh_token_hash")?,
        refresh_expires_at_ms: get_n(item, "refresh_expires_at_ms")?,
    })
}

impl DynamoStore {
    async fn apply_session_change(&self, change: &SessionChange) -> Result<(), StoreError> {
        let table = &self.tables.sessions;
        match change {
            SessionChange::Started(row) => {
                let put = self
                    .client
                    .put_item()
                    .table_name(table)
                    .item("user_id", s(&row.user_id))
                    .item("session_id", s(&row.session_id))
                    .item("started_at_ms", n(row.started_at_ms))
                    .item("started_offset", n(i64::try_from(row.started_offset).unwrap_or(i64::MAX)))
                    .item("last_seen_ms", n(row.last_seen_ms))
                    .item("refresh_token_hash", s(&row.refresh_token_hash))
                    .item("refresh_expires_at_ms", n(row.refresh_expires_at_ms))
                    .condition_expression("attribute_not_exists(session_id)");
                let put = match &row.device_name {
                    Some(name) => put.item("device_name", s(name)),
                    None => put,
                };
                already_applied(put.send().await)
            }
            SessionChange::Refreshed {
                user_id,
                session_id,
                retired_hash,
                refresh_token_hash,
                refresh_expires_at_ms,
                seen_at_ms,
            } => already_updated(
                self.client
                    .update_item()
                    .table_name(table)
                    .key("user_id", s(user_id))
                    .key("session_id", s(session_id))
                    .update_expression(
                        "SET refresh_token_hash = :new, refresh_expires_at_ms = :expires, last_seen_ms = :seen",
                    )
                    .condition_expression("refresh_token_hash = :retired")
                    .expression_attribute_values(":new", s(refresh_token_hash))
                    .expression_attribute_values(":expires", n(*refresh_expires_at_ms))
                    .expression_attribute_values(":seen", n(*seen_at_ms))
                    .expression_attribute_values(":retired", s(retired_hash))
                    .send()
                    .await,
            ),
            SessionChange::Ended { user_id, session_id } => self.remove_session(user_id, session_id).await,
            SessionChange::OthersEnded { user_id, kept, before_offset } => {
                for row in self.sessions_of(user_id).await? {
                    if row.started_offset < *before_offset && kept.as_deref() != Some(row.session_id.as_str()) {
                        self.remove_session(user_id, &row.session_id).await?;
                    }
                }
                Ok(())
            }
        }
    }

    async fn remove_session(&self, user_id: &str, session_id: &str) -> Result<(), StoreError> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.tables.sessions)
            .key("user_id", s(user_id))
            .key("session_id", s(session_id));
        delete.send().await.map(drop).map_err(sdk_error)
    }
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.client.describe_table().table_name(&self.tables.sessions).send().await.map(drop).map_err(sdk_error)
    }

    async fn apply_session_changes(&self, changes: &[SessionChange]) -> Result<(), StoreError> {
        for change in changes {
            self.apply_session_change(change).await?;
        }
        Ok(())
    }

    async fn session(&self, user_id: &str, session_id: &str) -> Result<Option<SessionRow>, StoreError> {
        let item = self.get_item(&self.tables.sessions, &[("user_id", user_id), ("session_id", session_id)]).await?;
        item.as_ref().map(session_from_item).transpose()
    }

    async fn sessions_of(&self, user_id: &str) -> Result<Vec<SessionRow>, StoreError> {
        let items = self.query_all(&self.tables.sessions, "user_id", user_id).await?;
        items.iter().take(MAX_PAGE_ROWS).map(session_from_item).collect()
    }
}
