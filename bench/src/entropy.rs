//! `hyperc-bench entropy`: how many bits hyperc's indices would take with a
//! variable-length code.
//!
//! hyperc gives every index of a tensor the same width. This harness measures how much of
//! the distance to the Shannon bound that width costs: it encodes each model with
//! `--bits 3` to `8` and codes the same indices, tensor by tensor, with two order-0 codes:
//!
//! - the **empirical entropy** of the tensor's indices, `n·H₀`: no code that gives each
//!   index value one fixed codeword is shorter (a static code would also store its table);
//! - an **adaptive arithmetic code** driven by the Krichevsky–Trofimov estimator over the
//!   whole codebook: index `x` after `t` indices, `c(x)` of them equal to `x`, costs
//!   `−log2((c(x) + ½) / (t + K/2))` bits for a codebook of `K` codewords. A decoder
//!   keeps the same counts, so no table is stored; 32 bits per tensor are added for the
//!   coder to end its output.
//!
//! Everything else in a tensor's storage record (group parameters, step, trajectory,
//! counts) is kept at its stored size, and biases stay raw float32, as in the quality
//! table, so the rates compare directly with it.

use std::path::Path;

use anyhow::{Context, Result};
use hyperc::codec::{EncodedTensor, HyperData, Mode, Storage};
use hyperc::container::to_bytes;
use hyperc::model::lower::Role;

use crate::quality::{decode_tensors, storage_bytes};
use crate::shannon::{lower_bound_bits, TensorEntropy};

/// Bits per tensor added to the adaptive code for the arithmetic coder's final state.
pub const CODER_END_BITS: f64 = 32.0;

/// Bit rates measured, as `--bits` values.
pub const BIT_RATES: [u8; 6] = [3, 4, 5, 6, 7, 8];

/// Returns `n·H₀`: the length in bits of `symbols` under the order-0 code that is ideal
/// for their own frequencies.
pub fn empirical_entropy_bits(symbols: &[u32]) -> f64 {
    let mut sorted = symbols.to_vec();
    sorted.sort_unstable();
    let n = sorted.len() as f64;
    sorted
        .chunk_by(|a, b| a == b)
        .map(|run| {
            let count = run.len() as f64;
            count * (n / count).log2()
        })
        .sum()
}

/// Returns the length in bits of `symbols` under an adaptive arithmetic code with the
/// Krichevsky–Trofimov estimator over an alphabet of `alphabet` symbols, without the
/// coder's final bits.
///
/// The estimator gives symbol `x` the probability `(c(x) + ½) / (t + alphabet/2)` after
/// `t` symbols of which `c(x)` were `x`; the length is the sum of `−log2` of those.
pub fn adaptive_code_bits(symbols: &[u32], alphabet: u64) -> f64 {
    let mut counts = std::collections::HashMap::<u32, u64>::new();
    let half_alphabet = alphabet as f64 / 2.0;
    let mut bits = 0.0;
    for (t, &symbol) in symbols.iter().enumerate() {
        let count = counts.entry(symbol).or_insert(0);
        bits -= ((*count as f64 + 0.5) / (t as f64 + half_alphabet)).log2();
        *count += 1;
    }
    bits
}

/// Returns the indices of `hyper`, row after row.
pub fn indices(hyper: &HyperData) -> Result<Vec<u32>> {
    let count = u64::from(hyper.rows) * u64::from(hyper.row_len.div_ceil(2));
    (0..count)
        .map(|i| {
            decoder_core::bits::read(&hyper.indices, i, hyper.index_bits)
                .with_context(|| format!("index {i} lies past the packed indices"))
        })
        .collect()
}

/// Rates of one model at one bit rate, in bits per weight, with the error they go with.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Model stem.
    pub model: String,
    /// The `--bits` value.
    pub bits: u8,
    /// As stored: every index in the tensor's index width.
    pub fixed: f64,
    /// Indices at their empirical entropy.
    pub entropy: f64,
    /// Indices under the adaptive arithmetic code.
    pub adaptive: f64,
    /// `‖w − ŵ‖² / ‖w‖²` over all weights.
    pub rel_mse: f64,
    /// Shannon bound at this error in each tensor.
    pub bound: f64,
}

/// Bits of one weight tensor under the three codes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct TensorBits {
    fixed: f64,
    entropy: f64,
    adaptive: f64,
}

