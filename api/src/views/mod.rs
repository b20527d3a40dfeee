//! How read-model rows are shown to clients, in answers and frames alike.
pub(crate) mod attachments;
pub(crate) mod blocks;
pub(crate) mod groups;
pub(crate) mod messages;
pub(crate) mod profiles;
pub(crate) mod sessions;
pub(crate) mod tokens;
