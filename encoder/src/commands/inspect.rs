//! `hyperc inspect`: what a container holds and how well it is compressed.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use decoder_core::{Container, TensorData};
use serde::Serialize;

/// One tensor of a container.
#[derive(Debug, Clone, Serialize)]
pub struct TensorSummary {
    /// Tensor name.
    pub name: String,
    /// Dimensions.
    pub shape: Vec<u32>,
    /// Number of values.
    pub weights: u64,
    /// `"raw"` or `"hyper"`.
    pub storage: &'static str,
    /// Codebook of an encoded tensor: `N`, rings, index bits, groups.
    pub codebook: Option<CodebookSummary>,
    /// Record bytes · 8 / weights.
    pub bits_per_weight: f64,
    /// Relative mean squared error recorded by the encoder.
    pub rel_mse: f32,
    /// Maximum absolute error recorded by the encoder.
    pub max_abs_error: f32,
    /// Bytes of the tensor's record.
    pub bytes: u64,
}

/// Codebook settings of an encoded tensor.
#[derive(Debug, Clone, Serialize)]
pub struct CodebookSummary {
    /// Trajectory points `N`.
    pub inner: u32,
    /// Outlier rings `C`.
    pub rings: u8,
    /// Bits per pair index.
    pub index_bits: u8,
    /// Number of parameter groups.
    pub groups: u32,
}

/// Everything `hyperc inspect` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Container path as given.
    pub file: String,
    /// Size of the container in bytes.
    pub container_bytes: u64,
    /// Values in all tensors.
    pub weights: u64,
    /// Container bytes · 8 / weights.
    pub bits_per_weight: f64,
    /// Size of the weights as float32 divided by the container size.
    pub ratio_to_float32: f64,
    /// Size of the weights as int8 (one byte each) divided by the container size.
    pub ratio_to_int8: f64,
    /// Relative mean squared error over all tensors, weighted by their value counts.
    pub mean_rel_mse: f64,
    /// Per-tensor rows.
    pub tensors: Vec<TensorSummary>,
}

/// Reads and summarizes the container at `path`.
pub fn summarize(path: &Path) -> Result<Summary> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: failed to read the container", path.display()))?;
    let container = Container::parse(&bytes).with_context(|| format!("{}: invalid container", path.display()))?;
    let mut tensors = Vec::new();
    for tensor in container.tensors() {
        let tensor = tensor.with_context(|| format!("{}: invalid container", path.display()))?;
        let weights = u64::from(tensor.len());
        let record = u64::from(tensor.record_len());
        let (storage, codebook) = match tensor.data() {
            TensorData::Raw(_) => ("raw", None),
            TensorData::Hyper(h) => (
                "hyper",
                Some(CodebookSummary {
                    inner: h.codebook().inner,
                    rings: h.codebook().rings,
                    index_bits: h.index_bits(),
                    groups: h.rows().div_ceil(h.group_rows()),
                }),
            ),
        };
        tensors.push(TensorSummary {
            name: tensor.name().to_string(),
            shape: tensor.shape().to_vec(),
            weights,
            storage,
            codebook,
            bits_per_weight: if weights == 0 { 0.0 } else { record as f64 * 8.0 / weights as f64 },
            rel_mse: tensor.rel_mse(),
            max_abs_error: tensor.max_abs_error(),
            bytes: record,
        });
    }
    let weights: u64 = tensors.iter().map(|t| t.weights).sum();
    let container_bytes = bytes.len() as u64;
    let ratio = |per_weight: f64| if container_bytes == 0 { 0.0 } else { weights as f64 * per_weight / container_bytes as f64 };
    let weighted: f64 = tensors.iter().map(|t| f64::from(t.rel_mse) * t.weights as f64).sum();
    Ok(Summary {
        file: path.display().to_string(),
        container_bytes,
        weights,
        bits_per_weight: if weights == 0 { 0.0 } else { container_bytes as f64 * 8.0 / weights as f64 },
        ratio_to_float32: ratio(4.0),
        ratio_to_int8: ratio(1.0),
        mean_rel_mse: if weights == 0 { 0.0 } else { weighted / weights as f64 },
        tensors,
    })
}

/// Renders `summary` as a text table.
pub fn render(summary: &Summary) -> String {
    let mut out = String::new();
    let name_width = summary.tensors.iter().map(|t| t.name.len()).max().unwrap_or(4).clamp(4, 60);
    let _ = writeln!(
        out,
        "{:<name_width$}  {:<16}  {:>9}  {:<22}  {:>6}  {:>9}  {:>9}  {:>9}",
        "name", "shape", "weights", "storage", "bits/w", "rel MSE", "max err", "bytes"
    );
    for t in &summary.tensors {
        let storage = match &t.codebook {
            None => "raw f32".to_string(),
            Some(c) => format!("hyper N={} C={} {}b g={}", c.inner, c.rings, c.index_bits, c.groups),
        };
        let _ = writeln!(
            out,
            "{:<name_width$}  {:<16}  {:>9}  {:<22}  {:>6.2}  {:>9.2e}  {:>9.2e}  {:>9}",
            shorten(&t.name, name_width),
            format!("{:?}", t.shape),
            t.weights,
            storage,
            t.bits_per_weight,
            t.rel_mse,
            t.max_abs_error,
            t.bytes
        );
    }
    let _ = writeln!(
        out,
        "\ntotal: {} tensors, {} weights, {} bytes, {:.3} bits/weight, mean relative MSE {:.3e}",
        summary.tensors.len(),
        summary.weights,
        summary.container_bytes,
        summary.bits_per_weight,
        summary.mean_rel_mse
    );
    let _ = writeln!(
        out,
        "ratio: {:.2}x smaller than float32, {:.2}x smaller than int8",
        summary.ratio_to_float32, summary.ratio_to_int8
    );
    out
}

/// Keeps the end of a long name, which is the distinctive part of TensorFlow names.
fn shorten(name: &str, width: usize) -> String {
    let count = name.chars().count();
    if count <= width {
        return name.to_string();
    }
    let tail: String = name.chars().skip(count - (width - 1)).collect();
    format!("…{tail}")
}
