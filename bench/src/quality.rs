//! `hyperc-bench quality`: every scheme on the weights of the MLPerf Tiny float models.
//!
//! Each scheme reconstructs the weight tensors that hyperc's encoder compresses (the
//! kernels of the lowered graph; biases stay raw float32 in every scheme). The
//! reconstruction is put back into the model as a container that decoder-core's engine
//! runs, and its outputs on the real inputs are compared with tract running the original
//! model, with the figures of `hyperc compare`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use decoder_core::container::StorageRecord;
use decoder_core::Container;
use hyperc::codec::{encode_tensor, EncodedTensor, Mode, Preset, Storage};
use hyperc::commands::compare::{metrics, Comparison};
use hyperc::commands::run::{run_bytes, Batch};
use hyperc::container::{to_bytes, verify};
use hyperc::io::NamedTensor;
use hyperc::model::lower::{Lowered, Role};
use hyperc::reference::ReferenceModel;

use crate::baselines::{palette, symmetric, Reconstruction};
use crate::paper::{self, PaperScaled, SCALED_1600, SCALED_225};
use crate::shannon::{lower_bound_bits, TensorEntropy};

/// A model, the file tract runs as its reference, and its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case {
    /// Stem of the `.tflite` file that is compressed.
    pub model: &'static str,
    /// Stem of the `.tflite` file tract runs. The keyword-spotting model's kernels are
    /// int8 with a scale, which tract cannot run, so tract runs its dequantised twin.
    pub reference: &'static str,
    /// Stem of the `.npy` file in `inputs/`.
    pub inputs: &'static str,
}

/// The four MLPerf Tiny float models.
pub const CASES: [Case; 4] = [
    Case { model: "ad01_fp32", reference: "ad01_fp32", inputs: "ad01_rows" },
    Case { model: "pretrainedResnet", reference: "pretrainedResnet", inputs: "resnet8_crops" },
    Case { model: "kws_ref_model_float32", reference: "kws_ref_model_float32_dequantized", inputs: "kws_mfcc" },
    Case { model: "vww_96_float", reference: "vww_96_float", inputs: "vww_crops" },
];

/// A way of storing the weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scheme {
    /// Raw float32: checks the engine against tract.
    Float,
    /// hyperc's encoder.
    Hyperc(Mode),
    /// The reference scheme with `L = 3σ`.
    PaperScaled(PaperScaled),
    /// Symmetric integers with one scale per row, or per group of values within a row.
    Symmetric {
        /// Bits per value.
        bits: u32,
        /// Values per scale inside a row; `None` for one scale per row.
        group: Option<usize>,
    },
    /// A k-means palette per tensor.
    Palette(usize),
}

/// Schemes drawn as one line in the plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Raw float32 (not plotted).
    Float,
    /// hyperc at 3 to 6 bits.
    HypercBits,
    /// hyperc's two presets of the published settings.
    HypercPresets,
    /// The reference scheme with `L = 3σ`.
    PaperScaled,
    /// int8 per output channel.
    Int8,
    /// int4 per output channel.
    Int4,
    /// int4 per group of 32.
    Int4Group,
    /// k-means palettes.
    Palette,
}

impl Family {
    /// Legend text.
    pub fn label(self) -> &'static str {
        match self {
            Family::Float => "float32",
            Family::HypercBits => "hyperc --bits 3-6",
            Family::HypercPresets => "hyperc paper presets (absolute L)",
            Family::PaperScaled => "paper scheme, L = 3σ (N = 225, 1600)",
            Family::Int8 => "int8 per channel",
            Family::Int4 => "int4 per channel",
            Family::Int4Group => "int4, scale per 32 weights",
            Family::Palette => "k-means palette (16, 32)",
        }
    }

    /// Plot colour.
    pub fn color(self) -> &'static str {
        match self {
            Family::Float => "#777777",
            Family::HypercBits => "#d62728",
            Family::HypercPresets => "#ff7f0e",
            Family::PaperScaled => "#9467bd",
            Family::Int8 => "#1f77b4",
            Family::Int4 => "#17becf",
            Family::Int4Group => "#2ca02c",
            Family::Palette => "#8c564b",
        }
    }
}

