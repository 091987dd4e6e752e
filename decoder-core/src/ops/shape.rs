//! Tensor shapes and the geometry of sliding windows (convolution and pooling).

use serde::{Deserialize, Serialize};

use super::invalid;
use crate::Error;

/// Padding scheme of a sliding window, with TensorFlow's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Padding {
    /// Pads with zeros so that the output has `ceil(input / stride)` positions.
    Same,
    /// No padding: only positions where the whole window lies inside the input.
    Valid,
}

/// Shape of a batch-1 NHWC activation tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hwc {
    /// Height (rows).
    pub h: u32,
    /// Width (columns).
    pub w: u32,
    /// Channels.
    pub c: u32,
}

impl Hwc {
    /// Returns the number of elements `h × w × c`, or `None` if it overflows `usize`.
    pub fn len(&self) -> Option<usize> {
        let h = usize::try_from(self.h).ok()?;
        let w = usize::try_from(self.w).ok()?;
        let c = usize::try_from(self.c).ok()?;
        h.checked_mul(w)?.checked_mul(c)
    }

    /// Returns true when a dimension is zero, so the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.h == 0 || self.w == 0 || self.c == 0
    }
}

/// Stride, dilation and padding of a sliding window. Arrays are `[height, width]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Step between neighbouring output positions, in input elements.
    pub stride: [u32; 2],
    /// Step between neighbouring kernel taps, in input elements (1 for a dense kernel).
    pub dilation: [u32; 2],
    /// Padding scheme.
    pub padding: Padding,
}

/// Computes the output size of a convolution or pooling window along one axis and the
/// padding before the first input element, following TensorFlow's rules.
///
/// With the dilated kernel size `e = (kernel - 1) · dilation + 1`:
///
/// - VALID: `out = ceil((input - e + 1) / stride)`, no padding, and `None` when `e > input`.
/// - SAME: `out = ceil(input / stride)`. The total padding is
///   `max((out - 1) · stride + e - input, 0)` and `pad_before = total / 2`, so an odd total
///   puts the extra element after the input.
///
/// Returns `(out, pad_before)`, or `None` when `input`, `kernel`, `stride` or `dilation`
/// is zero or a size overflows `u32`.
pub fn window_output(input: u32, kernel: u32, stride: u32, dilation: u32, padding: Padding) -> Option<(u32, u32)> {
    if input == 0 || kernel == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    let input = u64::from(input);
    let stride = u64::from(stride);
    let effective = u64::from(kernel - 1).checked_mul(u64::from(dilation))?.checked_add(1)?;
    u32::try_from(effective).ok()?;
    match padding {
        Padding::Valid => {
            let span = input.checked_sub(effective)?;
            let out = span / stride + 1;
            Some((u32::try_from(out).ok()?, 0))
        }
        Padding::Same => {
            let out = input.div_ceil(stride);
            let covered = (out - 1).checked_mul(stride)?.checked_add(effective)?;
            let total = covered.saturating_sub(input);
            Some((u32::try_from(out).ok()?, u32::try_from(total / 2).ok()?))
        }
    }
}

/// Validated geometry of a window sliding over an NHWC input, shared by the
/// convolution and pooling operators.
pub(super) struct Geometry {
    /// Input shape `[h, w]`.
    input: [u32; 2],
    /// Output shape `[h, w]`.
    output: [u32; 2],
    kernel: [u32; 2],
    stride: [u32; 2],
    dilation: [u32; 2],
    /// Padding before the first input row and column.
    pad: [u32; 2],
}

