//! The MLPerf Tiny reference weights through the default encoder: compression ratio,
//! recorded error and the decoded values of every tensor.
//!
//! The archives are read from the models folder (`HYPERC_MODELS_DIR`); a missing file
//! skips its test unless `HYPERC_REQUIRE_MODELS=1`.

use decoder_core::Container;
use hyperc::codec::{encode_tensor, EncodedTensor, Mode, Storage};
use hyperc::commands::encode::encode_tensors;
use hyperc::commands::inspect::summarize;
use hyperc::container::{to_bytes, verify};
use hyperc::io::read_weights;

/// Range of container bits per weight accepted at the default target of 4 bits per
/// weight: index bits may fall below the target for tensors whose largest index is small,
/// and small tensors stored raw, group parameters and names add to it.
const BITS_PER_WEIGHT: std::ops::RangeInclusive<f64> = 3.9..=6.0;

/// Largest relative MSE accepted for an encoded tensor at 4 bits per weight, unless even
/// the reference scalar quantizer cannot reach it (see [`lloyd_max_rel_mse`]).
const MAX_REL_MSE: f64 = 0.05;

/// Largest ratio of an encoded tensor's relative MSE to that of the reference: a 16-level
/// Lloyd–Max scalar quantizer fitted to the whole tensor, which also spends 4 bits per
/// weight (8 per pair). A 256-codeword pair codebook can match it, so a tensor far above
/// it points at a poor choice of codebook settings.
const MAX_RATIO_TO_REFERENCE: f64 = 1.5;

/// Smallest tensor compared with the reference quantizer.
const MIN_REFERENCE_VALUES: usize = 256;

/// Relative MSE of the 16-level (4-bit) Lloyd–Max quantizer of `data`: levels start at
/// the quantiles and alternate nearest-level assignment and centroid updates.
fn lloyd_max_rel_mse(data: &[f32]) -> f64 {
    const LEVELS: usize = 16;
    let mut values: Vec<f64> = data.iter().map(|&v| f64::from(v)).collect();
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let mut levels: Vec<f64> = (0..LEVELS).map(|i| values[(2 * i + 1) * n / (2 * LEVELS)]).collect();
    for _ in 0..100 {
        let mut sums = [0.0f64; LEVELS];
        let mut counts = [0usize; LEVELS];
        // Values and levels are both sorted, so the nearest level only moves forward.
        let mut level = 0;
        for &v in &values {
            while level + 1 < LEVELS && (v - levels[level + 1]).abs() <= (v - levels[level]).abs() {
                level += 1;
            }
            sums[level] += v;
            counts[level] += 1;
        }
        for i in 0..LEVELS {
            if counts[i] > 0 {
                levels[i] = sums[i] / counts[i] as f64;
            }
        }
        levels.sort_by(f64::total_cmp);
    }
    let mut squared = 0.0;
    let mut energy = 0.0;
    for &v in &values {
        let nearest = levels.iter().map(|&l| (v - l).abs()).fold(f64::INFINITY, f64::min);
        squared += nearest * nearest;
        energy += v * v;
    }
    if energy > 0.0 {
        squared / energy
    } else {
        0.0
    }
}

