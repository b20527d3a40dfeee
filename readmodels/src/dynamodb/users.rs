//! Accounts on DynamoDB: by username, and by user id.
use async_trait::async_trait;

use super::{groups::already_updated, *};
use crate::{StoreError, UserRow, UserStore};

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

    async fn change_password(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        already_updated(
            self.client
                .update_item()
                .table_name(&self.tables.users)
                .key("username", s(username))
                .update_expression("SET password_hash = :h")
                .condition_expression("attribute_exists(username)")
                .expression_attribute_values(":h", s(password_hash))
                .send()
                .await,
        )
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
