//! Round trips through the encoder, the container writer and the decoder, over many
//! shapes, value distributions and modes, with quality bounds and a brute-force check
//! that every stored index is the nearest codeword.

use decoder_core::{Container, Error, TensorData};
use hyperc::codec::{encode_tensor, EncodeError, EncodedTensor, Mode, Preset, Storage};
use hyperc::container::{to_bytes, verify, VerifyError};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// Deterministic test data.
// ---------------------------------------------------------------------------------------

/// SplitMix64: a small seeded generator, so every run generates the same values.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in the open interval (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal, by the Box–Muller transform.
    fn gaussian(&mut self) -> f64 {
        let u1 = self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Laplace with unit variance, by inverting its CDF.
    fn laplacian(&mut self) -> f64 {
        let u = self.uniform() - 0.5;
        -u.signum() * (1.0 - 2.0 * u.abs()).ln() / std::f64::consts::SQRT_2
    }
}

/// Standard deviation of the generated weights, typical of trained layers.
const SIGMA: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Distribution {
    Gaussian,
    Laplacian,
    /// Gaussian with 1% of the values replaced by ±50σ.
    Outliers,
    Constant(f32),
    /// Gaussian with standard deviation 0.003 around 0.01.
    TinySpread,
    Zeros,
}

const DISTRIBUTIONS: [Distribution; 7] = [
    Distribution::Gaussian,
    Distribution::Laplacian,
    Distribution::Outliers,
    Distribution::Constant(0.37),
    Distribution::Constant(-2.5e-4),
    Distribution::TinySpread,
    Distribution::Zeros,
];

fn generate(distribution: Distribution, len: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    (0..len)
        .map(|_| {
            let value = match distribution {
                Distribution::Gaussian => SIGMA * rng.gaussian(),
                Distribution::Laplacian => SIGMA * rng.laplacian(),
                Distribution::Outliers => {
                    let base = SIGMA * rng.gaussian();
                    if rng.uniform() < 0.01 {
                        if rng.uniform() < 0.5 {
                            -50.0 * SIGMA
                        } else {
                            50.0 * SIGMA
                        }
                    } else {
                        base
                    }
                }
                Distribution::Constant(c) => f64::from(c),
                Distribution::TinySpread => 0.01 + 0.003 * rng.gaussian(),
                Distribution::Zeros => 0.0,
            };
            value as f32
        })
        .collect()
}

/// Shapes to round-trip. They have few rows because the encoder's cost at 7 and 8 bits
/// grows with rows × codebook size.
const SHAPES: [&[usize]; 12] =
    [&[1], &[15], &[17], &[33], &[1, 64], &[20, 1], &[7, 5], &[5, 129], &[16, 3, 3, 3], &[8, 3, 3, 1], &[0], &[3, 0]];

fn modes() -> Vec<Mode> {
    let mut modes: Vec<Mode> = (2..=8).map(Mode::Bits).collect();
    modes.push(Mode::Preset(Preset::PaperUnet));
    modes.push(Mode::Preset(Preset::PaperMobilenet));
    modes.push(Mode::Lossless);
    modes
}

// ---------------------------------------------------------------------------------------
// Round-trip checks.
// ---------------------------------------------------------------------------------------

/// Error statistics of decoded values against the originals, computed here in f64.
struct Measured {
    max_abs_error: f64,
    rel_mse: f64,
}

fn measure(original: &[f32], decoded: &[f32]) -> Measured {
    assert_eq!(original.len(), decoded.len());
    let mut max_abs_error = 0.0f64;
    let mut squared = 0.0f64;
    let mut energy = 0.0f64;
    for (&o, &d) in original.iter().zip(decoded) {
        let error = f64::from(o) - f64::from(d);
        max_abs_error = max_abs_error.max(error.abs());
        squared += error * error;
        energy += f64::from(o) * f64::from(o);
    }
    let rel_mse = if energy > 0.0 {
        squared / energy
    } else if squared > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    Measured { max_abs_error, rel_mse }
}

