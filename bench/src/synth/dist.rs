//! The few random distributions the model draws from, built on a uniform source so that
//! output depends only on `rand_chacha`'s stream (no `rand_distr` version drift).

use rand::Rng;

/// Uniform in `(0, 1]`, safe for `ln`.
fn open_unit(rng: &mut impl Rng) -> f64 {
    1.0 - rng.random::<f64>()
}

/// Exponential with the given mean.
pub fn exponential(rng: &mut impl Rng, mean: f64) -> f64 {
    -mean * open_unit(rng).ln()
}

/// Standard normal (Box–Muller, one of the pair).
pub fn standard_normal(rng: &mut impl Rng) -> f64 {
    let r = (-2.0 * open_unit(rng).ln()).sqrt();
    let theta = std::f64::consts::TAU * rng.random::<f64>();
    r * theta.cos()
}

/// Log-normal size with the given median and log-sigma, rounded to whole lots, at least 1.
pub fn lognormal_lots(rng: &mut impl Rng, median_lots: f64, sigma: f64) -> i64 {
    let x = median_lots * (sigma * standard_normal(rng)).exp();
    // Cap keeps a freak draw from sweeping the whole book.
    x.round().clamp(1.0, median_lots * 200.0) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn moments_are_close() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 20_000;
        let mean = (0..n).map(|_| exponential(&mut rng, 3.0)).sum::<f64>() / f64::from(n);
        assert!((mean - 3.0).abs() < 0.15, "exp mean {mean}");
        let mut sizes: Vec<i64> = (0..n)
            .map(|_| lognormal_lots(&mut rng, 100.0, 1.0))
            .collect();
        sizes.sort_unstable();
        let median = sizes[sizes.len() / 2];
        assert!((90..=110).contains(&median), "median {median}");
    }
}
