//! A live-delivery cursor: for each `confab.messages` partition, the offset below which every
//! message for the user has been sent to them. One conversation lives in one partition, so this
//! says exactly what a reconnecting client is missing, whichever API process it reaches.
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::ApiError;

const VERSION: &str = "v1:";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor(pub(crate) Vec<u64>);

impl Cursor {
    pub(crate) fn encode(&self) -> String {
        let offsets: Vec<String> = self.0.iter().map(u64::to_string).collect();
        URL_SAFE_NO_PAD.encode(format!("{VERSION}{}", offsets.join(".")))
    }

    /// A cursor from an earlier frame; `partitions` is how many the topic has now.
    pub(crate) fn parse(raw: &str, partitions: usize) -> Result<Self, ApiError> {
        let invalid = || ApiError::bad_request("invalid_cursor", "since must be a cursor from an earlier frame");
        let text = URL_SAFE_NO_PAD.decode(raw).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(invalid)?;
        let offsets = text.strip_prefix(VERSION).ok_or_else(invalid)?;
        let offsets: Vec<u64> = offsets.split('.').map(str::parse).collect::<Result<_, _>>().map_err(|_| invalid())?;
        if offsets.len() != partitions {
            return Err(invalid());
        }
        Ok(Self(offsets))
    }

    /// Each partition's larger offset.
    pub(crate) fn max(&self, other: &[u64]) -> Self {
        Self(self.0.iter().zip(other).map(|(a, b)| (*a).max(*b)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor(vec![0, 17, 4_000_000_000, 3]);
        assert_eq!(Cursor::parse(&cursor.encode(), 4).ok(), Some(cursor.clone()));
        assert!(Cursor::parse(&cursor.encode(), 3).is_err());
        for garbage in ["", "x", "djE6", "djE6YQ", "%%%"] {
            assert!(Cursor::parse(garbage, 4).is_err(), "{garbage}");
        }
        assert_eq!(cursor.max(&[1, 1, 1, 9]).0, vec![1, 17, 4_000_000_000, 9]);
    }
}
