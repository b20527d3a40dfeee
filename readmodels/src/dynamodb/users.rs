//! Accounts on DynamoDB: by username, and by user id.
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{groups::already_updated, *};
use std::collections::HashMap;

use crate::{MIN_PREFIX_CHARS, ProfileFields, StoreError, UserRow, UserStore, dynamodb::query};

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
                    self.client
                        .put_item()
                        .table_name(&self.tables.user_prefixes)
                        .item("prefix", s(&bucket(&user.username)))
                        .item("username", s(&user.username))
                        .item("user_id", s(&user.user_id))
                        .condition_expression("attribute_not_exists(username)"),
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

    async fn set_profile(&self, username: &str, profile: &ProfileFields) -> Result<(), StoreError> {
        let mut set = Vec::new();
        let mut remove = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .key("username", s(username))
            .condition_expression("attribute_exists(username)");
        let fields = [
            ("display_name", profile.display_name.as_deref()),
            ("about", profile.about.as_deref()),
            ("avatar_id", profile.avatar_id.as_deref()),
        ];
        for (name, value) in fields {
            match value {
                Some(value) => {
                    set.push(format!("{name} = :{name}"));
                    update = update.expression_attribute_values(format!(":{name}"), s(value));
                }
                None => remove.push(name),
            }
        }
        set.push("profile_sealed = :sealed".to_owned());
        update = update.expression_attribute_values(":sealed", AttributeValue::Bool(profile.sealed));
        set.push("show_presence = :show".to_owned());
        update = update.expression_attribute_values(":show", AttributeValue::Bool(profile.show_presence));
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression = format!("{expression} REMOVE {}", remove.join(", "));
        }
        already_updated(update.update_expression(expression.trim()).send().await)
    }

    async fn delete_account(&self, username: &str, at_ms: i64) -> Result<(), StoreError> {
        already_updated(
            self.client
                .update_item()
                .table_name(&self.tables.users)
                .key("username", s(username))
                .update_expression(
                    "SET deleted_at_ms = :d, password_hash = :none REMOVE display_name, about, profile_sealed, avatar_id, show_presence",
                )
                .condition_expression("attribute_exists(username) AND attribute_not_exists(deleted_at_ms)")
                .expression_attribute_values(":d", n(at_ms))
                .expression_attribute_values(":none", s(""))
                .send()
                .await,
        )?;
        let _ = self
            .client
            .delete_item()
            .table_name(&self.tables.user_prefixes)
            .key("prefix", s(&bucket(username)))
            .key("username", s(username))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn users_by_prefix(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<UserRow>, StoreError> {
        let start = after
            .map(|after| HashMap::from([("prefix".to_owned(), s(&bucket(prefix))), ("username".to_owned(), s(after))]));
        let query = self
            .client
            .query()
            .table_name(&self.tables.user_prefixes)
            .key_condition_expression("#b = :b AND begins_with(#u, :p)")
            .expression_attribute_names("#b", "prefix")
            .expression_attribute_names("#u", "username")
            .expression_attribute_values(":b", s(&bucket(prefix)))
            .expression_attribute_values(":p", s(prefix))
            .set_exclusive_start_key(start)
            .consistent_read(true);
        let names = query::up_to(query, limit).await?;
        // Each found name's row, read concurrently, in name order.
        let names: Vec<String> = names.iter().map(|item| get_s(item, "username")).collect::<Result<_, _>>()?;
        let users = futures::future::try_join_all(names.iter().map(|name| self.user_by_name(name))).await?;
        Ok(users.into_iter().flatten().filter(UserRow::is_active).collect())
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

/// The partition of the prefix index a username (or a search prefix) falls in: its first
/// [`MIN_PREFIX_CHARS`] characters, so a search reads one partition.
fn bucket(name: &str) -> String {
    name.chars().take(MIN_PREFIX_CHARS).collect()
}
