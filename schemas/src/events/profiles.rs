//! Profiles: what a user says about themself, on `confab.users` keyed by username.
use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::envelope::envelope;

envelope!(
    /// A user's whole profile, as it now is.
    ProfileUpdated(ProfileUpdatedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct ProfileUpdatedPayload {
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
    #[serde(default)]
    #[avro(rename = "displayName")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub about: Option<String>,
    /// Whether `display_name` and `about` are sealed under the user's data key; false on
    /// version 1, written in the clear.
    #[serde(default)]
    pub sealed: bool,
    /// The attachment shown as the user's picture; None on versions 1 and 2.
    #[serde(default)]
    #[avro(rename = "avatarId")]
    pub avatar_id: Option<String>,
    /// Whether the user shows their presence; true on versions 1 to 3.
    #[serde(default = "shown")]
    #[avro(rename = "showPresence")]
    pub show_presence: bool,
}

fn shown() -> bool {
    true
}
