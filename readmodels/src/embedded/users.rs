//! Accounts in the embedded store: by username, and user id -> username.
use async_trait::async_trait;
use redb::ReadableTable;

use super::{EmbeddedStore, USER_IDS, USERS, from_json, to_json};
use crate::{MAX_PAGE_ROWS, ProfileFields, StoreError, UserRow, UserStore, error::storage_error};

#[async_trait]
impl UserStore for EmbeddedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|db| db.begin_read().map(drop).map_err(storage_error))
    }

    async fn put_users(&self, users: &[UserRow]) -> Result<(), StoreError> {
        let users = users.to_vec();
        self.write(move |txn| {
            let mut by_name = txn.open_table(USERS).map_err(storage_error)?;
            let mut by_id = txn.open_table(USER_IDS).map_err(storage_error)?;
            for user in &users {
                if by_name.get(user.username.as_str()).map_err(storage_error)?.is_some() {
                    continue;
                }
                let _ = by_name.insert(user.username.as_str(), to_json(user)?.as_slice()).map_err(storage_error)?;
                let _ = by_id.insert(user.user_id.as_str(), user.username.as_str()).map_err(storage_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn change_password(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        let (username, password_hash) = (username.to_owned(), password_hash.to_owned());
        self.write(move |txn| {
            let mut by_name = txn.open_table(USERS).map_err(storage_error)?;
            let current = by_name.get(username.as_str()).map_err(storage_error)?;
            let current: Option<UserRow> = current.map(|v| from_json("users", v.value())).transpose()?;
            if let Some(mut user) = current {
                user.password_hash = password_hash;
                let _ = by_name.insert(username.as_str(), to_json(&user)?.as_slice()).map_err(storage_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn set_profile(&self, username: &str, profile: &ProfileFields) -> Result<(), StoreError> {
        let username = username.to_owned();
        let profile = profile.clone();
        self.write(move |txn| {
            let mut by_name = txn.open_table(USERS).map_err(storage_error)?;
            let current = by_name.get(username.as_str()).map_err(storage_error)?;
            let current: Option<UserRow> = current.map(|v| from_json("users", v.value())).transpose()?;
            if let Some(mut user) = current {
                user.profile = profile;
                let _ = by_name.insert(username.as_str(), to_json(&user)?.as_slice()).map_err(storage_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn delete_account(&self, username: &str, at_ms: i64) -> Result<(), StoreError> {
        let username = username.to_owned();
        self.write(move |txn| {
            let mut by_name = txn.open_table(USERS).map_err(storage_error)?;
            let current = by_name.get(username.as_str()).map_err(storage_error)?;
            let current: Option<UserRow> = current.map(|v| from_json("users", v.value())).transpose()?;
            if let Some(mut user) = current.filter(UserRow::is_active) {
                user.deleted_at_ms = Some(at_ms);
                user.password_hash.clear();
                user.profile = ProfileFields::default();
                let _ = by_name.insert(username.as_str(), to_json(&user)?.as_slice()).map_err(storage_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn users_by_prefix(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<UserRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let users = txn.open_table(USERS).map_err(storage_error)?;
            let start = after.filter(|after| *after >= prefix).unwrap_or(prefix);
            let mut found = Vec::new();
            for entry in users.range(start..).map_err(storage_error)? {
                let (name, value) = entry.map_err(storage_error)?;
                if !name.value().starts_with(prefix) || found.len() >= limit.clamp(1, MAX_PAGE_ROWS) {
                    break;
                }
                let user: UserRow = from_json("users", value.value())?;
                if Some(name.value()) != after && user.is_active() {
                    found.push(user);
                }
            }
            Ok(found)
        })
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let users = txn.open_table(USERS).map_err(storage_error)?;
            let row = users.get(username).map_err(storage_error)?;
            row.map(|v| from_json("users", v.value())).transpose()
        })
    }

    async fn user_by_id(&self, user_id: &str) -> Result<Option<UserRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let ids = txn.open_table(USER_IDS).map_err(storage_error)?;
            let Some(name) = ids.get(user_id).map_err(storage_error)? else {
                return Ok(None);
            };
            let users = txn.open_table(USERS).map_err(storage_error)?;
            let row = users.get(name.value()).map_err(storage_error)?;
            row.map(|v| from_json("users", v.value())).transpose()
        })
    }
}
