//! `POST /auth/register` and `POST /auth/login` (which starts a session: see `sessions.rs`).
use axum::{Json, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    ApiError, AppState, client_addr::ClientAddr, error::ErrorBody, extract::JsonBody, views::tokens::LoginResponse,
};

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Credentials {
    /// 3-32 characters of `a-z 0-9 _ . -`; letters are lowercased.
    #[schema(example = "alice", min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_.-]+$")]
    username: String,
    /// 8-1024 characters.
    #[schema(example = "correct horse battery", min_length = 8, max_length = 1024)]
    password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RegisteredUser {
    user_id: Uuid,
    username: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginRequest {
    #[schema(example = "alice", min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_.-]+$")]
    username: String,
    #[schema(example = "correct horse battery", min_length = 8, max_length = 1024)]
    password: String,
    /// What to call this device in the list of sessions; at most 64 characters are kept.
    #[schema(example = "Alice's phone")]
    device_name: Option<String>,
}

#[utoipa::path(
    post, path = "/auth/register", tag = "auth",
    request_body = Credentials,
    responses(
        (status = 201, description = "account created", body = RegisteredUser),
        (status = 400, description = "invalid username or password", body = ErrorBody),
        (status = 409, description = "username taken", body = ErrorBody),
        (status = 429, description = "too many registrations from this address; see Retry-After", body = ErrorBody),
        (status = 503, description = "event log unavailable, or too many passwords being hashed; see Retry-After", body = ErrorBody),
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<RegisteredUser>), ApiError> {
    let (user_id, username) = state.use_cases.register(&body.username, body.password, from).await?;
    Ok((StatusCode::CREATED, Json(RegisteredUser { user_id, username })))
}

#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "a new session: its access and refresh tokens", body = LoginResponse),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "wrong username or password", body = ErrorBody),
        (status = 429, description = "too many attempts from this address or failures for this account; see Retry-After", body = ErrorBody),
        (status = 503, description = "too many passwords being checked at once; see Retry-After", body = ErrorBody),
    )
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let login = state.use_cases.login(&body.username, body.password, body.device_name.as_deref(), from).await?;
    Ok(Json(login.into()))
}
