//! `hyperc run`: one inference per input row with decoder-core's engine, on the host.

use std::path::Path;

use anyhow::{bail, Context, Result};
use decoder_core::Model;

use crate::io;

/// Outputs of a batch: `rows` outputs of `row_len` values each.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Number of inferences.
    pub rows: usize,
    /// Values per output.
    pub row_len: usize,
    /// All outputs, row after row.
    pub values: Vec<f32>,
}

/// Runs `model` (the bytes of a container) on each row of `inputs`; `source` names the
/// input in messages. Inputs must be finite: the engine would carry a NaN through to
/// every output.
pub fn run_bytes(container: &[u8], model_path: &Path, inputs: &[f32], source: &Path) -> Result<Batch> {
    let model =
        Model::parse(container).with_context(|| format!("{}: invalid model container", model_path.display()))?;
    let input_len = model.input_len()?;
    let output_len = model.output_len()?;
    if input_len == 0 || !inputs.len().is_multiple_of(input_len) || inputs.is_empty() {
        bail!(
            "{}: {} values do not form rows of the model's input size {input_len}; pass an array of shape [batch, ...] with {input_len} values per row",
            source.display(),
            inputs.len()
        );
    }
    if let Some(position) = inputs.iter().position(|v| !v.is_finite()) {
        bail!(
            "{}: input row {}, value {} is {}; the model needs finite inputs, so replace NaN and infinite values",
            source.display(),
            position / input_len,
            position % input_len,
            inputs[position]
        );
    }
    let rows = inputs.len() / input_len;
    let mut arena = vec![0.0f32; model.arena_len()];
    let mut scratch = vec![0.0f32; model.scratch_len()];
    let mut values = vec![0.0f32; rows * output_len];
    for (row, (input, output)) in inputs.chunks_exact(input_len).zip(values.chunks_exact_mut(output_len)).enumerate() {
        model
            .run(input, &mut arena, &mut scratch, output)
            .with_context(|| format!("{}: inference on row {row} failed", model_path.display()))?;
    }
    Ok(Batch { rows, row_len: output_len, values })
}

/// Runs the container at `model_path` on the array at `input_path` (.npy or raw .bin).
pub fn run_file(model_path: &Path, input_path: &Path) -> Result<Batch> {
    let container =
        std::fs::read(model_path).with_context(|| format!("{}: failed to read the container", model_path.display()))?;
    let input = io::read_array(input_path)?;
    run_bytes(&container, model_path, &input.data, input_path)
}

/// Index of the largest value of each output row.
pub fn top1(batch: &Batch) -> Vec<usize> {
    batch.values.chunks_exact(batch.row_len.max(1)).map(top1_of).collect()
}

/// Returns the index of the largest value of `row`, the first of equal ones; 0 for an
/// empty row.
pub fn top1_of(row: &[f32]) -> usize {
    row.iter().enumerate().fold(0, |best, (i, &v)| if v > row[best] { i } else { best })
}
