//! `POST /groups/{groupId}/send` and `GET /groups/{groupId}/messages`.
use std::collections::HashMap;

use axum::{Json, extract::State};
use confab_producers::{GroupSent, MessageCommand};
use confab_readmodels::{GroupMessageRow, ReadModels, ReceiptRow, ReceiptStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    ApiError, AppState,
    error::ErrorBody,
    extract::{AuthUser, JsonBody, PathParams, QueryParams},
    paging::{oldest_first_page, parse_cursor},
    views::messages::GroupMessageView,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupSendRequest {
    /// Up to 64 KiB of text; may be left out when `attachments` are given.
    #[schema(example = "who is in for saturday?")]
    message: Option<String>,
    /// Your idempotency key: resending with the same one returns the first message.
    client_message_id: Option<String>,
    /// Up to 10 attachment ids of this group, uploaded (see `POST /attachments`).
    #[serde(default)]
    attachments: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupSendResponse {
    message_id: Uuid,
    group_id: String,
    /// RFC 3339 UTC with milliseconds.
    timestamp: String,
}

#[utoipa::path(
    post, path = "/groups/{groupId}/send", tag = "groups",
    params(("groupId" = String, Path, description = "the group's id")),
    request_body = GroupSendRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "stored; readable by the sender from now on", body = GroupSendResponse),
        (status = 400, description = "empty or too long message; an attachment of another conversation, not uploaded, or rejected", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member", body = ErrorBody),
        (status = 404, description = "no such group", body = ErrorBody),
        (status = 409, description = "clientMessageId already used for another conversation", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn send(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(group_id): PathParams<String>,
    JsonBody(body): JsonBody<GroupSendRequest>,
) -> Result<Json<GroupSendResponse>, ApiError> {
    let message = MessageCommand {
        message: body.message,
        client_message_id: body.client_message_id,
        attachments: body.attachments,
    };
    let sent = state.use_cases.send_group(&caller, &group_id, message).await?;
    Ok(Json(GroupSendResponse::from(sent)))
}

impl From<GroupSent> for GroupSendResponse {
    fn from(sent: GroupSent) -> Self {
        Self { message_id: sent.message_id, group_id: sent.group_id, timestamp: sent.timestamp }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct GroupMessagesQuery {
    /// 1-200, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// `nextCursor` of the previous page.
    #[param(value_type = Option<uuid::Uuid>)]
    before: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GroupHistoryPage {
    /// Oldest first, in the group's one order (the log's).
    messages: Vec<GroupMessageView>,
    /// Fetches the page before this one; null at the start of what the caller may see.
    next_cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/groups/{groupId}/messages", tag = "groups",
    params(("groupId" = String, Path, description = "the group's id"), GroupMessagesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "a page of the group's messages sent since the caller was added, oldest first", body = GroupHistoryPage),
        (status = 400, description = "invalid limit or cursor", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
        (status = 403, description = "not a member", body = ErrorBody),
        (status = 404, description = "no such group", body = ErrorBody),
    )
)]
pub(crate) async fn messages(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(group_id): PathParams<String>,
    QueryParams(query): QueryParams<GroupMessagesQuery>,
) -> Result<Json<GroupHistoryPage>, ApiError> {
    let limit = confab_producers::page_limit(query.limit.as_deref())?;
    let before = parse_cursor(query.before.as_deref())?;
    let (group, me) = state.use_cases.membership(&group_id, &caller.sub).await?;
    let group_id = group.group_id;
    let read = state.read_models.now();
    let invalid_cursor = || ApiError::bad_request("invalid_cursor", "before must be a nextCursor from an earlier page");
    let before = match before {
        Some(id) => Some(read.messages.group_message(&group_id, &id).await?.ok_or_else(invalid_cursor)?.seq),
        None => None,
    };
    let after = match &me.history_after {
        None => None,
        Some(id) => match read.messages.group_message(&group_id, id).await? {
            Some(floor) => Some(floor.seq),
            // Only while a rebuild has not reached it: show nothing rather than too much.
            None => return Ok(Json(GroupHistoryPage { messages: Vec::new(), next_cursor: None })),
        },
    };
    let rows = read.messages.group_history(&group_id, after, before, limit + 1).await?;
    let (rows, next_cursor) = oldest_first_page(rows, limit, |row| &row.message_id);
    let counts = ReceiptCounts::load(&read, &group_id, &caller.sub, &rows).await?;
    let messages = rows
        .into_iter()
        .map(|row| {
            let (delivered_count, read_count) = counts.of(&row).unzip();
            Ok(GroupMessageView { delivered_count, read_count, ..GroupMessageView::new(&state.keyring, row)? })
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(GroupHistoryPage { messages, next_cursor }))
}

/// Receipt counts for the caller's own messages on a page.
struct ReceiptCounts {
    caller: String,
    /// Other members: (when they joined, how far they received and read).
    readers: Vec<(i64, Option<ReceiptRow>)>,
}

impl ReceiptCounts {
    async fn load(read: &ReadModels, group_id: &str, caller: &str, rows: &[GroupMessageRow]) -> Result<Self, ApiError> {
        let mut counts = Self { caller: caller.to_owned(), readers: Vec::new() };
        if !rows.iter().any(|row| row.sender_id == caller) {
            return Ok(counts);
        }
        let mut receipts: HashMap<String, ReceiptRow> =
            read.receipts.receipts(group_id).await?.into_iter().map(|r| (r.user_id.clone(), r)).collect();
        counts.readers = read
            .groups
            .members(group_id)
            .await?
            .into_iter()
            .filter(|m| m.user_id != caller)
            .map(|m| (m.joined_at_ms, receipts.remove(&m.user_id)))
            .collect();
        Ok(counts)
    }

    /// (delivered, read) among the members who were there when it was sent; None for others'
    /// messages.
    fn of(&self, row: &GroupMessageRow) -> Option<(usize, usize)> {
        if row.sender_id != self.caller {
            return None;
        }
        let states: Vec<Option<ReceiptStatus>> = self
            .readers
            .iter()
            .filter(|(joined, _)| *joined <= row.sent_at_ms)
            .map(|(_, receipt)| receipt.as_ref().and_then(|r| r.status_of(row.seq)))
            .collect();
        let delivered = states.iter().filter(|s| s.is_some()).count();
        let read = states.iter().filter(|s| **s == Some(ReceiptStatus::Read)).count();
        Some((delivered, read))
    }
}
