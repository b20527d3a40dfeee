//! The end-to-end harness: spawns the real `confab` binary and talks to it over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod client;
mod server;

pub use client::{Client, Reply, User};
pub use server::{Confab, TEST_JWT_SECRET, confab_bin, run_confab};
