//! A deterministic single-precision exponential for softmax.
//!
//! `f32::exp` calls the platform's libm, whose results differ between targets, and is not
//! available without `std`. The `micromath` crate (version 2.1) is portable, but its `exp`
//! evaluates a four-term Taylor series after range reduction, and its relative error
//! over `[-87, 0]` is 2.4e-3 (measured by the test `micromath_exp_is_too_coarse` on
//! 65,537 evenly spaced points). Softmax needs 2e-6 or better to stay within 1e-5 of an
//! f64 reference, so this module implements its own [`exp`] from basic `f32` operations,
//! which round identically on every IEEE-754 target. Its relative error over the same
//! range is 1.02e-7, about one unit in the last place.

use core::f32::consts::LOG2_E;

/// High part of ln 2 with 16 significant bits (exactly 0.693145751953125), so
/// `k · LN2_HI` is exact for `|k| < 256`.
const LN2_HI: f32 = 0.693_145_75;
/// `ln 2 - LN2_HI`, rounded to `f32`.
const LN2_LO: f32 = 1.428_606_8e-6;

/// Below this, `e^x` is less than half the smallest subnormal `f32` and rounds to zero.
const UNDERFLOW: f32 = -104.0;
/// Above this, `e^x` exceeds `f32::MAX` (`e^88.73`).
const OVERFLOW: f32 = 89.0;

/// Taylor coefficients `1/n!` of `e^r` for `n = 2..=7`.
const C2: f32 = 1.0 / 2.0;
const C3: f32 = 1.0 / 6.0;
const C4: f32 = 1.0 / 24.0;
const C5: f32 = 1.0 / 120.0;
const C6: f32 = 1.0 / 720.0;
const C7: f32 = 1.0 / 5040.0;

/// Computes `e^x` with only `f32` addition, subtraction, multiplication and comparison, so
/// every IEEE-754 target returns the same bits.
///
/// The argument is reduced to `x = k · ln 2 + r` with integer `k` and `|r| ≤ ln 2 / 2`
/// (Cody-Waite, with ln 2 split in two parts). A degree-7 Taylor polynomial evaluates
/// `e^r`, whose truncation error is below `1e-8` relative, and `2^k` scales the result
/// exactly. The relative error is at most 1.02e-7 for every `f32` in `[-87, 0]`, which
/// the ignored test `exp_error_is_bounded_on_every_input` checks exhaustively, and below
/// 1.1e-7 on the samples of `[0, 88]` that the other tests check. Results below
/// `f32::MIN_POSITIVE` (`x < -87.33`) are subnormal and lose relative precision, and
/// `x < -104` returns `0.0`. `x > 89` returns infinity and NaN returns NaN.
pub fn exp(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    if x < UNDERFLOW {
        return 0.0;
    }
    if x > OVERFLOW {
        return f32::INFINITY;
    }

    // Round x / ln 2 to the nearest integer. `as` truncates toward zero, so add ±0.5 first.
    // |t| ≤ 150.1, so k fits and k · LN2_HI is exact.
    let t = x * LOG2_E;
    let k = if t < 0.0 { (t - 0.5) as i32 } else { (t + 0.5) as i32 };
    let kf = k as f32;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;

    let p = C6 + r * C7;
    let p = C5 + r * p;
    let p = C4 + r * p;
    let p = C3 + r * p;
    let p = C2 + r * p;
    let p = 1.0 + r * p;
    let p = 1.0 + r * p;

    // 2^k for k in [-150, 129] does not fit one normal f32, so scale by two powers of two
    // in [-75, 65]. Each multiplication by a power of two is exact unless the result is
    // subnormal or overflows.
    let half = k / 2;
    p * power_of_two(half) * power_of_two(k - half)
}

/// Returns `2^n` for `n` in the normal exponent range `[-126, 127]`, and 1 outside it
/// (which [`exp`] never requests).
fn power_of_two(n: i32) -> f32 {
    match u32::try_from(n + 127) {
        Ok(biased @ 1..=254) => f32::from_bits(biased << 23),
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relative_error(got: f32, x: f32) -> f64 {
        let expected = f64::from(x).exp();
        (f64::from(got) - expected).abs() / expected
    }

    /// The bound stated in the documentation of [`exp`].
    const BOUND: f64 = 1.1e-7;

    #[test]
    fn exp_error_is_bounded_on_samples() {
        // 2^20 evenly spaced points of [-87, 0] plus the ends.
        let steps = 1 << 20;
        let mut worst = (0.0, 0.0f32);
        for i in 0..=steps {
            let x = -87.0 * (i as f32 / steps as f32);
            let error = relative_error(exp(x), x);
            if error > worst.0 {
                worst = (error, x);
            }
        }
        assert!(worst.0 <= BOUND, "relative error {:e} at x = {}", worst.0, worst.1);
    }

    #[test]
    #[ignore = "checks 1.1e9 inputs in about a minute; run with --ignored"]
    fn exp_error_is_bounded_on_every_input() {
        let last = (-87.0f32).to_bits();
        let mut worst = (0.0, 0.0f32);
        for bits in (-0.0f32).to_bits()..=last {
            let x = f32::from_bits(bits);
            let error = relative_error(exp(x), x);
            if error > worst.0 {
                worst = (error, x);
            }
        }
        eprintln!("exp: largest relative error over [-87, 0] is {:e} at x = {}", worst.0, worst.1);
        assert!(worst.0 <= BOUND, "relative error {:e} at x = {}", worst.0, worst.1);
    }

    #[test]
    fn exp_is_accurate_for_positive_arguments() {
        for i in 0..=8800 {
            let x = i as f32 * 0.01;
            assert!(relative_error(exp(x), x) <= BOUND, "x = {x}");
        }
    }

    #[test]
    fn ln2_split_is_exact() {
        // The low 8 mantissa bits of LN2_HI are zero, so k · LN2_HI is exact for |k| < 256.
        assert_eq!(f64::from(LN2_HI), 0.693_145_751_953_125);
        assert_eq!(LN2_HI.to_bits() & 0xFF, 0);
        let sum = f64::from(LN2_HI) + f64::from(LN2_LO);
        // Rounding LN2_LO to f32 costs at most half its last place, 2^-44 ≈ 5.7e-14.
        assert!((sum - core::f64::consts::LN_2).abs() <= 2f64.powi(-44), "LN2_HI + LN2_LO = {sum}");
    }

    #[test]
    fn exp_handles_special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-1000.0), 0.0);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(89.0), f32::INFINITY);
        assert_eq!(exp(100.0), f32::INFINITY);
    }

    #[test]
    fn exp_underflows_gradually() {
        // Subnormal results keep an absolute error below one subnormal step (2^-149).
        let step = f64::from(f32::from_bits(1));
        for i in 0..=1700 {
            let x = -87.0 - i as f32 * 0.01;
            let error = (f64::from(exp(x)) - f64::from(x).exp()).abs();
            assert!(error <= step + f64::from(x).exp() * BOUND, "x = {x}");
        }
    }

    #[test]
    fn micromath_exp_is_too_coarse() {
        // Records why softmax does not use micromath: its exp misses the 2e-6 bound. If a
        // micromath release passes, softmax could switch to it.
        let steps = 1 << 16;
        let mut worst = 0.0f64;
        for i in 0..=steps {
            let x = -87.0 * (i as f32 / steps as f32);
            worst = worst.max(relative_error(micromath::F32Ext::exp(x), x));
        }
        eprintln!("micromath exp: largest relative error over [-87, 0] is {worst:e}");
        assert!(worst > 2e-6, "micromath exp error is {worst:e}");
    }
}