/// Encodes one tensor, writes it into a container, parses and decodes it, and checks the
/// values against the recorded bound. Returns the encoded tensor and the decoded values.
fn round_trip(name: &str, shape: &[usize], data: &[f32], mode: Mode) -> (EncodedTensor, Vec<f32>) {
    let context = format!("{name} {shape:?} {mode:?}");
    let encoded = encode_tensor(name, shape, data, mode).unwrap_or_else(|e| panic!("{context}: {e}"));
    let bytes = to_bytes(std::slice::from_ref(&encoded), &[]);
    verify(&bytes, std::slice::from_ref(&encoded), &[data]).unwrap_or_else(|e| panic!("{context}: verify: {e}"));

    let container = Container::parse(&bytes).unwrap_or_else(|e| panic!("{context}: parse: {e}"));
    assert_eq!(container.tensor_count(), 1, "{context}");
    let tensor = container.tensor(0).unwrap();
    assert_eq!(tensor.name(), name, "{context}");
    let stored_shape: Vec<usize> = tensor.shape().iter().map(|&d| d as usize).collect();
    assert_eq!(stored_shape, shape, "{context}");
    assert_eq!(tensor.len() as usize, data.len(), "{context}");
    assert_eq!(tensor.max_abs_error(), encoded.max_abs_error, "{context}");

    let mut decoded = vec![0.0f32; data.len()];
    tensor.decode_f32(&mut decoded).unwrap_or_else(|e| panic!("{context}: decode: {e}"));
    let bound = f64::from(encoded.max_abs_error);
    for (index, (&o, &d)) in data.iter().zip(&decoded).enumerate() {
        let error = (f64::from(o) - f64::from(d)).abs();
        assert!(error <= bound, "{context}: value {index}: {o} decoded as {d}, error {error} > bound {bound}");
    }

    // The recorded bound is the measured maximum rounded up to a float32: tight, not loose.
    let measured = measure(data, &decoded);
    let tight = (measured.max_abs_error as f32).next_up();
    assert!(encoded.max_abs_error <= tight, "{context}: bound {bound} is looser than {}", measured.max_abs_error);
    assert_rel_mse_close(f64::from(encoded.rel_mse), measured.rel_mse, &context);

    match (&encoded.storage, tensor.data()) {
        (Storage::Raw(_), TensorData::Raw(_)) => {
            assert_eq!(encoded.max_abs_error, 0.0, "{context}");
            for (&o, &d) in data.iter().zip(&decoded) {
                assert_eq!(o.to_bits(), d.to_bits(), "{context}: raw storage must be bit-exact");
            }
        }
        (Storage::Hyper(_), TensorData::Hyper(h)) => {
            assert!(data.len() >= hyperc::codec::MIN_ENCODED_VALUES, "{context}: tiny tensors are stored raw");
            assert_ne!(mode, Mode::Lossless, "{context}");
            if let Mode::Bits(bits) = mode {
                assert!(h.index_bits() <= 2 * bits, "{context}: {} bits per pair", h.index_bits());
            }
            // The encoder keeps the encoded form only when its record is smaller than raw.
            let raw = encode_tensor(name, shape, data, Mode::Lossless).unwrap();
            assert!(encoded.stored_bytes() < raw.stored_bytes(), "{context}");
            assert_eq!(tensor.record_len() as usize, encoded.stored_bytes(), "{context}");
        }
        _ => panic!("{context}: container storage differs from the encoder's"),
    }
    if mode == Mode::Lossless || data.len() < hyperc::codec::MIN_ENCODED_VALUES {
        assert!(matches!(encoded.storage, Storage::Raw(_)), "{context}: must be stored raw");
    }
    (encoded, decoded)
}

