//! Black-box tests of the contract, over HTTP. See the harness in `src/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod admin;
mod attacks;
mod authorization;
mod back_office;
mod browser;
mod comments;
mod content;
mod errors;
mod hardening;
mod live;
mod monitoring;
mod notifications;
mod operations;
mod pagination;
mod posts;
mod proxies;
mod reactions;
mod retries;
mod round_trips;