fn check_model(test: &str, file: &str) {
    let Some(path) = hyperc::require_model_file(test, &format!("weights/{file}")) else {
        return;
    };
    let tensors = read_weights(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(!tensors.is_empty(), "{file} holds no tensors");

    let encoded = encode_tensors(&tensors, Mode::Bits(4), &[]).unwrap_or_else(|e| panic!("{file}: {e:#}"));
    let originals: Vec<&[f32]> = tensors.iter().map(|t| t.data.as_slice()).collect();
    let bytes = to_bytes(&encoded, &[]);
    verify(&bytes, &encoded, &originals).unwrap_or_else(|e| panic!("{file}: verify: {e}"));

    // Every value decodes within its bound, checked here independently of `verify`.
    let container = Container::parse(&bytes).unwrap();
    assert_eq!(container.tensor_count() as usize, tensors.len());
    for (stored, original) in container.tensors().zip(&tensors) {
        let stored = stored.unwrap();
        assert_eq!(stored.name(), original.name);
        let mut decoded = vec![0.0f32; stored.len() as usize];
        stored.decode_f32(&mut decoded).unwrap();
        assert_eq!(decoded.len(), original.data.len(), "{}", original.name);
        let bound = f64::from(stored.max_abs_error());
        for (index, (&d, &o)) in decoded.iter().zip(&original.data).enumerate() {
            let error = (f64::from(d) - f64::from(o)).abs();
            assert!(error <= bound, "{file}: {} value {index}: error {error} > bound {bound}", original.name);
        }
    }

    let encoded_count = encoded.iter().filter(|t| matches!(t.storage, Storage::Hyper(_))).count();
    assert!(encoded_count > 0, "{file}: no tensor was encoded");

    let folder = tempfile::tempdir().unwrap();
    let written = folder.path().join("model.hcm");
    std::fs::write(&written, &bytes).unwrap();
    let summary = summarize(&written).unwrap();
    let weights: u64 = tensors.iter().map(|t| t.data.len() as u64).sum();
    assert_eq!(summary.weights, weights);
    assert_eq!(summary.container_bytes, bytes.len() as u64);
    assert_eq!(summary.tensors.len(), tensors.len());
    let bits_per_weight = bytes.len() as f64 * 8.0 / weights as f64;
    assert!((summary.bits_per_weight - bits_per_weight).abs() < 1e-9);
    assert!(
        BITS_PER_WEIGHT.contains(&summary.bits_per_weight),
        "{file}: {:.3} bits per weight is outside {BITS_PER_WEIGHT:?}",
        summary.bits_per_weight
    );
    let mean = mean_rel_mse(&encoded);
    assert!((summary.mean_rel_mse - mean).abs() <= 1e-6 * mean + 1e-12, "{} vs {mean}", summary.mean_rel_mse);

    eprintln!(
        "{file}: {} tensors ({encoded_count} encoded), {weights} weights, {} bytes, {:.3} bits/weight, mean rel MSE {:.3e}",
        tensors.len(),
        bytes.len(),
        summary.bits_per_weight,
        summary.mean_rel_mse
    );

    // Quality last, so the log above shows the totals even when a tensor fails.
    for (tensor, original) in encoded.iter().zip(&tensors) {
        // With few values the 16 reference levels fit almost every value exactly.
        if !matches!(tensor.storage, Storage::Hyper(_)) || original.data.len() < MIN_REFERENCE_VALUES {
            continue;
        }
        let rel_mse = f64::from(tensor.rel_mse);
        let reference = lloyd_max_rel_mse(&original.data);
        assert!(
            rel_mse <= MAX_RATIO_TO_REFERENCE * reference,
            "{file}: tensor {} has relative MSE {rel_mse:.4}, the 4-bit Lloyd–Max reference {reference:.4}",
            tensor.name
        );
        assert!(
            rel_mse < MAX_REL_MSE || reference >= MAX_REL_MSE,
            "{file}: tensor {} {:?} has relative MSE {rel_mse:.4} (4-bit Lloyd–Max reference {reference:.4})",
            tensor.name,
            tensor.shape
        );
    }
}

#[test]
fn lloyd_max_reference_matches_closed_form() {
    // The 16-level Lloyd–Max quantizer of a uniform distribution is the uniform one, with
    // error step²/12 for step = 1/16: relative MSE (1/3072) / (1/3) = 1/1024.
    let data: Vec<f32> = (0..65_536).map(|i| (i as f32 + 0.5) / 65_536.0).collect();
    let rel_mse = lloyd_max_rel_mse(&data);
    assert!((rel_mse - 1.0 / 1024.0).abs() < 1e-5, "{rel_mse}");
}

/// Relative MSE over all tensors, weighted by value count.
fn mean_rel_mse(encoded: &[EncodedTensor]) -> f64 {
    let weights: f64 = encoded.iter().map(|t| t.len() as f64).sum();
    let weighted: f64 = encoded.iter().map(|t| f64::from(t.rel_mse) * t.len() as f64).sum();
    if weights == 0.0 {
        0.0
    } else {
        weighted / weights
    }
}

#[test]
fn ad01_default_encoding() {
    check_model("ad01_default_encoding", "ad01_fp32.npz");
}

#[test]
fn resnet_default_encoding() {
    check_model("resnet_default_encoding", "pretrainedResnet.npz");
}

#[test]
fn kws_default_encoding() {
    check_model("kws_default_encoding", "kws_ref_model_float32.npz");
}

#[test]
fn vww_default_encoding() {
    check_model("vww_default_encoding", "vww_96_float.npz");
}

#[test]
fn encoding_is_deterministic() {
    // The encoder runs on several threads; the container must not depend on scheduling.
    let Some(path) = hyperc::require_model_file("encoding_is_deterministic", "weights/kws_ref_model_float32.npz")
    else {
        return;
    };
    let tensors = read_weights(&path).unwrap();
    let first = encode_tensors(&tensors, Mode::Bits(4), &[]).unwrap();
    let second = encode_tensors(&tensors, Mode::Bits(4), &[]).unwrap();
    assert_eq!(to_bytes(&first, &[]), to_bytes(&second, &[]));
    let single: Vec<EncodedTensor> =
        tensors.iter().map(|t| encode_tensor(&t.name, &t.shape, &t.data, Mode::Bits(4)).unwrap()).collect();
    assert_eq!(single, first);
}