fn assert_rel_mse_close(recorded: f64, measured: f64, context: &str) {
    if measured.is_infinite() {
        assert!(recorded.is_infinite(), "{context}: recorded rel MSE {recorded}, measured infinite");
        return;
    }
    let tolerance = 1e-5 * measured + 1e-12;
    assert!(
        (recorded - measured).abs() <= tolerance,
        "{context}: recorded rel MSE {recorded} differs from measured {measured}"
    );
}

#[test]
fn every_shape_distribution_and_mode_round_trips() {
    for (d, &distribution) in DISTRIBUTIONS.iter().enumerate() {
        // Bits(7) and Bits(8) take about a second per tensor, so they run on three
        // distributions here; `random_shapes_round_trip` samples them on all.
        let expensive =
            matches!(distribution, Distribution::Gaussian | Distribution::Outliers | Distribution::Constant(_));
        for (s, shape) in SHAPES.iter().enumerate() {
            let len: usize = shape.iter().product();
            let data = generate(distribution, len, (d * 100 + s) as u64);
            for mode in modes() {
                if matches!(mode, Mode::Bits(7 | 8)) && !expensive {
                    continue;
                }
                let name = format!("layer{s}/weight;{distribution:?}");
                round_trip(&name, shape, &data, mode);
            }
        }
    }
}

#[test]
fn several_tensors_share_container() {
    let tensors: Vec<(String, Vec<usize>, Vec<f32>)> = SHAPES
        .iter()
        .enumerate()
        .map(|(i, shape)| {
            let len = shape.iter().product();
            (format!("t{i}"), shape.to_vec(), generate(DISTRIBUTIONS[i % DISTRIBUTIONS.len()], len, i as u64))
        })
        .collect();
    let encoded: Vec<EncodedTensor> =
        tensors.iter().map(|(name, shape, data)| encode_tensor(name, shape, data, Mode::Bits(4)).unwrap()).collect();
    let originals: Vec<&[f32]> = tensors.iter().map(|(_, _, data)| data.as_slice()).collect();
    let bytes = to_bytes(&encoded, b"graph");
    verify(&bytes, &encoded, &originals).unwrap();

    let container = Container::parse(&bytes).unwrap();
    assert_eq!(container.graph(), b"graph");
    for (name, shape, data) in &tensors {
        let tensor = container.find(name).unwrap_or_else(|| panic!("{name} missing"));
        let stored: Vec<usize> = tensor.shape().iter().map(|&d| d as usize).collect();
        assert_eq!(&stored, shape);
        let mut decoded = vec![0.0f32; data.len()];
        tensor.decode_f32(&mut decoded).unwrap();
        assert!(measure(data, &decoded).max_abs_error <= f64::from(tensor.max_abs_error()), "{name}");
    }
}

#[test]
fn verify_rejects_values_outside_bound() {
    let data = generate(Distribution::Gaussian, 256, 7);
    let encoded = encode_tensor("w", &[16, 16], &data, Mode::Bits(4)).unwrap();
    assert!(encoded.max_abs_error > 0.0);
    let bytes = to_bytes(std::slice::from_ref(&encoded), &[]);
    let mut altered = data.clone();
    altered[100] += 4.0 * encoded.max_abs_error + 0.01;
    let error = verify(&bytes, std::slice::from_ref(&encoded), &[&altered]).unwrap_err();
    assert!(matches!(error, VerifyError::OutOfBound { index: 100, .. }), "{error}");
}

