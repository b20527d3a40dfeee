//! Sessions: a login on a device, its short-lived access tokens and its rotating refresh token.
//!
//! A refresh token is `<user id>.<session id>.<secret>`, 32 random bytes of secret; only its
//! SHA-256 is kept (on the log and in the sessions table). Exchanging it appends
//! `SessionRefreshed` under a claim on the old token's hash, so each refresh token is exchanged
//! at most once however many processes race; presenting it again ends the whole session (the
//! OAuth 2.0 security BCP's reuse detection: a copy is in someone else's hands).
use aes_gcm::aead::{OsRng, rand_core::RngCore};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use confab_eventlog::{Claim, ClaimedAppend};
use confab_readmodels::SessionRow;
use confab_schemas::{
    Event, PasswordChanged, PasswordChangedPayload, SessionEnded, SessionEndedPayload, SessionRefreshed,
    SessionRefreshedPayload, SessionStarted, SessionStartedPayload, end_reason,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use std::net::IpAddr;

use crate::{Caller, ChatError, UseCases, time::now_ms};

/// Claim scope holding every refresh token ever exchanged, by hash.
const REFRESH_CLAIM: &str = "refresh-token";
/// Longest device name kept, in characters.
pub const MAX_DEVICE_NAME_CHARS: usize = 64;

/// What a login or a refresh answers: an access token and the session's next refresh token.
#[derive(Debug, Clone)]
pub struct Login {
    pub token: String,
    pub expires_in_secs: i64,
    pub refresh_token: String,
    pub refresh_expires_in_secs: i64,
    pub session_id: String,
}

/// A session as its user sees it.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub row: SessionRow,
    pub current: bool,
}

struct RefreshToken {
    user_id: String,
    session_id: String,
    hash: String,
}

fn new_refresh_token(user_id: &str, session_id: &str) -> (String, String) {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    let token = format!("{user_id}.{session_id}.{}", URL_SAFE_NO_PAD.encode(secret));
    let hash = hash_of(&token);
    (token, hash)
}

fn hash_of(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn invalid_refresh() -> ChatError {
    ChatError::unauthenticated("invalid_refresh_token", "the refresh token is not valid; log in again")
}

fn parse_refresh_token(token: &str) -> Result<RefreshToken, ChatError> {
    let mut parts = token.split('.');
    let (Some(user), Some(session), Some(_secret), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid_refresh());
    };
    let (Ok(user), Ok(session)) = (Uuid::parse_str(user), Uuid::parse_str(session)) else {
        return Err(invalid_refresh());
    };
    Ok(RefreshToken { user_id: user.to_string(), session_id: session.to_string(), hash: hash_of(token) })
}

