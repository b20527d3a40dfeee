//! Blocking: one user refusing another. While a block stands, either way, the two users' direct
//! conversation takes no messages, receipts or typing from either side, and the blocked user
//! cannot add the blocker to a group. Groups they share are shared space, as in WhatsApp: each
//! still sees the other's group messages there.
//!
//! A block is an event in the two users' direct conversation, so it takes effect at one point of
//! its order: the check here answers the common case with a 403, and the messages projection
//! drops whatever the log holds after the block however the check raced.
use confab_readmodels::{BlockMark, BlockedUser};
use confab_schemas::{BlockPayload, Event, UserBlocked, UserUnblocked};
use futures::{StreamExt, TryStreamExt, stream};
use uuid::Uuid;

use crate::{
    Caller, ChatError, UseCases, conversation_id, normalize_username, page_limit, rate_limits::UserAction, time::now_ms,
};

/// Lookups of one request in flight at once.
const LOOKUP_CONCURRENCY: usize = 16;

/// A page of the users the caller blocks, and where the next page starts.
#[derive(Debug, Clone)]
pub struct BlockedPage {
    pub blocked: Vec<BlockedUser>,
    pub next_cursor: Option<String>,
}

/// The refusal of anything toward or from a user across a block.
fn refused(caller_blocks: bool) -> ChatError {
    if caller_blocks {
        ChatError::forbidden("blocked", "you blocked this user; unblock them first")
    } else {
        ChatError::forbidden("blocked", "this user does not accept this from you")
    }
}

impl UseCases {
    /// The marks of the two users' direct conversation.
    async fn block_marks(&self, a: &str, b: &str) -> Result<Vec<BlockMark>, ChatError> {
        Ok(self.read().blocks.block_marks(&conversation_id(a, b).to_string()).await?)
    }

    /// Refuses what `caller_id` would do in their direct conversation with `peer_id` while a
    /// block stands there, either way: the one rule for direct messages, receipts and typing.
    pub(crate) async fn refuse_if_blocked(&self, caller_id: &str, peer_id: &str) -> Result<(), ChatError> {
        self.refuse_if_blocked_at(caller_id, peer_id, u64::MAX).await
    }

    /// As [`UseCases::refuse_if_blocked`], for what sits at `seq` of the conversation: refused
    /// if a block stood just before it, as the messages projection decides.
    pub(crate) async fn refuse_if_blocked_at(&self, caller_id: &str, peer_id: &str, seq: u64) -> Result<(), ChatError> {
        if caller_id == peer_id {
            return Ok(());
        }
        match BlockMark::standing(&self.block_marks(caller_id, peer_id).await?, seq) {
            Some(block) => Err(refused(block.blocker_id == caller_id)),
            None => Ok(()),
        }
    }

    /// Refuses adding any of `added` (user ids) to a group when one of them blocks `adder_id`.
    pub(crate) async fn refuse_adds_across_blocks(&self, adder_id: &str, added: &[&str]) -> Result<(), ChatError> {
        let others: Vec<String> =
            added.iter().filter(|user| **user != adder_id).map(|user| (*user).to_owned()).collect();
        let blocked: Vec<bool> = stream::iter(others)
            .map(|user: String| async move {
                let marks = self.block_marks(adder_id, &user).await?;
                Ok::<_, ChatError>(BlockMark::blocks(&marks, &user))
            })
            .buffer_unordered(LOOKUP_CONCURRENCY)
            .try_collect()
            .await?;
        if blocked.contains(&true) {
            return Err(refused(false));
        }
        Ok(())
    }

    /// The caller blocks the user `username` names; blocking them again changes nothing.
    pub async fn block(&self, caller: &Caller, username: &str) -> Result<(), ChatError> {
        self.change_block(caller, username, true).await
    }

    /// The caller lifts their block of `username`; lifting none changes nothing.
    pub async fn unblock(&self, caller: &Caller, username: &str) -> Result<(), ChatError> {
        self.change_block(caller, username, false).await
    }

    async fn change_block(&self, caller: &Caller, username: &str, block: bool) -> Result<(), ChatError> {
        self.rate_limits.user(UserAction::GroupChange, &caller.sub)?;
        let user = self.user_named(username).await?;
        if user.user_id == caller.sub {
            return Err(ChatError::conflict("cannot_block_self", "you cannot block yourself"));
        }
        if BlockMark::blocks(&self.block_marks(&caller.sub, &user.user_id).await?, &caller.sub) == block {
            return Ok(());
        }
        let occurred_at = now_ms();
        let payload = BlockPayload {
            conversation_id: conversation_id(&caller.sub, &user.user_id).to_string(),
            blocker_id: caller.sub.clone(),
            blocker_username: caller.name.clone(),
            blocked_id: user.user_id,
            blocked_username: user.username,
        };
        let (event_id, actor_id) = (Uuid::now_v7().to_string(), caller.sub.clone());
        let event = if block {
            Event::UserBlocked(UserBlocked { event_id, occurred_at, actor_id, payload })
        } else {
            Event::UserUnblocked(UserUnblocked { event_id, occurred_at, actor_id, payload })
        };
        let position = self.publisher.publish(&event, occurred_at).await?;
        self.read_your_write(&position).await;
        Ok(())
    }

    /// The users the caller blocks, by username, a page at a time from `after` (a username).
    pub async fn blocked_users(
        &self,
        caller: &Caller,
        after: Option<&str>,
        limit: Option<&str>,
    ) -> Result<BlockedPage, ChatError> {
        let limit = page_limit(limit)?;
        let after = after
            .map(normalize_username)
            .transpose()
            .map_err(|_| ChatError::invalid("invalid_cursor", "after must be a nextCursor from an earlier page"))?;
        let mut blocked = self.read().blocks.blocked_users(&caller.sub, after.as_deref(), limit + 1).await?;
        let next_cursor = (blocked.len() > limit).then(|| {
            blocked.truncate(limit);
            blocked.last().map(|b| b.blocked_username.clone())
        });
        Ok(BlockedPage { blocked, next_cursor: next_cursor.flatten() })
    }
}