#[test]
fn verify_rejects_missing_originals() {
    // Every value must be compared: fewer originals than tensors, or fewer values than
    // the tensor holds, must not pass unchecked.
    let data = generate(Distribution::Gaussian, 256, 8);
    let encoded = encode_tensor("w", &[16, 16], &data, Mode::Bits(4)).unwrap();
    let bytes = to_bytes(std::slice::from_ref(&encoded), &[]);
    assert!(verify(&bytes, std::slice::from_ref(&encoded), &[]).is_err(), "no originals were given");
    assert!(verify(&bytes, std::slice::from_ref(&encoded), &[&data[..10]]).is_err(), "10 of 256 values were given");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_shapes_round_trip(
        dims in proptest::collection::vec(1usize..24, 1..=4),
        distribution in 0usize..DISTRIBUTIONS.len(),
        mode in 0usize..10,
        seed in any::<u64>(),
    ) {
        let len: usize = dims.iter().product();
        let data = generate(DISTRIBUTIONS[distribution], len, seed);
        round_trip("random", &dims, &data, modes()[mode]);
    }
}

// ---------------------------------------------------------------------------------------
// Quality.
// ---------------------------------------------------------------------------------------

fn rel_mse_of(shape: &[usize], data: &[f32], mode: Mode) -> f64 {
    let (_, decoded) = round_trip("quality", shape, data, mode);
    measure(data, &decoded).rel_mse
}

#[test]
fn gaussian_quality_at_four_and_six_bits() {
    let data = generate(Distribution::Gaussian, 4096, 42);
    let four = rel_mse_of(&[64, 64], &data, Mode::Bits(4));
    assert!(four < 0.02, "relative MSE at 4 bits is {four}");
    let six = rel_mse_of(&[64, 64], &data, Mode::Bits(6));
    assert!(six < 0.002, "relative MSE at 6 bits is {six}");
    assert!(six < four, "6 bits ({six}) must beat 4 bits ({four})");
}

#[test]
fn more_bits_lower_error() {
    let data = generate(Distribution::Laplacian, 4096, 3);
    let errors: Vec<f64> = (2..=8).map(|b| rel_mse_of(&[16, 256], &data, Mode::Bits(b))).collect();
    for (i, pair) in errors.windows(2).enumerate() {
        assert!(pair[1] < pair[0], "Bits({}) gives {} but Bits({}) gives {}", i + 3, pair[1], i + 2, pair[0]);
    }
}

/// Index bits per weight of an encoded tensor: packed index bytes · 8 / values.
fn index_bits_per_weight(encoded: &EncodedTensor) -> f64 {
    let Storage::Hyper(h) = &encoded.storage else {
        panic!("{} {:?} was stored raw", encoded.name, encoded.shape);
    };
    h.indices.len() as f64 * 8.0 / encoded.len() as f64
}

#[test]
fn matrices_keep_bit_budget() {
    // Mode::Bits(b) targets b index bits per weight: 2b bits per pair of weights.
    let data = generate(Distribution::Gaussian, 4096, 21);
    for shape in [&[64usize, 64][..], &[1, 4096], &[16, 16, 4, 4]] {
        for bits in [2u8, 4, 6] {
            let encoded = encode_tensor("budget", shape, &data, Mode::Bits(bits)).unwrap();
            let used = index_bits_per_weight(&encoded);
            assert!(used <= f64::from(bits), "{shape:?} at Bits({bits}) uses {used} index bits per weight");
        }
    }
}

#[test]
fn vector_keeps_bit_budget() {
    // A 1-D tensor (a bias, a batch-norm scale) of 4096 values at 4 bits per weight.
    // A vector must be one row of pairs, not 4096 rows of one value and one padding.
    let data = generate(Distribution::Gaussian, 4096, 22);
    let encoded = encode_tensor("bias", &[4096], &data, Mode::Bits(4)).unwrap();
    let used = index_bits_per_weight(&encoded);
    assert!(used <= 4.0, "a 1-D tensor at Bits(4) uses {used} index bits per weight");
}

