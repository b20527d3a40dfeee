//! Groups, members and group messages in the embedded store. A group change is one redb
//! transaction, so it is applied whole or not at all.
use async_trait::async_trait;
use redb::{Database, ReadableTable, WriteTransaction};

use super::{
    CHANGE_OUTCOMES, EmbeddedStore, GROUP_MESSAGE_IDS, GROUP_MESSAGES, GROUPS, MEMBERS, MENTIONS, USER_GROUPS,
    from_json, to_json,
};
use crate::{
    ChangeOutcome, GroupChange, GroupMessageRow, GroupRow, GroupStore, GroupSummary, MemberRow, MessageChange,
    StoreError, error::storage_error,
};

pub(super) fn put_group_messages(txn: &WriteTransaction, messages: &[GroupMessageRow]) -> Result<(), StoreError> {
    let mut stored = txn.open_table(GROUP_MESSAGES).map_err(storage_error)?;
    let mut ids = txn.open_table(GROUP_MESSAGE_IDS).map_err(storage_error)?;
    let mut mentions = txn.open_table(MENTIONS).map_err(storage_error)?;
    for message in messages {
        let key = (message.group_id.as_str(), message.seq);
        if stored.get(key).map_err(storage_error)?.is_some() {
            continue;
        }
        let _ = stored.insert(key, to_json(message)?.as_slice()).map_err(storage_error)?;
        let _ =
            ids.insert((message.group_id.as_str(), message.message_id.as_str()), message.seq).map_err(storage_error)?;
        for user in &message.mentions {
            let mention = (message.group_id.as_str(), user.as_str(), message.seq);
            let _ = mentions.insert(mention, message.message_id.as_str()).map_err(storage_error)?;
        }
    }
    Ok(())
}

/// One change to a group message (the group's last message is read from the same rows).
pub(super) fn change_group_message(
    txn: &WriteTransaction,
    group_id: &str,
    change: &MessageChange,
) -> Result<(), StoreError> {
    let ids = txn.open_table(GROUP_MESSAGE_IDS).map_err(storage_error)?;
    let Some(seq) = ids.get((group_id, change.message_id.as_str())).map_err(storage_error)?.map(|v| v.value()) else {
        return Ok(());
    };
    let mut stored = txn.open_table(GROUP_MESSAGES).map_err(storage_error)?;
    let row = stored.get((group_id, seq)).map_err(storage_error)?.map(|v| from_json("group_messages", v.value()));
    let Some(mut row): Option<GroupMessageRow> = row.transpose()? else { return Ok(()) };
    if row.apply(change) {
        let _ = stored.insert((group_id, seq), to_json(&row)?.as_slice()).map_err(storage_error)?;
        if change.kind.moves_pins() {
            super::index_pin(txn, group_id, seq, &row.message_id, row.lifecycle.pinned.is_some())?;
        }
    }
    Ok(())
}

pub(super) fn group_history(
    db: &Database,
    group_id: &str,
    after: Option<u64>,
    before: Option<u64>,
    limit: usize,
) -> Result<Vec<GroupMessageRow>, StoreError> {
    let low = after.map_or(0, |a| a.saturating_add(1));
    let high = before.unwrap_or(u64::MAX);
    if low >= high {
        return Ok(Vec::new());
    }
    let txn = db.begin_read().map_err(storage_error)?;
    let messages = txn.open_table(GROUP_MESSAGES).map_err(storage_error)?;
    let range = messages.range((group_id, low)..(group_id, high)).map_err(storage_error)?;
    range
        .rev()
        .take(limit.min(crate::MAX_PAGE_ROWS))
        .map(|entry| {
            let (_, v) = entry.map_err(storage_error)?;
            from_json("group_messages", v.value())
        })
        .collect()
}

pub(super) fn group_message(
    db: &Database,
    group_id: &str,
    message_id: &str,
) -> Result<Option<GroupMessageRow>, StoreError> {
    let txn = db.begin_read().map_err(storage_error)?;
    let ids = txn.open_table(GROUP_MESSAGE_IDS).map_err(storage_error)?;
    let Some(seq) = ids.get((group_id, message_id)).map_err(storage_error)? else {
        return Ok(None);
    };
    let messages = txn.open_table(GROUP_MESSAGES).map_err(storage_error)?;
    let row = messages.get((group_id, seq.value())).map_err(storage_error)?;
    row.map(|v| from_json("group_messages", v.value())).transpose()
}

