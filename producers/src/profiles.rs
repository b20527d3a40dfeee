//! Profiles (what a user says about themself) and finding someone to chat with by the start of
//! their username.
use confab_readmodels::MIN_PREFIX_CHARS;
use confab_schemas::{Event, ProfileUpdated, ProfileUpdatedPayload};
use futures::{StreamExt, TryStreamExt, stream};
use uuid::Uuid;

use crate::{
    Caller, ChatError, DataKey, OpenedUser, UseCases, normalize_username, profile_field_binding,
    rate_limits::UserAction, time::now_ms, users::is_username_byte,
};

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;
/// Longest "about" text, in characters.
pub const MAX_ABOUT_CHARS: usize = 500;
/// Most users one search answers.
pub const MAX_SEARCH_RESULTS: usize = 50;
/// Profiles a search opens at once (each may read its owner's key from the store).
const PROFILES_OPENED_AT_ONCE: usize = 8;
/// Users a search answers when it does not say.
const DEFAULT_SEARCH_RESULTS: usize = 20;

/// A change to one field of a profile: left as it is, set, or cleared.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FieldChange {
    #[default]
    Keep,
    Set(String),
    Clear,
}

/// What a profile change asks, field by field.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub display_name: FieldChange,
    pub about: FieldChange,
    /// An attachment id: one the caller uploaded for their profile.
    pub avatar: FieldChange,
    /// Whether to show one's presence (and see others'); None leaves it.
    pub show_presence: Option<bool>,
}

/// A page of users whose name starts with a prefix, and where the next page starts.
#[derive(Debug, Clone)]
pub struct FoundUsers {
    pub users: Vec<OpenedUser>,
    pub next_cursor: Option<String>,
}

