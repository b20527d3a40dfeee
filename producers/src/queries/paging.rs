//! How many rows a page holds, and the cursors each list accepts.
use confab_readmodels::ActivityKey;
use uuid::Uuid;

use crate::ChatError;

/// Rows in a page when the caller does not say.
pub const DEFAULT_PAGE: usize = 50;
/// Most rows a caller may ask for in one page.
pub const MAX_PAGE: usize = 200;

/// `limit`: 1 to [`MAX_PAGE`], [`DEFAULT_PAGE`] when absent.
pub fn page_limit(raw: Option<&str>) -> Result<usize, ChatError> {
    let Some(raw) = raw else { return Ok(DEFAULT_PAGE) };
    match raw.parse::<usize>() {
        Ok(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
        _ => Err(ChatError::invalid("invalid_limit", format!("limit must be an integer from 1 to {MAX_PAGE}"))),
    }
}

pub(crate) fn invalid_cursor() -> ChatError {
    ChatError::invalid("invalid_cursor", "before must be a nextCursor from an earlier page of this list")
}

/// A cursor of the right shape that names no place in this list (another list's cursor, or a
/// message this list does not hold): like a path naming nothing, a 404.
pub(crate) fn unknown_cursor() -> ChatError {
    ChatError::not_found("invalid_cursor", "before names no place in this list: pass its own nextCursor")
}

/// A UUID in its hyphenated form (the only form Confab writes), lowercased; None for any
/// other string.
pub(crate) fn hyphenated_uuid(raw: &str) -> Option<String> {
    (raw.len() == 36).then(|| Uuid::parse_str(raw).ok()).flatten().map(|id| id.to_string())
}

/// A message id as a history's cursor. The conversation list's cursor (`<id>.<id>`) is of
/// another list: a 404, not a malformed request.
pub(crate) fn message_cursor(raw: &str) -> Result<String, ChatError> {
    if let Some(id) = hyphenated_uuid(raw) {
        return Ok(id);
    }
    match parse_activity_cursor(raw) {
        Ok(_) => Err(unknown_cursor()),
        Err(e) => Err(e),
    }
}

/// A UUID in its canonical form, or the list's cursor error.
fn canonical_uuid(raw: &str) -> Result<String, ChatError> {
    hyphenated_uuid(raw).ok_or_else(invalid_cursor)
}

/// The conversation list's cursor: `<last message id>.<conversation id>`.
pub(crate) fn activity_cursor(key: &ActivityKey) -> String {
    format!("{}.{}", key.last_message_id, key.conversation_id)
}

/// The conversation list's cursor; a message id (a history's cursor) is of another list.
pub(crate) fn parse_activity_cursor(raw: &str) -> Result<ActivityKey, ChatError> {
    if hyphenated_uuid(raw).is_some() {
        return Err(unknown_cursor());
    }
    let (last, conversation) = raw.split_once('.').ok_or_else(invalid_cursor)?;
    Ok(ActivityKey { last_message_id: canonical_uuid(last)?, conversation_id: canonical_uuid(conversation)? })
}

/// Where a group stands in its member's list, newest activity first: the time of the newest
/// message the member may see (or of joining), then the group's id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct GroupActivity {
    pub(crate) at_ms: i64,
    pub(crate) group_id: String,
}

/// The group list's cursor: `<activity in Unix milliseconds>.<group id>`.
pub(crate) fn group_cursor(key: &GroupActivity) -> String {
    format!("{}.{}", key.at_ms, key.group_id)
}

pub(crate) fn parse_group_cursor(raw: &str) -> Result<GroupActivity, ChatError> {
    let (at, group) = raw.split_once('.').ok_or_else(invalid_cursor)?;
    // Up to 18 digits: any time in milliseconds, and never past i64.
    let digits = (1..=18).contains(&at.len()) && at.bytes().all(|b| b.is_ascii_digit());
    let at_ms = at.parse::<i64>().ok().filter(|_| digits).ok_or_else(invalid_cursor)?;
    Ok(GroupActivity { at_ms, group_id: canonical_uuid(group)? })
}

/// A page from rows read newest first (at most `limit` are kept), oldest first, and the cursor
/// of the page before it: the oldest row kept when more were read than kept, else `scanned_to`
/// (where reading stopped, when there is more to read), else none: the start.
pub(crate) fn oldest_first<T>(
    mut rows: Vec<T>,
    limit: usize,
    scanned_to: Option<String>,
    id: impl Fn(&T) -> &String,
) -> (Vec<T>, Option<String>) {
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|oldest| id(oldest).clone())
    } else {
        scanned_to
    };
    rows.reverse();
    (rows, next_cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(page_limit(None).ok(), Some(DEFAULT_PAGE));
        assert_eq!(page_limit(Some("200")).ok(), Some(200));
        for bad in ["0", "201", "-1", "ten", ""] {
            assert_eq!(page_limit(Some(bad)).err().map(|e| e.code()), Some("invalid_limit"), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_others() {
        let key =
            ActivityKey { last_message_id: Uuid::now_v7().to_string(), conversation_id: Uuid::new_v4().to_string() };
        assert_eq!(parse_activity_cursor(&activity_cursor(&key)).ok(), Some(key.clone()));
        let group = GroupActivity { at_ms: 1_700_000_000_000, group_id: Uuid::now_v7().to_string() };
        assert_eq!(parse_group_cursor(&group_cursor(&group)).ok(), Some(group.clone()));
        for bad in [key.last_message_id.as_str(), "x.y", "", "-5.00000000-0000-0000-0000-000000000000"] {
            assert_eq!(parse_activity_cursor(bad).err().map(|e| e.code()), Some("invalid_cursor"), "{bad}");
            assert_eq!(parse_group_cursor(bad).err().map(|e| e.code()), Some("invalid_cursor"), "{bad}");
        }
    }
}
