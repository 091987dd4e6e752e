//! Average and max pooling over an NHWC input.

use super::shape::Geometry;
use super::{check_buffer, input_pixel, invalid};
use super::{Activation, Hwc, Window};
use crate::Error;

/// Computes 2-D average pooling of `input` (shape `in_shape`) into `output` (shape
/// `out_shape`), as TensorFlow Lite does: each output is the mean of the input elements
/// inside its window, and padding elements are not counted.
///
/// The sum starts at `0.0` and adds the elements in the order window row, window column,
/// then is divided by the number of elements. The activation is applied last.
///
/// Fails with [`Error::InvalidOperator`] when the shapes or the window are inconsistent,
/// `out_shape.c` differs from `in_shape.c` or the dilation is not 1 (pooling has none),
/// and with [`Error::BufferLength`] when `output` does not have `out_shape` elements.
pub fn average_pool2d(
    input: &[f32],
    in_shape: Hwc,
    filter: [u32; 2],
    window: Window,
    activation: Activation,
    output: &mut [f32],
    out_shape: Hwc,
) -> Result<(), Error> {
    pool2d(Reduction::Average, input, in_shape, filter, window, activation, output, out_shape)
}

/// Computes 2-D max pooling of `input` (shape `in_shape`) into `output` (shape
/// `out_shape`): each output is the largest input element inside its window. Padding
/// elements are ignored, so an all-negative window gives a negative maximum.
///
/// NaN inputs are skipped, so a window holding only NaN gives negative infinity. The
/// activation is applied last.
///
/// Fails like [`average_pool2d`].
pub fn max_pool2d(
    input: &[f32],
    in_shape: Hwc,
    filter: [u32; 2],
    window: Window,
    activation: Activation,
    output: &mut [f32],
    out_shape: Hwc,
) -> Result<(), Error> {
    pool2d(Reduction::Max, input, in_shape, filter, window, activation, output, out_shape)
}

#[derive(Clone, Copy)]
enum Reduction {
    Average,
    Max,
}

