//! Float32 inference operators that read weights one row at a time.
//!
//! Activations are `f32` tensors in NHWC layout with batch 1, passed as flat slices
//! together with their [`Hwc`] shape. Weights come from a [`WeightRows`] source, so a
//! compressed [`crate::Tensor`] is decoded one output channel at a time into a scratch
//! buffer that the caller owns. No operator allocates.
//!
//! # Determinism
//!
//! Every operator uses only IEEE-754 `f32` addition, subtraction, multiplication,
//! division and comparison, in a fixed order. Rust never contracts `a * b + c` into a
//! fused multiply-add, so x86-64, Cortex-M and RISC-V produce bit-identical outputs. The
//! order that fixes the bits:
//!
//! - convolutions and fully connected layers start the accumulator at the bias (or `0.0`)
//!   and add products in the order kernel row, kernel column, input channel, which is the
//!   order of a weight row. Taps that fall into the padding are skipped, not multiplied
//!   by zero.
//! - pooling visits the window in the order kernel row, kernel column.
//! - softmax uses its own exponential ([`exp::exp`]) instead of a platform `expf`.
//!
//! # Errors
//!
//! Operators check every slice length, shape and parameter before computing anything.
//! A wrong output or scratch length returns [`Error::BufferLength`], and any other
//! inconsistency returns [`Error::InvalidOperator`]. No input makes an operator panic.

pub mod conv;
pub mod depthwise;
pub mod elementwise;
pub mod exp;
pub mod fully_connected;
pub mod pool;
pub mod shape;
pub mod softmax;
pub mod weights;

pub use conv::conv2d;
pub use depthwise::depthwise_conv2d;
pub use elementwise::{add, apply_activation, Activation};
pub use fully_connected::fully_connected;
pub use pool::{average_pool2d, max_pool2d};
pub use shape::{window_output, Hwc, Padding, Window};
pub use softmax::{softmax, softmax_rows};
pub use weights::{DenseRows, WeightRows};

use crate::Error;

/// Builds the [`Error::InvalidOperator`] for operator `op`.
fn invalid(op: &'static str, reason: &'static str) -> Error {
    Error::InvalidOperator { op, reason }
}

/// Checks that a buffer the operator writes to has exactly `expected` elements.
fn check_buffer(found: usize, expected: usize) -> Result<(), Error> {
    if found != expected {
        return Err(Error::BufferLength { expected, found });
    }
    Ok(())
}

/// Returns element `index` of an output buffer whose length was checked before.
///
/// The operators only ask for indices below the checked length, so the error is
/// unreachable. It exists so that a logic error returns `Err` instead of panicking.
fn element_mut(buffer: &mut [f32], index: usize) -> Result<&mut f32, Error> {
    let found = buffer.len();
    buffer.get_mut(index).ok_or(Error::BufferLength { expected: index.saturating_add(1), found })
}

/// Checks an optional bias against the number of output channels.
fn check_bias(op: &'static str, bias: Option<&[f32]>, channels: usize) -> Result<(), Error> {
    match bias {
        Some(bias) if bias.len() != channels => {
            Err(invalid(op, "bias length must equal the number of output channels"))
        }
        _ => Ok(()),
    }
}

/// Splits off the first `len` elements of `scratch`, the buffer one weight row is decoded into.
fn weight_row(scratch: &mut [f32], len: usize) -> Result<&mut [f32], Error> {
    let found = scratch.len();
    scratch.get_mut(..len).ok_or(Error::BufferLength { expected: len, found })
}

/// Returns `input[start..start + len]`, the channels of one input pixel.
///
/// The shape checks guarantee that every pixel an operator reads lies inside `input`, so
/// the error is unreachable. It exists so that a logic error returns `Err` instead of
/// panicking.
fn input_pixel<'a>(op: &'static str, input: &'a [f32], start: Option<usize>, len: usize) -> Result<&'a [f32], Error> {
    start.and_then(|start| input.get(start..)?.get(..len)).ok_or(invalid(
        op,
        "an input pixel lies outside the input buffer, which the shape checks should have prevented",
    ))
}

