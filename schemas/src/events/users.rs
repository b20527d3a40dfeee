use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::envelope::envelope;

envelope!(
    /// A new account.
    UserRegistered(UserRegisteredPayload)
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.confab.events")]
#[serde(rename_all = "camelCase")]
pub struct UserRegisteredPayload {
    #[avro(rename = "userId")]
    pub user_id: String,
    pub username: String,
    #[avro(rename = "passwordHash")]
    pub password_hash: String,
}
