//! Encodes a small tensor of fuzzer-chosen values and shape, writes it as a container,
//! parses that container and decodes it: every value must lie within the error bound
//! the encoder recorded, and the name and shape must survive unchanged.

#![no_main]

use decoder_core::Container;
use hyperc::codec::{encode_tensor, EncodeError, Mode, Preset};
use hyperc::container::to_bytes;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

/// Largest tensor encoded, in values, to keep one execution short.
const MAX_VALUES: usize = 1024;

#[derive(Debug, Arbitrary)]
struct Input {
    /// Picks the encoding mode: 8 bit rates, 2 presets and lossless.
    mode: u8,
    /// Picks the rank: 1, 2 or 4.
    layout: u8,
    /// Picks the first dimension of a rank 2 or 4 shape, 1 to 64.
    rows: u8,
    /// The values, from one of two sources.
    values: Values,
}

#[derive(Debug, Arbitrary)]
enum Values {
    /// Any f32 bit patterns, including NaN, infinities, subnormals and extreme magnitudes.
    Bits(Vec<u32>),
    /// Integers times a power of two from 2^-24 to 2^7, which covers the range of real
    /// weights with many exact ties and repeated values.
    Scaled { exponent: u8, integers: Vec<i16> },
}

fn mode_of(selector: u8) -> Mode {
    match selector % 11 {
        bits @ 0..=7 => Mode::Bits(bits + 1),
        8 => Mode::Preset(Preset::PaperUnet),
        9 => Mode::Preset(Preset::PaperMobilenet),
        _ => Mode::Lossless,
    }
}

fn values_of(values: &Values) -> Vec<f32> {
    match values {
        Values::Bits(bits) => bits.iter().take(MAX_VALUES).map(|&b| f32::from_bits(b)).collect(),
        Values::Scaled { exponent, integers } => {
            let step = 2f32.powi(i32::from(exponent % 32) - 24);
            integers.iter().take(MAX_VALUES).map(|&q| f32::from(q) * step).collect()
        }
    }
}

/// Returns a shape of at most `len` values. The caller drops the values past it.
fn shape_of(layout: u8, rows: u8, len: usize) -> Vec<usize> {
    let rows = usize::from(rows % 64) + 1;
    let columns = len / rows;
    match layout % 3 {
        0 => vec![len],
        1 => vec![rows, columns],
        _ => vec![rows, columns, 1, 1],
    }
}

fuzz_target!(|input: Input| {
    let mode = mode_of(input.mode);
    let mut data = values_of(&input.values);
    let shape = shape_of(input.layout, input.rows, data.len());
    data.truncate(shape.iter().product());

    let encoded = match encode_tensor("fuzz/tensor", &shape, &data, mode) {
        Ok(encoded) => encoded,
        Err(EncodeError::NonFinite { index, value, .. }) => {
            let first = data.iter().position(|v| !v.is_finite());
            assert_eq!(Some(index), first, "the error names the first non-finite value");
            assert_eq!(value.to_bits(), data[index].to_bits(), "the error shows the value");
            return;
        }
        Err(error) => panic!("a valid shape {shape:?} with finite values is rejected: {error}"),
    };
    assert!(data.iter().all(|v| v.is_finite()), "a non-finite value was accepted");

    let bytes = to_bytes(std::slice::from_ref(&encoded), &[]);
    let container = Container::parse(&bytes).expect("the decoder parses a container the encoder wrote");
    assert_eq!(container.tensor_count(), 1);
    let tensor = container.tensor(0).expect("the only tensor reads");
    assert_eq!(tensor.name(), "fuzz/tensor");
    let stored_shape: Vec<usize> = tensor.shape().iter().map(|&d| d as usize).collect();
    assert_eq!(stored_shape, shape);
    assert_eq!(tensor.max_abs_error().to_bits(), encoded.max_abs_error.to_bits());

    let mut decoded = vec![0.0f32; tensor.len() as usize];
    tensor.decode_f32(&mut decoded).expect("a tensor the encoder wrote decodes");
    let bound = f64::from(tensor.max_abs_error());
    for (index, (&original, &value)) in data.iter().zip(&decoded).enumerate() {
        let error = (f64::from(original) - f64::from(value)).abs();
        assert!(
            error <= bound,
            "value {index} of shape {shape:?} in {mode:?}: {original:e} decodes to {value:e}, error {error:e} exceeds the recorded bound {bound:e}"
        );
    }
    if matches!(mode, Mode::Lossless) {
        for (&original, &value) in data.iter().zip(&decoded) {
            assert_eq!(original.to_bits(), value.to_bits(), "lossless storage is exact");
        }
    }
});
