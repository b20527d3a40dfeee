//! Avro's Parsing Canonical Form and CRC-64-AVRO fingerprints.
//!
//! apache-avro 0.17 keeps a primitive with a logical type as `{"type":"string"}` in its canonical
//! form, where the specification (and Java, Python, ...) reduce it to `"string"`. Its fingerprints
//! of our schemas would then disagree with every other Avro implementation, so the form is
//! normalised here before hashing.
use apache_avro::{Schema, rabin::Rabin};
use digest::Digest;
use serde_json::Value;

const PRIMITIVES: [&str; 8] = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"];

/// The schema's Parsing Canonical Form, as the Avro specification defines it.
pub fn parsing_canonical_form(schema: &Schema) -> String {
    let form = schema.canonical_form();
    match serde_json::from_str::<Value>(&form) {
        Ok(mut json) => {
            collapse_primitives(&mut json);
            json.to_string()
        }
        Err(_) => form,
    }
}

/// The CRC-64-AVRO (Rabin) fingerprint of the schema's canonical form.
pub fn fingerprint(schema: &Schema) -> u64 {
    let digest = Rabin::digest(parsing_canonical_form(schema).as_bytes());
    let mut le = [0u8; 8];
    le.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(le)
}

fn collapse_primitives(json: &mut Value) {
    match json {
        Value::Object(map) => {
            if let (1, Some(Value::String(t))) = (map.len(), map.get("type"))
                && PRIMITIVES.contains(&t.as_str())
            {
                *json = Value::String(t.clone());
                return;
            }
            map.values_mut().for_each(collapse_primitives);
        }
        Value::Array(items) => items.iter_mut().for_each(collapse_primitives),
        _ => {}
    }
}
