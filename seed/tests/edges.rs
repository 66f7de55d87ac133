//! Edges of the seed's building blocks that a data set never reaches: a
//! skewed law over no ranks, and a timestamp that PostgreSQL's text format
//! cannot hold.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use minifb_seed::copy;
use minifb_seed::zipf::Zipf;

#[test]
fn a_law_over_no_ranks_still_has_the_one_rank_it_can_draw() {
    let law = Zipf::new(0, 1.0);

    assert_eq!(law.len(), 1);
    assert!(!law.is_empty());
    assert!((law.share(0) - 1.0).abs() < 1e-12);
}

#[test]
fn a_timestamp_out_of_range_is_an_error_not_a_wrong_date() {
    let mut out = Vec::new();

    let err = copy::timestamp(&mut out, i64::MAX).unwrap_err();

    assert_eq!(
        err.to_string(),
        format!("timestamp out of range: {} µs", i64::MAX)
    );
    assert!(out.is_empty(), "wrote {:?}", String::from_utf8_lossy(&out));
}
