//! The real `minifb-server` binary refusing a bad setting.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// A bad setting stops the binary before it touches anything, with exit
/// status 2 and a message that names the variable.
#[test]
fn a_bad_setting_stops_the_binary_with_status_2_naming_the_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_minifb-server"))
        .current_dir(std::env::temp_dir())
        .env("DATABASE_URL", "postgresql://nobody@/nowhere")
        .env("MINIFB_TIMEZONE", "Mars/Base")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.starts_with("minifb-server: MINIFB_TIMEZONE"), "{said}");
}
