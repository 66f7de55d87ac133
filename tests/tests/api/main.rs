//! Black-box tests of the contract, over HTTP. See the harness in `src/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod errors;
mod operations;
