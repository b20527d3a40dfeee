//! Who may see whose presence (online, last seen): the one rule, asked by `GET
//! /users/{username}/presence`, by a connection that watches someone, and by every presence
//! frame before it goes out. Presence itself is not stored: the API processes tell each other
//! (signals), and this rule only says who may know.
use std::collections::HashSet;

use confab_readmodels::{BlockMark, UserRow};

use crate::{Caller, ChatError, UseCases, direct::conversation_id, rate_limits::UserAction};

/// Most users one connection may watch at once.
pub const MAX_WATCHED: usize = 256;

/// Someone whose presence was asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub user_id: String,
    pub username: String,
    /// Whether the asker may see it now: both show theirs, and neither blocked the other.
    pub shown: bool,
}

impl UseCases {
    /// Whether `viewer_id` may see `target_id`'s presence now, given they share a conversation
    /// or group: both show theirs (hiding one's own hides everyone's from oneself, as WhatsApp
    /// does) and no block stands between them. One's own is always shown.
    pub async fn presence_shown(&self, viewer_id: &str, target_id: &str) -> Result<bool, ChatError> {
        if viewer_id == target_id {
            return Ok(true);
        }
        let users = &self.read().users;
        let (viewer, target) = futures::try_join!(users.user_by_id(viewer_id), users.user_by_id(target_id))?;
        let shows = |user: Option<UserRow>| user.is_some_and(|u| u.is_active() && u.profile.show_presence);
        if !(shows(viewer) && shows(target)) {
            return Ok(false);
        }
        let marks = self.read().blocks.block_marks(&conversation_id(viewer_id, target_id).to_string()).await?;
        Ok(BlockMark::standing(&marks, u64::MAX).is_none())
    }

    /// The user `username` names, and whether the caller sees their presence; 403
    /// `presence_not_shared` when the two share no conversation (one with a message in it) and
    /// no group.
    pub async fn presence_of(&self, caller: &Caller, username: &str) -> Result<Watched, ChatError> {
        self.rate_limits.user(UserAction::Search, &caller.sub)?;
        self.watched(caller, username).await
    }

    async fn watched(&self, caller: &Caller, username: &str) -> Result<Watched, ChatError> {
        let user = self.user_named(username).await?;
        if !self.shares_a_place(&caller.sub, &user.user_id).await? {
            return Err(ChatError::forbidden(
                "presence_not_shared",
                "you see the presence only of those you share a conversation or group with",
            ));
        }
        let shown = self.presence_shown(&caller.sub, &user.user_id).await?;
        Ok(Watched { user_id: user.user_id, username: user.username, shown })
    }

    /// The users among `usernames` (at most [`MAX_WATCHED`]) whose presence the caller may
    /// watch: unknown names and those the caller shares nothing with are left out.
    pub async fn presence_watch(&self, caller: &Caller, usernames: &[String]) -> Result<Vec<Watched>, ChatError> {
        if usernames.len() > MAX_WATCHED {
            return Err(ChatError::invalid("too_many_watched", format!("watch at most {MAX_WATCHED} users at once")));
        }
        self.rate_limits.user(UserAction::Search, &caller.sub)?;
        let mut seen = HashSet::new();
        let mut watched = Vec::new();
        for username in usernames {
            if !seen.insert(username.to_ascii_lowercase()) {
                continue;
            }
            match self.watched(caller, username).await {
                Ok(w) => watched.push(w),
                Err(ChatError::Refused { .. } | ChatError::UserNotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(watched)
    }

    /// When `user_id` was last active as their sessions tell (a login or a token refresh): what
    /// a user's last seen falls back to when no running process saw them leave.
    pub async fn last_active_ms(&self, user_id: &str) -> Result<Option<i64>, ChatError> {
        let sessions = self.read().sessions.sessions_of(user_id).await?;
        Ok(sessions.iter().map(|s| s.last_seen_ms).max())
    }

    /// Whether the two have a direct conversation with a message in it, or a group in common.
    async fn shares_a_place(&self, a: &str, b: &str) -> Result<bool, ChatError> {
        if a == b {
            return Ok(true);
        }
        let read = self.read();
        let conversation = conversation_id(a, b).to_string();
        if !read.messages.history(&conversation, None, 1).await?.is_empty() {
            return Ok(true);
        }
        let (mine, theirs) = futures::try_join!(read.groups.groups_of(a), read.groups.groups_of(b))?;
        let mine: HashSet<&str> = mine.iter().map(|g| g.group.group_id.as_str()).collect();
        Ok(theirs.iter().any(|g| mine.contains(g.group.group_id.as_str())))
    }
}
