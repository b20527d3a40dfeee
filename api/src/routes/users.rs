//! People: `GET /users/{username}` (a profile), `GET /users?prefix=` (finding someone to chat
//! with), `PATCH /me` (one's own profile) and `DELETE /me` (one's account).
use axum::{Json, extract::State, http::StatusCode};
use confab_producers::{FieldChange, ProfileChange};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use crate::{
    ApiError, AppState,
    client_addr::ClientAddr,
    error::ErrorBody,
    extract::{AuthUser, JsonBody, PathParams, QueryParams},
    views::profiles::Profile,
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// The start of a username: 2-32 characters of `a-z 0-9 _ . -` (letters are lowercased).
    #[param(min_length = 2, max_length = 32, pattern = "^[A-Za-z0-9_.-]+$")]
    prefix: String,
    /// Users per page, 1-50 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 50)]
    limit: Option<String>,
    /// The `nextCursor` of the page before: a username.
    #[param(min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_.-]+$")]
    after: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FoundUsers {
    users: Vec<Profile>,
    /// Where the next page starts, if there is one.
    next_cursor: Option<String>,
}

/// A field of a PATCH: absent leaves it, `null` clears it, a value sets it.
fn field<'de, D: Deserializer<'de>>(deserializer: D) -> Result<FieldChange, D::Error> {
    Ok(match Option::<String>::deserialize(deserializer)? {
        Some(value) => FieldChange::Set(value),
        None => FieldChange::Clear,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ProfilePatch {
    /// At most 64 characters; `null` or blank clears it (the username is shown).
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = Option<String>, max_length = 64, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    display_name: FieldChange,
    /// At most 500 characters, line breaks allowed; `null` or blank clears it.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$")]
    about: FieldChange,
    /// The id of a picture you uploaded for your profile (`POST /attachments` with
    /// `avatar: true`), verified here if you did not report it; `null` clears it.
    #[serde(default, deserialize_with = "field")]
    #[schema(value_type = Option<String>, format = Uuid)]
    avatar: FieldChange,
    /// Whether those you share a conversation or group with see whether you are online and
    /// when you were last seen; `false` also hides everyone's from you. On by default.
    #[serde(default)]
    show_presence: Option<bool>,
}

#[utoipa::path(
    get, path = "/users/{username}", tag = "people",
    params(("username" = String, Path, description = "whose profile")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the profile", body = Profile),
        (status = 404, description = "no such user", body = ErrorBody),
    )
)]
pub(crate) async fn profile(
    State(state): State<AppState>,
    AuthUser(_caller): AuthUser,
    PathParams(username): PathParams<String>,
) -> Result<Json<Profile>, ApiError> {
    Ok(Json(state.use_cases.profile(&username).await?.into()))
}

#[utoipa::path(
    get, path = "/users", tag = "people",
    params(SearchQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "users whose username starts with the prefix, in name order", body = FoundUsers),
        (status = 400, description = "`invalid_prefix`, `invalid_limit` or `invalid_cursor`", body = ErrorBody),
        (status = 403, description = "`search_disabled`: this server does not let users be searched", body = ErrorBody),
    )
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    QueryParams(query): QueryParams<SearchQuery>,
) -> Result<Json<FoundUsers>, ApiError> {
    let found =
        state.use_cases.find_users(&caller, &query.prefix, query.after.as_deref(), query.limit.as_deref()).await?;
    let users = found.users.into_iter().map(Profile::from).collect();
    Ok(Json(FoundUsers { users, next_cursor: found.next_cursor }))
}

#[utoipa::path(
    patch, path = "/me", tag = "people",
    request_body = ProfilePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the caller's profile as it now is", body = Profile),
        (status = 400, description = "`invalid_display_name` or `invalid_about`: too long, or control characters; `invalid_avatar`: not an attachment id", body = ErrorBody),
        (status = 403, description = "`not_a_profile_picture`: the attachment is not a picture you uploaded for your profile", body = ErrorBody),
        (status = 404, description = "`attachment_not_found`: no attachment with that id", body = ErrorBody),
        (status = 409, description = "`attachment_not_uploaded` or `attachment_rejected`: the picture's bytes are not there, or not what was declared", body = ErrorBody),
    )
)]
pub(crate) async fn update_me(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<Profile>, ApiError> {
    // Read as an object first: serde takes a struct of optional fields from an array as well.
    let patch: ProfilePatch = serde_json::from_value(Value::Object(body))
        .map_err(|e| ApiError::bad_request("invalid_body", format!("invalid profile: {e}")))?;
    let change = ProfileChange {
        display_name: patch.display_name,
        about: patch.about,
        avatar: patch.avatar,
        show_presence: patch.show_presence,
    };
    let user = state.use_cases.update_profile(&caller, change).await?;
    let show_presence = user.show_presence;
    Ok(Json(Profile::from(user).with_presence_setting(show_presence)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountDeletion {
    /// The account's password, asked again.
    #[schema(min_length = 1, max_length = 1024)]
    password: String,
}

#[utoipa::path(
    delete, path = "/me", tag = "people",
    request_body = AccountDeletion,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "deleted: every session ends (sockets close with 4005) on every API process, login is refused, the profile is cleared and no one can reach the account; its username stays taken"),
        (status = 403, description = "`wrong_password`", body = ErrorBody),
    )
)]
pub(crate) async fn delete_me(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ClientAddr(from): ClientAddr,
    JsonBody(body): JsonBody<AccountDeletion>,
) -> Result<StatusCode, ApiError> {
    state.use_cases.delete_account(&caller, body.password, from).await?;
    Ok(StatusCode::NO_CONTENT)
}
