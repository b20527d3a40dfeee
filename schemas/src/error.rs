use thiserror::Error;

/// Why an event could not be encoded or decoded.
#[derive(Debug, Error)]
pub enum SchemaError {
    #[error("record is not avro single-object encoded")]
    NotSingleObject,
    #[error("no schema with fingerprint {0} under schemas/avro")]
    UnknownFingerprint(String),
    #[error("schema {0} is not a confab event type")]
    UnknownEventType(String),
    #[error("invalid schema file {path}: {reason}")]
    InvalidSchemaFile { path: String, reason: String },
    #[error("avro: {0}")]
    Avro(String),
}

impl From<apache_avro::Error> for SchemaError {
    fn from(e: apache_avro::Error) -> Self {
        Self::Avro(e.to_string())
    }
}
