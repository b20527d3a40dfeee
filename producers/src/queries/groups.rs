//! A group as its members see it.
use confab_readmodels::{GroupRow, MemberRow};

use crate::{Caller, ChatError, UseCases};

/// A group and its members, longest-standing first.
#[derive(Debug)]
pub struct GroupDetails {
    pub group: GroupRow,
    pub members: Vec<MemberRow>,
}

impl UseCases {
    /// The group `raw_group_id` as it stands, if the caller is a member.
    pub async fn group_details(&self, caller: &Caller, raw_group_id: &str) -> Result<GroupDetails, ChatError> {
        let (group, _) = self.membership(raw_group_id, &caller.sub).await?;
        let members = self.read().groups.members(&group.group_id).await?;
        Ok(GroupDetails { group, members })
    }
}