impl Scheme {
    /// Name in the tables.
    pub fn label(&self) -> String {
        match *self {
            Scheme::Float => "float32 (engine vs tract)".into(),
            Scheme::Hyperc(Mode::Bits(bits)) => format!("hyperc `--bits {bits}`"),
            Scheme::Hyperc(Mode::Preset(Preset::PaperUnet)) => "hyperc `--preset paper-unet`".into(),
            Scheme::Hyperc(Mode::Preset(Preset::PaperMobilenet)) => "hyperc `--preset paper-mobilenet`".into(),
            Scheme::Hyperc(Mode::Lossless) => "hyperc `--lossless`".into(),
            Scheme::PaperScaled(s) => {
                format!("paper, L = {}σ, N = {}, C ≤ {}", s.side_sigmas, s.side_points * s.side_points, s.max_rings)
            }
            Scheme::Symmetric { bits, group: None } => format!("int{bits} per channel"),
            Scheme::Symmetric { bits, group: Some(g) } => format!("int{bits}, scale per {g}"),
            Scheme::Palette(k) => format!("k-means, {k} entries"),
        }
    }

    /// Returns the plot line this scheme belongs to.
    pub fn family(&self) -> Family {
        match *self {
            Scheme::Float | Scheme::Hyperc(Mode::Lossless) => Family::Float,
            Scheme::Hyperc(Mode::Bits(_)) => Family::HypercBits,
            Scheme::Hyperc(Mode::Preset(_)) => Family::HypercPresets,
            Scheme::PaperScaled(_) => Family::PaperScaled,
            Scheme::Symmetric { bits: 8, .. } => Family::Int8,
            Scheme::Symmetric { group: None, .. } => Family::Int4,
            Scheme::Symmetric { .. } => Family::Int4Group,
            Scheme::Palette(_) => Family::Palette,
        }
    }
}

/// Lists every scheme measured, in table order.
pub fn schemes() -> Vec<Scheme> {
    let mut all = vec![Scheme::Float];
    all.extend((3..=6).map(|bits| Scheme::Hyperc(Mode::Bits(bits))));
    all.push(Scheme::Hyperc(Mode::Preset(Preset::PaperUnet)));
    all.push(Scheme::Hyperc(Mode::Preset(Preset::PaperMobilenet)));
    all.push(Scheme::PaperScaled(SCALED_225));
    all.push(Scheme::PaperScaled(SCALED_1600));
    all.push(Scheme::Symmetric { bits: 8, group: None });
    all.push(Scheme::Symmetric { bits: 4, group: None });
    all.push(Scheme::Symmetric { bits: 4, group: Some(32) });
    all.push(Scheme::Palette(16));
    all.push(Scheme::Palette(32));
    all
}

/// A model loaded once for all schemes: its lowered graph, the reference outputs and
/// the statistics of its weights.
pub struct ModelData {
    /// The case it comes from.
    pub case: Case,
    /// The compressed model's file.
    pub path: PathBuf,
    /// Size of that file in bytes.
    pub tflite_bytes: u64,
    /// The lowered graph and its constants.
    pub lowered: Lowered,
    /// Positions in `lowered.constants` of the weight tensors.
    pub weight_ids: Vec<usize>,
    /// Number of weights: the values of the weight tensors.
    pub weights: usize,
    /// Float32 values of every other constant (the biases), stored raw by every scheme.
    pub raw_values: usize,
    /// `Σ w²` over the weights.
    pub energy: f64,
    /// `Σ w²` of each weight tensor.
    pub tensor_energy: Vec<f64>,
    /// Entropy of each weight tensor, for the Shannon bound.
    pub entropies: Vec<TensorEntropy>,
    /// Largest number of distinct values in one weight tensor.
    pub max_distinct_values: usize,
    /// Weights whose magnitude is below 10⁻⁶ of the largest magnitude in their tensor.
    pub near_zero_weights: usize,
    /// The inputs file and its values.
    pub inputs_path: PathBuf,
    /// The inputs.
    pub inputs: NamedTensor,
    /// Outputs of tract on the original model, one row per input row.
    pub reference: Batch,
}

