//! `docs/ARCHITECTURE.md` walks through the router's layers one by one; this
//! test fails when a layer, route layer or fallback given to the router in
//! `src/lib.rs` is not named there, so the walk-through cannot fall behind
//! the code.

use std::collections::BTreeSet;

use regex::Regex;

const ROUTER_SOURCE: &str = include_str!("../src/lib.rs");
const ARCHITECTURE: &str = include_str!("../../docs/ARCHITECTURE.md");

/// The body of `pub fn router`, up to the next item at column 0.
fn router_body(source: &str) -> &str {
    let start = source
        .find("pub fn router(")
        .unwrap_or_else(|| panic!("src/lib.rs has no `pub fn router(`"));
    let rest = &source[start..];
    let end = rest.find("\n}\n").map_or(rest.len(), |end| end + 3);
    &rest[..end]
}

/// The crate's own modules (`mod name;` in `src/lib.rs`).
fn modules_of(source: &str) -> Vec<String> {
    let module =
        Regex::new(r"(?m)^(?:pub )?mod ([a-z][a-z0-9_]*);").unwrap_or_else(|e| panic!("{e}"));
    module
        .captures_iter(source)
        .map(|c| c[1].to_owned())
        .collect()
}

/// What the router is built from: the functions of the crate's own modules
/// it passes as values (`middleware::body_guard`, `telemetry::track`, ...)
/// and the tower layer types (`CatchPanicLayer`, ...). Not layers: axum's
/// own helpers (`axum::middleware::from_fn`), functions the router calls
/// (`telemetry::prometheus()`) and constants (upper case).
fn layers_in(body: &str, modules: &[String]) -> BTreeSet<String> {
    let function = Regex::new(&format!(
        r"(?:^|[^:\w])(?:{})::([a-z][a-z0-9_]*)(\(?)",
        modules.join("|")
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let layer_type = Regex::new(r"\b([A-Z][A-Za-z0-9]*Layer)\b").unwrap_or_else(|e| panic!("{e}"));
    let functions = function
        .captures_iter(body)
        .filter(|c| c[2].is_empty())
        .map(|c| c[1].to_owned());
    let layers = layer_type.captures_iter(body).map(|c| c[1].to_owned());
    functions.chain(layers).collect()
}

/// Whether `name` appears as a whole word inside a code span of the doc.
fn named_in_doc(doc: &str, name: &str) -> bool {
    let span = Regex::new(&format!(r"`[^`\n]*\b{}\b[^`\n]*`", regex::escape(name)))
        .unwrap_or_else(|e| panic!("{e}"));
    span.is_match(doc)
}

#[test]
fn every_layer_of_the_router_is_named_in_the_architecture_doc() {
    let layers = layers_in(router_body(ROUTER_SOURCE), &modules_of(ROUTER_SOURCE));
    // The router is built from these at least; fewer means the parsing
    // above no longer finds the router, not that the layers went away.
    for expected in [
        "body_guard",
        "sanitize_request_id",
        "track",
        "CatchPanicLayer",
    ] {
        assert!(
            layers.contains(expected),
            "`{expected}` not found in `router`: {layers:?}"
        );
    }
    let missing: Vec<&String> = layers
        .iter()
        .filter(|name| !named_in_doc(ARCHITECTURE, name))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/ARCHITECTURE.md (\"How one request flows\") does not name these layers of \
         the router in adapters-http/src/lib.rs: {missing:?}"
    );
}

#[test]
fn the_parser_finds_layers_and_the_doc_check_needs_a_code_span() {
    let body = "pub fn router() -> Router {\n    Router::new()\n        \
                .route_layer(axum::middleware::from_fn(middleware::body_guard))\n        \
                .layer(CatchPanicLayer::custom(middleware::panic_response))\n        \
                .layer(HeaderName::from_static(middleware::REQUEST_ID_HEADER))\n        \
                .with_state(telemetry::prometheus())\n}\n";
    let modules = modules_of("mod middleware;\npub mod telemetry;\nmod client_addr;\n");
    assert_eq!(modules, ["middleware", "telemetry", "client_addr"]);
    let found = layers_in(router_body(body), &modules);
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["CatchPanicLayer", "body_guard", "panic_response"]
    );
    assert!(named_in_doc("3. **`body_guard`** buffers", "body_guard"));
    assert!(named_in_doc("- `telemetry::track` opens", "track"));
    assert!(!named_in_doc("the body guard buffers", "body_guard"));
    assert!(!named_in_doc("`body_guarded`", "body_guard"));
}