impl Reduction {
    fn name(self) -> &'static str {
        match self {
            Reduction::Average => "average_pool2d",
            Reduction::Max => "max_pool2d",
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn pool2d(
    reduction: Reduction,
    input: &[f32],
    in_shape: Hwc,
    filter: [u32; 2],
    window: Window,
    activation: Activation,
    output: &mut [f32],
    out_shape: Hwc,
) -> Result<(), Error> {
    let op = reduction.name();
    if window.dilation != [1, 1] {
        return Err(invalid(op, "pooling supports dilation 1 only"));
    }
    let geometry = Geometry::new(op, input.len(), in_shape, filter, window, out_shape)?;
    if out_shape.c != in_shape.c {
        return Err(invalid(op, "out_shape.c must equal in_shape.c"));
    }
    let too_large = invalid(op, "a shape has more elements than usize can count");
    let channels = usize::try_from(in_shape.c).map_err(|_| too_large)?;
    check_buffer(output.len(), out_shape.len().ok_or(too_large)?)?;

    let [out_h, out_w] = geometry.output();
    let [filter_h, filter_w] = geometry.kernel();
    let mut out_pixels = output.chunks_exact_mut(channels);
    for oy in 0..out_h {
        for (ox, out_pixel) in (0..out_w).zip(out_pixels.by_ref()) {
            out_pixel.fill(match reduction {
                Reduction::Average => 0.0,
                Reduction::Max => f32::NEG_INFINITY,
            });
            let mut count = 0u32;
            for ky in 0..filter_h {
                let Some(iy) = geometry.tap(0, oy, ky) else { continue };
                for kx in 0..filter_w {
                    let Some(ix) = geometry.tap(1, ox, kx) else { continue };
                    let pixel = input_pixel(op, input, geometry.input_offset(iy, ix, channels), channels)?;
                    count = count.saturating_add(1);
                    match reduction {
                        Reduction::Average => {
                            for (acc, &x) in out_pixel.iter_mut().zip(pixel) {
                                *acc += x;
                            }
                        }
                        Reduction::Max => {
                            for (max, &x) in out_pixel.iter_mut().zip(pixel) {
                                if x > *max {
                                    *max = x;
                                }
                            }
                        }
                    }
                }
            }
            if let Reduction::Average = reduction {
                // With dilation 1 every window overlaps the input, because SAME padding
                // puts at most (filter - 1) / 2 elements before it, so `count` is at least 1.
                let divisor = count.max(1) as f32;
                for acc in out_pixel.iter_mut() {
                    *acc /= divisor;
                }
            }
            for value in out_pixel.iter_mut() {
                *value = activation.apply(*value);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{activate, assert_close, perturb, reference_window, Lcg, Padded};
    use crate::ops::{window_output, Padding};
    use proptest::prelude::*;

    /// Direct f64 pooling over an explicitly padded input. Returns the outputs and their
    /// error scale (the mean of absolute values, or the maximum's absolute value).
    fn reference(
        average: bool,
        input: &[f32],
        in_shape: Hwc,
        filter: [u32; 2],
        window: Window,
        activation: Activation,
        out_shape: Hwc,
    ) -> (Vec<f64>, Vec<f64>) {
        let (_, pad_top) = reference_window(in_shape.h, filter[0], window.stride[0], 1, window.padding).unwrap();
        let (_, pad_left) = reference_window(in_shape.w, filter[1], window.stride[1], 1, window.padding).unwrap();
        let extent =
            [(out_shape.h - 1) * window.stride[0] + filter[0], (out_shape.w - 1) * window.stride[1] + filter[1]];
        let padded = Padded::new(input, in_shape, [pad_top, pad_left], extent);
        let (sh, sw) = (window.stride[0] as usize, window.stride[1] as usize);

        let mut values = Vec::new();
        let mut magnitudes = Vec::new();
        for oy in 0..out_shape.h as usize {
            for ox in 0..out_shape.w as usize {
                for c in 0..in_shape.c as usize {
                    let mut inside = Vec::new();
                    for ky in 0..filter[0] as usize {
                        for kx in 0..filter[1] as usize {
                            if let Some(x) = padded.get(oy * sh + ky, ox * sw + kx, c) {
                                inside.push(x);
                            }
                        }
                    }
                    let (value, magnitude) = if average {
                        let n = inside.len() as f64;
                        (inside.iter().sum::<f64>() / n, inside.iter().map(|x| x.abs()).sum::<f64>() / n)
                    } else {
                        let max = inside.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        (max, max.abs())
                    };
                    values.push(activate(activation, value));
                    magnitudes.push(magnitude);
                }
            }
        }
        (values, magnitudes)
    }

    #[test]
    fn pooling_matches_reference() {
        // (in_shape, filter, stride)
        let cases = [
            (Hwc { h: 4, w: 4, c: 3 }, [2, 2], [2, 2]),
            (Hwc { h: 5, w: 5, c: 2 }, [2, 2], [2, 2]),
            (Hwc { h: 5, w: 7, c: 2 }, [3, 3], [1, 1]),
            (Hwc { h: 6, w: 6, c: 2 }, [3, 3], [2, 2]),
            (Hwc { h: 7, w: 5, c: 3 }, [3, 3], [2, 2]),
            (Hwc { h: 6, w: 9, c: 1 }, [1, 4], [1, 3]),
            // The global average pool of a keyword-spotting DS-CNN.
            (Hwc { h: 25, w: 5, c: 8 }, [25, 5], [1, 1]),
        ];
        let mut rng = Lcg::new(21);
        let mut checked = 0;
        for (in_shape, filter, stride) in cases {
            for padding in [Padding::Same, Padding::Valid] {
                let window = Window { stride, dilation: [1, 1], padding };
                let (out_h, _) = window_output(in_shape.h, filter[0], stride[0], 1, padding).unwrap();
                let (out_w, _) = window_output(in_shape.w, filter[1], stride[1], 1, padding).unwrap();
                let out_shape = Hwc { h: out_h, w: out_w, c: in_shape.c };
                let input: Vec<f32> = rng.vec(in_shape.len().unwrap()).iter().map(|x| x * 8.0).collect();
                for activation in [Activation::None, Activation::Relu, Activation::Relu6] {
                    for average in [true, false] {
                        let mut output = vec![f32::NAN; out_shape.len().unwrap()];
                        let pool = if average { average_pool2d } else { max_pool2d };
                        pool(&input, in_shape, filter, window, activation, &mut output, out_shape).unwrap();
                        let (expected, magnitude) =
                            reference(average, &input, in_shape, filter, window, activation, out_shape);
                        let label =
                            format!("average {average} {in_shape:?} filter {filter:?} {window:?} {activation:?}");
                        assert_close(&output, &expected, &magnitude, &label);
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, cases.len() * 2 * 3 * 2, "configurations run");
    }

    #[test]
    fn average_pool_counts_only_in_bounds_elements() {
        // 3 × 3 SAME over a 4 × 4 ramp: a corner window covers 2 × 2 elements and an edge
        // window 2 × 3, so padding must not count towards the mean.
        let in_shape = Hwc { h: 4, w: 4, c: 1 };
        let input: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let window = Window { stride: [1, 1], dilation: [1, 1], padding: Padding::Same };
        let mut output = [0.0; 16];
        average_pool2d(&input, in_shape, [3, 3], window, Activation::None, &mut output, in_shape).unwrap();
        assert_eq!(output[0], (0.0 + 1.0 + 4.0 + 5.0) / 4.0, "top-left corner");
        assert_eq!(output[15], (10.0 + 11.0 + 14.0 + 15.0) / 4.0, "bottom-right corner");
        assert_eq!(output[1], (0.0 + 1.0 + 2.0 + 4.0 + 5.0 + 6.0) / 6.0, "top edge");
        assert_eq!(output[5], (0..3).flat_map(|y| (0..3).map(move |x| (y * 4 + x) as f32)).sum::<f32>() / 9.0);
    }

    #[test]
    fn max_pool_of_negative_input_ignores_padding() {
        let in_shape = Hwc { h: 3, w: 3, c: 2 };
        let input: Vec<f32> = (0..18).map(|i| -1.0 - i as f32).collect();
        let window = Window { stride: [2, 2], dilation: [1, 1], padding: Padding::Same };
        let out_shape = Hwc { h: 2, w: 2, c: 2 };
        let mut output = [0.0; 8];
        max_pool2d(&input, in_shape, [3, 3], window, Activation::None, &mut output, out_shape).unwrap();
        // Windows start at input rows and columns -1 and 1, so each window's largest
        // (least negative) element is its top-left in-bounds one.
        assert_eq!(output, [-1.0, -2.0, -3.0, -4.0, -7.0, -8.0, -9.0, -10.0]);
        assert!(output.iter().all(|&y| y < 0.0));
    }

    #[test]
    fn max_pool_skips_nan() {
        let in_shape = Hwc { h: 1, w: 3, c: 1 };
        let window = Window { stride: [1, 1], dilation: [1, 1], padding: Padding::Valid };
        let out_shape = Hwc { h: 1, w: 1, c: 1 };
        let mut output = [0.0];
        max_pool2d(&[f32::NAN, -2.0, f32::NAN], in_shape, [1, 3], window, Activation::None, &mut output, out_shape)
            .unwrap();
        assert_eq!(output, [-2.0]);
    }

    #[test]
    fn bad_arguments_fail() {
        let in_shape = Hwc { h: 4, w: 4, c: 2 };
        let out_shape = Hwc { h: 2, w: 2, c: 2 };
        let window = Window { stride: [2, 2], dilation: [1, 1], padding: Padding::Valid };
        let input = [1.0f32; 32];
        for pool in [average_pool2d, max_pool2d] {
            let run = |input: &[f32], in_shape, filter, window, output_len, out_shape| {
                let mut output = vec![0.0; output_len];
                pool(input, in_shape, filter, window, Activation::None, &mut output, out_shape)
            };
            assert_eq!(run(&input, in_shape, [2, 2], window, 8, out_shape), Ok(()));

            let invalid_operator = |result: Result<(), Error>| matches!(result, Err(Error::InvalidOperator { .. }));
            let buffer_length = |result: Result<(), Error>| matches!(result, Err(Error::BufferLength { .. }));
            assert!(invalid_operator(run(&input[..31], in_shape, [2, 2], window, 8, out_shape)), "short input");
            assert!(buffer_length(run(&input, in_shape, [2, 2], window, 7, out_shape)), "short output");
            assert!(buffer_length(run(&input, in_shape, [2, 2], window, 9, out_shape)), "long output");
            let dilated = Window { dilation: [2, 1], ..window };
            assert!(invalid_operator(run(&input, in_shape, [2, 2], dilated, 8, out_shape)), "dilation 2");
            let zero_stride = Window { stride: [2, 0], ..window };
            assert!(invalid_operator(run(&input, in_shape, [2, 2], zero_stride, 8, out_shape)), "zero stride");
            assert!(invalid_operator(run(&input, in_shape, [0, 2], window, 8, out_shape)), "zero filter");
            assert!(invalid_operator(run(&input, in_shape, [5, 2], window, 8, out_shape)), "filter too tall");
            let other_channels = Hwc { c: 1, ..out_shape };
            assert!(invalid_operator(run(&input, in_shape, [2, 2], window, 4, other_channels)), "channels");
            let wrong_height = Hwc { h: 3, ..out_shape };
            assert!(invalid_operator(run(&input, in_shape, [2, 2], window, 12, wrong_height)), "height");
        }
    }

    proptest! {
        /// Random shapes and lengths near the valid ones: pooling never panics, succeeds
        /// exactly when every argument is consistent, and then matches the reference.
        #[test]
        fn random_arguments_never_panic(
            (in_h, in_w, in_c, out_c) in (0u32..7, 0u32..7, 0u32..4, 0u32..4),
            (fh, fw, sh, sw) in (0u32..4, 0u32..4, 0u32..3, 0u32..3),
            (dh, same, average, seed) in (0u32..3, any::<bool>(), any::<bool>(), any::<u64>()),
            choices in prop::array::uniform4(any::<u8>()),
        ) {
            let padding = if same { Padding::Same } else { Padding::Valid };
            let window = Window { stride: [sh, sw], dilation: [dh, 1], padding };
            let in_shape = Hwc { h: in_h, w: in_w, c: in_c };
            let geometry_h = reference_window(in_h, fh, sh, 1, padding);
            let geometry_w = reference_window(in_w, fw, sw, 1, padding);
            let out_h = perturb(geometry_h.map_or(1, |g| g.0) as usize, choices[0]) as u32;
            let out_w = perturb(geometry_w.map_or(1, |g| g.0) as usize, choices[1]) as u32;
            let out_shape = Hwc { h: out_h, w: out_w, c: out_c };
            let input_len = perturb(in_shape.len().unwrap(), choices[2]);
            let output_len = perturb(out_shape.len().unwrap(), choices[3]);

            let input = Lcg::new(seed).vec(input_len);
            let mut output = vec![0.0; output_len];
            let pool = if average { average_pool2d } else { max_pool2d };
            let result = pool(&input, in_shape, [fh, fw], window, Activation::None, &mut output, out_shape);

            let consistent = in_h > 0 && in_w > 0 && in_c > 0
                && dh == 1
                && out_c == in_c
                && geometry_h.map(|g| g.0) == Some(out_h)
                && geometry_w.map(|g| g.0) == Some(out_w)
                && input_len == in_shape.len().unwrap()
                && output_len == out_shape.len().unwrap();
            prop_assert_eq!(result.is_ok(), consistent, "{:?}", result);
            if consistent {
                let (expected, magnitude) =
                    reference(average, &input, in_shape, [fh, fw], window, Activation::None, out_shape);
                assert_close(&output, &expected, &magnitude, "random pooling");
            }
        }
    }
}
