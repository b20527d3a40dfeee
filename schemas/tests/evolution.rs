//! The rules for evolving the stream (schemas/README.md), checked for every version of every
//! event type: versions count up from 1, each is fully compatible with the current one (new
//! readers read old records, old readers read new ones), and a record written with any version
//! decodes into the event type.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use apache_avro::{
    Schema, from_avro_datum,
    schema::{RecordSchema, UnionSchema},
    schema_compatibility::SchemaCompatibility,
    to_avro_datum,
    types::Value,
};
use confab_schemas::{Codec, Event, SINGLE_OBJECT_MAGIC, SchemaFile};

/// A value of `schema` with every field filled: strings look like UUIDs (many are), numbers are
/// small, unions take their non-null branch, arrays hold one element.
fn sample(schema: &Schema) -> Value {
    match schema {
        Schema::Null => Value::Null,
        Schema::Boolean => Value::Boolean(true),
        Schema::Int => Value::Int(7),
        Schema::Long | Schema::TimestampMillis => Value::Long(1_732_000_000_123),
        Schema::String | Schema::Uuid => Value::String("0190f5a2-7c1e-7000-8000-000000000001".into()),
        Schema::Array(array) => Value::Array(vec![sample(&array.items)]),
        Schema::Union(union) => union_sample(union),
        Schema::Record(RecordSchema { fields, .. }) => {
            Value::Record(fields.iter().map(|f| (f.name.clone(), sample(&f.schema))).collect())
        }
        other => panic!("no sample for {other:?}: extend the test with the new type"),
    }
}

fn union_sample(union: &UnionSchema) -> Value {
    let (index, branch) = union.variants().iter().enumerate().find(|(_, v)| **v != Schema::Null).unwrap();
    Value::Union(index as u32, Box::new(sample(branch)))
}

fn framed(file: &SchemaFile, datum: Vec<u8>) -> Vec<u8> {
    let mut bytes = SINGLE_OBJECT_MAGIC.to_vec();
    bytes.extend_from_slice(&file.fingerprint.to_le_bytes());
    bytes.extend(datum);
    bytes
}

#[test]
fn versions_count_up_and_every_one_is_fully_compatible_with_the_current() {
    let codec = Codec::new().unwrap();
    for name in Event::FULL_NAMES {
        let versions = codec.registry().versions(name);
        let numbers: Vec<u32> = versions.iter().map(|f| f.version).collect();
        assert_eq!(numbers, (1..=versions.len() as u32).collect::<Vec<_>>(), "{name}: versions must be 1..N");
        let current = versions.last().unwrap();
        assert!(current.is_current);
        for pair in versions.windows(2) {
            let (older, newer) = (&pair[0].schema, &pair[1].schema);
            SchemaCompatibility::mutual_read(older, newer)
                .unwrap_or_else(|e| panic!("{} and {} are not fully compatible: {e}", pair[0].path, pair[1].path));
        }
        for older in &versions {
            SchemaCompatibility::can_read(&older.schema, &current.schema)
                .unwrap_or_else(|e| panic!("{} cannot read {}: {e}", current.path, older.path));
            SchemaCompatibility::can_read(&current.schema, &older.schema)
                .unwrap_or_else(|e| panic!("{} cannot read {}: {e}", older.path, current.path));
        }
    }
}

#[test]
fn a_record_written_with_any_version_decodes_and_keeps_what_it_said() {
    let codec = Codec::new().unwrap();
    for name in Event::FULL_NAMES {
        let versions = codec.registry().versions(name);
        let current = *versions.last().unwrap();
        for writer in &versions {
            // What a producer that knows only this version writes.
            let written = sample(&writer.schema).resolve(&writer.schema).unwrap();
            let datum = to_avro_datum(&writer.schema, written.clone()).unwrap();
            let event = codec
                .decode(&framed(writer, datum))
                .unwrap_or_else(|e| panic!("{}: a record it wrote does not decode: {e}", writer.path));
            assert_eq!(event.full_name(), *name);
            // Nothing it said is lost: the current encoding, read back with the writer's schema,
            // is what it wrote.
            let encoded = codec.encode(&event).unwrap();
            assert_eq!(encoded.fingerprint, current.fingerprint);
            let mut rest = &encoded.value[10..];
            let read_back = from_avro_datum(&current.schema, &mut rest, Some(&writer.schema)).unwrap();
            assert_eq!(read_back, written, "{}", writer.path);
        }
    }
}
