//! The contract of the Confab event stream.
//!
//! The `.avsc` files under `avro/` are the source of truth; every record value on every topic is
//! Avro single-object encoding (`C3 01`, the little-endian CRC-64-AVRO fingerprint of the writer
//! schema's canonical form, then the datum), so any Avro library can decode the stream with
//! nothing but that folder.

mod canonical;
mod codec;
mod error;
mod events;
mod registry;
mod signals;
mod topics;

pub use canonical::{fingerprint, parsing_canonical_form};
pub use codec::{Codec, EncodedEvent, SINGLE_OBJECT_MAGIC};
pub use error::SchemaError;
pub use events::*;
pub use registry::{SchemaFile, SchemaRegistry};
pub use signals::{OnlineUser, SIGNALS_TOPIC, Signal};
pub use topics::{HEADER_EVENT_TYPE, HEADER_REQUEST_ID, HEADER_SCHEMA_FINGERPRINT, Topic, dead_letter};
