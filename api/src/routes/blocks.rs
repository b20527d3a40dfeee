//! Blocking: `PUT /me/blocked/{username}`, `DELETE` the same, and `GET /me/blocked`.
use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    ApiError, AppState,
    error::ErrorBody,
    extract::{AuthUser, PathParams, QueryParams},
    views::blocks::BlockedUser,
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct BlockedQuery {
    /// Users per page, 1-200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The `nextCursor` of the page before: a username.
    #[param(min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_.-]+$")]
    after: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BlockedList {
    /// By username.
    blocked: Vec<BlockedUser>,
    /// Where the next page starts, if there is one.
    next_cursor: Option<String>,
}

#[utoipa::path(
    put, path = "/me/blocked/{username}", tag = "people",
    params(("username" = String, Path, description = "whom to block")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "blocked (or already): from now on, in the order of your direct conversation with them, neither of you can send the other direct messages, receipts or typing, and they cannot add you to groups. They are not told."),
        (status = 409, description = "`cannot_block_self`", body = ErrorBody),
        (status = 404, description = "no such user", body = ErrorBody),
    )
)]
pub(crate) async fn block(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(username): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.block(&caller, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete, path = "/me/blocked/{username}", tag = "people",
    params(("username" = String, Path, description = "whom to unblock")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "unblocked (or was not blocked)"),
        (status = 409, description = "`cannot_block_self`", body = ErrorBody),
        (status = 404, description = "no such user", body = ErrorBody),
    )
)]
pub(crate) async fn unblock(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(username): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.unblock(&caller, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/me/blocked", tag = "people",
    params(BlockedQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the users the caller blocks, by username", body = BlockedList),
        (status = 400, description = "`invalid_limit` or `invalid_cursor`", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    QueryParams(query): QueryParams<BlockedQuery>,
) -> Result<Json<BlockedList>, ApiError> {
    let page = state.use_cases.blocked_users(&caller, query.after.as_deref(), query.limit.as_deref()).await?;
    let blocked = page.blocked.into_iter().map(BlockedUser::from).collect();
    Ok(Json(BlockedList { blocked, next_cursor: page.next_cursor }))
}
