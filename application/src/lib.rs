//! minifb's use cases and the ports they need.
//!
//! Ports are `async_trait` traits held as `Arc<dyn Port>`; each states its
//! contract in its rustdoc, and `mockall` mocks of them are available to
//! other crates' tests through the `mocks` feature. Use cases take values
//! that already passed the domain's rules and answer with their module's
//! error enum: business outcomes a client can act on (not found, forbidden,
//! conflict, ...) plus [`StoreError`] for a database that failed, which is
//! `Unavailable` (retry later) or `Other` (a bug or an outage to log).

pub mod accounts;
pub mod consistency;
pub mod live;
pub mod ports;
pub mod social;
pub mod stats;
#[cfg(any(test, feature = "mocks"))]
pub mod testing;

pub use ports::StoreError;
