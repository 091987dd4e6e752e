//! `hyperc encode`: weights file → `.hcm` container.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::Serialize;

use crate::codec::{encode_tensor, EncodedTensor, Mode, Storage};
use crate::container::{to_bytes, verify};
use crate::io::{self, AtomicWriteError, NamedTensor};
use crate::tensor_settings::{chosen_mode, deciding, TensorSetting};

/// Validated settings of one `hyperc encode` run.
#[derive(Debug, Clone)]
pub struct EncodeConfig {
    /// Weights or model to read.
    pub input: PathBuf,
    /// Container to write.
    pub output: PathBuf,
    /// Encoding mode.
    pub mode: Mode,
    /// Settings for chosen tensors, which take precedence over `mode`.
    pub tensors: Vec<TensorSetting>,
}

impl EncodeConfig {
    /// Settings that encode `input` into `output` with `mode` and no per-tensor settings.
    pub fn new(input: impl Into<PathBuf>, output: impl Into<PathBuf>, mode: Mode) -> Self {
        EncodeConfig { input: input.into(), output: output.into(), mode, tensors: Vec::new() }
    }
}

/// Summary of an encode run.
#[derive(Debug, Clone, Serialize)]
pub struct EncodeReport {
    /// Tensors written.
    pub tensors: usize,
    /// Tensors stored with Hyper-Compression (the others are raw).
    pub encoded_tensors: usize,
    /// Values in all tensors.
    pub weights: u64,
    /// Size of the container in bytes.
    pub bytes: u64,
    /// `bytes · 8 / weights`.
    pub bits_per_weight: f64,
    /// Largest recorded error bound of any tensor.
    pub max_abs_error: f32,
    /// For each `--tensor` setting, in order, the tensors whose mode it decided.
    pub settings: Vec<SettingUse>,
}

/// The tensors one `--tensor` setting decided: those it matches and no later one does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingUse {
    /// The setting as given, `PATTERN=SETTING`.
    pub setting: String,
    /// Names of the tensors it decided, in container order.
    pub tensors: Vec<String>,
}

/// Returns which of `names` each of `settings` decided.
pub fn setting_uses(settings: &[TensorSetting], names: &[&str]) -> Vec<SettingUse> {
    settings
        .iter()
        .enumerate()
        .map(|(i, setting)| SettingUse {
            setting: setting.to_string(),
            tensors: names.iter().filter(|name| deciding(settings, name) == Some(i)).map(|n| n.to_string()).collect(),
        })
        .collect()
}

/// Encodes `tensors` with `mode`, or with the last of `settings` that matches a tensor's
/// name; errors name the tensor.
pub fn encode_tensors(tensors: &[NamedTensor], mode: Mode, settings: &[TensorSetting]) -> Result<Vec<EncodedTensor>> {
    tensors
        .par_iter()
        .map(|t| {
            let mode = chosen_mode(settings, &t.name).unwrap_or(mode);
            encode_tensor(&t.name, &t.shape, &t.data, mode).map_err(anyhow::Error::from)
        })
        .collect()
}

/// Writes `encoded` (with `graph`) to `output` atomically, after checking that the file
/// decodes to `originals` within every recorded bound.
pub fn write_container(output: &Path, encoded: &[EncodedTensor], graph: &[u8], originals: &[&[f32]]) -> Result<u64> {
    let bytes = to_bytes(encoded, graph);
    let result = io::write_atomic_verified(output, &bytes, |temporary| {
        let written = std::fs::read(temporary)?;
        verify(&written, encoded, originals).map_err(anyhow::Error::from)
    });
    match result {
        Ok(()) => Ok(bytes.len() as u64),
        Err(AtomicWriteError::Io(e)) => Err(e.into()),
        Err(AtomicWriteError::Verification { path, error }) => Err(error.context(format!(
            "{}: the written container failed verification and was not kept; please report this as a bug",
            path.display()
        ))),
    }
}

/// Returns true when `path` names a TFLite model: a `.tflite` extension, or a file whose
/// bytes 4 to 8 are the TFLite flatbuffer identifier `TFL3`, whatever its extension.
fn is_tflite(path: &Path) -> bool {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tflite")) {
        return true;
    }
    let mut prefix = [0u8; 8];
    // A file that cannot be read goes to the weights readers, which report why.
    std::fs::File::open(path).and_then(|mut file| file.read_exact(&mut prefix)).is_ok() && &prefix[4..] == b"TFL3"
}

/// Runs `hyperc encode`.
pub fn run(config: &EncodeConfig) -> Result<EncodeReport> {
    if is_tflite(&config.input) {
        let model = crate::model::encode_tflite_with(&config.input, config.mode, &config.tensors)?;
        let originals: Vec<&[f32]> = model.constants.iter().map(|c| c.data.as_slice()).collect();
        let bytes = write_container(&config.output, &model.encoded, &model.lowered.graph, &originals)?;
        return Ok(report(&model.encoded, bytes, &config.tensors));
    }
    let tensors = io::read_weights(&config.input)?;
    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    crate::tensor_settings::check_all_match(&config.tensors, &names, &config.input)?;
    let encoded = encode_tensors(&tensors, config.mode, &config.tensors)
        .with_context(|| format!("{}", config.input.display()))?;
    let originals: Vec<&[f32]> = tensors.iter().map(|t| t.data.as_slice()).collect();
    let bytes = write_container(&config.output, &encoded, &[], &originals)?;
    Ok(report(&encoded, bytes, &config.tensors))
}

/// Summarizes an encode run with `settings`.
pub fn report(encoded: &[EncodedTensor], bytes: u64, settings: &[TensorSetting]) -> EncodeReport {
    let weights: u64 = encoded.iter().map(|t| t.len() as u64).sum();
    let names: Vec<&str> = encoded.iter().map(|t| t.name.as_str()).collect();
    EncodeReport {
        tensors: encoded.len(),
        encoded_tensors: encoded.iter().filter(|t| matches!(t.storage, Storage::Hyper(_))).count(),
        weights,
        bytes,
        bits_per_weight: if weights == 0 { 0.0 } else { bytes as f64 * 8.0 / weights as f64 },
        max_abs_error: encoded.iter().map(|t| t.max_abs_error).fold(0.0, f32::max),
        settings: setting_uses(settings, &names),
    }
}
