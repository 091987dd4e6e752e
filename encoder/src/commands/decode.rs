//! `hyperc decode`: `.hcm` container → NumPy `.npz` of float32 tensors.

use std::path::Path;

use anyhow::{Context, Result};
use decoder_core::Container;

use crate::io::{self, NamedTensor};

/// Decodes every tensor of the container at `path`.
pub fn decode_file(path: &Path) -> Result<Vec<NamedTensor>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: failed to read the container", path.display()))?;
    let container = Container::parse(&bytes).with_context(|| format!("{}: invalid container", path.display()))?;
    let mut out = Vec::with_capacity(container.tensor_count() as usize);
    for tensor in container.tensors() {
        let tensor = tensor.with_context(|| format!("{}: invalid container", path.display()))?;
        let mut data = vec![0.0f32; tensor.len() as usize];
        tensor
            .decode_f32(&mut data)
            .with_context(|| format!("{}: tensor '{}' does not decode", path.display(), tensor.name()))?;
        out.push(NamedTensor {
            name: tensor.name().to_string(),
            shape: tensor.shape().iter().map(|&d| d as usize).collect(),
            data,
        });
    }
    Ok(out)
}

/// Runs `hyperc decode`: writes the decoded tensors of `input` to `output` as `.npz`.
pub fn run(input: &Path, output: &Path) -> Result<usize> {
    let tensors = decode_file(input)?;
    io::write_npz(output, &tensors)?;
    Ok(tensors.len())
}
