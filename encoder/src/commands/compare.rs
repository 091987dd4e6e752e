//! `hyperc compare`: the original TFLite model in tract against the container in
//! decoder-core, on the same inputs.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::run::{run_bytes, top1, Batch};
use crate::io;
use crate::reference::ReferenceModel;

/// Agreement between the reference runtime and the compressed model.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Inputs compared.
    pub inputs: usize,
    /// Largest absolute difference of any output value.
    pub max_abs_diff: f64,
    /// Mean over inputs of the cosine similarity of the two outputs.
    pub mean_cosine: f64,
    /// Smallest cosine similarity of any input.
    pub min_cosine: f64,
    /// For classifiers (output size differs from input size): fraction of inputs whose
    /// top-1 class agrees.
    pub top1_agreement: Option<f64>,
    /// For autoencoders (output size equals input size): mean over inputs of
    /// |score − reference score| / reference score, where the score is the mean squared
    /// reconstruction error (the anomaly score).
    pub anomaly_score_rel_error: Option<f64>,
    /// Size of the container in bytes.
    pub container_bytes: u64,
    /// Size of the TFLite file in bytes.
    pub tflite_bytes: u64,
}

/// Runs both models on every row of `inputs` and compares them.
pub fn compare(tflite: &Path, container: &Path, inputs_path: &Path) -> Result<Comparison> {
    let reference = ReferenceModel::load(tflite)?;
    let bytes =
        std::fs::read(container).with_context(|| format!("{}: failed to read the container", container.display()))?;
    let model_input: usize = reference.input_shape().iter().product();
    if let Ok(container_input) = decoder_core::Model::parse(&bytes).and_then(|m| m.input_len()) {
        anyhow::ensure!(
            container_input == model_input,
            "{} takes {container_input} input values per row but {} takes {model_input}; the container was not \
             encoded from this model, so pass the model it came from",
            container.display(),
            tflite.display()
        );
    }
    let inputs = io::read_array(inputs_path)?;
    let ours = run_bytes(&bytes, container, &inputs.data, inputs_path)?;
    let input_len = inputs.data.len() / ours.rows;
    let mut theirs = Vec::with_capacity(ours.values.len());
    for (row, input) in inputs.data.chunks_exact(input_len).enumerate() {
        let outputs =
            reference.run(input).with_context(|| format!("{}: reference run on row {row}", tflite.display()))?;
        let first = outputs.into_iter().next().unwrap_or_default();
        anyhow::ensure!(
            first.len() == ours.row_len,
            "{}: the reference output has {} values, the container's {}; are these the same model?",
            container.display(),
            first.len(),
            ours.row_len
        );
        theirs.extend(first);
    }
    let reference_batch = Batch { rows: ours.rows, row_len: ours.row_len, values: theirs };
    let tflite_bytes = std::fs::metadata(tflite).map(|m| m.len()).unwrap_or(0);
    Ok(metrics(&inputs.data, &reference_batch, &ours, bytes.len() as u64, tflite_bytes))
}

/// Computes the agreement figures of two batches of outputs for the same inputs.
pub fn metrics(inputs: &[f32], reference: &Batch, ours: &Batch, container_bytes: u64, tflite_bytes: u64) -> Comparison {
    let rows = reference.rows.max(1);
    let input_len = inputs.len() / rows;
    let mut max_abs_diff = 0.0f64;
    let mut cosines = Vec::with_capacity(rows);
    let mut score_errors = Vec::with_capacity(rows);
    let pairs =
        reference.values.chunks_exact(reference.row_len.max(1)).zip(ours.values.chunks_exact(ours.row_len.max(1)));
    for (row, (r, o)) in pairs.enumerate() {
        let (mut dot, mut nr, mut no) = (0.0f64, 0.0f64, 0.0f64);
        for (&a, &b) in r.iter().zip(o) {
            max_abs_diff = max_abs_diff.max((f64::from(a) - f64::from(b)).abs());
            dot += f64::from(a) * f64::from(b);
            nr += f64::from(a) * f64::from(a);
            no += f64::from(b) * f64::from(b);
        }
        cosines.push(if nr == 0.0 || no == 0.0 {
            f64::from(u8::from(nr == no))
        } else {
            dot / (nr.sqrt() * no.sqrt())
        });
        if input_len == reference.row_len {
            let x = &inputs[row * input_len..(row + 1) * input_len];
            let score = |y: &[f32]| {
                x.iter().zip(y).map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2)).sum::<f64>() / input_len as f64
            };
            let (sr, so) = (score(r), score(o));
            score_errors.push(if sr == 0.0 { 0.0 } else { (so - sr).abs() / sr });
        }
    }
    let classifier = input_len != reference.row_len && reference.row_len > 1;
    let top1_agreement = classifier.then(|| {
        let (a, b) = (top1(reference), top1(ours));
        a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64 / a.len().max(1) as f64
    });
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    Comparison {
        inputs: reference.rows,
        max_abs_diff,
        mean_cosine: mean(&cosines),
        min_cosine: cosines.iter().copied().fold(1.0, f64::min),
        top1_agreement,
        anomaly_score_rel_error: (!score_errors.is_empty()).then(|| mean(&score_errors)),
        container_bytes,
        tflite_bytes,
    }
}
