//! What a download answers to its request's preconditions and range (RFC 9110 §13, §14): an
//! immutable object is named by its `ETag`, so a client that has it gets a 304, and a player
//! that seeks or a client that resumes gets the bytes it asks for.
use std::ops::Range;

use axum::http::{HeaderMap, header};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// 304: the client's copy is this object.
    NotModified,
    /// 200: every byte.
    Whole,
    /// 206: these bytes.
    Part(Range<u64>),
    /// 416: the range asks for nothing the object has.
    Unsatisfiable,
}

/// The answer to `headers` for an object of `size` bytes with entity tag `etag` (quoted; none
/// for objects stored before they had one, which then answer every request whole).
pub(crate) fn answer(headers: &HeaderMap, etag: Option<&str>, size: u64) -> Answer {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let (Some(etag), Some(wanted)) = (etag, text(header::IF_NONE_MATCH))
        && matches_any(wanted, etag)
    {
        return Answer::NotModified;
    }
    let Some(range) = text(header::RANGE) else { return Answer::Whole };
    // A range on condition that the client's partial copy is of this very object.
    if let Some(condition) = text(header::IF_RANGE)
        && etag.is_none_or(|etag| condition.trim() != etag)
    {
        return Answer::Whole;
    }
    byte_range(range, size)
}

/// `If-None-Match`: `*`, or a list of tags compared weakly (`W/` ignored).
fn matches_any(list: &str, etag: &str) -> bool {
    list.split(',').map(str::trim).any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// One `bytes` range. Several ranges are answered whole (as S3 does: a multipart answer is
/// optional), a unit other than bytes is ignored as RFC 9110 requires, and a malformed or
/// unsatisfiable byte range is a 416.
fn byte_range(value: &str, size: u64) -> Answer {
    let Some((unit, spec)) = value.split_once('=') else { return Answer::Unsatisfiable };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Answer::Whole;
    }
    if spec.contains(',') {
        return Answer::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return Answer::Unsatisfiable };
    let number = |s: &str| (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u64>().ok())?;
    match (number(first), number(last), first.is_empty(), last.is_empty()) {
        // bytes=-N: the last N bytes, or all of them if there are fewer.
        (None, Some(suffix), true, false) if suffix > 0 && size > 0 => Answer::Part(size - suffix.min(size)..size),
        // bytes=A-
        (Some(start), None, false, true) if start < size => Answer::Part(start..size),
        // bytes=A-B, B past the end meaning the end.
        (Some(start), Some(end), false, false) if start <= end && start < size => {
            Answer::Part(start..end.saturating_add(1).min(size))
        }
        _ => Answer::Unsatisfiable,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const TAG: &str = "\"abc\"";

    fn with(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.clone(), HeaderValue::from_static(value))).collect()
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        let cases = [
            ("bytes=0-0", Answer::Part(0..1)),
            ("bytes=10-19", Answer::Part(10..20)),
            ("bytes=90-", Answer::Part(90..100)),
            ("bytes=95-1000", Answer::Part(95..100)),
            ("bytes=-10", Answer::Part(90..100)),
            ("bytes=-1000", Answer::Part(0..100)),
            ("BYTES=0-9", Answer::Part(0..10)),
            ("bytes=100-", Answer::Unsatisfiable),
            ("bytes=100-200", Answer::Unsatisfiable),
            ("bytes=-0", Answer::Unsatisfiable),
            ("bytes=20-10", Answer::Unsatisfiable),
            ("bytes=abc", Answer::Unsatisfiable),
            ("bytes=1-2-3", Answer::Unsatisfiable),
            ("bytes=+1-2", Answer::Unsatisfiable),
            ("bytes", Answer::Unsatisfiable),
            ("bytes=0-1,5-6", Answer::Whole),
            ("items=0-1", Answer::Whole),
        ];
        for (range, expected) in cases {
            let headers: HeaderMap = [(header::RANGE, HeaderValue::from_static(range))].into_iter().collect();
            assert_eq!(answer(&headers, Some(TAG), 100), expected, "{range}");
        }
        let headers = with(&[(header::RANGE, "bytes=-5")]);
        assert_eq!(answer(&headers, Some(TAG), 0), Answer::Unsatisfiable, "an empty object has no bytes to give");
        assert_eq!(answer(&HeaderMap::new(), Some(TAG), 100), Answer::Whole);
    }

    #[test]
    fn preconditions_name_the_object_by_its_tag() {
        for matching in ["\"abc\"", "W/\"abc\"", "\"x\", \"abc\"", "*"] {
            let headers: HeaderMap =
                [(header::IF_NONE_MATCH, HeaderValue::from_static(matching))].into_iter().collect();
            assert_eq!(answer(&headers, Some(TAG), 100), Answer::NotModified, "{matching}");
            assert_eq!(answer(&headers, None, 100), Answer::Whole, "no tag, no 304");
        }
        let other = with(&[(header::IF_NONE_MATCH, "\"other\""), (header::RANGE, "bytes=0-9")]);
        assert_eq!(answer(&other, Some(TAG), 100), Answer::Part(0..10));
        let same_copy = with(&[(header::IF_RANGE, "\"abc\""), (header::RANGE, "bytes=0-9")]);
        assert_eq!(answer(&same_copy, Some(TAG), 100), Answer::Part(0..10));
        let other_copy = with(&[(header::IF_RANGE, "\"old\""), (header::RANGE, "bytes=0-9")]);
        assert_eq!(answer(&other_copy, Some(TAG), 100), Answer::Whole);
        let dated = with(&[(header::IF_RANGE, "Sat, 05 Dec 2026 10:00:00 GMT"), (header::RANGE, "bytes=0-9")]);
        assert_eq!(answer(&dated, Some(TAG), 100), Answer::Whole, "a date is weaker than an immutable tag");
    }
}
