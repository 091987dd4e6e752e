//! The Shannon lower bound on the rate of a model's weights at given squared errors.
//!
//! For a memoryless source with differential entropy `h` (bits) and mean squared error
//! `D`, every code needs at least `R(D) ≥ h − ½·log2(2πe·D)` bits per value, and never
//! less than zero. A model is treated as independent tensors, each memoryless with its own
//! entropy `h_t` estimated from a histogram of its values, and each coded at its own mean
//! squared error `D_t`. The bound ignores any dependence between values (inside a
//! channel, for one), so a scheme that exploits such structure could in principle go
//! below it.

use std::f64::consts::{E, PI};

/// Most histogram bins an entropy estimate uses.
const MAX_BINS: usize = 1 << 22;

/// Estimates the differential entropy in bits of the distribution behind `values`.
///
/// The estimate is `H(histogram) + log2(bin width)`, with the Freedman–Diaconis bin
/// width `2·IQR·n^(−1/3)` (the range over `√n` bins when the interquartile range is 0).
/// Returns negative infinity when all values are equal or there are fewer than two.
pub fn differential_entropy_bits(values: &[f32]) -> f64 {
    if values.len() < 2 {
        return f64::NEG_INFINITY;
    }
    let mut sorted: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let (min, max) = (sorted[0], sorted[n - 1]);
    if max <= min {
        return f64::NEG_INFINITY;
    }
    let iqr = sorted[(3 * n) / 4] - sorted[n / 4];
    let mut width = if iqr > 0.0 { 2.0 * iqr / (n as f64).cbrt() } else { (max - min) / (n as f64).sqrt().max(1.0) };
    width = width.max((max - min) / MAX_BINS as f64);
    let bins = (((max - min) / width).floor() as usize + 1).min(MAX_BINS + 1);
    let mut counts = vec![0u64; bins];
    for &v in &sorted {
        let bin = (((v - min) / width) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    let total = n as f64;
    let discrete: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total;
            -p * p.log2()
        })
        .sum();
    discrete + width.log2()
}

/// Size and differential entropy of one tensor, the inputs of the bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TensorEntropy {
    /// Number of values.
    pub values: usize,
    /// Differential entropy per value in bits.
    pub entropy_bits: f64,
}

impl TensorEntropy {
    /// Measures the entropy of `values`.
    pub fn of(values: &[f32]) -> Self {
        TensorEntropy { values: values.len(), entropy_bits: differential_entropy_bits(values) }
    }
}

/// Returns the bound in bits per value for a tensor of entropy `entropy_bits` coded at
/// mean squared error `mse`: 0 for a constant tensor, infinity for a lossless code of
/// anything else.
pub fn tensor_bound_bits(entropy_bits: f64, mse: f64) -> f64 {
    if entropy_bits == f64::NEG_INFINITY {
        return 0.0;
    }
    if mse <= 0.0 {
        return f64::INFINITY;
    }
    (entropy_bits - 0.5 * (2.0 * PI * E * mse).log2()).max(0.0)
}

/// Returns the bound in bits per value, averaged over all values of `tensors`, when
/// tensor `t` is coded with the summed squared error `squared_errors[t]`.
pub fn lower_bound_bits(tensors: &[TensorEntropy], squared_errors: &[f64]) -> f64 {
    let total: usize = tensors.iter().map(|t| t.values).sum();
    if total == 0 {
        return 0.0;
    }
    let bits: f64 = tensors
        .iter()
        .zip(squared_errors)
        .filter(|(t, _)| t.values > 0)
        .map(|(t, &squared)| t.values as f64 * tensor_bound_bits(t.entropy_bits, squared / t.values as f64))
        .sum();
    bits / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::gaussian_f32;

    fn gaussian_entropy_bits(sigma: f64) -> f64 {
        0.5 * (2.0 * PI * E * sigma * sigma).log2()
    }

    #[test]
    fn histogram_entropy_of_gaussian() {
        let sigma = 0.05;
        let values = gaussian_f32(400_000, sigma, 11);
        let estimate = differential_entropy_bits(&values);
        let exact = gaussian_entropy_bits(sigma);
        assert!((estimate - exact).abs() < 0.01, "estimate {estimate}, closed form {exact}");
    }

    #[test]
    fn histogram_entropy_of_uniform() {
        // Uniform on [0, 2): h = log2(2) = 1 bit.
        let values: Vec<f32> = (0..100_000).map(|i| (2.0 * (i as f64 + 0.5) / 100_000.0) as f32).collect();
        let estimate = differential_entropy_bits(&values);
        assert!((estimate - 1.0).abs() < 0.02, "estimate {estimate}");
    }

    #[test]
    fn bound_of_gaussian_is_half_log_ratio() {
        // For a Gaussian source the Shannon lower bound equals R(D) = ½·log2(σ²/D).
        let sigma = 0.05f64;
        let count = 400_000;
        let values = gaussian_f32(count, sigma, 5);
        let tensor = TensorEntropy::of(&values);
        for distortion in [1e-6f64, 1e-5, 1e-4] {
            let bound = lower_bound_bits(&[tensor], &[distortion * count as f64]);
            let exact = 0.5 * (sigma * sigma / distortion).log2();
            assert!((bound - exact).abs() < 0.01, "D={distortion}: bound {bound}, closed form {exact}");
        }
        // At D ≥ σ² no bits are needed.
        assert_eq!(lower_bound_bits(&[tensor], &[1.1 * sigma * sigma * count as f64]), 0.0);
    }

    #[test]
    fn bound_averages_tensors_by_size() {
        let (s1, s2) = (1.0f64, 0.01f64);
        let tensors = [
            TensorEntropy { values: 100, entropy_bits: gaussian_entropy_bits(s1) },
            TensorEntropy { values: 300, entropy_bits: gaussian_entropy_bits(s2) },
        ];
        let (d1, d2) = (1e-4f64, 1e-6f64);
        let bound = lower_bound_bits(&tensors, &[100.0 * d1, 300.0 * d2]);
        let exact = (100.0 * 0.5 * (s1 * s1 / d1).log2() + 300.0 * 0.5 * (s2 * s2 / d2).log2()) / 400.0;
        assert!((bound - exact).abs() < 1e-9, "bound {bound}, closed form {exact}");
        // A tensor coded with more error than its variance adds no bits.
        let bound = lower_bound_bits(&tensors, &[100.0 * d1, 300.0 * 2.0 * s2 * s2]);
        let exact = 100.0 * 0.5 * (s1 * s1 / d1).log2() / 400.0;
        assert!((bound - exact).abs() < 1e-9, "bound {bound}, closed form {exact}");
    }

    #[test]
    fn constant_and_lossless_limits() {
        let constant = [TensorEntropy::of(&[0.5f32; 64])];
        assert_eq!(lower_bound_bits(&constant, &[0.0]), 0.0);
        assert_eq!(lower_bound_bits(&constant, &[1e-9]), 0.0);
        let spread = [TensorEntropy::of(&gaussian_f32(1000, 1.0, 1))];
        assert_eq!(lower_bound_bits(&spread, &[0.0]), f64::INFINITY);
    }
}
