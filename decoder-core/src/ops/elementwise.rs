//! Fused activations and element-wise addition.

use serde::{Deserialize, Serialize};

use super::{check_buffer, invalid};
use crate::Error;

/// Activation function fused into an operator's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// Identity.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
}

impl Activation {
    /// Applies the activation to one value.
    ///
    /// Uses comparisons (`f32::clamp` is two of them) instead of `f32::max`, whose
    /// handling of signed zeros may differ between targets. NaN passes through unchanged,
    /// and so does `-0.0`, as in TensorFlow Lite's `std::max(x, 0.0f)`.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::None => x,
            Activation::Relu => {
                if x < 0.0 {
                    0.0
                } else {
                    x
                }
            }
            Activation::Relu6 => x.clamp(0.0, 6.0),
        }
    }
}

/// Applies `activation` to every value in place.
pub fn apply_activation(values: &mut [f32], activation: Activation) {
    if activation == Activation::None {
        return;
    }
    for value in values.iter_mut() {
        *value = activation.apply(*value);
    }
}

/// Computes `output = activation(a + b)` element by element.
///
/// `b` has the length of `a`, or length 1 to add the same scalar to every element.
/// `output` has the length of `a`.
pub fn add(a: &[f32], b: &[f32], activation: Activation, output: &mut [f32]) -> Result<(), Error> {
    check_buffer(output.len(), a.len())?;
    if let [scalar] = *b {
        for (out, &x) in output.iter_mut().zip(a) {
            *out = activation.apply(x + scalar);
        }
        return Ok(());
    }
    if b.len() != a.len() {
        return Err(invalid("add", "b must have the length of a, or length 1 to broadcast a scalar"));
    }
    for ((out, &x), &y) in output.iter_mut().zip(a).zip(b) {
        *out = activation.apply(x + y);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::Lcg;

    #[test]
    fn relu_clips_edge_values() {
        let cases = [
            (-7.0f32, 0.0f32),
            (-1e-30, 0.0),
            (0.0, 0.0),
            (1e-30, 1e-30),
            (3.5, 3.5),
            (6.0, 6.0),
            (6.000001, 6.000001),
            (1e30, 1e30),
            (f32::INFINITY, f32::INFINITY),
            (f32::NEG_INFINITY, 0.0),
        ];
        for (x, expected) in cases {
            assert_eq!(Activation::Relu.apply(x).to_bits(), expected.to_bits(), "relu({x})");
        }
    }

    #[test]
    fn relu6_clips_edge_values() {
        let cases = [
            (-7.0f32, 0.0f32),
            (-1e-30, 0.0),
            (0.0, 0.0),
            (3.5, 3.5),
            (5.999999, 5.999999),
            (6.0, 6.0),
            (6.000001, 6.0),
            (7.0, 6.0),
            (f32::INFINITY, 6.0),
            (f32::NEG_INFINITY, 0.0),
        ];
        for (x, expected) in cases {
            assert_eq!(Activation::Relu6.apply(x).to_bits(), expected.to_bits(), "relu6({x})");
        }
    }

    #[test]
    fn activations_pass_nan_and_negative_zero() {
        for activation in [Activation::None, Activation::Relu, Activation::Relu6] {
            assert!(activation.apply(f32::NAN).is_nan(), "{activation:?}");
            assert_eq!(activation.apply(-0.0).to_bits(), (-0.0f32).to_bits(), "{activation:?}");
        }
        assert_eq!(Activation::None.apply(-3.0), -3.0);
        assert_eq!(Activation::None.apply(9.0), 9.0);
    }

    #[test]
    fn apply_activation_matches_apply() {
        let values = [-2.0f32, -0.5, 0.0, 0.5, 5.5, 6.0, 6.5, 100.0];
        for activation in [Activation::None, Activation::Relu, Activation::Relu6] {
            let mut got = values;
            apply_activation(&mut got, activation);
            let expected: Vec<f32> = values
                .iter()
                .map(|&x| match activation {
                    Activation::None => x,
                    Activation::Relu => f64::from(x).max(0.0) as f32,
                    Activation::Relu6 => f64::from(x).clamp(0.0, 6.0) as f32,
                })
                .collect();
            assert_eq!(got.as_slice(), expected.as_slice(), "{activation:?}");
        }
    }

    #[test]
    fn add_matches_reference() {
        let mut rng = Lcg::new(1);
        let a: Vec<f32> = rng.vec(37).iter().map(|x| x * 8.0).collect();
        let b: Vec<f32> = rng.vec(37).iter().map(|x| x * 8.0).collect();
        for activation in [Activation::None, Activation::Relu, Activation::Relu6] {
            let mut output = vec![0.0; 37];
            add(&a, &b, activation, &mut output).unwrap();
            for i in 0..37 {
                let sum = f64::from(a[i]) + f64::from(b[i]);
                let expected = match activation {
                    Activation::None => sum,
                    Activation::Relu => sum.max(0.0),
                    Activation::Relu6 => sum.clamp(0.0, 6.0),
                };
                // One f32 rounding of the sum.
                assert!((f64::from(output[i]) - expected).abs() <= 1e-6 * sum.abs(), "{activation:?}, element {i}");
            }
        }
    }

    #[test]
    fn add_broadcasts_scalar() {
        let a = [-3.0f32, 0.0, 1.5, 5.0];
        let mut output = [0.0; 4];
        add(&a, &[2.0], Activation::Relu, &mut output).unwrap();
        assert_eq!(output, [0.0, 2.0, 3.5, 7.0]);
        add(&a, &[2.0], Activation::Relu6, &mut output).unwrap();
        assert_eq!(output, [0.0, 2.0, 3.5, 6.0]);
    }

    #[test]
    fn add_single_elements() {
        let mut output = [0.0];
        add(&[1.0], &[2.0], Activation::None, &mut output).unwrap();
        assert_eq!(output, [3.0]);
    }

    #[test]
    fn add_rejects_bad_lengths() {
        let a = [1.0f32; 4];
        let mut output = [0.0; 4];
        assert!(matches!(add(&a, &[1.0; 3], Activation::None, &mut output), Err(Error::InvalidOperator { .. })));
        assert!(matches!(add(&a, &[], Activation::None, &mut output), Err(Error::InvalidOperator { .. })));
        assert!(matches!(add(&a, &a, Activation::None, &mut output[..3]), Err(Error::BufferLength { .. })));
        assert!(matches!(add(&a, &[1.0], Activation::None, &mut [0.0; 5]), Err(Error::BufferLength { .. })));
        assert!(add(&[], &[], Activation::None, &mut []).is_ok());
    }
}
