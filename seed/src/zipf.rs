//! Skewed choices: a Zipf-like law over ranks, so that a few users post,
//! react and get notified a great deal and most users rarely do.

use rand::Rng;

/// Draws ranks `0..n` with probability proportional to `1 / (rank + 1)^s`.
/// The cumulative weights are tabulated once, so a draw is one binary
/// search: exact, and fast enough for millions of draws.
#[derive(Debug, Clone)]
pub struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    /// `n` must be at least 1; `exponent` 0 gives a uniform law.
    pub fn new(n: usize, exponent: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n.max(1))
            .map(|rank| {
                total += 1.0 / ((rank + 1) as f64).powf(exponent);
                total
            })
            .collect();
        Self { cumulative }
    }

    pub fn len(&self) -> usize {
        self.cumulative.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cumulative.is_empty()
    }

    /// The share of all draws that `rank` gets, in expectation.
    pub fn share(&self, rank: usize) -> f64 {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let below = if rank == 0 {
            0.0
        } else {
            self.cumulative[rank - 1]
        };
        (self.cumulative[rank] - below) / total
    }

    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let target = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|&c| c <= target)
            .min(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn the_first_rank_gets_its_share_and_the_tail_most_of_the_rest() {
        let zipf = Zipf::new(10_000, 1.0);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let draws = 200_000;
        let mut counts = vec![0u32; zipf.len()];
        for _ in 0..draws {
            counts[zipf.sample(&mut rng)] += 1;
        }
        let first = f64::from(counts[0]) / f64::from(draws);
        assert!((first - zipf.share(0)).abs() < 0.005, "{first}");
        // Harmonic number H(10,000) is about 9.79, so rank 0 gets ~10%.
        assert!((zipf.share(0) - 0.102).abs() < 0.002);
        assert!(counts[0] > counts[1] && counts[1] > counts[9]);
        let median_user = counts[5_000];
        assert!(median_user < 10, "{median_user}");
    }

    #[test]
    fn exponent_zero_is_uniform() {
        let zipf = Zipf::new(4, 0.0);
        for rank in 0..4 {
            assert!((zipf.share(rank) - 0.25).abs() < 1e-12);
        }
    }

    #[test]
    fn a_single_rank_is_always_drawn() {
        let zipf = Zipf::new(1, 1.2);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert!((0..100).all(|_| zipf.sample(&mut rng) == 0));
    }
}
