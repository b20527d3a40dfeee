use std::sync::Arc;

use async_trait::async_trait;
use confab_schemas::{Event, Topic};

use crate::projection::{Erasure, LoggedEvent, Projection, ProjectionSpec};
use confab_readmodels::{
    MuteRow, ProfileFields, PushStore, PushTargetRow, SessionChange, SessionRow, SessionStore, StoreError, UserRow,
    UserStore,
};

/// `confab.users` into the accounts read models: users and their sessions.
pub const USERS: ProjectionSpec = ProjectionSpec {
    name: "users",
    topics: &[Topic::Users],
    build: Some(|sinks| {
        let read_models = &sinks.read_models;
        let erasure = Erasure {
            keys: Arc::clone(sinks.data_keys),
            objects: Arc::clone(sinks.objects),
            attachments: Arc::clone(&read_models.attachments),
        };
        Arc::new(UsersProjection::new(
            Arc::clone(&read_models.users),
            Arc::clone(&read_models.sessions),
            Arc::clone(&read_models.push),
            erasure,
        ))
    }),
};

/// `confab.users` -> the users and sessions tables, push targets and mutes, and each deleted
/// account erased.
pub struct UsersProjection {
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    push: Arc<dyn PushStore>,
    erasure: Erasure,
}

impl UsersProjection {
    pub fn new(
        users: Arc<dyn UserStore>,
        sessions: Arc<dyn SessionStore>,
        push: Arc<dyn PushStore>,
        erasure: Erasure,
    ) -> Self {
        Self { users, sessions, push, erasure }
    }
}

#[async_trait]
impl Projection for UsersProjection {
    fn spec(&self) -> &'static ProjectionSpec {
        &USERS
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.users.ping().await?;
        self.sessions.ping().await?;
        self.push.ping().await
    }

    /// In log order, a run of one kind at a time: registrations together, session changes
    /// together, each password change and deletion alone (each ends sessions started before it).
    async fn apply(&self, events: &[LoggedEvent]) -> Result<(), StoreError> {
        let mut registered = Vec::new();
        let mut changes = Vec::new();
        for logged in events {
            match &logged.event {
                Event::UserRegistered(e) => {
                    self.flush_sessions(&mut changes).await?;
                    registered.push(UserRow {
                        user_id: e.payload.user_id.clone(),
                        username: e.payload.username.clone(),
                        password_hash: e.payload.password_hash.clone(),
                        registered_at_ms: e.occurred_at,
                        profile: ProfileFields::default(),
                        deleted_at_ms: None,
                    });
                }
                Event::ProfileUpdated(e) => {
                    self.flush_users(&mut registered).await?;
                    self.users.set_profile(&e.payload.username, &ProfileFields::from(&e.payload)).await?;
                }
                Event::AccountDeleted(e) => {
                    self.flush_users(&mut registered).await?;
                    self.users.delete_account(&e.payload.username, e.occurred_at).await?;
                    self.push.remove_push_targets_of(&e.payload.user_id, None).await?;
                    self.erasure.erase(&e.payload.user_id).await?;
                    changes.push(SessionChange::OthersEnded {
                        user_id: e.payload.user_id.clone(),
                        kept: None,
                        before_offset: logged.position.offset,
                    });
                }
                Event::PasswordChanged(e) => {
                    self.flush_users(&mut registered).await?;
                    self.users.change_password(&e.payload.username, &e.payload.password_hash).await?;
                    // The devices of the sessions it ends get no more pushes.
                    for target in self.push.push_targets(&e.payload.user_id).await? {
                        if e.payload.kept_session_id.as_deref() != Some(target.session_id.as_str()) {
                            let (user, device) = (&target.user_id, &target.device_id);
                            self.push.remove_push_target(user, device, Some(&target.event_id)).await?;
                        }
                    }
                    changes.push(SessionChange::OthersEnded {
                        user_id: e.payload.user_id.clone(),
                        kept: e.payload.kept_session_id.clone(),
                        before_offset: logged.position.offset,
                    });
                }
                Event::PushTargetRegistered(e) => {
                    let p = &e.payload;
                    self.push
                        .put_push_target(&PushTargetRow {
                            user_id: p.user_id.clone(),
                            device_id: p.device_id.clone(),
                            session_id: p.session_id.clone(),
                            kind: p.kind.clone(),
                            endpoint: p.endpoint.clone(),
                            p256dh: p.p256dh.clone(),
                            auth: p.auth.clone(),
                            previews: p.previews,
                            registered_at_ms: e.occurred_at,
                            event_id: e.event_id.clone(),
                        })
                        .await?;
                }
                Event::PushTargetRemoved(e) => {
                    let p = &e.payload;
                    self.push.remove_push_target(&p.user_id, &p.device_id, p.registered_event_id.as_deref()).await?;
                }
                Event::PlaceMuted(e) if e.payload.muted => {
                    let p = &e.payload;
                    self.push
                        .put_mute(&MuteRow {
                            user_id: p.user_id.clone(),
                            place_id: p.place_id.clone(),
                            kind: p.kind.clone(),
                            until_ms: p.until_ms,
                            everything: p.everything,
                            muted_at_ms: e.occurred_at,
                        })
                        .await?;
                }
                Event::PlaceMuted(e) => self.push.lift_mute(&e.payload.user_id, &e.payload.place_id).await?,
                event => {
                    if let Event::SessionEnded(e) = event {
                        // Its devices get no more pushes.
                        self.push.remove_push_targets_of(&e.payload.user_id, Some(&e.payload.session_id)).await?;
                    }
                    if let Some(change) = session_change(event, logged.position.offset) {
                        self.flush_users(&mut registered).await?;
                        changes.push(change);
                    }
                }
            }
        }
        self.flush_users(&mut registered).await?;
        self.flush_sessions(&mut changes).await
    }
}

impl UsersProjection {
    async fn flush_users(&self, registered: &mut Vec<UserRow>) -> Result<(), StoreError> {
        if !registered.is_empty() {
            self.users.put_users(registered).await?;
            registered.clear();
        }
        Ok(())
    }

    async fn flush_sessions(&self, changes: &mut Vec<SessionChange>) -> Result<(), StoreError> {
        if !changes.is_empty() {
            self.sessions.apply_session_changes(changes).await?;
            changes.clear();
        }
        Ok(())
    }
}

/// What a session event at `offset` changes.
fn session_change(event: &Event, offset: u64) -> Option<SessionChange> {
    Some(match event {
        Event::SessionStarted(e) => SessionChange::Started(SessionRow {
            user_id: e.payload.user_id.clone(),
            session_id: e.payload.session_id.clone(),
            device_name: e.payload.device_name.clone(),
            started_at_ms: e.occurred_at,
            started_offset: offset,
            last_seen_ms: e.occurred_at,
            refresh_token_hash: e.payload.refresh_token_hash.clone(),
            refresh_expires_at_ms: e.payload.refresh_expires_at,
        }),
        Event::SessionRefreshed(e) => SessionChange::Refreshed {
            user_id: e.payload.user_id.clone(),
            session_id: e.payload.session_id.clone(),
            retired_hash: e.payload.retired_token_hash.clone(),
            refresh_token_hash: e.payload.refresh_token_hash.clone(),
            refresh_expires_at_ms: e.payload.refresh_expires_at,
            seen_at_ms: e.occurred_at,
        },
        Event::SessionEnded(e) => {
            SessionChange::Ended { user_id: e.payload.user_id.clone(), session_id: e.payload.session_id.clone() }
        }
        _ => return None,
    })
}