/// Test helpers shared by the operator modules: deterministic data and tolerances.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Activation, Hwc, Padding};

    /// A linear congruential generator (Knuth's MMIX constants) for reproducible test data.
    pub struct Lcg(u64);

    impl Lcg {
        pub fn new(seed: u64) -> Self {
            Lcg(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1))
        }

        /// Uniform value in `[-1, 1)`, with 24 random bits.
        pub fn next_f32(&mut self) -> f32 {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let bits = (self.0 >> 40) as u32;
            bits as f32 / (1u32 << 23) as f32 - 1.0
        }

        pub fn vec(&mut self, len: usize) -> Vec<f32> {
            (0..len).map(|_| self.next_f32()).collect()
        }
    }

    /// Output size and padding before the input by TensorFlow's definition: the output
    /// size counts start positions by enumeration, and SAME padding splits the total
    /// `(out - 1) · stride + e - input` with the smaller half first.
    pub fn reference_window(
        input: u32,
        kernel: u32,
        stride: u32,
        dilation: u32,
        padding: Padding,
    ) -> Option<(u32, u32)> {
        if input == 0 || kernel == 0 || stride == 0 || dilation == 0 {
            return None;
        }
        let effective = (kernel - 1) * dilation + 1;
        let out = (0..input)
            .step_by(stride as usize)
            .filter(|start| padding == Padding::Same || start + effective <= input)
            .count() as u32;
        if out == 0 {
            return None;
        }
        let before = match padding {
            Padding::Same => ((out - 1) * stride + effective).saturating_sub(input) / 2,
            Padding::Valid => 0,
        };
        Some((out, before))
    }

    /// An NHWC input surrounded by explicit padding cells (`None`), large enough for every
    /// window position.
    pub struct Padded {
        w: usize,
        c: usize,
        values: Vec<Option<f64>>,
    }

    impl Padded {
        /// Pads `input` with `pad[0]` rows above and `pad[1]` columns to the left, and as many
        /// rows and columns after as the last window, of `extent` cells, needs.
        pub fn new(input: &[f32], shape: Hwc, pad: [u32; 2], extent: [u32; 2]) -> Self {
            let (in_h, in_w, c) = (shape.h as usize, shape.w as usize, shape.c as usize);
            let h = (pad[0] as usize + in_h).max(extent[0] as usize);
            let w = (pad[1] as usize + in_w).max(extent[1] as usize);
            let mut values = vec![None; h * w * c];
            for y in 0..in_h {
                for x in 0..in_w {
                    for ch in 0..c {
                        let padded = ((y + pad[0] as usize) * w + x + pad[1] as usize) * c + ch;
                        values[padded] = Some(f64::from(input[(y * in_w + x) * c + ch]));
                    }
                }
            }
            Padded { w, c, values }
        }

        pub fn get(&self, y: usize, x: usize, channel: usize) -> Option<f64> {
            self.values[(y * self.w + x) * self.c + channel]
        }
    }

    /// Applies `activation` in f64.
    pub fn activate(activation: Activation, x: f64) -> f64 {
        match activation {
            Activation::None => x,
            Activation::Relu => x.max(0.0),
            Activation::Relu6 => x.clamp(0.0, 6.0),
        }
    }

    /// Returns `correct` most of the time, and otherwise a length or size next to it,
    /// selected by `choice`, so that random cases exercise both valid and invalid arguments.
    pub fn perturb(correct: usize, choice: u8) -> usize {
        match choice % 6 {
            4 => correct + 1,
            5 => correct.saturating_sub(1),
            _ => correct,
        }
    }

    /// Asserts that an `f32` result matches an `f64` reference within `1e-5` of the sum of
    /// absolute values of the terms that produced it (`magnitude`), plus a tiny absolute
    /// slack for results that cancel to zero.
    pub fn assert_close(got: &[f32], expected: &[f64], magnitude: &[f64], label: &str) {
        assert_eq!(got.len(), expected.len(), "{label}: length");
        for (i, ((&g, &e), &m)) in got.iter().zip(expected).zip(magnitude).enumerate() {
            let tolerance = 1e-5 * m + 1e-30;
            assert!(
                (f64::from(g) - e).abs() <= tolerance,
                "{label}: element {i} is {g}, reference {e} (tolerance {tolerance})"
            );
        }
    }
}