impl Geometry {
    /// Checks that `input_len` matches `in_shape`, that kernel, stride and dilation are
    /// non-zero and that `out_shape` has the height and width that [`window_output`]
    /// gives. Channel counts are left to the operator.
    pub fn new(
        op: &'static str,
        input_len: usize,
        in_shape: Hwc,
        kernel: [u32; 2],
        window: Window,
        out_shape: Hwc,
    ) -> Result<Self, Error> {
        if in_shape.is_empty() || out_shape.is_empty() {
            return Err(invalid(op, "in_shape and out_shape must not have a zero dimension"));
        }
        let in_len = in_shape.len().ok_or(invalid(op, "in_shape has more elements than usize can count"))?;
        out_shape.len().ok_or(invalid(op, "out_shape has more elements than usize can count"))?;
        if input_len != in_len {
            return Err(invalid(op, "input length must equal in_shape.h × in_shape.w × in_shape.c"));
        }
        if kernel.contains(&0) {
            return Err(invalid(op, "kernel height and width must be at least 1"));
        }
        if window.stride.contains(&0) {
            return Err(invalid(op, "stride must be at least 1 along both axes"));
        }
        if window.dilation.contains(&0) {
            return Err(invalid(op, "dilation must be at least 1 along both axes"));
        }

        let input = [in_shape.h, in_shape.w];
        let mut pad = [0; 2];
        for axis in 0..2 {
            let (size, before) =
                window_output(input[axis], kernel[axis], window.stride[axis], window.dilation[axis], window.padding)
                    .ok_or(match window.padding {
                        Padding::Valid => {
                            invalid(op, "the dilated kernel is larger than the input, which VALID padding rejects")
                        }
                        Padding::Same => invalid(op, "the dilated kernel size overflows u32"),
                    })?;
            let expected = [out_shape.h, out_shape.w][axis];
            if size != expected {
                return Err(invalid(
                    op,
                    match axis {
                        0 => "out_shape.h must equal the output height that window_output gives for in_shape.h",
                        _ => "out_shape.w must equal the output width that window_output gives for in_shape.w",
                    },
                ));
            }
            pad[axis] = before;
        }

        Ok(Geometry {
            input,
            output: [out_shape.h, out_shape.w],
            kernel,
            stride: window.stride,
            dilation: window.dilation,
            pad,
        })
    }

    /// Output height and width.
    pub fn output(&self) -> [u32; 2] {
        self.output
    }

    /// Kernel height and width.
    pub fn kernel(&self) -> [u32; 2] {
        self.kernel
    }

    /// Returns the input row (`axis` 0) or column (`axis` 1) that kernel tap `tap` reads
    /// for output position `out`, or `None` when the tap falls into the padding.
    pub fn tap(&self, axis: usize, out: u32, tap: u32) -> Option<usize> {
        let stride = u64::from(*self.stride.get(axis)?);
        let dilation = u64::from(*self.dilation.get(axis)?);
        let start = u64::from(out).checked_mul(stride)?;
        let offset = u64::from(tap).checked_mul(dilation)?;
        let position = start.checked_add(offset)?.checked_sub(u64::from(*self.pad.get(axis)?))?;
        if position >= u64::from(*self.input.get(axis)?) {
            return None;
        }
        usize::try_from(position).ok()
    }