fn tensor_bits(tensor: &EncodedTensor) -> Result<TensorBits> {
    let stored = 8.0 * storage_bytes(tensor) as f64;
    let Storage::Hyper(hyper) = &tensor.storage else {
        return Ok(TensorBits { fixed: stored, entropy: stored, adaptive: stored });
    };
    let symbols = indices(hyper).with_context(|| format!("tensor '{}'", tensor.name))?;
    let alphabet = (u64::from(hyper.inner) + 1) * (u64::from(hyper.rings) + 1);
    let other = stored - 8.0 * hyper.indices.len() as f64;
    Ok(TensorBits {
        fixed: stored,
        entropy: other + empirical_entropy_bits(&symbols),
        adaptive: other + adaptive_code_bits(&symbols, alphabet) + CODER_END_BITS,
    })
}

/// Encodes the model at `path` with `--bits bits` and measures the three rates.
pub fn measure(path: &Path, model: &str, bits: u8) -> Result<Row> {
    let encoded = hyperc::model::encode_tflite(path, Mode::Bits(bits))?;
    let weight_ids: Vec<usize> =
        encoded.constants.iter().enumerate().filter(|(_, c)| c.role == Role::Weights).map(|(id, _)| id).collect();
    let container = to_bytes(&encoded.encoded, &encoded.lowered.graph);
    let decoded = decode_tensors(path, &container, &weight_ids)?;
    let raw_values: usize = encoded.constants.iter().filter(|c| c.role != Role::Weights).map(|c| c.data.len()).sum();
    let mut weights = 0usize;
    let mut total = TensorBits::default();
    let (mut squared, mut energy) = (0.0f64, 0.0f64);
    let mut entropies = Vec::new();
    let mut squared_errors = Vec::new();
    for (&id, values) in weight_ids.iter().zip(&decoded) {
        let (constant, tensor) = (&encoded.constants[id], &encoded.encoded[id]);
        weights += constant.data.len();
        let t = tensor_bits(tensor).with_context(|| format!("{}", path.display()))?;
        total.fixed += t.fixed;
        total.entropy += t.entropy;
        total.adaptive += t.adaptive;
        let tensor_squared: f64 =
            constant.data.iter().zip(values).map(|(&w, &d)| (f64::from(w) - f64::from(d)).powi(2)).sum();
        squared += tensor_squared;
        energy += constant.data.iter().map(|&w| f64::from(w) * f64::from(w)).sum::<f64>();
        squared_errors.push(tensor_squared);
        entropies.push(TensorEntropy::of(&constant.data));
    }
    let raw_bits = 32.0 * raw_values as f64;
    let per_weight = |bits: f64| (bits + raw_bits) / weights.max(1) as f64;
    Ok(Row {
        model: model.to_string(),
        bits,
        fixed: per_weight(total.fixed),
        entropy: per_weight(total.entropy),
        adaptive: per_weight(total.adaptive),
        rel_mse: if energy > 0.0 { squared / energy } else { 0.0 },
        bound: lower_bound_bits(&entropies, &squared_errors),
    })
}

/// Explanation of the entropy table's columns, for the head of entropy.md.
pub const METHOD: &str = "\
Each model is encoded at `--bits 3` to `8` exactly as `hyperc encode` does it, and the \
indices it chose are counted in three ways, in bits per weight (weight tensors' storage \
plus 32 bits per raw bias value, over the number of weights, as in the quality table):

- **fixed width**: as stored, every index of a tensor in the tensor's index width;
- **empirical entropy**: each tensor's indices at n·H₀, their order-0 entropy, the \
least any code with one fixed codeword per index value can reach (its table not counted);
- **adaptive code**: an adaptive arithmetic code with the Krichevsky–Trofimov estimator \
over the whole codebook, which needs no table, plus 32 bits per tensor to end the \
coder's output. A decoder of this code reads a tensor's indices in order.

Group parameters, step, trajectory and counts keep their stored size. The Shannon bound \
and **rel. MSE** are computed as in the quality table; each **gap** is the column to its left \
minus the bound. The indices are the ones the encoder picked for the fixed-width format, \
so an encoder that chose its codebook for the entropy-coded rate could do better.";

