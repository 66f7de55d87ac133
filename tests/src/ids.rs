//! Ids: fresh ones no other test uses, one no item will ever have, and
//! ones no route takes.

use rand::Rng;

/// A fresh id no other test uses: `prefix` plus random hex.
pub fn unique_id(prefix: &str) -> String {
    format!(
        "{prefix}_{:012x}",
        rand::rng().random::<u64>() & 0xffff_ffff_ffff
    )
}

/// A valid path id that no post, comment or notification will ever have.
pub const NEVER_AN_ID: &str = "9223372036854775807";

/// Path ids that are not ASCII digits of a 64-bit integer: 400 on every
/// route that takes an id.
pub const MALFORMED_IDS: [&str; 4] = ["abc", "+5", "-1", "99999999999999999999"];
