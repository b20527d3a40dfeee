//! Typing indicators: who hears that the caller is typing. They are relayed as they happen and
//! never stored, so this use case appends nothing.
use uuid::Uuid;

use crate::{Caller, ChatError, UseCases};

/// Who to tell, and in which group (None for a direct conversation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typing {
    pub audience: Vec<String>,
    pub group_id: Option<String>,
}

impl UseCases {
    /// The others in `to` (a group id, or a username) who hear that the caller is typing.
    pub async fn typing(&self, caller: &Caller, to: &str) -> Result<Typing, ChatError> {
        if Uuid::parse_str(to).is_ok() {
            let (group, _) = self.membership(to, &caller.sub).await?;
            let members = self.read().groups.members(&group.group_id).await?;
            let audience = members.into_iter().map(|m| m.user_id).filter(|id| *id != caller.sub).collect();
            Ok(Typing { audience, group_id: Some(group.group_id) })
        } else {
            let peer = self.user_named(to).await?;
            let audience = Some(peer.user_id).into_iter().filter(|id| *id != caller.sub).collect();
            Ok(Typing { audience, group_id: None })
        }
    }
}
