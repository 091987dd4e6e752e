//! A small seeded generator for reproducible Gaussian test tensors.

/// SplitMix64: a 64-bit generator with a one-word state, good enough for test data and
/// identical on every platform.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// Creates a generator from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Returns a uniform value in the open interval (0, 1).
    pub fn next_open01(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Returns a standard normal value (Box–Muller transform, one value per call).
    pub fn next_gaussian(&mut self) -> f64 {
        let u = self.next_open01();
        let v = self.next_open01();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Returns `count` values drawn from N(0, sigma²) with generator seed `seed`.
pub fn gaussian_f32(count: usize, sigma: f64, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..count).map(|_| (rng.next_gaussian() * sigma) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_moments_match() {
        let values = gaussian_f32(200_000, 2.0, 7);
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let variance = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
        // Standard errors: 2/sqrt(n) ≈ 0.0045 for the mean, about 0.0127 for the variance.
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((variance - 4.0).abs() < 0.06, "variance {variance}");
    }
}
