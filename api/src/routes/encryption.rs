//! `POST /encrypt` and `POST /decrypt`: AES-256-GCM under a key that belongs to the caller.
use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    ApiError, AppState,
    error::ErrorBody,
    extract::{AuthUser, JsonBody},
};

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct EncryptRequest {
    /// Up to 65,536 bytes of UTF-8 (400 `message_too_long` beyond).
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
    /// What `POST /encrypt` answered you; another user's, or one changed by a single bit, is
    /// refused.
    #[schema(pattern = "^v1\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$")]
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
    let encrypted_message = state.use_cases.encrypt_for(&caller, &body.message)?;
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
    let message = state.use_cases.decrypt_for(&caller, &body.encrypted_message)?;
    Ok(Json(DecryptResponse { message }))
}
