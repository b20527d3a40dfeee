//! Paging of histories: the `before` parameter, and pages oldest first.
use uuid::Uuid;

use crate::ApiError;

pub(crate) fn parse_cursor(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    raw.map(|c| {
        Uuid::parse_str(c)
            .map(|id| id.to_string())
            .map_err(|_| ApiError::bad_request("invalid_cursor", "before must be a nextCursor from an earlier page"))
    })
    .transpose()
}

/// Turns up to `limit + 1` rows, newest first, into a page oldest first and the cursor of the page
/// before it (the oldest row's id), if there is one.
pub(crate) fn oldest_first_page<T>(
    mut rows: Vec<T>,
    limit: usize,
    id: impl Fn(&T) -> &String,
) -> (Vec<T>, Option<String>) {
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|oldest| id(oldest).clone())
    } else {
        None
    };
    rows.reverse();
    (rows, next_cursor)
}
