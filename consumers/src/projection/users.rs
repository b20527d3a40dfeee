use std::sync::Arc;

use async_trait::async_trait;
use confab_schemas::{Event, Topic};

use crate::{
    StoreError,
    projection::{LoggedEvent, Projection},
    store::{UserRow, UserStore},
};

/// `confab.users` -> the users table.
pub struct UsersProjection {
    store: Arc<dyn UserStore>,
}

impl UsersProjection {
    pub fn new(store: Arc<dyn UserStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl Projection for UsersProjection {
    fn name(&self) -> &'static str {
        "users"
    }

    fn topics(&self) -> &'static [Topic] {
        &[Topic::Users]
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    async fn apply(&self, events: &[LoggedEvent]) -> Result<(), StoreError> {
        let users: Vec<UserRow> = events
            .iter()
            .filter_map(|logged| match &logged.event {
                Event::UserRegistered(e) => Some(UserRow {
                    user_id: e.payload.user_id.clone(),
                    username: e.payload.username.clone(),
                    password_hash: e.payload.password_hash.clone(),
                    registered_at_ms: e.occurred_at,
                }),
                _ => None,
            })
            .collect();
        if users.is_empty() {
            return Ok(());
        }
        self.store.put_users(&users).await
    }
}
