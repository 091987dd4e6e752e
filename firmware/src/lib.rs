//! Firmware that runs a hyperc model container on a microcontroller.
//!
//! TODO: the device binaries (cortex-m-rt and riscv-rt entry points, defmt logging,
//! board glue) are not written yet; this crate contains the board-independent inference
//! loop they will share.
#![no_std]
#![deny(missing_docs)]

use decoder_core::{Error, Model};

/// Runs `model` on each input row of `inputs`, writing one output row per input.
///
/// `arena` and `scratch` must hold at least [`Model::arena_len`] and
/// [`Model::scratch_len`] values.
pub fn run_rows(
    model: &Model<'_>,
    inputs: &[f32],
    arena: &mut [f32],
    scratch: &mut [f32],
    outputs: &mut [f32],
) -> Result<usize, Error> {
    let input_len = model.input_len()?;
    let output_len = model.output_len()?;
    if input_len == 0 || !inputs.len().is_multiple_of(input_len) {
        return Err(Error::BufferLength { expected: input_len, found: inputs.len() });
    }
    let rows = inputs.len() / input_len;
    if outputs.len() != rows * output_len {
        return Err(Error::BufferLength { expected: rows * output_len, found: outputs.len() });
    }
    for (input, output) in inputs.chunks_exact(input_len).zip(outputs.chunks_exact_mut(output_len)) {
        model.run(input, arena, scratch, output)?;
    }
    Ok(rows)
}