    /// Returns the index of the first element of pixel `(row, column)` in an NHWC buffer
    /// with this geometry's input width and `channels` channels.
    pub fn input_offset(&self, row: usize, column: usize, channels: usize) -> Option<usize> {
        let width = usize::try_from(self.input[1]).ok()?;
        row.checked_mul(width)?.checked_add(column)?.checked_mul(channels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output size by enumeration: every start position whose window matches the padding rule.
    fn brute_force_output(input: u32, kernel: u32, stride: u32, dilation: u32, padding: Padding) -> Option<u32> {
        let effective = (kernel - 1) * dilation + 1;
        let mut count = 0;
        let mut start = 0;
        while start < input {
            let fits = match padding {
                Padding::Valid => start + effective <= input,
                Padding::Same => true,
            };
            if fits {
                count += 1;
            }
            start += stride;
        }
        (count > 0).then_some(count)
    }

    #[test]
    fn window_output_matches_tensorflow_examples() {
        // (input, kernel, stride, dilation, padding, out, pad_before), worked out by hand
        // from TensorFlow's documented formulas.
        let cases = [
            (5, 3, 1, 1, Padding::Same, 5, 1),
            (5, 3, 2, 1, Padding::Same, 3, 1),
            (4, 3, 2, 1, Padding::Same, 2, 0),
            (6, 3, 2, 1, Padding::Same, 3, 0),
            (49, 10, 2, 1, Padding::Same, 25, 4),
            (10, 4, 1, 1, Padding::Same, 10, 1),
            (7, 3, 1, 2, Padding::Same, 7, 2),
            (5, 1, 2, 1, Padding::Same, 3, 0),
            (5, 3, 1, 1, Padding::Valid, 3, 0),
            (6, 3, 2, 1, Padding::Valid, 2, 0),
            (49, 10, 2, 1, Padding::Valid, 20, 0),
            (7, 3, 1, 2, Padding::Valid, 3, 0),
            (3, 3, 1, 1, Padding::Valid, 1, 0),
        ];
        for (input, kernel, stride, dilation, padding, out, before) in cases {
            assert_eq!(
                window_output(input, kernel, stride, dilation, padding),
                Some((out, before)),
                "input {input}, kernel {kernel}, stride {stride}, dilation {dilation}, {padding:?}"
            );
        }
    }

    #[test]
    fn window_output_rejects_misfits() {
        assert_eq!(window_output(2, 3, 1, 1, Padding::Valid), None);
        assert_eq!(window_output(5, 3, 1, 3, Padding::Valid), None);
        assert_eq!(window_output(0, 1, 1, 1, Padding::Same), None);
        assert_eq!(window_output(5, 0, 1, 1, Padding::Same), None);
        assert_eq!(window_output(5, 3, 0, 1, Padding::Same), None);
        assert_eq!(window_output(5, 3, 1, 0, Padding::Valid), None);
        assert_eq!(window_output(5, u32::MAX, 1, u32::MAX, Padding::Same), None);
        assert_eq!(window_output(u32::MAX, u32::MAX, u32::MAX, u32::MAX, Padding::Same), None);
    }

    #[test]
    fn window_output_matches_enumeration() {
        for input in 1..12 {
            for kernel in 1..5 {
                for stride in 1..4 {
                    for dilation in 1..4 {
                        for padding in [Padding::Same, Padding::Valid] {
                            let got = window_output(input, kernel, stride, dilation, padding).map(|(out, _)| out);
                            let expected = brute_force_output(input, kernel, stride, dilation, padding);
                            assert_eq!(
                                got, expected,
                                "input {input}, kernel {kernel}, stride {stride}, dilation {dilation}, {padding:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn same_padding_centres_the_windows() {
        // The padding after the input is the total minus pad_before, and never smaller.
        for input in 1..12u32 {
            for kernel in 1..6u32 {
                for stride in 1..4u32 {
                    let (out, before) = window_output(input, kernel, stride, 1, Padding::Same).unwrap();
                    let last_end = (out - 1) * stride + kernel;
                    let after = (last_end - before).saturating_sub(input);
                    assert!(after >= before, "input {input}, kernel {kernel}, stride {stride}");
                    assert!(after - before <= 1, "input {input}, kernel {kernel}, stride {stride}");
                }
            }
        }
    }

    #[test]
    fn hwc_len_checks_overflow() {
        assert_eq!(Hwc { h: 2, w: 3, c: 4 }.len(), Some(24));
        assert_eq!(Hwc { h: 0, w: 3, c: 4 }.len(), Some(0));
        assert!(Hwc { h: 0, w: 3, c: 4 }.is_empty());
        assert!(!Hwc { h: 1, w: 1, c: 1 }.is_empty());
        let huge = Hwc { h: u32::MAX, w: u32::MAX, c: u32::MAX };
        assert_eq!(huge.len(), None);
    }
}
