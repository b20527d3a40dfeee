//! `POST /encrypt` and `POST /decrypt`: AES-256-GCM under a key that belongs to the caller.
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use confab_producers::KeyScope;

use crate::{
    ApiError, AppState,
    error::ErrorBody,
    extract::{AuthUser, JsonBody},
};

const MAX_PLAINTEXT_BYTES: usize = 64 * 1024;

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct EncryptRequest {
    #[schema(example = "meet at noon")]
    message: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EncryptResponse {
    /// `v1.<keyId>.<base64url(nonce || ciphertext || tag)>`.
    encrypted_message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DecryptRequest {
    encrypted_message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DecryptResponse {
    message: String,
}

#[utoipa::path(
    post, path = "/encrypt", tag = "encryption",
    request_body = EncryptRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "sealed under the caller's key", body = EncryptResponse),
        (status = 400, description = "message too long", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
    )
)]
pub(crate) async fn encrypt(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    JsonBody(body): JsonBody<EncryptRequest>,
) -> Result<Json<EncryptResponse>, ApiError> {
    if body.message.len() > MAX_PLAINTEXT_BYTES {
        return Err(ApiError::bad_request("message_too_long", "message must be at most 64 KiB"));
    }
    let encrypted_message = state
        .keyring
        .seal(KeyScope::User(&caller.sub), body.message.as_bytes(), caller.sub.as_bytes())
        .map_err(ApiError::internal)?;
    Ok(Json(EncryptResponse { encrypted_message }))
}

#[utoipa::path(
    post, path = "/decrypt", tag = "encryption",
    request_body = DecryptRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the plaintext", body = DecryptResponse),
        (status = 400, description = "malformed, tampered, or another user's ciphertext", body = ErrorBody),
        (status = 401, description = "missing, invalid or expired token", body = ErrorBody),
    )
)]
pub(crate) async fn decrypt(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    JsonBody(body): JsonBody<DecryptRequest>,
) -> Result<Json<DecryptResponse>, ApiError> {
    let plaintext = state
        .keyring
        .open(KeyScope::User(&caller.sub), &body.encrypted_message, caller.sub.as_bytes())
        .map_err(|e| ApiError::bad_request("invalid_ciphertext", e.to_string()))?;
    let message = String::from_utf8(plaintext)
        .map_err(|_| ApiError::bad_request("invalid_ciphertext", "plaintext is not utf-8"))?;
    Ok(Json(DecryptResponse { message }))
}
