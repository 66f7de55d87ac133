//! The real `minifb-server` binary refusing a bad setting.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// A bad setting stops the binary before it touches anything, with exit
/// status 2 and a message that names the variable.
#[test]
fn a_bad_setting_stops_the_binary_with_status_2_naming_the_variable() {
    // (variable, value); streams may not take every connection (10,000 by
    // default).
    let cases = [
        ("MINIFB_TIMEZONE", "Mars/Base"),
        ("MINIFB_MAX_STREAMS", "10000"),
        ("MINIFB_TRUSTED_PROXIES", "10.0.0.1, nginx"),
        ("MINIFB_SIGNUP_LIMIT", "many"),
    ];
    for (name, value) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_minifb-server"))
            .current_dir(std::env::temp_dir())
            .env("DATABASE_URL", "postgresql://nobody@/nowhere")
            .env(name, value)
            .output()
            .unwrap();

        assert_eq!(output.status.code(), Some(2), "{name}={value}");
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(
            said.starts_with(&format!("minifb-server: {name}")),
            "{said}"
        );
    }
}
