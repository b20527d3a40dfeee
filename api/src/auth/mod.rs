//! Passwords and bearer tokens.

pub(crate) mod password;
pub(crate) mod token;