/// `raw` trimmed, refused if it holds control characters (besides line breaks where
/// `multiline`) or is longer than `max` characters; None if nothing is left.
fn checked_text(
    raw: &str,
    max: usize,
    multiline: bool,
    code: &'static str,
    what: &str,
) -> Result<Option<String>, ChatError> {
    let text = raw.trim();
    if text.chars().any(|c| c.is_control() && !(multiline && c == '\n')) {
        return Err(ChatError::invalid(code, format!("{what} must not hold control characters")));
    }
    if text.chars().count() > max {
        return Err(ChatError::invalid(code, format!("{what} must be at most {max} characters")));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

fn changed(
    current: Option<String>,
    change: FieldChange,
    max: usize,
    multiline: bool,
    code: &'static str,
    what: &str,
) -> Result<Option<String>, ChatError> {
    match change {
        FieldChange::Keep => Ok(current),
        FieldChange::Clear => Ok(None),
        FieldChange::Set(raw) => checked_text(&raw, max, multiline, code, what),
    }
}

/// `text` of `user_id`'s profile field `field`, sealed under their profile key.
fn sealed_field(key: &DataKey, user_id: &str, field: &str, text: Option<&str>) -> Result<Option<String>, ChatError> {
    text.map(|text| key.seal(text.as_bytes(), &profile_field_binding(user_id, field)).map_err(ChatError::internal))
        .transpose()
}

impl UseCases {
    /// The profile of the user `username` names; any signed-in user may read it.
    pub async fn profile(&self, username: &str) -> Result<OpenedUser, ChatError> {
        let user = self.user_named(username).await?;
        self.opener().user(user).await
    }

    /// Changes the caller's profile; answers it as it now is.
    pub async fn update_profile(&self, caller: &Caller, change: ProfileChange) -> Result<OpenedUser, ChatError> {
        self.rate_limits.user(UserAction::GroupChange, &caller.sub)?;
        let user = self
            .read()
            .users
            .user_by_id(&caller.sub)
            .await?
            .ok_or_else(|| ChatError::UserNotFound(caller.name.clone()))?;
        let mut user = self.opener().user(user).await?;
        let profile = &mut user.profile;
        profile.display_name = changed(
            profile.display_name.take(),
            change.display_name,
            MAX_DISPLAY_NAME_CHARS,
            false,
            "invalid_display_name",
            "displayName",
        )?;
        profile.about = changed(profile.about.take(), change.about, MAX_ABOUT_CHARS, true, "invalid_about", "about")?;
        profile.avatar_id = match change.avatar {
            FieldChange::Keep => profile.avatar_id.take(),
            FieldChange::Clear => None,
            FieldChange::Set(raw) => Some(self.avatar(caller, &raw).await?),
        };
        user.show_presence = change.show_presence.unwrap_or(user.show_presence);
        // Sealed under the user's key for their own place, so that deleting the account erases
        // it from the log.
        let key = self.data_keys.for_sealing(&user.user_id, &user.user_id).await?;
        let occurred_at = now_ms();
        let event = Event::ProfileUpdated(ProfileUpdated {
            event_id: Uuid::now_v7().to_string(),
            occurred_at,
            actor_id: user.user_id.clone(),
            payload: ProfileUpdatedPayload {
                user_id: user.user_id.clone(),
                username: user.username.clone(),
                display_name: sealed_field(&key, &user.user_id, "displayName", profile.display_name.as_deref())?,
                about: sealed_field(&key, &user.user_id, "about", profile.about.as_deref())?,
                sealed: true,
                avatar_id: profile.avatar_id.clone(),
                show_presence: user.show_presence,
            },
        });
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(user)
    }

    /// Users whose username starts with `prefix` (at least two characters), in name order, a
    /// page at a time; refused where the deployment turned search off.
    pub async fn find_users(
        &self,
        caller: &Caller,
        prefix: &str,
        after: Option<&str>,
        limit: Option<&str>,
    ) -> Result<FoundUsers, ChatError> {
        if !self.limits.user_search {
            return Err(ChatError::forbidden("search_disabled", "this server does not let users be searched"));
        }
        let limit = match limit.map(str::parse::<usize>) {
            None => DEFAULT_SEARCH_RESULTS,
            Some(Ok(limit)) if (1..=MAX_SEARCH_RESULTS).contains(&limit) => limit,
            Some(_) => {
                return Err(ChatError::invalid(
                    "invalid_limit",
                    format!("limit must be an integer from 1 to {MAX_SEARCH_RESULTS}"),
                ));
            }
        };
        // A cursor is the last username of a page; anything else names no place in the list.
        let after = match after.map(normalize_username) {
            None => None,
            Some(Ok(name)) => Some(name),
            Some(Err(_)) => {
                return Err(ChatError::invalid("invalid_cursor", "after must be a nextCursor from an earlier page"));
            }
        };
        let prefix = prefix.to_ascii_lowercase();
        let fits = prefix.bytes().all(is_username_byte);
        if !(MIN_PREFIX_CHARS..=32).contains(&prefix.len()) || !fits {
            return Err(ChatError::invalid(
                "invalid_prefix",
                format!("prefix must be {MIN_PREFIX_CHARS}-32 characters of a-z, 0-9, '_', '.', '-'"),
            ));
        }
        self.rate_limits.user(UserAction::Search, &caller.sub)?;
        // A cursor outside the prefix: before it, the list starts at the top; after it, it is over.
        let after = match after {
            Some(after) if !after.starts_with(&prefix) => {
                if after > prefix {
                    return Ok(FoundUsers { users: Vec::new(), next_cursor: None });
                }
                None
            }
            after => after,
        };
        let mut rows = self.read().users.users_by_prefix(&prefix, after.as_deref(), limit + 1).await?;
        let next_cursor = (rows.len() > limit).then(|| {
            rows.truncate(limit);
            rows.last().map(|u| u.username.clone())
        });
        // Each profile opens under its own user's key: a few read at once, in order.
        let opener = self.opener();
        let users =
            stream::iter(rows).map(|row| opener.user(row)).buffered(PROFILES_OPENED_AT_ONCE).try_collect().await?;
        Ok(FoundUsers { users, next_cursor: next_cursor.flatten() })
    }
}
