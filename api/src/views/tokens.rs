//! A session's tokens, as a login and a refresh answer them.
use serde::Serialize;
use utoipa::ToSchema;

/// A session's tokens: what a login and a refresh answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginResponse {
    /// The access token, a JWT: `Authorization: Bearer <token>`.
    token: String,
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires (`--token-ttl-secs`).
    expires_in: i64,
    /// Exchanged once at `POST /auth/refresh` for new tokens; keep it secret. Using it a second
    /// time ends the session.
    refresh_token: String,
    /// Seconds the refresh token works if unused (`--refresh-ttl-secs`).
    refresh_expires_in: i64,
    /// This session (device): the `sid` of its access tokens, and its id in `GET /auth/sessions`.
    session_id: String,
}

impl From<confab_producers::Login> for LoginResponse {
    fn from(login: confab_producers::Login) -> Self {
        Self {
            token: login.token,
            token_type: "Bearer",
            expires_in: login.expires_in_secs,
            refresh_token: login.refresh_token,
            refresh_expires_in: login.refresh_expires_in_secs,
            session_id: login.session_id,
        }
    }
}
