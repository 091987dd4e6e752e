//! `hyperc inspect`: the contents of a container and how well it is compressed.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use decoder_core::graph::OpRecord;
use decoder_core::{Container, Model, TensorData};
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
    /// The operator graph, for a container encoded from a model.
    pub graph: Option<GraphSummary>,
    /// Per-tensor rows.
    pub tensors: Vec<TensorSummary>,
}

/// Device resources a model container needs.
#[derive(Debug, Clone, Serialize)]
pub struct GraphSummary {
    /// Operators in execution order, by TFLite name.
    pub operators: Vec<&'static str>,
    /// Elements of one input.
    pub input_len: usize,
    /// Elements of one output.
    pub output_len: usize,
    /// Activation arena in bytes.
    pub arena_bytes: usize,
    /// Scratch buffer in bytes (one weight row and one bias).
    pub scratch_bytes: usize,
    /// Flash the container occupies, in bytes.
    pub flash_bytes: usize,
}

fn graph_summary(container: &Container<'_>) -> Result<Option<GraphSummary>> {
    if container.graph().is_empty() {
        return Ok(None);
    }
    let model = Model::new(*container)?;
    let mut operators = Vec::new();
    for op in model.graph().ops() {
        operators.push(match op? {
            OpRecord::Conv2d { .. } => "CONV_2D",
            OpRecord::DepthwiseConv2d { .. } => "DEPTHWISE_CONV_2D",
            OpRecord::FullyConnected { .. } => "FULLY_CONNECTED",
            OpRecord::Add { .. } => "ADD",
            OpRecord::AveragePool2d { .. } => "AVERAGE_POOL_2D",
            OpRecord::MaxPool2d { .. } => "MAX_POOL_2D",
            OpRecord::Reshape { .. } => "RESHAPE",
            OpRecord::Softmax { .. } => "SOFTMAX",
        });
    }
    Ok(Some(GraphSummary {
        operators,
        input_len: model.input_len()?,
        output_len: model.output_len()?,
        arena_bytes: model.arena_len() * 4,
        scratch_bytes: model.scratch_len() * 4,
        flash_bytes: container.size(),
    }))
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
    let ratio =
        |per_weight: f64| if container_bytes == 0 { 0.0 } else { weights as f64 * per_weight / container_bytes as f64 };
    let weighted: f64 = tensors.iter().map(|t| f64::from(t.rel_mse) * t.weights as f64).sum();
    Ok(Summary {
        file: path.display().to_string(),
        container_bytes,
        weights,
        bits_per_weight: if weights == 0 { 0.0 } else { container_bytes as f64 * 8.0 / weights as f64 },
        ratio_to_float32: ratio(4.0),
        ratio_to_int8: ratio(1.0),
        mean_rel_mse: if weights == 0 { 0.0 } else { weighted / weights as f64 },
        graph: graph_summary(&container).with_context(|| format!("{}: invalid graph", path.display()))?,
        tensors,
    })
}

/// Renders `summary` as a text table.
pub fn render(summary: &Summary) -> String {
    let mut out = String::new();
    // The name comes last and whole: `hyperc encode --tensor` patterns are written from
    // it, and TensorFlow's fused names are long and differ in any part.
    let _ = writeln!(
        out,
        "{:<16}  {:>9}  {:<22}  {:>6}  {:>9}  {:>9}  {:>9}  name",
        "shape", "weights", "storage", "bits/w", "rel MSE", "max err", "bytes"
    );
    for t in &summary.tensors {
        let storage = match &t.codebook {
            None => "raw f32".to_string(),
            Some(c) => format!("hyper N={} C={} {}b g={}", c.inner, c.rings, c.index_bits, c.groups),
        };
        let _ = writeln!(
            out,
            "{:<16}  {:>9}  {:<22}  {:>6.2}  {:>9.2e}  {:>9.2e}  {:>9}  {}",
            format!("{:?}", t.shape),
            t.weights,
            storage,
            t.bits_per_weight,
            t.rel_mse,
            t.max_abs_error,
            t.bytes,
            t.name
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
        "ratio: {}, {}",
        size_relative_to(summary.ratio_to_float32, "float32"),
        size_relative_to(summary.ratio_to_int8, "int8")
    );
    if let Some(graph) = &summary.graph {
        let _ = writeln!(out, "graph: {} operators: {}", graph.operators.len(), graph.operators.join(" "));
        let _ = writeln!(
            out,
            "device: input {} values, output {} values, arena {} bytes, scratch {} bytes, flash {} bytes",
            graph.input_len, graph.output_len, graph.arena_bytes, graph.scratch_bytes, graph.flash_bytes
        );
    }
    out
}

/// Describes a size ratio (`reference size / container size`) against `reference`, as
/// "2.50x smaller than int8", or "1.92x larger than int8" when the ratio is below 1.
fn size_relative_to(ratio: f64, reference: &str) -> String {
    if ratio >= 1.0 || ratio <= 0.0 || !ratio.is_finite() {
        format!("{ratio:.2}x smaller than {reference}")
    } else {
        format!("{:.2}x larger than {reference}", 1.0 / ratio)
    }
}

#[cfg(test)]
mod tests {
    use super::size_relative_to;

    #[test]
    fn ratio_above_one_is_smaller() {
        assert_eq!(size_relative_to(2.5, "int8"), "2.50x smaller than int8");
        assert_eq!(size_relative_to(1.0, "float32"), "1.00x smaller than float32");
    }

    #[test]
    fn ratio_below_one_is_larger() {
        assert_eq!(size_relative_to(0.52, "int8"), "1.92x larger than int8");
    }
}
