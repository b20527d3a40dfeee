use std::collections::HashMap;

use apache_avro::Schema;

use crate::{SchemaError, canonical::fingerprint};

include!(concat!(env!("OUT_DIR"), "/schema_files.rs"));

/// One parsed `.avsc` file: `avro/<EventType>/v<N>.avsc`.
#[derive(Debug, Clone)]
pub struct SchemaFile {
    /// Path under `schemas/avro/`, e.g. `DirectMessageSent/v1.avsc`.
    pub path: &'static str,
    pub full_name: String,
    /// N of `v<N>.avsc`; versions of an event type count up from 1.
    pub version: u32,
    pub fingerprint: u64,
    pub schema: Schema,
    /// The highest version of its event type: what the codec writes and resolves to.
    pub is_current: bool,
}

fn invalid(path: &str, reason: impl Into<String>) -> SchemaError {
    SchemaError::InvalidSchemaFile { path: path.to_owned(), reason: reason.into() }
}

/// (event type, version) of `<EventType>/v<N>.avsc`.
fn parse_path(path: &str) -> Option<(&str, u32)> {
    let (folder, file) = path.split_once('/')?;
    let version = file.strip_prefix('v')?.strip_suffix(".avsc")?.parse().ok()?;
    Some((folder, version))
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
        let mut files: Vec<SchemaFile> = Vec::new();
        for (path, text) in SCHEMA_FILES {
            let (folder, version) = parse_path(path).ok_or_else(|| invalid(path, "expected <EventType>/v<N>.avsc"))?;
            let schema = Schema::parse_str(text).map_err(|e| invalid(path, e.to_string()))?;
            let full_name = match &schema {
                Schema::Record(record) => record.name.fullname(None),
                _ => return Err(invalid(path, "top level must be a record")),
            };
            if full_name.rsplit('.').next() != Some(folder) {
                return Err(invalid(path, format!("the folder must be named for the record, {full_name}")));
            }
            let fingerprint = fingerprint(&schema);
            files.push(SchemaFile { path, full_name, version, fingerprint, schema, is_current: false });
        }
        let mut newest: HashMap<String, u32> = HashMap::new();
        for file in &files {
            let top = newest.entry(file.full_name.clone()).or_default();
            *top = (*top).max(file.version);
        }
        let mut by_fingerprint = HashMap::new();
        let mut current = HashMap::new();
        for mut file in files {
            file.is_current = newest.get(&file.full_name) == Some(&file.version);
            if file.is_current {
                let _ = current.insert(file.full_name.clone(), file.clone());
            }
            if let Some(same) = by_fingerprint.insert(file.fingerprint, file) {
                return Err(invalid(same.path, "another version has the same canonical form"));
            }
        }
        Ok(Self { by_fingerprint, current })
    }

    /// Every version of `full_name`, oldest first.
    pub fn versions(&self, full_name: &str) -> Vec<&SchemaFile> {
        let mut versions: Vec<&SchemaFile> = self.files().filter(|f| f.full_name == full_name).collect();
        versions.sort_by_key(|f| f.version);
        versions
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
