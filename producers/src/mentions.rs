//! Who a group message mentions: the members its text names as `@username`, and those the sender
//! names by id. Decided once, at the send, from the members then; the log carries the ids.
use std::collections::{BTreeSet, HashMap};

use crate::{ChatError, UseCases, users::is_username_byte};

/// Most members one message mentions.
pub const MAX_MENTIONS: usize = 50;

/// The usernames `text` names as `@username`, lowercased: an `@` not preceded by a character of a
/// username or a letter (so an e-mail address names no one), then 3-32 characters of a username,
/// without the `.` or `-` that ends a sentence or a clause.
pub(crate) fn named(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let mut names = BTreeSet::new();
    for (at, _) in text.match_indices('@') {
        let preceded = text[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        if preceded {
            continue;
        }
        let name: String = bytes[at + 1..]
            .iter()
            .map(u8::to_ascii_lowercase)
            .take_while(|b| is_username_byte(*b))
            .map(char::from)
            .collect();
        let name = name.trim_end_matches(['.', '-']);
        if (3..=32).contains(&name.len()) {
            let _ = names.insert(name.to_owned());
        }
    }
    names
}

impl UseCases {
    /// The members of `group_id` a message from `sender_id` mentions: those `text` names who are
    /// members (a name of anyone else is only text), and `by_id`, each of which must be a member
    /// (404 `mention_not_a_member` otherwise). Sorted, without repeats, never the sender; at most
    /// [`MAX_MENTIONS`] (400 `too_many_mentions`).
    pub(crate) async fn mentions(
        &self,
        group_id: &str,
        sender_id: &str,
        text: &str,
        by_id: &[String],
    ) -> Result<Vec<String>, ChatError> {
        let too_many =
            || ChatError::invalid("too_many_mentions", format!("a message mentions at most {MAX_MENTIONS} members"));
        if by_id.len() > MAX_MENTIONS {
            return Err(too_many());
        }
        let names = named(text);
        if names.is_empty() && by_id.is_empty() {
            return Ok(Vec::new());
        }
        let members: HashMap<String, String> = self
            .read()
            .groups
            .members(group_id)
            .await?
            .into_iter()
            .map(|member| (member.username, member.user_id))
            .collect();
        let mut mentioned: BTreeSet<String> = names.iter().filter_map(|name| members.get(name)).cloned().collect();
        for id in by_id {
            if !members.values().any(|member| member == id) {
                let message = format!("{id:?} names no member of this group");
                return Err(ChatError::not_found("mention_not_a_member", message));
            }
            let _ = mentioned.insert(id.clone());
        }
        let _ = mentioned.remove(sender_id);
        if mentioned.len() > MAX_MENTIONS {
            return Err(too_many());
        }
        Ok(mentioned.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_at_signs_before_usernames() {
        let found = |text: &str| named(text).into_iter().collect::<Vec<_>>();
        assert_eq!(found("hi @Bob and @carol."), ["bob", "carol"]);
        assert_eq!(found("@bob, @bob and @BOB"), ["bob"]);
        assert_eq!(found("write to ann@example.com"), Vec::<String>::new(), "an e-mail address");
        assert_eq!(found("@al is too short, @al.ice- is not"), ["al.ice"]);
        assert_eq!(found("(@dave) @é @"), ["dave"]);
        assert_eq!(found("mañana@erin"), Vec::<String>::new(), "after a letter");
    }
}
