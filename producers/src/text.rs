//! What names shown to other people may hold. Control characters break layouts and logs; the
//! bidirectional overrides and isolates make `gnp.exe` of `exe.png` (CVE-2021-42574's trick), so
//! names refuse both. (Message text may hold newlines, and is shown as text.)

/// The explicit embedding, override and isolate controls of Unicode's bidirectional algorithm,
/// and the Arabic letter mark.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

/// Whether `name` (a group or file name) holds a character it must not.
pub(crate) fn unsafe_in_name(name: &str) -> bool {
    name.chars().any(|c| c.is_control() || is_bidi_control(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_controls_and_bidi_overrides() {
        assert!(!unsafe_in_name("Family 👪 group"));
        assert!(unsafe_in_name("evil\u{202E}gpj.exe"));
        assert!(unsafe_in_name("a\u{2066}b"));
        assert!(unsafe_in_name("tab\there"));
        assert!(unsafe_in_name("nul\0"));
    }
}
