//! An account's end, on `confab.users` keyed by username.
use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::envelope::envelope;

envelope!(
    /// The user deleted their account.
    AccountDeleted(AccountDeletedPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct AccountDeletedPayload {
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
}
