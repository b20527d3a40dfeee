use std::sync::Arc;

use async_trait::async_trait;
use confab_schemas::{Event, Topic};

use crate::projection::{LoggedEvent, Projection, ProjectionSpec};
use confab_readmodels::{StoreError, UserRow, UserStore};

/// `confab.users` into the users read model.
pub const USERS: ProjectionSpec = ProjectionSpec {
    name: "users",
    topics: &[Topic::Users],
    build: |sinks| Arc::new(UsersProjection::new(Arc::clone(&sinks.read_models.users))),
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
    fn spec(&self) -> &'static ProjectionSpec {
        &USERS
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
