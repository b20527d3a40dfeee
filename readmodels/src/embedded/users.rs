//! Accounts in the embedded store: by username, and user id -> username.
use async_trait::async_trait;
use redb::ReadableTable;

use super::{EmbeddedStore, USER_IDS, USERS, from_json, to_json};
use crate::{StoreError, UserRow, UserStore, error::storage_error};

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
