//! 2-D convolution over an NHWC input.

use super::shape::Geometry;
use super::{check_bias, check_buffer, element_mut, input_pixel, invalid, weight_row};
use super::{Activation, Hwc, WeightRows, Window};
use crate::Error;

const OP: &str = "conv2d";

/// Computes a 2-D convolution of `input` (shape `in_shape`) into `output` (shape `out_shape`).
///
/// `weights` has one row per output channel (`out_shape.c` rows). A row is one filter of
/// `kernel[0] × kernel[1] × in_shape.c` values laid out `[kh][kw][in_c]`, as in TensorFlow
/// Lite's OHWI layout. `bias`, when present, has `out_shape.c` values.
///
/// The operator decodes one filter at a time into `scratch`, which must hold at least one
/// row, and computes that output channel at every position. It never stores more than one
/// row of weights at a time. Each output starts at its bias (or `0.0`) and adds the products in the
/// order kernel row, kernel column, input channel, skipping taps in the padding. The
/// activation is applied last.
///
/// Fails with [`Error::InvalidOperator`] when the shapes, the window or the weights are
/// inconsistent, and with [`Error::BufferLength`] when `output` does not have
/// `out_shape` elements or `scratch` is shorter than a row. Errors from
/// [`WeightRows::decode_row`] are passed on.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    input: &[f32],
    in_shape: Hwc,
    weights: &impl WeightRows,
    kernel: [u32; 2],
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

    if weights.rows() != out_shape.c {
        return Err(invalid(OP, "weights must have one row per output channel (out_shape.c rows)"));
    }
    let row_len =
        u64::from(kernel[0]).checked_mul(u64::from(kernel[1])).and_then(|taps| taps.checked_mul(u64::from(in_shape.c)));
    if row_len != Some(u64::from(weights.row_len())) {
        return Err(invalid(OP, "weight row length must equal kernel height × kernel width × in_shape.c"));
    }
    let row_len = usize::try_from(weights.row_len()).map_err(|_| too_large)?;
    let kernel_row_len = kernel_w.checked_mul(in_channels).ok_or(too_large)?;
    check_bias(OP, bias, out_channels)?;
    check_buffer(output.len(), out_shape.len().ok_or(too_large)?)?;
    let filter = weight_row(scratch, row_len)?;

    let [out_h, out_w] = geometry.output();
    let [kernel_h, _] = geometry.kernel();
    for (channel, row) in (0..weights.rows()).enumerate() {
        weights.decode_row(row, filter)?;
        let start = bias.and_then(|bias| bias.get(channel)).copied().unwrap_or(0.0);

        let mut out_pixels = output.chunks_exact_mut(out_channels);
        for oy in 0..out_h {
            for (ox, out_pixel) in (0..out_w).zip(out_pixels.by_ref()) {
                let mut acc = start;
                for (ky, kernel_row) in (0..kernel_h).zip(filter.chunks_exact(kernel_row_len)) {
                    let Some(iy) = geometry.tap(0, oy, ky) else { continue };
                    for (kx, tap) in (0u32..).zip(kernel_row.chunks_exact(in_channels)) {
                        let Some(ix) = geometry.tap(1, ox, kx) else { continue };
                        let pixel = input_pixel(OP, input, geometry.input_offset(iy, ix, in_channels), in_channels)?;
                        for (&x, &w) in pixel.iter().zip(tap) {
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

    /// Direct f64 convolution over an explicitly padded input. Returns the outputs and,
    /// for each, the sum of absolute values of its terms (the scale of its rounding error).
    #[allow(clippy::too_many_arguments)]
    fn reference(
        input: &[f32],
        in_shape: Hwc,
        weights: &[f32],
        kernel: [u32; 2],
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
        let in_c = in_shape.c as usize;
        let out_c = out_shape.c as usize;

        let mut values = Vec::new();
        let mut magnitudes = Vec::new();
        for oy in 0..out_shape.h as usize {
            for ox in 0..out_shape.w as usize {
                for oc in 0..out_c {
                    let b = bias.map_or(0.0, |b| f64::from(b[oc]));
                    let mut sum = b;
                    let mut magnitude = b.abs();
                    for ky in 0..kh {
                        for kx in 0..kw {
                            for ic in 0..in_c {
                                let x = padded.get(oy * sh + ky * dh, ox * sw + kx * dw, ic).unwrap_or(0.0);
                                let w = f64::from(weights[((oc * kh + ky) * kw + kx) * in_c + ic]);
                                sum += x * w;
                                magnitude += (x * w).abs();
                            }
                        }
                    }
                    values.push(activate(activation, sum));
                    magnitudes.push(magnitude);
                }
            }
        }
        (values, magnitudes)
    }

    struct Case {
        in_shape: Hwc,
        kernel: [u32; 2],
        out_c: u32,
        stride: [u32; 2],
        dilation: [u32; 2],
    }

    fn cases() -> Vec<Case> {
        let case = |h, w, c, kernel, out_c, stride, dilation| Case {
            in_shape: Hwc { h, w, c },
            kernel,
            out_c,
            stride,
            dilation,
        };
        vec![
            case(5, 5, 3, [1, 1], 4, [1, 1], [1, 1]),
            case(6, 6, 2, [1, 1], 3, [2, 2], [1, 1]),
            case(5, 5, 3, [3, 3], 4, [1, 1], [1, 1]),
            case(6, 6, 2, [3, 3], 3, [1, 1], [1, 1]),
            case(5, 7, 3, [3, 3], 2, [2, 2], [1, 1]),
            case(6, 8, 2, [3, 3], 2, [2, 2], [1, 1]),
            case(7, 6, 2, [3, 3], 2, [1, 1], [2, 2]),
            case(8, 9, 2, [3, 3], 2, [2, 1], [2, 1]),
            // The first layer of a keyword-spotting DS-CNN: 49 × 10 MFCC input, 10 × 4 kernel.
            case(49, 10, 1, [10, 4], 8, [2, 2], [1, 1]),
            case(12, 5, 2, [10, 4], 3, [1, 1], [1, 1]),
            case(4, 4, 1, [3, 2], 2, [1, 2], [1, 1]),
        ]
    }

    #[test]
    fn conv2d_matches_reference() {
        let mut rng = Lcg::new(7);
        let mut checked = 0;
        for case in cases() {
            for padding in [Padding::Same, Padding::Valid] {
                let window = Window { stride: case.stride, dilation: case.dilation, padding };
                let Some((out_h, _)) =
                    window_output(case.in_shape.h, case.kernel[0], case.stride[0], case.dilation[0], padding)
                else {
                    continue;
                };
                let Some((out_w, _)) =
                    window_output(case.in_shape.w, case.kernel[1], case.stride[1], case.dilation[1], padding)
                else {
                    continue;
                };
                let out_shape = Hwc { h: out_h, w: out_w, c: case.out_c };
                let row_len = (case.kernel[0] * case.kernel[1] * case.in_shape.c) as usize;
                let input = rng.vec(case.in_shape.len().unwrap());
                // Weights of ±2 push some sums past 6, so ReLU6 clips.
                let weights: Vec<f32> = rng.vec(row_len * case.out_c as usize).iter().map(|w| w * 2.0).collect();
                let bias = rng.vec(case.out_c as usize);
                for activation in [Activation::None, Activation::Relu, Activation::Relu6] {
                    for bias in [None, Some(bias.as_slice())] {
                        let mut output = vec![f32::NAN; out_shape.len().unwrap()];
                        let mut scratch = vec![0.0; row_len + 3];
                        conv2d(
                            &input,
                            case.in_shape,
                            &DenseRows { data: &weights, rows: case.out_c },
                            case.kernel,
                            bias,
                            window,
                            activation,
                            &mut output,
                            out_shape,
                            &mut scratch,
                        )
                        .unwrap();
                        let (expected, magnitude) = reference(
                            &input,
                            case.in_shape,
                            &weights,
                            case.kernel,
                            bias,
                            window,
                            activation,
                            out_shape,
                        );
                        let label = format!(
                            "conv2d {:?} kernel {:?} {window:?} {activation:?} bias {}",
                            case.in_shape,
                            case.kernel,
                            bias.is_some()
                        );
                        assert_close(&output, &expected, &magnitude, &label);
                        checked += 1;
                    }
                }
            }
        }
        // Every case fits with both paddings: 2 paddings × 3 activations × 2 bias settings.
        assert_eq!(checked, cases().len() * 12, "configurations run");
    }

    #[test]
    fn conv2d_accumulates_in_documented_order() {
        // An f32 loop in the documented order (bias, then kh, kw, in_c, padding skipped)
        // must reproduce the operator bit for bit.
        let mut rng = Lcg::new(11);
        let in_shape = Hwc { h: 6, w: 5, c: 3 };
        let kernel = [3, 2];
        let window = Window { stride: [2, 1], dilation: [1, 2], padding: Padding::Same };
        let (out_h, pad_top) = window_output(6, 3, 2, 1, Padding::Same).unwrap();
        let (out_w, pad_left) = window_output(5, 2, 1, 2, Padding::Same).unwrap();
        let out_shape = Hwc { h: out_h, w: out_w, c: 4 };
        let input: Vec<f32> = rng.vec(90).iter().map(|x| x * 1000.0).collect();
        let weights: Vec<f32> = rng.vec(4 * 18).iter().map(|x| x * 0.001).collect();
        let bias = rng.vec(4);
        let mut output = vec![0.0; out_shape.len().unwrap()];
        let mut scratch = [0.0; 18];
        conv2d(
            &input,
            in_shape,
            &DenseRows { data: &weights, rows: 4 },
            kernel,
            Some(&bias),
            window,
            Activation::None,
            &mut output,
            out_shape,
            &mut scratch,
        )
        .unwrap();

        for oy in 0..out_h as i64 {
            for ox in 0..out_w as i64 {
                for oc in 0..4usize {
                    let mut acc = bias[oc];
                    for ky in 0..3i64 {
                        for kx in 0..2i64 {
                            let iy = oy * 2 + ky - i64::from(pad_top);
                            let ix = ox + kx * 2 - i64::from(pad_left);
                            if !(0..6).contains(&iy) || !(0..5).contains(&ix) {
                                continue;
                            }
                            for ic in 0..3usize {
                                let x = input[((iy * 5 + ix) as usize) * 3 + ic];
                                acc += x * weights[oc * 18 + (ky as usize * 2 + kx as usize) * 3 + ic];
                            }
                        }
                    }
                    let got = output[((oy * out_w as i64 + ox) as usize) * 4 + oc];
                    assert_eq!(got.to_bits(), acc.to_bits(), "output ({oy}, {ox}, {oc})");
                }
            }
        }
    }

    /// Arguments of a valid 3 × 3 convolution, which `bad_arguments_fail` breaks one at a time.
    struct Args {
        input: Vec<f32>,
        in_shape: Hwc,
        weights: Vec<f32>,
        rows: u32,
        kernel: [u32; 2],
        bias: Option<Vec<f32>>,
        window: Window,
        output_len: usize,
        out_shape: Hwc,
        scratch_len: usize,
    }

    impl Args {
        fn valid() -> Self {
            Args {
                input: vec![0.5; 5 * 4 * 2],
                in_shape: Hwc { h: 5, w: 4, c: 2 },
                weights: vec![0.25; 3 * 18],
                rows: 3,
                kernel: [3, 3],
                bias: Some(vec![0.0; 3]),
                window: Window { stride: [2, 1], dilation: [1, 1], padding: Padding::Same },
                output_len: 3 * 4 * 3,
                out_shape: Hwc { h: 3, w: 4, c: 3 },
                scratch_len: 18,
            }
        }

        fn run(&self) -> Result<(), Error> {
            let mut output = vec![0.0; self.output_len];
            let mut scratch = vec![0.0; self.scratch_len];
            conv2d(
                &self.input,
                self.in_shape,
                &DenseRows { data: &self.weights, rows: self.rows },
                self.kernel,
                self.bias.as_deref(),
                self.window,
                Activation::Relu,
                &mut output,
                self.out_shape,
                &mut scratch,
            )
        }
    }

    #[test]
    fn bad_arguments_fail() {
        assert_eq!(Args::valid().run(), Ok(()));
        let invalid_operator = |e: &Error| matches!(e, Error::InvalidOperator { op: "conv2d", .. });
        let buffer_length = |e: &Error| matches!(e, Error::BufferLength { .. });
        type Mutation = (&'static str, fn(&mut Args), fn(&Error) -> bool);
        let mutations: [Mutation; 17] = [
            ("short input", |a| a.input.truncate(39), invalid_operator),
            ("long input", |a| a.input.push(0.0), invalid_operator),
            ("short output", |a| a.output_len -= 1, buffer_length),
            ("long output", |a| a.output_len += 1, buffer_length),
            ("small scratch", |a| a.scratch_len = 17, buffer_length),
            ("zero stride", |a| a.window.stride = [0, 1], invalid_operator),
            ("zero dilation", |a| a.window.dilation = [1, 0], invalid_operator),
            ("zero kernel", |a| a.kernel = [0, 3], invalid_operator),
            ("wrong out height", |a| a.out_shape.h = 5, invalid_operator),
            ("wrong out width", |a| a.out_shape.w = 2, invalid_operator),
            ("zero channels", |a| a.in_shape.c = 0, invalid_operator),
            ("extra weight row", |a| a.rows = 4, invalid_operator),
            ("weight row too long", |a| a.weights.extend([0.0; 3]), invalid_operator),
            ("weights ragged", |a| a.weights.push(0.0), |e| matches!(e, Error::LengthMismatch { .. })),
            ("short bias", |a| a.bias = Some(vec![0.0; 2]), invalid_operator),
            ("kernel too big for VALID", |a| a.window.padding = Padding::Valid, invalid_operator),
            ("huge shape", |a| a.in_shape = Hwc { h: u32::MAX, w: u32::MAX, c: u32::MAX }, invalid_operator),
        ];
        for (name, mutate, expected) in mutations {
            let mut args = Args::valid();
            if name == "kernel too big for VALID" {
                args.in_shape = Hwc { h: 2, w: 10, c: 2 };
            }
            mutate(&mut args);
            let result = args.run();
            assert!(matches!(&result, Err(e) if expected(e)), "{name}: {result:?}");
        }
    }

    proptest! {
        /// Random shapes and lengths near the valid ones: the operator never panics, succeeds
        /// exactly when every argument is consistent, and then matches the reference.
        #[test]
        fn random_arguments_never_panic(
            (in_h, in_w, in_c, out_c) in (0u32..7, 0u32..7, 0u32..4, 0u32..4),
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
            let out_shape = Hwc { h: out_h, w: out_w, c: out_c };
            let row_len = (kh * kw * in_c) as usize;
            let rows = perturb(out_c as usize, choices[2]) as u32;
            let data_row_len = perturb(row_len, choices[3]);
            let input_len = perturb(in_shape.len().unwrap(), choices[4]);
            let output_len = perturb(out_shape.len().unwrap(), choices[5]);
            let bias_len = perturb(out_c as usize, choices[6]);
            let scratch_len = perturb(row_len, choices[7]);

            let mut rng = Lcg::new(seed);
            let input = rng.vec(input_len);
            let weights = rng.vec(rows as usize * data_row_len);
            let bias = rng.vec(bias_len);
            let mut output = vec![0.0; output_len];
            let mut scratch = vec![0.0; scratch_len];
            let result = conv2d(
                &input,
                in_shape,
                &DenseRows { data: &weights, rows },
                [kh, kw],
                Some(&bias),
                window,
                Activation::None,
                &mut output,
                out_shape,
                &mut scratch,
            );

            let consistent = in_h > 0 && in_w > 0 && in_c > 0 && out_c > 0
                && geometry_h.map(|g| g.0) == Some(out_h)
                && geometry_w.map(|g| g.0) == Some(out_w)
                && input_len == in_shape.len().unwrap()
                && rows == out_c
                && data_row_len == row_len
                && bias_len == out_c as usize
                && output_len == out_shape.len().unwrap()
                && scratch_len >= row_len;
            prop_assert_eq!(result.is_ok(), consistent, "{:?}", result);
            if consistent {
                let (expected, magnitude) =
                    reference(&input, in_shape, &weights, [kh, kw], Some(&bias), window, Activation::None, out_shape);
                assert_close(&output, &expected, &magnitude, "random conv2d");
            }
        }
    }
}