#[test]
fn constant_tensor_is_nearly_exact() {
    // The presets are left out: their absolute square side puts codewords on a grid that
    // need not contain the constant, so only their recorded bound is checked above.
    let mut exact_modes: Vec<Mode> = (1..=8).map(Mode::Bits).collect();
    exact_modes.push(Mode::Lossless);
    for value in [0.37f32, -0.37, 1e-8, -1e3, 12_345.678] {
        let data = vec![value; 1024];
        for &mode in &exact_modes {
            let (encoded, decoded) = round_trip("constant", &[4, 256], &data, mode);
            let limit = 1e-6 * f64::from(value.abs());
            let measured = measure(&data, &decoded);
            let encoded_form = matches!(encoded.storage, Storage::Hyper(_));
            assert!(
                measured.max_abs_error <= limit,
                "{value} with {mode:?} (encoded: {encoded_form}): max error {} > {limit}",
                measured.max_abs_error
            );
        }
    }
}

#[test]
fn zero_tensor_decodes_to_zero() {
    let data = vec![0.0f32; 1024];
    for mode in modes() {
        let (_, decoded) = round_trip("zeros", &[4, 256], &data, mode);
        assert!(decoded.iter().all(|&v| v == 0.0), "{mode:?}");
    }
}

#[test]
fn tiny_spread_keeps_quality_at_default() {
    let data = generate(Distribution::TinySpread, 4096, 11);
    let default = rel_mse_of(&[64, 64], &data, Mode::Bits(4));
    assert!(default < 0.02, "default settings give relative MSE {default}");

    // A square of absolute side 0.8 is far wider than the spread (σ = 0.003), so the
    // preset's codewords are too coarse for this tensor. The variance is 9e-6 of an
    // energy of 1.09e-4, so collapsing every pair to the centre would give 0.083.
    let preset = rel_mse_of(&[64, 64], &data, Mode::Preset(Preset::PaperMobilenet));
    assert!(preset > 0.02, "the absolute-side preset gives relative MSE {preset}");
    assert!(preset > 10.0 * default, "preset {preset} is not far worse than default {default}");
}

#[test]
fn non_finite_value_names_tensor_and_index() {
    for (index, value) in [(4usize, f32::NAN), (0, f32::INFINITY), (23, f32::NEG_INFINITY)] {
        let mut data = generate(Distribution::Gaussian, 24, 1);
        data[index] = value;
        for mode in modes() {
            let error = encode_tensor("block1/conv;weight", &[2, 3, 4], &data, mode).unwrap_err();
            match &error {
                EncodeError::NonFinite { tensor, index: found, value: v } => {
                    assert_eq!(tensor, "block1/conv;weight");
                    assert_eq!(*found, index);
                    assert_eq!(v.to_bits(), value.to_bits());
                }
                other => panic!("expected NonFinite, got {other:?}"),
            }
            let message = error.to_string();
            assert!(message.contains("block1/conv;weight"), "{message}");
            assert!(message.contains(&format!("index {index}")), "{message}");
        }
    }
}

#[test]
fn shape_mismatch_is_shape_error() {
    let data = vec![0.5f32; 10];
    let error = encode_tensor("w", &[3, 4], &data, Mode::Bits(4)).unwrap_err();
    assert!(matches!(&error, EncodeError::Shape { tensor, .. } if tensor == "w"), "{error:?}");
    let error = encode_tensor("w", &[1, 1, 1, 1, 1, 1, 10], &data, Mode::Bits(4)).unwrap_err();
    assert!(matches!(error, EncodeError::Shape { .. }), "{error:?}");
}

// ---------------------------------------------------------------------------------------
// Nearest codeword, by brute force.
// ---------------------------------------------------------------------------------------

