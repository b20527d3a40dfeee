//! Push notifications: the devices a user reaches by push, and the places they muted, on
//! `confab.users` keyed by username.
use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::envelope::envelope;

envelope!(
    /// A device's push target, registered or replaced.
    PushTargetRegistered(PushTargetRegisteredPayload)
);

envelope!(
    /// A device's push target removed, by the user or because its push service said it is gone.
    PushTargetRemoved(PushTargetRemovedPayload)
);

envelope!(
    /// Push notifications from a place muted, or the mute lifted.
    PlaceMuted(PlaceMutedPayload)
);

/// The values of `kind` in [`PushTargetRegisteredPayload`].
pub mod push_kind {
    pub const WEBPUSH: &str = "webpush";
    pub const WEBHOOK: &str = "webhook";
}

/// The values of `reason` in [`PushTargetRemovedPayload`].
pub mod removal_reason {
    pub const REMOVED: &str = "removed";
    pub const GONE: &str = "gone";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct PushTargetRegisteredPayload {
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
    #[avro(rename = "deviceId")]
    pub device_id: String,
    #[avro(rename = "sessionId")]
    pub session_id: String,
    pub kind: String,
    /// Sealed.
    pub endpoint: String,
    /// Sealed; webpush only.
    #[serde(default)]
    pub p256dh: Option<String>,
    /// Sealed; webpush only.
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(default)]
    pub previews: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct PushTargetRemovedPayload {
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
    #[avro(rename = "deviceId")]
    pub device_id: String,
    #[serde(default)]
    #[avro(rename = "registeredEventId")]
    pub registered_event_id: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct PlaceMutedPayload {
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
    pub kind: String,
    #[avro(rename = "placeId")]
    pub place_id: String,
    pub muted: bool,
    #[serde(default)]
    #[avro(rename = "untilMs")]
    pub until_ms: Option<i64>,
    #[serde(default)]
    pub everything: bool,
}
