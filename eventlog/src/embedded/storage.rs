//! How a record is laid out inside a redb value, and small read helpers.
use redb::ReadableTable;

use crate::{Header, LogError, Record};

pub(crate) fn storage_error(e: impl std::fmt::Display) -> LogError {
    LogError::Storage(e.to_string())
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// timestamp (i64 le), key, value, header count (u32 le), then name and value per header; each
/// byte string is prefixed by its u32 le length.
pub(crate) fn encode_record(record: &Record) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + record.key.len() + record.value.len());
    out.extend_from_slice(&record.timestamp_ms.to_le_bytes());
    put(&mut out, &record.key);
    put(&mut out, &record.value);
    out.extend_from_slice(&(record.headers.len() as u32).to_le_bytes());
    for header in &record.headers {
        put(&mut out, header.name.as_bytes());
        put(&mut out, &header.value);
    }
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], LogError> {
        if self.0.len() < n {
            return Err(LogError::Storage("truncated record in embedded log".into()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, LogError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn bytes(&mut self) -> Result<&'a [u8], LogError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

pub(crate) fn decode_record(bytes: &[u8]) -> Result<Record, LogError> {
    let mut r = Reader(bytes);
    let mut ts = [0u8; 8];
    ts.copy_from_slice(r.take(8)?);
    let key = r.bytes()?.to_vec();
    let value = r.bytes()?.to_vec();
    let count = r.u32()?;
    let mut headers = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let name = String::from_utf8_lossy(r.bytes()?).into_owned();
        headers.push(Header {
            name,
            value: r.bytes()?.to_vec(),
        });
    }
    Ok(Record {
        key,
        value,
        headers,
        timestamp_ms: i64::from_le_bytes(ts),
    })
}

/// The offset the next record of `partition` will get.
pub(crate) fn end_offset(
    records: &impl ReadableTable<(&'static str, u32, u64), &'static [u8]>,
    topic: &str,
    partition: u32,
) -> Result<u64, LogError> {
    let last = records
        .range((topic, partition, 0)..=(topic, partition, u64::MAX))
        .map_err(storage_error)?
        .next_back();
    match last {
        Some(entry) => Ok(entry.map_err(storage_error)?.0.value().2 + 1),
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let record = Record {
            key: b"k".to_vec(),
            value: vec![0xC3, 0x01, 0, 255],
            headers: vec![Header {
                name: "confab.event-type".into(),
                value: b"x".to_vec(),
            }],
            timestamp_ms: -5,
        };
        assert_eq!(decode_record(&encode_record(&record)).ok(), Some(record));
        assert!(decode_record(&[1, 2, 3]).is_err());
    }
}
