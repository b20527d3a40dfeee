use crate::LogError;

/// A record header, as in Kafka: a name and opaque bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

/// One record of a topic: the key picks the partition, so records with one key stay in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub headers: Vec<Header>,
    /// Milliseconds since the Unix epoch, set by the producer.
    pub timestamp_ms: i64,
}

impl Record {
    /// A compact self-delimiting byte form, for stores that keep whole records (the embedded
    /// log, pending claims).
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_record(self)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LogError> {
        decode_record(bytes)
    }

    /// The value of the first header called `name`, as text, if it is there and is UTF-8.
    pub fn header_text(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|h| h.name == name).and_then(|h| std::str::from_utf8(&h.value).ok())
    }
}

/// Where a record sits in the log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub topic: String,
    pub partition: u32,
    pub offset: u64,
}

/// A record read back from the log, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    pub position: Position,
    pub record: Record,
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// timestamp (i64 le), key, value, header count (u32 le), then name and value per header; each
/// byte string is prefixed by its u32 le length.
fn encode_record(record: &Record) -> Vec<u8> {
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
            return Err(LogError::Storage(crate::cause("truncated record bytes")));
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

/// The timestamp of an encoded record, without decoding the rest.
pub(crate) fn encoded_timestamp(bytes: &[u8]) -> Option<i64> {
    Some(i64::from_le_bytes(bytes.get(..8)?.try_into().ok()?))
}

fn decode_record(bytes: &[u8]) -> Result<Record, LogError> {
    let mut r = Reader(bytes);
    let mut ts = [0u8; 8];
    ts.copy_from_slice(r.take(8)?);
    let key = r.bytes()?.to_vec();
    let value = r.bytes()?.to_vec();
    let count = r.u32()?;
    let mut headers = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let name = String::from_utf8_lossy(r.bytes()?).into_owned();
        headers.push(Header { name, value: r.bytes()?.to_vec() });
    }
    Ok(Record { key, value, headers, timestamp_ms: i64::from_le_bytes(ts) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_bytes() {
        let record = Record {
            key: b"k".to_vec(),
            value: vec![0xC3, 0x01, 0, 255],
            headers: vec![Header { name: "confab.event-type".into(), value: b"x".to_vec() }],
            timestamp_ms: -5,
        };
        assert_eq!(Record::from_bytes(&record.to_bytes()).ok(), Some(record));
        assert!(Record::from_bytes(&[1, 2, 3]).is_err());
    }
}