/// Checks that every stored index is a codeword nearest to its pair (x/scale, y/scale).
///
/// The encoder multiplies by `1/scale` where this check divides by `scale`, so distances
/// are compared with a relative tolerance of 1e-9 to allow for the last-bit difference.
fn assert_indices_are_nearest(shape: &[usize], data: &[f32], mode: Mode) {
    let encoded = encode_tensor("nearest", shape, data, mode).unwrap();
    let bytes = to_bytes(std::slice::from_ref(&encoded), &[]);
    let container = Container::parse(&bytes).unwrap();
    let tensor = container.tensor(0).unwrap();
    let TensorData::Hyper(h) = *tensor.data() else {
        panic!("{shape:?} {mode:?} was stored raw, so there are no indices to check");
    };
    let codebook = h.codebook();
    let scale = f64::from(h.scale());
    let row_len = h.row_len() as usize;
    let group_count = h.rows().div_ceil(h.group_rows());
    assert!(group_count >= 1);

    for row in 0..h.rows() {
        let group = h.group(row / h.group_rows()).unwrap();
        let codewords: Vec<[i32; 2]> = (0..codebook.len() as u32)
            .map(|index| codebook.reconstruct(&group, index).expect("index below the codebook length"))
            .collect();
        for pair in 0..h.pairs_per_row() {
            let column = 2 * pair as usize;
            let start = row as usize * row_len + column;
            let x = f64::from(data[start]) / scale;
            let y = (column + 1 < row_len).then(|| f64::from(data[start + 1]) / scale);
            let distance = |q: [i32; 2]| -> f64 {
                let dx = x - f64::from(q[0]);
                match y {
                    Some(y) => {
                        let dy = y - f64::from(q[1]);
                        dx * dx + dy * dy
                    }
                    None => dx * dx,
                }
            };
            let best = codewords.iter().map(|&q| distance(q)).fold(f64::INFINITY, f64::min);
            let stored = h.index(row, pair).unwrap();
            let chosen = distance(codewords[stored as usize]);
            assert!(
                chosen <= best * (1.0 + 1e-9) + 1e-9,
                "{shape:?} {mode:?} row {row} pair {pair}: index {stored} at squared distance {chosen}, nearest is {best}"
            );
        }
    }
}

#[test]
fn stored_indices_are_nearest_codewords() {
    // 20 rows of 301 values: odd rows, and about 7 rows per group at the default target.
    let shape = [20usize, 301];
    for (distribution, seed) in [(Distribution::Gaussian, 5u64), (Distribution::Outliers, 6)] {
        let data = generate(distribution, 20 * 301, seed);
        for mode in [Mode::Bits(2), Mode::Bits(3), Mode::Bits(5), Mode::Preset(Preset::PaperUnet)] {
            assert_indices_are_nearest(&shape, &data, mode);
        }
    }
}

#[test]
fn nearest_check_covers_several_groups() {
    let data = generate(Distribution::Gaussian, 20 * 301, 5);
    let encoded = encode_tensor("groups", &[20, 301], &data, Mode::Bits(3)).unwrap();
    let Storage::Hyper(h) = &encoded.storage else { panic!("stored raw") };
    assert!(h.rows.div_ceil(h.group_rows) > 1, "only one group, so group selection goes unchecked");
}

#[test]
fn decoder_rejects_nothing_encoder_writes() {
    // An index stream read back pair by pair matches whole-row decoding.
    let data = generate(Distribution::Laplacian, 9 * 33, 9);
    let encoded = encode_tensor("rows", &[9, 33], &data, Mode::Bits(4)).unwrap();
    let bytes = to_bytes(std::slice::from_ref(&encoded), &[]);
    let container = Container::parse(&bytes).unwrap();
    let tensor = container.tensor(0).unwrap();
    let TensorData::Hyper(h) = *tensor.data() else { panic!("stored raw") };
    let mut row = vec![0.0f32; 33];
    for r in 0..9 {
        tensor.decode_row_f32(r, &mut row).unwrap();
        for pair in 0..h.pairs_per_row() {
            let q = h.pair(r, pair).unwrap();
            let column = 2 * pair as usize;
            assert_eq!(row[column], q[0] as f32 * h.scale());
            if column + 1 < 33 {
                assert_eq!(row[column + 1], q[1] as f32 * h.scale());
            }
        }
    }
    assert_eq!(h.pair(9, 0), Err(Error::OutOfBounds { what: "row", requested: 9, available: 9 }));
}
