//! `GET /users/{username}/presence`: whether someone one shares a conversation or group with is
//! online, or when they were last seen. The rule is the use cases'; the board is this process's
//! (every API process has the same, from the signals).
use axum::{Json, extract::State};

use crate::{
    ApiError, AppState,
    error::ErrorBody,
    extract::{AuthUser, PathParams},
    live::presence::{self, PresenceView},
};

#[utoipa::path(
    get, path = "/users/{username}/presence", tag = "people",
    params(("username" = String, Path, description = "whose presence")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "their presence: `hidden` if they or you do not show it (`PATCH /me` `showPresence`), or a block stands between you", body = PresenceView),
        (status = 403, description = "`presence_not_shared`: you share no conversation or group with them", body = ErrorBody),
        (status = 404, description = "no such user", body = ErrorBody),
        (status = 429, description = "too many lookups", body = ErrorBody),
    )
)]
pub(crate) async fn presence(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    PathParams(username): PathParams<String>,
) -> Result<Json<PresenceView>, ApiError> {
    let watched = state.use_cases.presence_of(&caller, &username).await?;
    Ok(Json(presence::view(&state, watched).await?))
}
