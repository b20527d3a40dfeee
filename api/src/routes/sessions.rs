//! Sessions (a login on a device): `POST /auth/refresh`, `POST /auth/logout`,
//! `GET /auth/sessions`, `DELETE /auth/sessions/{sessionId}` and `POST /auth/password`.
use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    ApiError, AppState,
    client_addr::ClientAddr,
    error::ErrorBody,
    extract::{AuthUser, JsonBody, PathParams},
    views::{sessions::Session, tokens::LoginResponse},
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefreshRequest {
    refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PasswordChange {
    current_password: String,
    /// 8-1024 characters.
    #[schema(min_length = 8, max_length = 1024)]
    new_password: String,
}

/// A session as its user sees it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Sessions {
    sessions: Vec<Session>,
}

#[utoipa::path(
    post, path = "/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "new tokens; the refresh token presented is retired", body = LoginResponse),
        (status = 401, description = "`invalid_refresh_token`, `refresh_token_expired`, or `refresh_token_reused`: it was exchanged before, so the session has been ended", body = ErrorBody),
    )
)]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    Ok(Json(state.use_cases.refresh(&body.refresh_token, from).await?.into()))
}

#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses((status = 204, description = "this session ended: its tokens are refused and its sockets closed (4005)")),
)]
pub(crate) async fn logout(State(state): State<AppState>, AuthUser(caller): AuthUser) -> Result<StatusCode, ApiError> {
    state.use_cases.logout(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/auth/sessions", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, description = "the caller's sessions, the most recently seen first", body = Sessions)),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
) -> Result<Json<Sessions>, ApiError> {
    let sessions = state.use_cases.sessions(&caller).await?;
    let sessions = sessions.into_iter().map(Session::from).collect();
    Ok(Json(Sessions { sessions }))
}

#[utoipa::path(
    delete, path = "/auth/sessions/{sessionId}", tag = "auth",
    params(("sessionId" = String, Path, description = "one of the caller's sessions")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "ended: its tokens are refused and its sockets closed (4005) on every API process"),
        (status = 404, description = "no such session of the caller's", body = ErrorBody),
    )
)]
pub(crate) async fn end(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(session_id): PathParams<String>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.end_session(&caller, &session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/auth/password", tag = "auth",
    request_body = PasswordChange,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "changed; every other session ended"),
        (status = 400, description = "the new password is not 8-1024 characters", body = ErrorBody),
        (status = 403, description = "`wrong_password`", body = ErrorBody),
    )
)]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ClientAddr(from): ClientAddr,
    JsonBody(body): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.change_password(&caller, body.current_password, body.new_password, from).await?;
    Ok(StatusCode::NO_CONTENT)
}
