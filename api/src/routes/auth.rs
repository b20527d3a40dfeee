//! `POST /auth/register` and `POST /auth/login`.
use axum::{Json, extract::State, http::StatusCode};
use confab_eventlog::{Claim, ClaimedAppend};
use confab_schemas::{Event, UserRegistered, UserRegisteredPayload};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{ApiError, AppState, auth::password, error::ErrorBody, extract::JsonBody, time::now_ms};

/// Claim scope that keeps usernames unique.
const USERNAME_CLAIM: &str = "username";

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct Credentials {
    /// 3-32 characters of `a-z 0-9 _ . -`; letters are lowercased.
    #[schema(example = "alice")]
    username: String,
    /// 8-1024 characters.
    #[schema(example = "correct horse battery")]
    password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RegisteredUser {
    user_id: Uuid,
    username: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginResponse {
    token: String,
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the token expires.
    expires_in: i64,
}

/// Lowercases and checks a username against the rules.
pub(crate) fn normalize_username(raw: &str) -> Result<String, ApiError> {
    let username = raw.to_lowercase();
    let valid_chars = username.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
    if !(3..=32).contains(&username.len()) || !valid_chars {
        return Err(ApiError::bad_request(
            "invalid_username",
            "username must be 3-32 characters of a-z, 0-9, '_', '.', '-'",
        ));
    }
    Ok(username)
}

fn check_password(password: &str) -> Result<(), ApiError> {
    if !(8..=1024).contains(&password.chars().count()) {
        return Err(ApiError::bad_request("invalid_password", "password must be 8-1024 characters"));
    }
    Ok(())
}

fn username_taken() -> ApiError {
    ApiError::conflict("username_taken", "username is already taken")
}

#[utoipa::path(
    post, path = "/auth/register", tag = "auth",
    request_body = Credentials,
    responses(
        (status = 201, description = "account created", body = RegisteredUser),
        (status = 400, description = "invalid username or password", body = ErrorBody),
        (status = 409, description = "username taken", body = ErrorBody),
        (status = 503, description = "event log unavailable", body = ErrorBody),
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<RegisteredUser>), ApiError> {
    let username = normalize_username(&body.username)?;
    check_password(&body.password)?;
    // Cheap early answer; the claim below is what actually decides.
    if state.users.user_by_name(&username).await?.is_some() {
        return Err(username_taken());
    }
    let password_hash = password::hash(body.password).await?;
    let user_id = Uuid::now_v7();
    let occurred_at = now_ms();
    let event = Event::UserRegistered(UserRegistered {
        event_id: Uuid::now_v7().to_string(),
        occurred_at,
        actor_id: user_id.to_string(),
        payload: UserRegisteredPayload { user_id: user_id.to_string(), username: username.clone(), password_hash },
    });
    let claim = Claim { scope: USERNAME_CLAIM.into(), key: username.clone(), value: user_id.to_string().into_bytes() };
    match state.publisher.publish_claimed(claim, &event, occurred_at).await? {
        ClaimedAppend::Appended(position) => {
            state.read_your_write(&state.projections.users, &position).await;
            Ok((StatusCode::CREATED, Json(RegisteredUser { user_id, username })))
        }
        ClaimedAppend::Taken { .. } => Err(username_taken()),
    }
}

#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body = Credentials,
    responses(
        (status = 200, description = "a bearer token", body = LoginResponse),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "wrong username or password", body = ErrorBody),
    )
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<Json<LoginResponse>, ApiError> {
    let user = state.users.user_by_name(&body.username.to_lowercase()).await?;
    let verified = password::verify(body.password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let Some(user) = user.filter(|_| verified) else {
        return Err(ApiError::unauthorized("invalid username or password"));
    };
    let token = state.tokens.issue(&user.user_id, &user.username).map_err(ApiError::internal)?;
    Ok(Json(LoginResponse { token, token_type: "Bearer", expires_in: state.tokens.ttl_secs }))
}
