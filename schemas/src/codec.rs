use apache_avro::{from_avro_datum, to_avro_datum, to_value, types::Value};
use serde::Serialize;

use crate::{Event, SchemaError, SchemaRegistry, registry::SchemaFile};

/// The two marker bytes that open every Avro single-object encoded value.
pub const SINGLE_OBJECT_MAGIC: [u8; 2] = [0xC3, 0x01];
const HEADER_LEN: usize = 10;

/// An event ready for the log: its value bytes and what its headers say.
#[derive(Debug, Clone)]
pub struct EncodedEvent {
    pub event_type: &'static str,
    pub fingerprint: u64,
    pub value: Vec<u8>,
}

impl EncodedEvent {
    pub fn fingerprint_hex(&self) -> String {
        format!("{:016x}", self.fingerprint)
    }
}

/// Encodes events with their current schema and decodes any version under `schemas/avro/`.
#[derive(Debug)]
pub struct Codec {
    registry: SchemaRegistry,
}

impl Codec {
    pub fn new() -> Result<Self, SchemaError> {
        Ok(Self { registry: SchemaRegistry::load()? })
    }

    pub fn registry(&self) -> &SchemaRegistry {
        &self.registry
    }

    pub fn encode(&self, event: &Event) -> Result<EncodedEvent, SchemaError> {
        let file = self.current(event.full_name())?;
        let value = event.to_avro_value()?.resolve(&file.schema)?;
        self.frame(file, event.full_name(), value)
    }

    /// Encodes `datum` with a specific schema version; how older writers are reproduced in tests.
    pub fn encode_with<T: Serialize>(
        &self,
        file: &SchemaFile,
        event_type: &'static str,
        datum: &T,
    ) -> Result<EncodedEvent, SchemaError> {
        let value = to_value(datum)?.resolve(&file.schema)?;
        self.frame(file, event_type, value)
    }

    /// Single-object framing: magic, fingerprint, datum.
    fn frame(&self, file: &SchemaFile, event_type: &'static str, value: Value) -> Result<EncodedEvent, SchemaError> {
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(&SINGLE_OBJECT_MAGIC);
        bytes.extend_from_slice(&file.fingerprint.to_le_bytes());
        bytes.extend_from_slice(&to_avro_datum(&file.schema, value)?);
        Ok(EncodedEvent { event_type, fingerprint: file.fingerprint, value: bytes })
    }

    /// Decodes a single-object encoded value written with any known version of its schema,
    /// resolved to the current version.
    pub fn decode(&self, bytes: &[u8]) -> Result<Event, SchemaError> {
        if bytes.len() < HEADER_LEN || bytes[..2] != SINGLE_OBJECT_MAGIC {
            return Err(SchemaError::NotSingleObject);
        }
        let mut fp = [0u8; 8];
        fp.copy_from_slice(&bytes[2..HEADER_LEN]);
        let fingerprint = u64::from_le_bytes(fp);
        let writer = self
            .registry
            .by_fingerprint(fingerprint)
            .ok_or_else(|| SchemaError::UnknownFingerprint(format!("{fingerprint:016x}")))?;
        let reader = self.current(&writer.full_name)?;
        let mut datum = &bytes[HEADER_LEN..];
        let value = from_avro_datum(&writer.schema, &mut datum, Some(&reader.schema))?;
        match Event::from_avro_value(&writer.full_name, &value) {
            Some(event) => Ok(event?),
            None => Err(SchemaError::UnknownEventType(writer.full_name.clone())),
        }
    }

    fn current(&self, full_name: &str) -> Result<&SchemaFile, SchemaError> {
        self.registry.current(full_name).ok_or_else(|| SchemaError::UnknownEventType(full_name.to_owned()))
    }
}
