//! The binary's command line. (Also makes `cargo test` build the `confab` binary that the
//! end-to-end suite in `tests/` drives.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn help_lists_every_role() {
    let out = Command::new(env!("CARGO_BIN_EXE_confab")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["serve", "events", "rebuild", "dump-tables"] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}

#[test]
fn a_bad_flag_value_is_a_clear_error_not_a_panic() {
    let out = Command::new(env!("CARGO_BIN_EXE_confab")).args(["serve", "--partitions", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--partitions"));
}
