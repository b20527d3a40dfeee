//! Typing indicators: who hears that the caller is typing. They are relayed as they happen and
//! never stored, so this use case appends nothing.
use uuid::Uuid;

use crate::{Caller, ChatError, UseCases, rate_limits::UserAction};

/// Groups larger than this get no typing signals: in a crowd they are noise, and each one would
/// cost a frame per member.
pub const TYPING_MAX_GROUP_MEMBERS: usize = 256;

/// Whether `to` names a group: a group id in its hyphenated form (36 characters), which no
/// username (at most 32) can be, even one of 32 hex digits.
pub(crate) fn names_group(to: &str) -> bool {
    to.len() == 36 && Uuid::parse_str(to).is_ok()
}

/// Who to tell, and in which group (None for a direct conversation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typing {
    pub audience: Vec<String>,
    pub group_id: Option<String>,
}

impl UseCases {
    /// The others in `to` (a group id, or a username) who hear that the caller is typing: no
    /// one for a repeat within a second of the last signal to `to`.
    pub async fn typing(&self, caller: &Caller, to: &str) -> Result<Typing, ChatError> {
        if !self.rate_limits.typing_news(&caller.sub, to) {
            return Ok(Typing { audience: Vec::new(), group_id: None });
        }
        self.rate_limits.user(UserAction::Typing, &caller.sub)?;
        if names_group(to) {
            let (group, _) = self.membership(to, &caller.sub).await?;
            let members = self.read().groups.members(&group.group_id).await?;
            if members.len() > TYPING_MAX_GROUP_MEMBERS {
                return Ok(Typing { audience: Vec::new(), group_id: Some(group.group_id) });
            }
            let audience = members.into_iter().map(|m| m.user_id).filter(|id| *id != caller.sub).collect();
            Ok(Typing { audience, group_id: Some(group.group_id) })
        } else {
            let peer = self.user_named(to).await?;
            self.refuse_if_blocked(&caller.sub, &peer.user_id).await?;
            let audience = Some(peer.user_id).into_iter().filter(|id| *id != caller.sub).collect();
            Ok(Typing { audience, group_id: None })
        }
    }
}
