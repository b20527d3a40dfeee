//! The operator commands, one module each: its arguments and its body together.
pub(crate) mod analytics_report;
pub(crate) mod dump_tables;
pub(crate) mod events_tail;
pub(crate) mod generations;
pub(crate) mod offsets;
pub(crate) mod rebuild;
pub(crate) mod replay;
pub(crate) mod setup;
pub(crate) mod vapid_key;
