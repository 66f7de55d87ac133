//! The harness of minifb's black-box tests, which double as a conformance
//! suite for any implementation of the contract in `docs/API.md`, and the
//! helpers the
//! tests are written with.
//!
//! Tests talk only HTTP and use unique ids, so they share nothing and run in
//! parallel. With `MINIFB_URL` set they run against that server and start
//! nothing. Otherwise each test gets its own database, created from a
//! migrated template in the PostgreSQL that `make test` started
//! (`MINIFB_TEST_DATABASE_URL`), its own server on port 0, and drops the
//! database when it ends.
//!
//! Every request goes through [`TestApp::send`], so every [`Reply`] knows
//! what was sent and its assertions name it: a failing row of a table says
//! which request it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app;
mod bodies;
pub mod browser;
mod database;
mod fixtures;
mod ids;
mod live;
mod requests;
mod sql;
mod statements;
pub mod tokens;
mod users;

pub use app::{ADMIN_TOKEN, JWT_SECRET, TestApp};
pub use bodies::*;
pub use database::{TestDatabase, with_database};
pub use fixtures::*;
pub use ids::{MALFORMED_IDS, NEVER_AN_ID, unique_id};
pub use live::{EventStream, SseEvent};
pub use requests::{Reply, count_statuses};
pub use sql::HeldLock;
pub use users::{PASSWORD, User, WRONG_PASSWORD, sign_up_body};