/// A device name as kept: trimmed, without control characters, at most
/// [`MAX_DEVICE_NAME_CHARS`]; none if nothing is left.
fn device_name(raw: Option<&str>) -> Option<String> {
    let name: String = raw?.chars().filter(|c| !c.is_control()).take(MAX_DEVICE_NAME_CHARS).collect();
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

impl UseCases {
    /// Starts a session for a user whose password was checked: its first tokens.
    pub(crate) async fn start_session(
        &self,
        user_id: &str,
        username: &str,
        device: Option<&str>,
    ) -> Result<Login, ChatError> {
        let session_id = Uuid::now_v7().to_string();
        let (refresh_token, hash) = new_refresh_token(user_id, &session_id);
        let occurred_at = now_ms();
        let refresh_expires_at = occurred_at + self.tokens.refresh_ttl_secs * 1000;
        let event = Event::SessionStarted(SessionStarted {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: user_id.to_owned(),
            payload: SessionStartedPayload {
                user_id: user_id.to_owned(),
                username: username.to_owned(),
                session_id: session_id.clone(),
                device_name: device_name(device),
                refresh_token_hash: hash,
                refresh_expires_at,
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        // The refresh token works from the answer on: its session is in the table by then.
        self.read_your_write(&position).await;
        self.tokens_for(user_id, username, &session_id, refresh_token)
    }

    fn tokens_for(&self, user_id: &str, username: &str, session_id: &str, refresh: String) -> Result<Login, ChatError> {
        let token = self.tokens.issue(user_id, username, session_id).map_err(ChatError::internal)?;
        Ok(Login {
            token,
            expires_in_secs: self.tokens.ttl_secs,
            refresh_token: refresh,
            refresh_expires_in_secs: self.tokens.refresh_ttl_secs,
            session_id: session_id.to_owned(),
        })
    }

    /// Exchanges a refresh token for new tokens, once. A token exchanged before ends its session.
    pub async fn refresh(&self, presented: &str, from: IpAddr) -> Result<Login, ChatError> {
        // A refresh is a login by token: it counts against the address's logins.
        self.rate_limits.login_from(from)?;
        let presented = parse_refresh_token(presented)?;
        let read = self.read();
        let session = read.sessions.session(&presented.user_id, &presented.session_id).await?;
        let Some(session) = session else {
            return Err(invalid_refresh());
        };
        let user = read
            .users
            .user_by_id(&presented.user_id)
            .await?
            .filter(confab_readmodels::UserRow::is_active)
            .ok_or_else(invalid_refresh)?;
        if session.refresh_token_hash != presented.hash {
            if self.publisher.claim_value(REFRESH_CLAIM, &presented.hash).await?.is_some() {
                return Err(self.reused(&user.user_id, &user.username, &session.session_id).await);
            }
            return Err(invalid_refresh());
        }
        let occurred_at = now_ms();
        if session.refresh_expires_at_ms <= occurred_at {
            return Err(ChatError::unauthenticated(
                "refresh_token_expired",
                "the refresh token has expired; log in again",
            ));
        }
        let (refresh_token, hash) = new_refresh_token(&user.user_id, &session.session_id);
        let event = Event::SessionRefreshed(SessionRefreshed {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: user.user_id.clone(),
            payload: SessionRefreshedPayload {
                user_id: user.user_id.clone(),
                username: user.username.clone(),
                session_id: session.session_id.clone(),
                retired_token_hash: presented.hash.clone(),
                refresh_token_hash: hash.clone(),
                refresh_expires_at: occurred_at + self.tokens.refresh_ttl_secs * 1000,
            },
        });
        let claim = Claim {
            scope: REFRESH_CLAIM.into(),
            key: presented.hash.clone(),
            value: session.session_id.clone().into_bytes(),
        };
        match self.publisher.publish_claimed(claim, &event, occurred_at).await? {
            ClaimedAppend::Appended(position) => self.read_your_write(&position).await,
            // Another exchange of the same token won the race: two holders.
            ClaimedAppend::Taken { .. } => {
                return Err(self.reused(&user.user_id, &user.username, &session.session_id).await);
            }
        }
        // Ended meanwhile (a logout, a password change, a reuse elsewhere): no tokens for it.
        let now = self.read().sessions.session(&user.user_id, &session.session_id).await?;
        if now.is_none_or(|row| row.refresh_token_hash != hash) {
            return Err(invalid_refresh());
        }
        self.tokens_for(&user.user_id, &user.username, &session.session_id, refresh_token)
    }

    /// Ends a session whose retired refresh token came back, and says so.
    async fn reused(&self, user_id: &str, username: &str, session_id: &str) -> ChatError {
        tracing::warn!(user_id, session_id, "a retired refresh token was presented; ending its session");
        if let Err(error) = self.end(user_id, username, session_id, end_reason::REFRESH_REUSED).await {
            return error;
        }
        ChatError::unauthenticated(
            "refresh_token_reused",
            "this refresh token was already used, so the session has been ended; log in again",
        )
    }

    async fn end(&self, user_id: &str, username: &str, session_id: &str, reason: &str) -> Result<(), ChatError> {
        let occurred_at = now_ms();
        let event = Event::SessionEnded(SessionEnded {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: user_id.to_owned(),
            payload: SessionEndedPayload {
                user_id: user_id.to_owned(),
                username: username.to_owned(),
                session_id: session_id.to_owned(),
                reason: reason.to_owned(),
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(())
    }

    /// Ends the caller's own session.
    pub async fn logout(&self, caller: &Caller) -> Result<(), ChatError> {
        self.end(&caller.sub, &caller.name, &caller.sid, end_reason::LOGOUT).await
    }

    /// The caller's sessions whose refresh token still works, the most recently seen first.
    pub async fn sessions(&self, caller: &Caller) -> Result<Vec<SessionView>, ChatError> {
        let now = now_ms();
        let mut rows = self.read().sessions.sessions_of(&caller.sub).await?;
        rows.retain(|row| row.refresh_expires_at_ms > now);
        rows.sort_by(|a, b| b.last_seen_ms.cmp(&a.last_seen_ms).then_with(|| b.session_id.cmp(&a.session_id)));
        Ok(rows.into_iter().map(|row| SessionView { current: row.session_id == caller.sid, row }).collect())
    }

    /// Ends one of the caller's sessions (this one too, if named).
    pub async fn end_session(&self, caller: &Caller, session_id: &str) -> Result<(), ChatError> {
        let found = match Uuid::parse_str(session_id) {
            Ok(id) => self.read().sessions.session(&caller.sub, &id.to_string()).await?,
            Err(_) => None,
        };
        let Some(session) = found else {
            return Err(ChatError::not_found("session_not_found", "no such session of yours"));
        };
        let reason = if session.session_id == caller.sid { end_reason::LOGOUT } else { end_reason::REVOKED };
        self.end(&caller.sub, &caller.name, &session.session_id, reason).await
    }

    /// Replaces the caller's password, if `current` is it; every other session ends.
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: String,
        new: String,
        from: IpAddr,
    ) -> Result<(), ChatError> {
        crate::users::check_password(&new)?;
        self.rate_limits.login_attempt(from, &caller.name)?;
        let user = self.read().users.user_by_id(&caller.sub).await?;
        let verified = self.passwords.verify(current, user.as_ref().map(|u| u.password_hash.clone())).await?;
        let Some(user) = user.filter(|_| verified) else {
            self.rate_limits.login_failed(&caller.name, from);
            return Err(ChatError::forbidden("wrong_password", "the current password is not right"));
        };
        let password_hash = self.passwords.hash(new).await?;
        let occurred_at = now_ms();
        let event = Event::PasswordChanged(PasswordChanged {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: user.user_id.clone(),
            payload: PasswordChangedPayload {
                user_id: user.user_id.clone(),
                username: user.username.clone(),
                password_hash,
                kept_session_id: Some(caller.sid.clone()),
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(())
    }
}
