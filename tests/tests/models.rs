//! The four MLPerf Tiny float models, imported from TFLite and run by decoder-core's
//! engine, against the official TFLite interpreter's outputs (lossless) and against tract
//! (default compression).

use std::path::{Path, PathBuf};

use hyperc::codec::Mode;
use hyperc::commands::{compare, encode, run};

struct Case {
    model: &'static str,
    inputs: &'static str,
    expected: &'static str,
    /// Float model that tract can run, for `compare`.
    reference: &'static str,
}

const CASES: [Case; 4] = [
    Case {
        model: "ad01_fp32.tflite",
        inputs: "inputs/ad01_rows.npy",
        expected: "expected/ad01_fp32__ad01_rows.npy",
        reference: "ad01_fp32.tflite",
    },
    Case {
        model: "pretrainedResnet.tflite",
        inputs: "inputs/resnet8_crops.npy",
        expected: "expected/pretrainedResnet__resnet8_crops.npy",
        reference: "pretrainedResnet.tflite",
    },
    Case {
        model: "kws_ref_model_float32.tflite",
        inputs: "inputs/kws_mfcc.npy",
        expected: "expected/kws_ref_model_float32_dequantized__kws_mfcc.npy",
        reference: "kws_ref_model_float32_dequantized.tflite",
    },
    Case {
        model: "vww_96_float.tflite",
        inputs: "inputs/vww_crops.npy",
        expected: "expected/vww_96_float__vww_crops.npy",
        reference: "vww_96_float.tflite",
    },
];

fn files(test: &str, case: &Case) -> Option<[PathBuf; 4]> {
    Some([
        hyperc::require_model_file(test, case.model)?,
        hyperc::require_model_file(test, case.inputs)?,
        hyperc::require_model_file(test, case.expected)?,
        hyperc::require_model_file(test, case.reference)?,
    ])
}

fn encode_to(model: &Path, dir: &Path, mode: Mode) -> PathBuf {
    let output = dir.join("model.hcm");
    let config = encode::EncodeConfig::new(model, output.clone(), mode);
    encode::run(&config).unwrap_or_else(|e| panic!("encoding {} failed: {e:#}", model.display()));
    output
}

#[test]
fn lossless_engine_matches_tflite_interpreter() {
    for case in &CASES {
        let Some([model, inputs, expected, _]) = files("lossless_engine_matches_tflite_interpreter", case) else {
            continue;
        };
        let dir = tempfile::tempdir().unwrap();
        let container = encode_to(&model, dir.path(), Mode::Lossless);
        let batch = run::run_file(&container, &inputs).unwrap();
        let expected = hyperc::io::read_array(&expected).unwrap();
        assert_eq!(batch.values.len(), expected.data.len(), "{}: output count", case.model);
        let row_len = batch.row_len;
        for (row, (ours, theirs)) in
            batch.values.chunks_exact(row_len).zip(expected.data.chunks_exact(row_len)).enumerate()
        {
            let magnitude = theirs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (i, (&a, &b)) in ours.iter().zip(theirs).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-4 * magnitude,
                    "{} row {row} output {i}: engine {a}, interpreter {b} (largest magnitude {magnitude})",
                    case.model
                );
            }
        }
        if row_len > 1 && row_len != hyperc::io::read_array(&inputs).unwrap().data.len() / batch.rows {
            let expected_batch = run::Batch { rows: batch.rows, row_len, values: expected.data.clone() };
            assert_eq!(run::top1(&batch), run::top1(&expected_batch), "{}: top-1 classes", case.model);
        }
    }
}

#[test]
fn default_compression_compares_with_tract() {
    for case in &CASES {
        let Some([model, inputs, _, reference]) = files("default_compression_compares_with_tract", case) else {
            continue;
        };
        let dir = tempfile::tempdir().unwrap();
        let container = encode_to(&model, dir.path(), Mode::Bits(4));
        let result = compare::compare(&reference, &container, &inputs).unwrap();
        eprintln!(
            "{}: {} bytes, max abs diff {:.3e}, cosine {:.4}, top-1 {:?}, anomaly score error {:?}",
            case.model,
            result.container_bytes,
            result.max_abs_diff,
            result.mean_cosine,
            result.top1_agreement,
            result.anomaly_score_rel_error
        );
        assert!(result.container_bytes * 5 < result.tflite_bytes, "{}: container not 5x smaller", case.model);
        assert!(result.mean_cosine > 0.5, "{}: outputs unrelated to the reference", case.model);
        assert!(result.top1_agreement.is_some() != result.anomaly_score_rel_error.is_some());
    }
}

#[test]
fn fully_int8_model_is_rejected_without_output() {
    let Some(model) = hyperc::require_model_file("fully_int8_model_is_rejected_without_output", "ad01_int8.tflite")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.hcm");
    let config = encode::EncodeConfig::new(model, output.clone(), Mode::Bits(4));
    let error = format!("{:#}", encode::run(&config).unwrap_err());
    assert!(error.contains("ad01_int8.tflite"), "message names the file: {error}");
    assert!(error.to_lowercase().contains("quantised") || error.contains("int8"), "message says why: {error}");
    assert!(!output.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no temporary file left");
}

#[test]
fn engine_rejects_small_buffers() {
    let Some(model) = hyperc::require_model_file("engine_rejects_small_buffers", "ad01_fp32.tflite") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let container = std::fs::read(encode_to(&model, dir.path(), Mode::Bits(4))).unwrap();
    let model = decoder_core::Model::parse(&container).unwrap();
    let input = vec![0.5f32; model.input_len().unwrap()];
    let mut output = vec![0.0f32; model.output_len().unwrap()];
    let mut arena = vec![0.0f32; model.arena_len()];
    let mut scratch = vec![0.0f32; model.scratch_len()];
    model.run(&input, &mut arena, &mut scratch, &mut output).unwrap();

    let mut small_arena = vec![0.0f32; model.arena_len() - 1];
    let error = model.run(&input, &mut small_arena, &mut scratch, &mut output).unwrap_err();
    assert_eq!(error, decoder_core::Error::BufferLength { expected: model.arena_len(), found: model.arena_len() - 1 });
    let mut small_scratch = vec![0.0f32; model.scratch_len() - 1];
    let error = model.run(&input, &mut arena, &mut small_scratch, &mut output).unwrap_err();
    assert_eq!(
        error,
        decoder_core::Error::BufferLength { expected: model.scratch_len(), found: model.scratch_len() - 1 }
    );
    let error = model.run(&input[1..], &mut arena, &mut scratch, &mut output).unwrap_err();
    assert!(matches!(error, decoder_core::Error::BufferLength { .. }), "{error}");
}