/// Writes entropy.md: `header`, then one row per model and bit rate.
pub fn markdown(header: &str, rows: &[Row]) -> String {
    let mut out = String::from("# Entropy-coded indices\n\n");
    out.push_str(header);
    out.push_str(
        "\n\n| model | setting | rel. MSE | Shannon bound | fixed width | gap | empirical entropy | gap | adaptive code | gap |\n",
    );
    out.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | `--bits {}` | {:.2e} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            r.model,
            r.bits,
            r.rel_mse,
            r.bound,
            r.fixed,
            r.fixed - r.bound,
            r.entropy,
            r.entropy - r.bound,
            r.adaptive,
            r.adaptive - r.bound
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    #[test]
    fn empirical_entropy_of_known_counts() {
        // Counts 2, 1, 1 of 4: H₀ = ½·1 + ¼·2 + ¼·2 = 1.5 bits per symbol.
        assert!((empirical_entropy_bits(&[7, 7, 3, 9]) - 6.0).abs() < 1e-12);
        // K distinct symbols once each: log2 K bits per symbol.
        let distinct: Vec<u32> = (0..64).collect();
        assert!((empirical_entropy_bits(&distinct) - 64.0 * 6.0).abs() < 1e-9);
        assert_eq!(empirical_entropy_bits(&[5; 100]), 0.0);
        assert_eq!(empirical_entropy_bits(&[]), 0.0);
    }

    #[test]
    fn adaptive_code_of_short_binary_sequences() {
        // First symbol of two: ½, so 1 bit. A repeat: (1 + ½) / (1 + 1) = ¾.
        assert!((adaptive_code_bits(&[0], 2) - 1.0).abs() < 1e-12);
        let expected = 1.0 - (0.75f64).log2();
        assert!((adaptive_code_bits(&[1, 1], 2) - expected).abs() < 1e-12);
        // Then a new symbol: ½ / (2 + 1) = 1/6.
        let expected = expected + 6f64.log2();
        assert!((adaptive_code_bits(&[1, 1, 0], 2) - expected).abs() < 1e-12);
    }

    #[test]
    fn adaptive_code_depends_only_on_counts() {
        // The estimator's probability of a sequence is a product over symbols of their
        // counts, so any reordering has the same length.
        let mut rng = SplitMix64::new(3);
        let mut symbols: Vec<u32> = (0..2000).map(|_| (rng.next_u64() % 40) as u32).collect();
        let before = adaptive_code_bits(&symbols, 256);
        symbols.sort_unstable();
        let sorted = adaptive_code_bits(&symbols, 256);
        symbols.reverse();
        let reversed = adaptive_code_bits(&symbols, 256);
        assert!((before - sorted).abs() < 1e-6 * before, "{before} vs {sorted}");
        assert!((before - reversed).abs() < 1e-6 * before, "{before} vs {reversed}");
    }

    #[test]
    fn adaptive_code_within_binary_regret() {
        // For a binary alphabet the estimator's excess over n·H₀ is at most ½·log2 n + 1.
        let mut rng = SplitMix64::new(9);
        for (n, ones_per_1024) in [(10usize, 512u64), (1000, 100), (5000, 900), (20_000, 3)] {
            let symbols: Vec<u32> = (0..n).map(|_| u32::from(rng.next_u64() % 1024 < ones_per_1024)).collect();
            let entropy = empirical_entropy_bits(&symbols);
            let adaptive = adaptive_code_bits(&symbols, 2);
            assert!(adaptive >= entropy, "n={n}: adaptive {adaptive} below entropy {entropy}");
            let regret = 0.5 * (n as f64).log2() + 1.0;
            assert!(adaptive <= entropy + regret, "n={n}: adaptive {adaptive}, entropy {entropy}");
        }
    }

    #[test]
    fn indices_read_back_what_was_packed() {
        let packed: Vec<u32> = (0..21).map(|i| (i * 37) % 97).collect();
        let hyper = HyperData {
            rows: 3,
            row_len: 13,
            group_rows: 3,
            scale: 1.0,
            inner: 96,
            rings: 0,
            trajectory: decoder_core::hyperfunction::Trajectory::rank1_lattice(96, 1),
            index_bits: 7,
            groups: Vec::new(),
            indices: hyperc::codec::pack::pack(&packed, 7),
        };
        assert_eq!(indices(&hyper).unwrap(), packed);
        let short = HyperData { indices: hyperc::codec::pack::pack(&packed[..20], 7), ..hyper };
        assert!(indices(&short).is_err());
    }
}
