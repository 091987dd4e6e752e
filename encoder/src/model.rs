//! Full models: TFLite import, lowering to the container graph, and encoding.

pub mod lower;
pub mod memory;

use std::path::Path;

use anyhow::{Context, Result};

use crate::codec::{encode_tensor, EncodeError, EncodedTensor, Mode};
use crate::tensor_settings::{self, TensorSetting};
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
    encode_tflite_with(path, mode, &[])
}

/// Imports, lowers and encodes the TFLite model at `path`, each constant with the last of
/// `settings` that matches its name, or with [`mode_for`] when none does. Fails before
/// encoding when a setting matches no constant, with the constants' names in the error.
pub fn encode_tflite_with(path: &Path, mode: Mode, settings: &[TensorSetting]) -> Result<EncodedModel> {
    let model = crate::tflite::import(path)?;
    // Checked here, before lowering reorders depthwise filters, so that the index is the
    // one in the file's layout.
    for tensor in &model.tensors {
        let data = tensor.data.as_deref().unwrap_or_default();
        if let Some((index, &value)) = data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            let error = EncodeError::NonFinite { tensor: tensor.name.clone(), index, value };
            return Err(anyhow::Error::from(error).context(path.display().to_string()));
        }
    }
    let lowered = lower::lower(&model, path)?;
    let constants = lowered.constants.clone();
    let names: Vec<&str> = constants.iter().map(|c| c.name.as_str()).collect();
    tensor_settings::check_all_match(settings, &names, path)?;
    let encoded = constants
        .par_iter()
        .map(|c| {
            let mode = tensor_settings::chosen_mode(settings, &c.name).unwrap_or_else(|| mode_for(c, mode));
            encode_tensor(&c.name, &c.shape, &c.data, mode).with_context(|| path.display().to_string())
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(EncodedModel { constants, encoded, lowered })
}
