//! Sessions (a login on a device) and passwords: on `confab.users`, keyed by username, so they
//! follow the account's registration in order.
use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::envelope::envelope;

envelope!(
    /// A login: a session begins, with its first refresh token.
    SessionStarted(SessionStartedPayload)
);

envelope!(
    /// A refresh token exchanged for a new one.
    SessionRefreshed(SessionRefreshedPayload)
);

envelope!(
    /// A session ended.
    SessionEnded(SessionEndedPayload)
);

envelope!(
    /// A new password; every other session of the user ends.
    PasswordChanged(PasswordChangedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct SessionStartedPayload {
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
    #[avro(rename = "sessionId")]
    pub session_id: String,
    #[serde(default)]
    #[avro(rename = "deviceName")]
    pub device_name: Option<String>,
    #[avro(rename = "refreshTokenHash")]
    pub refresh_token_hash: String,
    #[avro(rename = "refreshExpiresAt")]
    pub refresh_expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct SessionRefreshedPayload {
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
    #[avro(rename = "sessionId")]
    pub session_id: String,
    #[avro(rename = "retiredTokenHash")]
    pub retired_token_hash: String,
    #[avro(rename = "refreshTokenHash")]
    pub refresh_token_hash: String,
    #[avro(rename = "refreshExpiresAt")]
    pub refresh_expires_at: i64,
}

/// Why a session ended, as `SessionEnded.reason` spells it.
pub mod end_reason {
    /// The session logged itself out.
    pub const LOGOUT: &str = "logout";
    /// Another session of the user ended it.
    pub const REVOKED: &str = "revoked";
    /// A retired refresh token was presented again: someone holds a copy.
    pub const REFRESH_REUSED: &str = "refresh_reused";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct SessionEndedPayload {
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
    #[avro(rename = "sessionId")]
    pub session_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct PasswordChangedPayload {
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
    #[avro(rename = "passwordHash")]
    pub password_hash: String,
    #[serde(default)]
    #[avro(rename = "keptSessionId")]
    pub kept_session_id: Option<String>,
}