/// Loads `case` from `models_dir` and runs tract on its inputs.
pub fn load(models_dir: &Path, case: Case) -> Result<ModelData> {
    let path = models_dir.join(format!("{}.tflite", case.model));
    let reference_path = models_dir.join(format!("{}.tflite", case.reference));
    let inputs_path = models_dir.join("inputs").join(format!("{}.npy", case.inputs));
    let imported = hyperc::tflite::import(&path)?;
    let lowered = hyperc::model::lower::lower(&imported, &path)?;
    let weight_ids: Vec<usize> =
        lowered.constants.iter().enumerate().filter(|(_, c)| c.role == Role::Weights).map(|(i, _)| i).collect();
    ensure!(!weight_ids.is_empty(), "{}: the model has no weight tensors to compress", path.display());
    let weights = weight_ids.iter().map(|&i| lowered.constants[i].data.len()).sum();
    let raw_values = lowered.constants.iter().filter(|c| c.role != Role::Weights).map(|c| c.data.len()).sum();
    let tensor_energy: Vec<f64> = weight_ids
        .iter()
        .map(|&i| lowered.constants[i].data.iter().map(|&w| f64::from(w) * f64::from(w)).sum())
        .collect();
    let energy = tensor_energy.iter().sum();
    let entropies = weight_ids.iter().map(|&i| TensorEntropy::of(&lowered.constants[i].data)).collect();
    let max_distinct_values = weight_ids
        .iter()
        .map(|&i| {
            let mut bits: Vec<u32> = lowered.constants[i].data.iter().map(|v| v.to_bits()).collect();
            bits.sort_unstable();
            bits.dedup();
            bits.len()
        })
        .max()
        .unwrap_or(0);
    let near_zero_weights = weight_ids
        .iter()
        .map(|&i| {
            let data = &lowered.constants[i].data;
            let threshold = 1e-6 * data.iter().fold(0.0f32, |m, w| m.max(w.abs()));
            data.iter().filter(|w| w.abs() < threshold).count()
        })
        .sum();

    let inputs = hyperc::io::read_array(&inputs_path)?;
    let tract = ReferenceModel::load(&reference_path)?;
    let input_len: usize = tract.input_shape().iter().product();
    ensure!(
        input_len > 0 && inputs.data.len().is_multiple_of(input_len),
        "{}: {} values do not form rows of the model's input size {input_len}",
        inputs_path.display(),
        inputs.data.len()
    );
    let mut values = Vec::new();
    let mut row_len = 0;
    for (row, input) in inputs.data.chunks_exact(input_len).enumerate() {
        let output = tract
            .run(input)
            .with_context(|| format!("{}: tract run on input row {row}", reference_path.display()))?
            .into_iter()
            .next()
            .unwrap_or_default();
        row_len = output.len();
        values.extend(output);
    }
    let reference = Batch { rows: inputs.data.len() / input_len, row_len, values };
    let tflite_bytes = std::fs::metadata(&reference_path).map_or(0, |m| m.len());
    Ok(ModelData {
        case,
        path,
        tflite_bytes,
        lowered,
        weight_ids,
        weights,
        raw_values,
        energy,
        tensor_energy,
        entropies,
        max_distinct_values,
        near_zero_weights,
        inputs_path,
        inputs,
        reference,
    })
}

/// Figures of one scheme on one model.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Model stem.
    pub model: &'static str,
    /// The scheme.
    pub scheme: Scheme,
    /// Weight bytes plus 4 bytes per raw value, times 8, over the number of weights.
    pub bits_per_weight: f64,
    /// `‖w − ŵ‖² / ‖w‖²` over all weights of the model.
    pub rel_mse: f64,
    /// Mean over weight tensors of each tensor's `‖w − ŵ‖² / ‖w‖²`, weighted by its
    /// number of values (the "mean rel. MSE" of `hyperc inspect`).
    pub mean_tensor_rel_mse: f64,
    /// Largest `|w − ŵ|` of any weight.
    pub max_abs_error: f64,
    /// Shannon lower bound in bits per weight at this scheme's squared error in each tensor.
    pub bound_bits: f64,
    /// Agreement of the engine on the reconstruction with tract on the original.
    pub comparison: Comparison,
    /// Size of the container the engine ran.
    pub container_bytes: usize,
    /// Wall time of coding, running and comparing, in seconds.
    pub seconds: f64,
}

impl Measurement {
    /// Rate above the Shannon bound, in bits per weight.
    pub fn gap_bits(&self) -> f64 {
        self.bits_per_weight - self.bound_bits
    }
}

/// The container a scheme produced, the bytes its weights take, and their decoded values.
struct Coded {
    container: Vec<u8>,
    weight_bytes: usize,
    decoded: Vec<Vec<f32>>,
}

