//! What direct and group messages share: content rules, paging, and sending at most once per
//! client idempotency key.
use confab_eventlog::{Claim, ClaimedAppend, Position};
use confab_schemas::Event;
use serde::Serialize;
use uuid::Uuid;

use crate::{ApiError, AppState, routes::attachments::MAX_ATTACHMENTS_PER_MESSAGE};

/// Largest message, in bytes of UTF-8.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
const MAX_CLIENT_MESSAGE_ID: usize = 128;

/// Checks a message's text, which may be left out when it carries attachments; returns the text.
pub(crate) fn validate_message<'a>(
    message: Option<&'a str>,
    attachments: &[String],
    client_message_id: Option<&str>,
) -> Result<&'a str, ApiError> {
    let message = message.unwrap_or_default();
    if message.trim().is_empty() && attachments.is_empty() {
        return Err(ApiError::bad_request("empty_message", "message must not be empty without attachments"));
    }
    if attachments.len() > MAX_ATTACHMENTS_PER_MESSAGE {
        return Err(ApiError::bad_request(
            "too_many_attachments",
            format!("a message carries at most {MAX_ATTACHMENTS_PER_MESSAGE} attachments"),
        ));
    }
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::bad_request("message_too_long", "message must be at most 64 KiB"));
    }
    if client_message_id.is_some_and(|id| id.is_empty() || id.len() > MAX_CLIENT_MESSAGE_ID) {
        return Err(ApiError::bad_request("invalid_client_message_id", "clientMessageId must be 1-128 bytes"));
    }
    Ok(message)
}

pub(crate) fn parse_limit(raw: Option<&str>) -> Result<usize, ApiError> {
    let Some(raw) = raw else { return Ok(50) };
    match raw.parse::<usize>() {
        Ok(limit) if (1..=200).contains(&limit) => Ok(limit),
        _ => Err(ApiError::bad_request("invalid_limit", "limit must be an integer from 1 to 200")),
    }
}

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

/// How a send ended: appended now, or a retry of a send that already holds the client's key.
pub(crate) enum Published {
    Appended(Position),
    /// The first send's claim value.
    Retried(Vec<u8>),
}

/// Appends `event`; with `claim` = (scope, sender id, client message id), only if that key is
/// free, remembering `first` as what a retry is answered with.
pub(crate) async fn publish_once(
    state: &AppState,
    claim: Option<(&str, &str, &str)>,
    first: &impl Serialize,
    event: &Event,
    occurred_at: i64,
) -> Result<Published, ApiError> {
    let Some((scope, sender, client_id)) = claim else {
        return Ok(Published::Appended(state.publisher.publish(event, occurred_at).await?));
    };
    let claim = Claim {
        scope: scope.into(),
        key: format!("{sender}/{client_id}"),
        value: serde_json::to_vec(first).map_err(ApiError::internal)?,
    };
    Ok(match state.publisher.publish_claimed(claim, event, occurred_at).await? {
        ClaimedAppend::Appended(position) => Published::Appended(position),
        ClaimedAppend::Taken { value } => Published::Retried(value),
    })
}
