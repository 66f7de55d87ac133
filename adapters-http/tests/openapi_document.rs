//! `docs/openapi.json` is the generated document, committed so that a change
//! of the API shows in review. This test fails when the two differ;
//! `make openapi` (this test with `UPDATE_OPENAPI=1`) writes it anew.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

#[test]
fn the_committed_openapi_document_is_what_the_server_generates() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let generated = serde_json::to_string_pretty(&minifb_adapters_http::openapi()).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json differs from the document the server generates; \
         run `make openapi` and review the change"
    );
}
