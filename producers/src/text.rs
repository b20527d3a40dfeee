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

/// The rules above (and `str::trim`'s whitespace) as ECMA-262 patterns, for the API document:
/// a client generated from it sends only what these functions accept.
pub mod patterns {
    /// Unicode `White_Space`, what `str::trim` removes, as the inside of a character class.
    const WHITESPACE: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
    /// What [`super::unsafe_in_name`] refuses, as the inside of a character class.
    const UNSAFE: &str = r"\x00-\x1f\x7f-\x9f\u061c\u202a-\u202e\u2066-\u2069";

    /// A group name: once trimmed, 1 to `max_chars` characters, none unsafe.
    pub fn group_name(max_chars: usize) -> String {
        let middle = max_chars.saturating_sub(2);
        format!(
            "^[{WHITESPACE}]*[^{WHITESPACE}{UNSAFE}](?:[^{UNSAFE}]{{0,{middle}}}[^{WHITESPACE}{UNSAFE}])?[{WHITESPACE}]*$"
        )
    }

    /// A file name: something besides whitespace, no path separator, nothing unsafe (its length
    /// is a separate bound).
    pub fn file_name() -> String {
        format!(r"^[^{UNSAFE}/\\]*[^{WHITESPACE}{UNSAFE}/\\][^{UNSAFE}/\\]*$")
    }

    /// Text with something besides whitespace in it (unanchored).
    pub fn has_text() -> String {
        format!("[^{WHITESPACE}]")
    }
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

#[cfg(test)]
mod pattern_tests {
    #![allow(clippy::unwrap_used)]
    use regex::Regex;

    use super::{patterns, unsafe_in_name};

    /// Characters at the edges of every class the rules draw, and some ordinary ones.
    fn samples() -> Vec<char> {
        let mut chars: Vec<char> = ('\0'..='\u{00ff}').collect();
        chars.extend(['\u{061b}', '\u{061c}', '\u{061d}', '\u{1680}', '\u{1681}', '\u{2000}', '\u{200a}', '\u{200b}']);
        chars.extend(['\u{2028}', '\u{2029}', '\u{202a}', '\u{202e}', '\u{202f}', '\u{2030}', '\u{205f}', '\u{2065}']);
        chars.extend(['\u{2066}', '\u{2069}', '\u{206a}', '\u{3000}', '\u{3001}', '\u{feff}', 'é', '👪', '\u{10ffff}']);
        chars
    }

    fn group_name_rule(raw: &str, max: usize) -> bool {
        let name = raw.trim();
        (1..=max).contains(&name.chars().count()) && !unsafe_in_name(name)
    }

    fn file_name_rule(raw: &str) -> bool {
        !raw.trim().is_empty() && !unsafe_in_name(raw) && !raw.contains(['/', '\\'])
    }

    #[test]
    fn patterns_accept_exactly_what_the_rules_accept() {
        let group = Regex::new(&patterns::group_name(5)).unwrap();
        let file = Regex::new(&patterns::file_name()).unwrap();
        let text = Regex::new(&patterns::has_text()).unwrap();
        let mut inputs = vec![String::new(), "abcde".into(), "abcdef".into(), " abcde ".into(), "a b".into()];
        for c in samples() {
            inputs.extend([c.to_string(), format!("{c}x"), format!("x{c}"), format!("x{c}x"), format!("{c}{c}")]);
            inputs.extend([format!("{c}abcde{c}"), format!("a{c}c{c}e")]);
        }
        for input in &inputs {
            assert_eq!(group.is_match(input), group_name_rule(input, 5), "group name {input:?}");
            assert_eq!(file.is_match(input), file_name_rule(input), "file name {input:?}");
            assert_eq!(text.is_match(input), !input.trim().is_empty(), "text {input:?}");
        }
    }
}