fn members(db: &Database, group_id: &str) -> Result<Vec<MemberRow>, StoreError> {
    let txn = db.begin_read().map_err(storage_error)?;
    let table = txn.open_table(MEMBERS).map_err(storage_error)?;
    let mut members: Vec<MemberRow> = table
        .range((group_id, "")..(group_id, super::AFTER_ALL_IDS))
        .map_err(storage_error)?
        .map(|entry| {
            let (_, v) = entry.map_err(storage_error)?;
            from_json("group_members", v.value())
        })
        .collect::<Result<_, _>>()?;
    members.sort_by(|a, b| a.seniority.cmp(&b.seniority));
    Ok(members)
}

fn apply_change(txn: &WriteTransaction, change: &GroupChange) -> Result<(), StoreError> {
    let group_id = change.group.group_id.as_str();
    let mut members = txn.open_table(MEMBERS).map_err(storage_error)?;
    let mut user_groups = txn.open_table(USER_GROUPS).map_err(storage_error)?;
    for member in &change.put_members {
        let _ =
            members.insert((group_id, member.user_id.as_str()), to_json(member)?.as_slice()).map_err(storage_error)?;
        let _ = user_groups.insert((member.user_id.as_str(), group_id), ()).map_err(storage_error)?;
    }
    for user_id in &change.remove_members {
        let _ = members.remove((group_id, user_id.as_str())).map_err(storage_error)?;
        let _ = user_groups.remove((user_id.as_str(), group_id)).map_err(storage_error)?;
    }
    let mut groups = txn.open_table(GROUPS).map_err(storage_error)?;
    let _ = groups.insert(group_id, to_json(&change.group)?.as_slice()).map_err(storage_error)?;
    Ok(())
}

fn groups_of(db: &Database, user_id: &str) -> Result<Vec<GroupSummary>, StoreError> {
    let txn = db.begin_read().map_err(storage_error)?;
    let user_groups = txn.open_table(USER_GROUPS).map_err(storage_error)?;
    let groups = txn.open_table(GROUPS).map_err(storage_error)?;
    let members = txn.open_table(MEMBERS).map_err(storage_error)?;
    let messages = txn.open_table(GROUP_MESSAGES).map_err(storage_error)?;
    let mut out = Vec::new();
    for entry in user_groups.range((user_id, "")..(user_id, super::AFTER_ALL_IDS)).map_err(storage_error)? {
        let (key, _) = entry.map_err(storage_error)?;
        let (_, group_id) = key.value();
        let (Some(group), Some(membership)) =
            (groups.get(group_id).map_err(storage_error)?, members.get((group_id, user_id)).map_err(storage_error)?)
        else {
            continue;
        };
        let last_message = match messages.range((group_id, 0)..(group_id, u64::MAX)).map_err(storage_error)?.next_back()
        {
            Some(entry) => Some(from_json("group_messages", entry.map_err(storage_error)?.1.value())?),
            None => None,
        };
        out.push(GroupSummary {
            group: from_json("groups", group.value())?,
            membership: from_json("group_members", membership.value())?,
            last_message,
        });
    }
    Ok(out)
}

#[async_trait]
impl GroupStore for EmbeddedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.check().await
    }

    async fn group(&self, group_id: &str) -> Result<Option<GroupRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let groups = txn.open_table(GROUPS).map_err(storage_error)?;
            let row = groups.get(group_id).map_err(storage_error)?;
            row.map(|v| from_json("groups", v.value())).transpose()
        })
    }

    async fn member(&self, group_id: &str, user_id: &str) -> Result<Option<MemberRow>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let members = txn.open_table(MEMBERS).map_err(storage_error)?;
            let row = members.get((group_id, user_id)).map_err(storage_error)?;
            row.map(|v| from_json("group_members", v.value())).transpose()
        })
    }

    async fn members(&self, group_id: &str) -> Result<Vec<MemberRow>, StoreError> {
        self.read(|db| members(db, group_id))
    }

    async fn apply_group_change(&self, change: &GroupChange) -> Result<(), StoreError> {
        let change = change.clone();
        self.write(move |txn| apply_change(txn, &change)).await
    }

    async fn groups_of(&self, user_id: &str) -> Result<Vec<GroupSummary>, StoreError> {
        self.read(|db| groups_of(db, user_id))
    }

    async fn record_outcome(&self, outcome: &ChangeOutcome) -> Result<(), StoreError> {
        let outcome = outcome.clone();
        self.write(move |txn| {
            let mut outcomes = txn.open_table(CHANGE_OUTCOMES).map_err(storage_error)?;
            let _ =
                outcomes.insert((outcome.group_id.as_str(), outcome.offset), outcome.applied).map_err(storage_error)?;
            Ok(())
        })
        .await
    }

    async fn outcome(&self, group_id: &str, offset: u64) -> Result<Option<bool>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(storage_error)?;
            let outcomes = txn.open_table(CHANGE_OUTCOMES).map_err(storage_error)?;
            Ok(outcomes.get((group_id, offset)).map_err(storage_error)?.map(|v| v.value()))
        })
    }
}
