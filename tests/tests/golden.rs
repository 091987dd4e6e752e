//! Generates the codec's golden vectors and checks that the encoder still writes them.
//!
//! The vectors are a small container (`decoder-core/tests/golden/codec.hcm`) and the exact
//! decoded values (`codec.expected`), which decoder-core's host tests and the firmware
//! check bit for bit. Run with `HYPERC_BLESS=1` to rewrite them after a deliberate change
//! of the encoder or the format.

use std::path::PathBuf;

use decoder_core::{Container, TensorData};
use hyperc::codec::{encode_tensor, EncodedTensor, Mode, Preset};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../decoder-core/tests/golden")
}

/// Deterministic standard normal samples (Box–Muller on a 64-bit LCG).
fn gaussian(seed: u64, count: usize, mean: f32, std: f32) -> Vec<f32> {
    let mut state = seed;
    let mut uniform = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..count)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            let z = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
            mean + std * z as f32
        })
        .collect()
}

fn golden_tensors() -> Vec<EncodedTensor> {
    let mut outliers = gaussian(3, 256, 0.0, 0.05);
    for i in (0..outliers.len()).step_by(37) {
        outliers[i] *= 40.0;
    }
    let cases: Vec<(&str, Vec<usize>, Vec<f32>, Mode)> = vec![
        ("gaussian/odd_rows;4bit", vec![5, 7], gaussian(1, 35, 0.0, 0.1), Mode::Bits(4)),
        ("conv/kernel", vec![4, 3, 3, 2], gaussian(2, 72, 0.02, 0.03), Mode::Bits(3)),
        ("outliers", vec![2, 128], outliers, Mode::Bits(4)),
        ("tiny_spread", vec![64], gaussian(4, 64, 0.01, 0.003), Mode::Bits(5)),
        ("constant", vec![3, 11], vec![0.25; 33], Mode::Bits(4)),
        ("wide_index", vec![40], gaussian(5, 40, -0.5, 1.0), Mode::Bits(7)),
        ("paper_unet", vec![8, 16], gaussian(6, 128, 0.0, 0.2), Mode::Preset(Preset::PaperUnet)),
        ("paper_mobilenet", vec![2, 33], gaussian(7, 66, 0.0, 0.5), Mode::Preset(Preset::PaperMobilenet)),
        ("raw_bias", vec![6], gaussian(8, 6, 0.0, 1.0), Mode::Bits(4)),
    ];
    cases
        .into_iter()
        .map(|(name, shape, data, mode)| encode_tensor(name, &shape, &data, mode).expect("golden tensor encodes"))
        .collect()
}

/// Serializes the decoded values: per tensor, the value count (u32), a flag (u8, 1 when
/// i16 values follow), the float32 bits of every value, then the i16 values.
fn expected_bytes(container: &Container<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    for tensor in container.tensors() {
        let tensor = tensor.unwrap();
        let mut values = vec![0.0f32; tensor.len() as usize];
        tensor.decode_f32(&mut values).unwrap();
        out.extend_from_slice(&tensor.len().to_le_bytes());
        let hyper = match tensor.data() {
            TensorData::Hyper(h) => Some(*h),
            TensorData::Raw(_) => None,
        };
        out.push(u8::from(hyper.is_some()));
        for v in &values {
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        if let Some(h) = hyper {
            let mut row = vec![0i16; h.row_len() as usize];
            for r in 0..h.rows() {
                h.decode_row_i16(r, &mut row).unwrap();
                for v in &row {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
    out
}

#[test]
fn golden_vectors_are_current() {
    let tensors = golden_tensors();
    assert!(tensors.iter().filter(|t| matches!(t.storage, hyperc::codec::Storage::Hyper(_))).count() >= 8);
    let bytes = hyperc::container::to_bytes(&tensors, &[]);
    let container = Container::parse(&bytes).unwrap();
    let expected = expected_bytes(&container);
    let dir = golden_dir();
    if std::env::var("HYPERC_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(dir.join("codec.hcm"), &bytes).unwrap();
        std::fs::write(dir.join("codec.expected"), &expected).unwrap();
        eprintln!("rewrote the golden vectors in {}", dir.display());
        return;
    }
    let committed = std::fs::read(dir.join("codec.hcm")).expect("golden container missing");
    assert!(
        committed == bytes,
        "the encoder no longer writes the committed golden container; if the change is deliberate, run \
         HYPERC_BLESS=1 cargo test -p hyperc-tests --test golden and commit the new files"
    );
    let committed_expected = std::fs::read(dir.join("codec.expected")).expect("golden values missing");
    assert!(
        committed_expected == expected,
        "the decoder no longer decodes the golden container to the committed values"
    );
}
