//! Accounts: registering (one winner per username, whatever the concurrency) and logging in.
use confab_eventlog::{Claim, ClaimedAppend};
use confab_readmodels::UserRow;
use confab_schemas::{Event, UserRegistered, UserRegisteredPayload};
use uuid::Uuid;

use std::net::IpAddr;

use crate::{ChatError, Login, UseCases, time::now_ms};

/// Claim scope that keeps usernames unique.
const USERNAME_CLAIM: &str = "username";

/// Lowercases and checks a username against the rules.
pub fn normalize_username(raw: &str) -> Result<String, ChatError> {
    // ASCII before lowercasing: Unicode lowercasing maps the Kelvin sign to `k`, which would
    // make a second spelling of someone's name.
    let username = raw.to_ascii_lowercase();
    let valid_chars = username.bytes().all(is_username_byte);
    if !(3..=32).contains(&username.len()) || !valid_chars {
        return Err(ChatError::invalid(
            "invalid_username",
            "username must be 3-32 characters of a-z, 0-9, '_', '.', '-'",
        ));
    }
    Ok(username)
}

/// Whether `b` may stand in a (lowercased) username: a-z, 0-9, '_', '.', '-'.
pub(crate) fn is_username_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b)
}

pub(crate) fn check_password(password: &str) -> Result<(), ChatError> {
    if !(8..=1024).contains(&password.chars().count()) {
        return Err(ChatError::invalid("invalid_password", "password must be 8-1024 characters"));
    }
    Ok(())
}

fn username_taken() -> ChatError {
    ChatError::conflict("username_taken", "username is already taken")
}

impl UseCases {
    /// Registers `username`; answers the new user's id and the normalized name.
    pub async fn register(&self, username: &str, password: String, from: IpAddr) -> Result<(Uuid, String), ChatError> {
        let username = normalize_username(username)?;
        check_password(&password)?;
        self.rate_limits.register(from)?;
        // Early answer; the claim below is what actually decides.
        if let Some(existing) = self.read().users.user_by_name(&username).await? {
            return self.registered_before(existing, password, from).await;
        }
        let password_hash = self.passwords.hash(password.clone()).await?;
        let user_id = Uuid::now_v7();
        let occurred_at = now_ms();
        let event = Event::UserRegistered(UserRegistered {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: user_id.to_string(),
            payload: UserRegisteredPayload { user_id: user_id.to_string(), username: username.clone(), password_hash },
        });
        let claim =
            Claim { scope: USERNAME_CLAIM.into(), key: username.clone(), value: user_id.to_string().into_bytes() };
        match self.publisher.publish_claimed(claim, &event, occurred_at).await? {
            ClaimedAppend::Appended(position) => {
                self.read_your_write(&position).await;
                Ok((user_id, username))
            }
            ClaimedAppend::Taken { finished, .. } => {
                if let Some(position) = finished {
                    self.read_your_write(&position).await;
                }
                match self.read().users.user_by_name(&username).await? {
                    Some(existing) => self.registered_before(existing, password, from).await,
                    None => Err(username_taken()),
                }
            }
        }
    }

    /// A registration of a name that is taken: the same registration again (a retry whose answer
    /// was lost, or whose first append timed out) when the password is the account's, which is
    /// answered as the first was; otherwise taken. A password that does not match counts as a
    /// failed login for the account, so this is no way around the login limits.
    async fn registered_before(
        &self,
        existing: UserRow,
        password: String,
        from: IpAddr,
    ) -> Result<(Uuid, String), ChatError> {
        self.rate_limits.login_attempt(from, &existing.username)?;
        if !existing.is_active() {
            return Err(username_taken());
        }
        let user_id = Uuid::parse_str(&existing.user_id).map_err(ChatError::internal)?;
        if self.passwords.verify(password, Some(existing.password_hash)).await? {
            Ok((user_id, existing.username))
        } else {
            self.rate_limits.login_failed(&existing.username, from);
            Err(username_taken())
        }
    }

    /// A new session for `username` if `password` is theirs: its access and refresh tokens. An
    /// unknown username costs the same time as a wrong password, and counts against its name the
    /// same way.
    pub async fn login(
        &self,
        username: &str,
        password: String,
        device: Option<&str>,
        from: IpAddr,
    ) -> Result<Login, ChatError> {
        // A name no account can have (empty, too long, other characters) is never looked up:
        // it is not worth a hash or a tracked failure, and some stores refuse such keys.
        let Ok(account) = normalize_username(username) else {
            self.rate_limits.login_from(from)?;
            return Err(ChatError::BadCredentials);
        };
        self.rate_limits.login_attempt(from, &account)?;
        let user = self.read().users.user_by_name(&account).await?.filter(UserRow::is_active);
        let verified = self.passwords.verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
        let Some(user) = user.filter(|_| verified) else {
            self.rate_limits.login_failed(&account, from);
            return Err(ChatError::BadCredentials);
        };
        self.rate_limits.login_succeeded(&account, from);
        self.start_session(&user.user_id, &user.username, device).await
    }

    /// The user a request names; [`ChatError::UserNotFound`] when there is none, or their
    /// account was deleted.
    pub async fn user_named(&self, raw: &str) -> Result<UserRow, ChatError> {
        let user = self.peer_named(raw).await?;
        // A deleted account is no one: not found, not reachable, not addable.
        if user.is_active() { Ok(user) } else { Err(ChatError::UserNotFound(raw.to_owned())) }
    }

    /// The user `raw` names as someone the caller may have talked to: a deleted account too, so
    /// that one's history with it stays readable (its messages as deleted).
    pub(crate) async fn peer_named(&self, raw: &str) -> Result<UserRow, ChatError> {
        let user = match normalize_username(raw.trim()) {
            Ok(name) => self.read().users.user_by_name(&name).await?,
            Err(_) => None,
        };
        user.ok_or_else(|| ChatError::UserNotFound(raw.to_owned()))
    }
}
