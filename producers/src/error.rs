use confab_eventlog::LogError;
use confab_schemas::SchemaError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PublishError {
    #[error("cannot encode event: {0}")]
    Encode(#[from] SchemaError),
    #[error(transparent)]
    Log(#[from] LogError),
}
