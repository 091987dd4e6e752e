//! Depthwise 2-D convolution over an NHWC input.

use super::shape::Geometry;
use super::{check_bias, check_buffer, element_mut, input_pixel, invalid, weight_row};
use super::{Activation, Hwc, WeightRows, Window};
use crate::Error;

const OP: &str = "depthwise_conv2d";

/// Computes a depthwise 2-D convolution of `input` (shape `in_shape`) into `output`
/// (shape `out_shape`).
///
/// Each input channel is convolved with `multiplier` filters of its own, so
/// `out_shape.c = in_shape.c × multiplier`, and output channel `oc` reads input channel
/// `oc / multiplier` (TensorFlow Lite's convention). `weights` has one row per output
/// channel, each `kernel[0] × kernel[1]` values laid out `[kh][kw]`. `bias`, when present,
/// has `out_shape.c` values.
///
/// The operator decodes one filter at a time into `scratch`, which must hold at least
/// `kernel[0] × kernel[1]` values. Each output starts at its bias (or `0.0`) and adds the
/// products in the order kernel row, kernel column, skipping taps in the padding. The
/// activation is applied last.
///
/// Fails with [`Error::InvalidOperator`] when the shapes, the window, the multiplier or
/// the weights are inconsistent, and with [`Error::BufferLength`] when `output` does not
/// have `out_shape` elements or `scratch` is shorter than a row. Errors from
/// [`WeightRows::decode_row`] are passed on.
#[allow(clippy::too_many_arguments)]
pub fn depthwise_conv2d(
    input: &[f32],
    in_shape: Hwc,
    weights: &impl WeightRows,
    kernel: [u32; 2],
    multiplier: u32,
    bias: Option<&[f32]>,
    window: Window,
    activation: Activation,
    output: &mut [f32],
    out_shape: Hwc,
    scratch: &mut [f32],
) -> Result<(), Error> {
    let geometry = Geometry::new(OP, input.len(), in_shape, kernel, window, out_shape)?;
    let too_large = invalid(OP, "a shape has more elements than usize can count");
    let in_channels = usize::try_from(in_shape.c).map_err(|_| too_large)?;
    let out_channels = usize::try_from(out_shape.c).map_err(|_| too_large)?;
    let kernel_w = usize::try_from(kernel[1]).map_err(|_| too_large)?;
    let multiplier_len = usize::try_from(multiplier).map_err(|_| too_large)?;

    if multiplier == 0 {
        return Err(invalid(OP, "depth multiplier must be at least 1"));
    }
    if in_shape.c.checked_mul(multiplier) != Some(out_shape.c) {
        return Err(invalid(OP, "out_shape.c must equal in_shape.c × depth multiplier"));
    }
    if weights.rows() != out_shape.c {
        return Err(invalid(OP, "weights must have one row per output channel (out_shape.c rows)"));
    }
    let row_len = kernel[0].checked_mul(kernel[1]);
    if row_len != Some(weights.row_len()) {
        return Err(invalid(OP, "weight row length must equal kernel height × kernel width"));
    }
    let row_len = usize::try_from(weights.row_len()).map_err(|_| too_large)?;
    check_bias(OP, bias, out_channels)?;
    check_buffer(output.len(), out_shape.len().ok_or(too_large)?)?;
    let filter = weight_row(scratch, row_len)?;

    let [out_h, out_w] = geometry.output();
    let [kernel_h, _] = geometry.kernel();
    for (channel, row) in (0..weights.rows()).enumerate() {
        weights.decode_row(row, filter)?;
        let start = bias.and_then(|bias| bias.get(channel)).copied().unwrap_or(0.0);
        let in_channel = channel / multiplier_len;

        let mut out_pixels = output.chunks_exact_mut(out_channels);
        for oy in 0..out_h {
            for (ox, out_pixel) in (0..out_w).zip(out_pixels.by_ref()) {
                let mut acc = start;
                for (ky, kernel_row) in (0..kernel_h).zip(filter.chunks_exact(kernel_w)) {
                    let Some(iy) = geometry.tap(0, oy, ky) else { continue };
                    for (kx, &w) in (0u32..).zip(kernel_row) {
                        let Some(ix) = geometry.tap(1, ox, kx) else { continue };
                        let offset = geometry
                            .input_offset(iy, ix, in_channels)
                            .and_then(|offset| offset.checked_add(in_channel));
                        // The one-element slice is input channel `in_channel` of the pixel.
                        for &x in input_pixel(OP, input, offset, 1)? {
                            acc += x * w;
                        }
                    }
                }
                *element_mut(out_pixel, channel)? = activation.apply(acc);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{activate, assert_close, perturb, reference_window, Lcg, Padded};
    use crate::ops::{window_output, DenseRows, Padding};
    use proptest::prelude::*;

    /// Direct f64 depthwise convolution over an explicitly padded input. Returns the
    /// outputs and, for each, the sum of absolute values of its terms.
    #[allow(clippy::too_many_arguments)]
    fn reference(
        input: &[f32],
        in_shape: Hwc,
        weights: &[f32],
        kernel: [u32; 2],
        multiplier: u32,
        bias: Option<&[f32]>,
        window: Window,
        activation: Activation,
        out_shape: Hwc,
    ) -> (Vec<f64>, Vec<f64>) {
        let (kh, kw) = (kernel[0] as usize, kernel[1] as usize);
        let (sh, sw) = (window.stride[0] as usize, window.stride[1] as usize);
        let (dh, dw) = (window.dilation[0] as usize, window.dilation[1] as usize);
        let (_, pad_top) =
            reference_window(in_shape.h, kernel[0], window.stride[0], window.dilation[0], window.padding).unwrap();
        let (_, pad_left) =
            reference_window(in_shape.w, kernel[1], window.stride[1], window.dilation[1], window.padding).unwrap();
        let extent = [
            (out_shape.h - 1) * window.stride[0] + (kernel[0] - 1) * window.dilation[0] + 1,
            (out_shape.w - 1) * window.stride[1] + (kernel[1] - 1) * window.dilation[1] + 1,
        ];
        let padded = Padded::new(input, in_shape, [pad_top, pad_left], extent);

        let mut values = Vec::new();
        let mut magnitudes = Vec::new();
        for oy in 0..out_shape.h as usize {
            for ox in 0..out_shape.w as usize {
                for ic in 0..in_shape.c as usize {
                    for m in 0..multiplier as usize {
                        let oc = ic * multiplier as usize + m;
                        let b = bias.map_or(0.0, |b| f64::from(b[oc]));
                        let mut sum = b;
                        let mut magnitude = b.abs();
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let x = padded.get(oy * sh + ky * dh, ox * sw + kx * dw, ic).unwrap_or(0.0);
                                let w = f64::from(weights[(oc * kh + ky) * kw + kx]);
                                sum += x * w;
                                magnitude += (x * w).abs();
                            }
                        }
                        values.push(activate(activation, sum));
                        magnitudes.push(magnitude);
                    }
                }
            }
        }
        (values, magnitudes)
    }

    #[test]
    fn depthwise_matches_reference() {
        // (in_shape, kernel, stride, dilation)
        let cases = [
            (Hwc { h: 5, w: 5, c: 3 }, [1, 1], [1, 1], [1, 1]),
            (Hwc { h: 5, w: 5, c: 3 }, [3, 3], [1, 1], [1, 1]),
            (Hwc { h: 6, w: 6, c: 2 }, [3, 3], [2, 2], [1, 1]),
            (Hwc { h: 7, w: 8, c: 2 }, [3, 3], [2, 1], [1, 1]),
            (Hwc { h: 7, w: 6, c: 2 }, [3, 3], [1, 1], [2, 2]),
            (Hwc { h: 25, w: 5, c: 4 }, [3, 3], [1, 1], [1, 1]),
            (Hwc { h: 12, w: 6, c: 2 }, [10, 4], [2, 2], [1, 1]),
        ];
        let mut rng = Lcg::new(3);
        let mut checked = 0;
        for (in_shape, kernel, stride, dilation) in cases {
            for multiplier in [1, 2] {
                for padding in [Padding::Same, Padding::Valid] {
                    let window = Window { stride, dilation, padding };
                    let (out_h, _) = window_output(in_shape.h, kernel[0], stride[0], dilation[0], padding).unwrap();
                    let (out_w, _) = window_output(in_shape.w, kernel[1], stride[1], dilation[1], padding).unwrap();
                    let out_shape = Hwc { h: out_h, w: out_w, c: in_shape.c * multiplier };
                    let row_len = (kernel[0] * kernel[1]) as usize;
                    let input: Vec<f32> = rng.vec(in_shape.len().unwrap()).iter().map(|x| x * 3.0).collect();
                    let weights: Vec<f32> = rng.vec(row_len * out_shape.c as usize).iter().map(|w| w * 2.0).collect();
                    let bias = rng.vec(out_shape.c as usize);
                    for activation in [Activation::None, Activation::Relu, Activation::Relu6] {
                        for bias in [None, Some(bias.as_slice())] {
                            let mut output = vec![f32::NAN; out_shape.len().unwrap()];
                            let mut scratch = vec![0.0; row_len];
                            depthwise_conv2d(
                                &input,
                                in_shape,
                                &DenseRows { data: &weights, rows: out_shape.c },
                                kernel,
                                multiplier,
                                bias,
                                window,
                                activation,
                                &mut output,
                                out_shape,
                                &mut scratch,
                            )
                            .unwrap();
                            let (expected, magnitude) = reference(
                                &input, in_shape, &weights, kernel, multiplier, bias, window, activation, out_shape,
                            );
                            let label = format!(
                                "depthwise {in_shape:?} kernel {kernel:?} multiplier {multiplier} {window:?} {activation:?}"
                            );
                            assert_close(&output, &expected, &magnitude, &label);
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, cases.len() * 2 * 2 * 3 * 2, "configurations run");
    }

    #[test]
    fn multiplier_maps_output_to_input_channel() {
        // Input channel c contains the constant c + 1 and each filter is a single tap of 1,
        // so output channel oc must equal (oc / multiplier) + 1.
        let in_shape = Hwc { h: 2, w: 2, c: 3 };
        let input: Vec<f32> = (0..12).map(|i| (i % 3 + 1) as f32).collect();
        let out_shape = Hwc { h: 2, w: 2, c: 6 };
        let weights = [1.0f32; 6];
        let window = Window { stride: [1, 1], dilation: [1, 1], padding: Padding::Valid };
        let mut output = [0.0; 24];
        let mut scratch = [0.0; 1];
        depthwise_conv2d(
            &input,
            in_shape,
            &DenseRows { data: &weights, rows: 6 },
            [1, 1],
            2,
            None,
            window,
            Activation::None,
            &mut output,
            out_shape,
            &mut scratch,
        )
        .unwrap();
        for (i, &value) in output.iter().enumerate() {
            let oc = i % 6;
            assert_eq!(value, (oc / 2 + 1) as f32, "output {i}");
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        input_len: usize,
        in_shape: Hwc,
        weights: DenseRows<'_>,
        kernel: [u32; 2],
        multiplier: u32,
        bias_len: usize,
        window: Window,
        (output_len, out_shape): (usize, Hwc),
        scratch_len: usize,
    ) -> Result<(), Error> {
        let mut output = vec![0.0; output_len];
        let mut scratch = vec![0.0; scratch_len];
        let input = vec![1.0; input_len];
        let bias = vec![0.0; bias_len];
        depthwise_conv2d(
            &input,
            in_shape,
            &weights,
            kernel,
            multiplier,
            Some(&bias),
            window,
            Activation::Relu6,
            &mut output,
            out_shape,
            &mut scratch,
        )
    }

    #[test]
    fn bad_arguments_fail() {
        let in_shape = Hwc { h: 4, w: 4, c: 2 };
        let out_shape = Hwc { h: 2, w: 2, c: 4 };
        let window = Window { stride: [2, 2], dilation: [1, 1], padding: Padding::Same };
        let data = [0.5f32; 36];
        let weights = DenseRows { data: &data, rows: 4 };
        let out = (16, out_shape);
        assert_eq!(run(32, in_shape, weights, [3, 3], 2, 4, window, out, 9), Ok(()));

        let invalid_operator = |result: Result<(), Error>| matches!(result, Err(Error::InvalidOperator { .. }));
        let buffer_length = |result: Result<(), Error>| matches!(result, Err(Error::BufferLength { .. }));
        assert!(invalid_operator(run(31, in_shape, weights, [3, 3], 2, 4, window, out, 9)), "short input");
        assert!(buffer_length(run(32, in_shape, weights, [3, 3], 2, 4, window, (15, out_shape), 9)), "short output");
        assert!(buffer_length(run(32, in_shape, weights, [3, 3], 2, 4, window, out, 8)), "small scratch");
        assert!(invalid_operator(run(32, in_shape, weights, [3, 3], 1, 4, window, out, 9)), "multiplier 1");
        assert!(invalid_operator(run(32, in_shape, weights, [3, 3], 0, 4, window, out, 9)), "multiplier 0");
        assert!(invalid_operator(run(32, in_shape, weights, [3, 3], 2, 3, window, out, 9)), "short bias");
        let zero_stride = Window { stride: [0, 2], ..window };
        assert!(invalid_operator(run(32, in_shape, weights, [3, 3], 2, 4, zero_stride, out, 9)), "zero stride");
        let wide = DenseRows { data: &data[..32], rows: 4 };
        assert!(invalid_operator(run(32, in_shape, wide, [3, 3], 2, 4, window, out, 9)), "row_len 8");
        let two_rows = DenseRows { data: &data[..18], rows: 2 };
        assert!(invalid_operator(run(32, in_shape, two_rows, [3, 3], 2, 4, window, out, 9)), "2 rows");
        let valid = Window { padding: Padding::Valid, ..window };
        assert!(invalid_operator(run(32, in_shape, weights, [3, 3], 2, 4, valid, out, 9)), "VALID gives 1 × 1");
        assert!(invalid_operator(run(32, in_shape, weights, [3, 3], u32::MAX, 4, window, out, 9)), "huge multiplier");
    }

    proptest! {
        /// Random shapes and lengths near the valid ones: the operator never panics, succeeds
        /// exactly when every argument is consistent, and then matches the reference.
        #[test]
        fn random_arguments_never_panic(
            (in_h, in_w, in_c, multiplier) in (0u32..7, 0u32..7, 0u32..4, 0u32..3),
            (kh, kw, sh, sw) in (0u32..4, 0u32..4, 0u32..3, 0u32..3),
            (dh, dw, same, seed) in (0u32..3, 0u32..3, any::<bool>(), any::<u64>()),
            choices in prop::array::uniform8(any::<u8>()),
        ) {
            let padding = if same { Padding::Same } else { Padding::Valid };
            let window = Window { stride: [sh, sw], dilation: [dh, dw], padding };
            let in_shape = Hwc { h: in_h, w: in_w, c: in_c };
            let geometry_h = reference_window(in_h, kh, sh, dh, padding);
            let geometry_w = reference_window(in_w, kw, sw, dw, padding);
            let out_h = perturb(geometry_h.map_or(1, |g| g.0) as usize, choices[0]) as u32;
            let out_w = perturb(geometry_w.map_or(1, |g| g.0) as usize, choices[1]) as u32;
            let out_c = perturb((in_c * multiplier) as usize, choices[2]) as u32;
            let out_shape = Hwc { h: out_h, w: out_w, c: out_c };
            let row_len = (kh * kw) as usize;
            let rows = perturb(out_c as usize, choices[3]) as u32;
            let input_len = perturb(in_shape.len().unwrap(), choices[4]);
            let output_len = perturb(out_shape.len().unwrap(), choices[5]);
            let bias_len = perturb(out_c as usize, choices[6]);
            let scratch_len = perturb(row_len, choices[7]);

            let mut rng = Lcg::new(seed);
            let input = rng.vec(input_len);
            let weights = rng.vec(rows as usize * row_len);
            let bias = rng.vec(bias_len);
            let mut output = vec![0.0; output_len];
            let mut scratch = vec![0.0; scratch_len];
            let result = depthwise_conv2d(
                &input,
                in_shape,
                &DenseRows { data: &weights, rows },
                [kh, kw],
                multiplier,
                Some(&bias),
                window,
                Activation::None,
                &mut output,
                out_shape,
                &mut scratch,
            );

            let consistent = in_h > 0 && in_w > 0 && in_c > 0 && multiplier > 0
                && geometry_h.map(|g| g.0) == Some(out_h)
                && geometry_w.map(|g| g.0) == Some(out_w)
                && out_c == in_c * multiplier
                && input_len == in_shape.len().unwrap()
                && rows == out_c
                && bias_len == out_c as usize
                && output_len == out_shape.len().unwrap()
                && scratch_len >= row_len;
            prop_assert_eq!(result.is_ok(), consistent, "{:?}", result);
            if consistent {
                let (expected, magnitude) = reference(
                    &input, in_shape, &weights, [kh, kw], multiplier, Some(&bias), window, Activation::None, out_shape,
                );
                assert_close(&output, &expected, &magnitude, "random depthwise_conv2d");
            }
        }
    }
}
