//! Full models: TFLite import, lowering to the container graph, and encoding.

pub mod lower;
pub mod memory;

use std::path::Path;

use anyhow::{Context, Result};

use crate::codec::{encode_tensor, EncodedTensor, Mode};
use lower::{Constant, Lowered, Role};
use rayon::prelude::*;

/// Weight tensors with at most this many values get two more bits per weight than the
/// rest under the default mode: they are few bytes but often the most sensitive layers
/// (a network's first convolution, for one).
pub const SMALL_TENSOR_VALUES: usize = 2048;

/// A model encoded and ready to write.
pub struct EncodedModel {
    /// Constants in container order.
    pub constants: Vec<Constant>,
    /// Their encoded form.
    pub encoded: Vec<EncodedTensor>,
    /// The lowered graph.
    pub lowered: Lowered,
}

/// Returns the mode a constant is encoded with.
pub fn mode_for(constant: &Constant, mode: Mode) -> Mode {
    match (constant.role, mode) {
        (Role::Bias, _) => Mode::Lossless,
        (Role::Weights, Mode::Bits(bits)) if constant.data.len() <= SMALL_TENSOR_VALUES => {
            Mode::Bits((bits + 2).min(8))
        }
        (Role::Weights, mode) => mode,
    }
}

/// Imports, lowers and encodes the TFLite model at `path`.
pub fn encode_tflite(path: &Path, mode: Mode) -> Result<EncodedModel> {
    let model = crate::tflite::import(path)?;
    let lowered = lower::lower(&model, path)?;
    let constants = lowered.constants.clone();
    let encoded = constants
        .par_iter()
        .map(|c| {
            encode_tensor(&c.name, &c.shape, &c.data, mode_for(c, mode))
                .with_context(|| format!("{}: tensor '{}'", path.display(), c.name))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(EncodedModel { constants, encoded, lowered })
}
