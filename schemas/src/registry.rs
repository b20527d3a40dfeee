use std::collections::HashMap;

use apache_avro::Schema;

use crate::{SchemaError, canonical::fingerprint};

include!(concat!(env!("OUT_DIR"), "/schema_files.rs"));

/// One parsed `.avsc` file.
#[derive(Debug, Clone)]
pub struct SchemaFile {
    /// Path under `schemas/avro/`, e.g. `history/DirectMessageSent.v1.avsc`.
    pub path: &'static str,
    pub full_name: String,
    pub fingerprint: u64,
    pub schema: Schema,
    /// Files at the top of `avro/` are the current versions; `history/` holds older writers.
    pub is_current: bool,
}

/// Every schema version under `schemas/avro/`, by fingerprint and by full name.
#[derive(Debug)]
pub struct SchemaRegistry {
    by_fingerprint: HashMap<u64, SchemaFile>,
    current: HashMap<String, SchemaFile>,
}

impl SchemaRegistry {
    /// Parses the schema files embedded at build time.
    pub fn load() -> Result<Self, SchemaError> {
        let mut by_fingerprint = HashMap::new();
        let mut current = HashMap::new();
        for (path, text) in SCHEMA_FILES {
            let schema = Schema::parse_str(text)
                .map_err(|e| SchemaError::InvalidSchemaFile { path: (*path).to_owned(), reason: e.to_string() })?;
            let full_name = match &schema {
                Schema::Record(record) => record.name.fullname(None),
                _ => {
                    return Err(SchemaError::InvalidSchemaFile {
                        path: (*path).to_owned(),
                        reason: "top level must be a record".to_owned(),
                    });
                }
            };
            let file = SchemaFile {
                path,
                fingerprint: fingerprint(&schema),
                full_name: full_name.clone(),
                schema,
                is_current: !path.contains('/'),
            };
            if file.is_current {
                let _ = current.insert(full_name, file.clone());
            }
            let _ = by_fingerprint.insert(file.fingerprint, file);
        }
        Ok(Self { by_fingerprint, current })
    }

    pub fn by_fingerprint(&self, fingerprint: u64) -> Option<&SchemaFile> {
        self.by_fingerprint.get(&fingerprint)
    }

    pub fn current(&self, full_name: &str) -> Option<&SchemaFile> {
        self.current.get(full_name)
    }

    pub fn files(&self) -> impl Iterator<Item = &SchemaFile> {
        self.by_fingerprint.values()
    }
}