/// Applies `scheme` to `model` and measures it.
pub fn measure(model: &ModelData, scheme: Scheme) -> Result<Measurement> {
    let start = Instant::now();
    let coded = match scheme {
        Scheme::Float => {
            code_reconstructed(model, |data, _| Reconstruction { values: data.to_vec(), bytes: 4 * data.len() })?
        }
        Scheme::Hyperc(mode) => code_hyperc(model, mode)?,
        Scheme::PaperScaled(settings) => code_paper(model, settings)?,
        Scheme::Symmetric { bits, group } => {
            code_reconstructed(model, |data, row_len| symmetric(data, row_len, bits, group))?
        }
        Scheme::Palette(entries) => code_reconstructed(model, |data, _| palette(data, entries))?,
    };

    let (mut squared, mut largest, mut weighted_rel_mse) = (0.0f64, 0.0f64, 0.0f64);
    let mut tensor_squared_errors = Vec::with_capacity(model.weight_ids.len());
    for (&id, decoded) in model.weight_ids.iter().zip(&coded.decoded) {
        let (mut tensor_squared, mut tensor_energy) = (0.0f64, 0.0f64);
        let original = &model.lowered.constants[id].data;
        for (&w, &d) in original.iter().zip(decoded) {
            let error = f64::from(w) - f64::from(d);
            tensor_squared += error * error;
            tensor_energy += f64::from(w) * f64::from(w);
            largest = largest.max(error.abs());
        }
        squared += tensor_squared;
        tensor_squared_errors.push(tensor_squared);
        if tensor_energy > 0.0 {
            weighted_rel_mse += original.len() as f64 * tensor_squared / tensor_energy;
        }
    }
    let stored_bytes = coded.weight_bytes + 4 * model.raw_values;
    let ours = run_bytes(&coded.container, &model.path, &model.inputs.data, &model.inputs_path)?;
    ensure!(
        ours.rows == model.reference.rows && ours.row_len == model.reference.row_len,
        "{}: the engine produced {} rows of {} values, tract {} rows of {}",
        model.path.display(),
        ours.rows,
        ours.row_len,
        model.reference.rows,
        model.reference.row_len
    );
    let comparison =
        metrics(&model.inputs.data, &model.reference, &ours, coded.container.len() as u64, model.tflite_bytes);
    Ok(Measurement {
        model: model.case.model,
        scheme,
        bits_per_weight: stored_bytes as f64 * 8.0 / model.weights as f64,
        rel_mse: if model.energy > 0.0 { squared / model.energy } else { 0.0 },
        mean_tensor_rel_mse: weighted_rel_mse / model.weights as f64,
        max_abs_error: largest,
        bound_bits: lower_bound_bits(&model.entropies, &tensor_squared_errors),
        comparison,
        container_bytes: coded.container.len(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Counts the bytes the device stores for a tensor. An encoded tensor costs its
/// serialized storage record: indices, group parameters, step, trajectory, counts, bit
/// width and length prefixes, but not its name, shape or recorded error figures. A raw
/// tensor costs 4 bytes per value.
pub(crate) fn storage_bytes(tensor: &EncodedTensor) -> usize {
    match &tensor.storage {
        Storage::Raw(bytes) => bytes.len(),
        Storage::Hyper(hyper) => postcard::to_allocvec(&StorageRecord::Hyper(hyper.record())).map_or(0, |v| v.len()),
    }
}

/// Reads the weight tensors back out of `container` with decoder-core.
fn decode_weights(model: &ModelData, container: &[u8]) -> Result<Vec<Vec<f32>>> {
    decode_tensors(&model.path, container, &model.weight_ids)
}

/// Decodes tensors `ids` of `container` with decoder-core, as the device would. Errors
/// name the model at `path`.
pub(crate) fn decode_tensors(path: &Path, container: &[u8], ids: &[usize]) -> Result<Vec<Vec<f32>>> {
    let parsed = Container::parse(container).with_context(|| format!("{}: invalid container", path.display()))?;
    ids.iter()
        .map(|&id| {
            let tensor = parsed.tensor(id as u32)?;
            let mut values = vec![0.0f32; tensor.len() as usize];
            tensor.decode_f32(&mut values)?;
            Ok(values)
        })
        .collect::<Result<_, decoder_core::Error>>()
        .with_context(|| format!("{}: decoding the weights", path.display()))
}

fn code_hyperc(model: &ModelData, mode: Mode) -> Result<Coded> {
    let encoded = hyperc::model::encode_tflite(&model.path, mode)?;
    ensure!(
        encoded.constants.len() == model.lowered.constants.len(),
        "{}: the encoder lowered {} constants, the benchmark {}",
        model.path.display(),
        encoded.constants.len(),
        model.lowered.constants.len()
    );
    let weight_bytes = model.weight_ids.iter().map(|&id| storage_bytes(&encoded.encoded[id])).sum();
    let container = to_bytes(&encoded.encoded, &encoded.lowered.graph);
    let decoded = decode_weights(model, &container)?;
    Ok(Coded { container, weight_bytes, decoded })
}

fn code_paper(model: &ModelData, settings: PaperScaled) -> Result<Coded> {
    let mut encoded = Vec::with_capacity(model.lowered.constants.len());
    for constant in &model.lowered.constants {
        let tensor = if constant.role == Role::Weights {
            paper::encode_tensor(&constant.name, &constant.shape, &constant.data, settings)
        } else {
            encode_tensor(&constant.name, &constant.shape, &constant.data, Mode::Lossless)?
        };
        encoded.push(tensor);
    }
    let container = to_bytes(&encoded, &model.lowered.graph);
    let originals: Vec<&[f32]> = model.lowered.constants.iter().map(|c| c.data.as_slice()).collect();
    verify(&container, &encoded, &originals)
        .with_context(|| format!("{}: the scaled paper scheme's container", model.path.display()))?;
    let weight_bytes = model.weight_ids.iter().map(|&id| storage_bytes(&encoded[id])).sum();
    let decoded = decode_weights(model, &container)?;
    Ok(Coded { container, weight_bytes, decoded })
}

/// Reconstructs every weight tensor with `scheme(values, row_len)` and stores the result
/// as raw float32 in a container the engine runs.
fn code_reconstructed(model: &ModelData, scheme: impl Fn(&[f32], usize) -> Reconstruction) -> Result<Coded> {
    let mut encoded = Vec::with_capacity(model.lowered.constants.len());
    let mut weight_bytes = 0;
    let mut decoded = Vec::with_capacity(model.weight_ids.len());
    for constant in &model.lowered.constants {
        let values = if constant.role == Role::Weights {
            let rows = if constant.shape.len() >= 2 { constant.shape[0] } else { 1 };
            let reconstruction = scheme(&constant.data, constant.data.len() / rows.max(1));
            weight_bytes += reconstruction.bytes;
            decoded.push(reconstruction.values.clone());
            reconstruction.values
        } else {
            constant.data.clone()
        };
        encoded.push(encode_tensor(&constant.name, &constant.shape, &values, Mode::Lossless)?);
    }
    let container = to_bytes(&encoded, &model.lowered.graph);
    Ok(Coded { container, weight_bytes, decoded })
}

/// Fidelity as `hyperc compare` reports it: top-1 agreement or anomaly-score error.
pub fn fidelity(comparison: &Comparison) -> String {
    match (comparison.top1_agreement, comparison.anomaly_score_rel_error) {
        (Some(agreement), _) => format!("top-1 agreement {:.1}%", 100.0 * agreement),
        (None, Some(error)) => format!("anomaly-score error {error:.4}"),
        (None, None) => "n/a".into(),
    }
}

/// Writes quality.md: `header`, a table of the models, then one row per model and scheme.
pub fn markdown(header: &str, models: &[(&ModelData, Vec<Measurement>)]) -> String {
    let mut out = String::new();
    out.push_str("# Compression quality on the MLPerf Tiny float models\n\n");
    out.push_str(header);
    out.push_str(
        "\n\n| model | weight tensors | weights | weights below 10⁻⁶ of their tensor's max | most distinct values in a tensor | raw float32 values (biases) | input rows |\n",
    );
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (model, _) in models {
        out.push_str(&format!(
            "| {} | {} | {} | {:.1}% | {} | {} | {} |\n",
            model.case.model,
            model.weight_ids.len(),
            model.weights,
            100.0 * model.near_zero_weights as f64 / model.weights.max(1) as f64,
            model.max_distinct_values,
            model.raw_values,
            model.reference.rows
        ));
    }
    out.push_str(
        "\n| model | scheme | bits/weight | rel. MSE | mean tensor rel. MSE | max abs error | Shannon bound | gap (bits) | fidelity | cosine |\n",
    );
    out.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n");
    for (_, rows) in models {
        for m in rows {
            out.push_str(&format!(
                "| {} | {} | {:.2} | {} | {} | {} | {} | {} | {} | {:.4} |\n",
                m.model,
                m.scheme.label(),
                m.bits_per_weight,
                scientific(m.rel_mse),
                scientific(m.mean_tensor_rel_mse),
                scientific(m.max_abs_error),
                bits(m.bound_bits),
                bits(m.gap_bits()),
                fidelity(&m.comparison),
                m.comparison.mean_cosine
            ));
        }
    }
    out
}

fn scientific(value: f64) -> String {
    if value == 0.0 {
        "0".into()
    } else {
        format!("{value:.2e}")
    }
}

fn bits(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}")
    } else {
        "∞".into()
    }
}

/// Explanation of the quality table's columns and schemes, for the head of quality.md.
pub const METHOD: &str = "\
Every scheme codes the same weights: the kernels of the lowered graph, one output channel \
per row, that hyperc's encoder compresses. Biases stay raw float32 in every scheme.

- **bits/weight**: bytes the device stores for the weights plus 4 bytes per raw bias \
value, times 8, divided by the number of weights. For hyperc and the reference scheme the \
weight bytes are each tensor's serialized storage record (packed indices, group parameters, \
fixed-point step, trajectory, N, C, bit width, length prefixes), or 4 bytes per value for a \
tensor stored raw. For the baselines they are the indices packed per tensor plus one \
float32 per scale or palette entry. Names, shapes, the graph and the container header are \
not counted (they cost the same for every scheme), so the figures are lower than the \
`.hcm` bits per weight in BENCHMARKS.md.
- **rel. MSE**: ‖w − ŵ‖² / ‖w‖² with both sums over all weights of the model, so large \
tensors dominate it; **mean tensor rel. MSE**: each tensor's relative MSE averaged with \
weights proportional to its size, which shows a small tensor that a scheme ruins (the \
\"mean rel. MSE\" of `hyperc inspect` and BENCHMARKS.md is the same average with the raw \
biases counted in at zero error); **max abs error**: the \
largest |w − ŵ|.
- **Shannon bound**: the lowest rate any code can reach with this scheme's mean squared \
error D in every tensor if each weight tensor is a memoryless source: \
R(D) ≥ h(W) − ½·log2(2πe·D) per tensor (at least 0), with h(W) from a Freedman–Diaconis \
histogram of the tensor, averaged over the weights. **gap** = bits/weight − bound: the \
cost of the code at the error distribution the scheme chose. The dashed line of the \
rate–distortion plot is the same bound with one relative MSE in every tensor. Values \
inside a channel are not independent, so the bound is a reference line, not a hard limit \
for per-channel schemes.
- **fidelity** and **cosine**: decoder-core's engine on the reconstructed weights against \
tract on the original model, on every input row, as `hyperc compare` computes them (top-1 \
agreement for classifiers, mean relative error of the anomaly score for the autoencoder). \
The baselines run as containers of raw float32 reconstructed weights.
- **Schemes**: hyperc at `--bits 3` to `6` and its two presets (absolute L of the \
published experiments); the reference scheme with L = 3σ of each tensor, one group per \
tensor, a sheared m × m grid and 1 to C rings chosen by the lowest mean absolute error; \
symmetric int8 and int4 with one scale per output channel (levels ±127, ±7); int4 with one \
scale per 32 consecutive weights of a channel; k-means palettes of 16 and 32 float32 \
entries per tensor (Lloyd's algorithm from two deterministic starts, the quantiles and \
an even spread over the range, keeping the lower squared error).
- The bound assumes weights with a continuous distribution. The keyword-spotting model's \
kernels are stored as int8 with scales in its file and dequantised on import, so its \
tensors have few distinct values (first table). In the VWW model's large pointwise kernels \
63–99% of the weights are below 10⁻⁶ of the tensor's largest magnitude (pruned, by the look \
of it), so their histogram entropy, and with it the bound, falls to about 0 bits. There \
the gap measures the sparsity that a fixed-rate scheme does not use, not the inefficiency \
of its code.";
