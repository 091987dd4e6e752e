//! `hyperc-bench entropy`: how many bits hyperc's indices would take with a
//! variable-length code.
//!
//! hyperc gives every index of a tensor the same width. This harness measures how much of
//! the distance to the Shannon bound that width costs: it encodes each model with
//! `--bits 3` to `8` and codes the same indices, tensor by tensor, with three order-0 codes:
//!
//! - the **empirical entropy** of the tensor's indices, `n·H₀`: no code that gives each
//!   index value one fixed codeword is shorter (a static code would also store its table);
//! - an **adaptive arithmetic code** driven by the Krichevsky–Trofimov estimator over the
//!   whole codebook: index `x` after `t` indices, `c(x)` of them equal to `x`, costs
//!   `−log2((c(x) + ½) / (t + K/2))` bits for a codebook of `K` codewords. A decoder
//!   keeps the same counts, so no table is stored; 32 bits per tensor are added for the
//!   coder to end its output;
//! - a **static code** of the kind a device would decode (rANS, for example). Each tensor
//!   stores a table of its indices' frequencies, rounded to 6 to 16 bits
//!   ([`TABLE_PRECISION_BITS`]), which the decoder reads from flash. Each parameter group
//!   starts afresh, so rows can still be decoded group by group. The table, the coded
//!   indices and the restart points are all counted.
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

/// Precisions `P`, in bits, of a static code's frequency table: a tensor's frequencies sum
/// to `2^P`, and each tensor uses the precision that gives it the shortest code.
pub const TABLE_PRECISION_BITS: std::ops::RangeInclusive<u32> = 6..=16;

/// Bits a static code adds per parameter group: the coder's final state and the group's
/// offset in the coded stream.
pub const RESTART_BITS: f64 = 64.0;

/// Bit rates measured, as `--bits` values.
pub const BIT_RATES: [u8; 6] = [3, 4, 5, 6, 7, 8];

/// Returns `n·H₀`: the length in bits of `symbols` under the order-0 code that is ideal
/// for their own frequencies.
pub fn empirical_entropy_bits(symbols: &[u32]) -> f64 {
    let n = symbols.len() as f64;
    symbol_counts(symbols)
        .iter()
        .map(|&count| {
            let count = count as f64;
            count * (n / count).log2()
        })
        .sum()
}

/// Returns how many times each distinct value occurs in `symbols`, in ascending order of
/// the values.
fn symbol_counts(symbols: &[u32]) -> Vec<u64> {
    let mut sorted = symbols.to_vec();
    sorted.sort_unstable();
    sorted.chunk_by(|a, b| a == b).map(|run| run.len() as u64).collect()
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

/// Returns the frequencies of `counts` rounded to integers that sum to `total`, every one
/// at least 1: each count scaled to `total` and rounded, then the largest frequencies
/// adjusted. `counts` must hold at most `total` counts.
pub fn quantized_frequencies(counts: &[u64], total: u64) -> Vec<u64> {
    let n: u64 = counts.iter().sum();
    let mut frequencies: Vec<u64> =
        counts.iter().map(|&c| ((c as f64 * total as f64 / n as f64).round() as u64).max(1)).collect();
    let mut by_size: Vec<usize> = (0..frequencies.len()).collect();
    by_size.sort_by_key(|&i| std::cmp::Reverse(frequencies[i]));
    let sum: u64 = frequencies.iter().sum();
    if sum < total {
        if let Some(&largest) = by_size.first() {
            frequencies[largest] += total - sum;
        }
    } else {
        // Take the excess from the largest first, leaving each at least 1.
        let mut excess = sum - total;
        for &i in &by_size {
            let removed = excess.min(frequencies[i] - 1);
            frequencies[i] -= removed;
            excess -= removed;
        }
    }
    frequencies
}

/// Returns the length in bits of `symbols` under a static code over an alphabet of
/// `alphabet` symbols, table included, at the precision `P` of [`TABLE_PRECISION_BITS`]
/// that gives the shortest total. The total is a 32-bit header (symbol count and `P`),
/// the table of quantized frequencies, and each symbol at `log2(2^P / f)` bits for its
/// frequency `f`. The table is dense (one frequency per symbol of the alphabet) or sparse
/// (one value and frequency per used symbol), whichever is shorter.
pub fn static_code_bits(symbols: &[u32], alphabet: u64) -> f64 {
    if symbols.is_empty() {
        return 0.0;
    }
    let counts = symbol_counts(symbols);
    let symbol_bits = (alphabet as f64).log2().ceil();
    TABLE_PRECISION_BITS
        .filter(|&p| 1u64 << p >= counts.len() as u64)
        .map(|p| {
            let precision = f64::from(p);
            let frequencies = quantized_frequencies(&counts, 1 << p);
            let coded: f64 =
                counts.iter().zip(&frequencies).map(|(&c, &f)| c as f64 * (precision - (f as f64).log2())).sum();
            let table = (alphabet as f64 * precision).min(counts.len() as f64 * (symbol_bits + precision));
            32.0 + table + coded
        })
        .fold(f64::INFINITY, f64::min)
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
    /// Indices under a static code with its table and restart points.
    pub static_code: f64,
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
    static_code: f64,
}

fn tensor_bits(tensor: &EncodedTensor) -> Result<TensorBits> {
    let stored = 8.0 * storage_bytes(tensor) as f64;
    let Storage::Hyper(hyper) = &tensor.storage else {
        return Ok(TensorBits { fixed: stored, entropy: stored, adaptive: stored, static_code: stored });
    };
    let symbols = indices(hyper).with_context(|| format!("tensor '{}'", tensor.name))?;
    let alphabet = (u64::from(hyper.inner) + 1) * (u64::from(hyper.rings) + 1);
    let other = stored - 8.0 * hyper.indices.len() as f64;
    Ok(TensorBits {
        fixed: stored,
        entropy: other + empirical_entropy_bits(&symbols),
        adaptive: other + adaptive_code_bits(&symbols, alphabet) + CODER_END_BITS,
        static_code: other
            + static_code_bits(&symbols, alphabet)
            + RESTART_BITS * f64::from(hyper.rows.div_ceil(hyper.group_rows.max(1))),
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
        total.static_code += t.static_code;
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
        static_code: per_weight(total.static_code),
        rel_mse: if energy > 0.0 { squared / energy } else { 0.0 },
        bound: lower_bound_bits(&entropies, &squared_errors),
    })
}

/// Explanation of the entropy table's columns, for the head of entropy.md.
pub const METHOD: &str = "\
Each model is encoded at `--bits 3` to `8` exactly as `hyperc encode` does it, and the \
indices it chose are counted in four ways, in bits per weight (weight tensors' storage \
plus 32 bits per raw bias value, over the number of weights, as in the quality table):

- **fixed width**: as stored, every index of a tensor in the tensor's index width;
- **empirical entropy**: each tensor's indices at n·H₀, their order-0 entropy, the \
least any code with one fixed codeword per index value can reach (its table not counted);
- **adaptive code**: an adaptive arithmetic code with the Krichevsky–Trofimov estimator \
over the whole codebook, which needs no table, plus 32 bits per tensor to end the \
coder's output. A decoder of this code reads a tensor's indices in order;
- **static code**: the code a device would more likely decode (rANS, for example): a \
table of each tensor's index frequencies rounded to 6 to 16 bits, stored dense or as \
(index, frequency) pairs, the shortest of these chosen per tensor, and 64 bits per parameter group for the coder's \
state and the group's offset, so a decoder starts afresh at each group and keeps no \
counts in RAM.

Group parameters, step, trajectory and counts keep their stored size. The Shannon bound \
and **rel. MSE** are computed as in the quality table; each **gap** is the column to its left \
minus the bound. The indices are the ones the encoder picked for the fixed-width format, \
so an encoder that chose its codebook for the entropy-coded rate could do better.";

/// Writes entropy.md: `header`, then one row per model and bit rate.
pub fn markdown(header: &str, rows: &[Row]) -> String {
    let mut out = String::from("# Entropy-coded indices\n\n");
    out.push_str(header);
    out.push_str(
        "\n\n| model | setting | rel. MSE | Shannon bound | fixed width | gap | empirical entropy | gap | adaptive code | gap | static code | gap |\n",
    );
    out.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | `--bits {}` | {:.2e} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
            r.model,
            r.bits,
            r.rel_mse,
            r.bound,
            r.fixed,
            r.fixed - r.bound,
            r.entropy,
            r.entropy - r.bound,
            r.adaptive,
            r.adaptive - r.bound,
            r.static_code,
            r.static_code - r.bound
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
    fn quantized_frequencies_sum_to_total_and_stay_positive() {
        let mut rng = SplitMix64::new(5);
        for len in [1usize, 2, 7, 300, 4000] {
            let counts: Vec<u64> = (0..len).map(|_| 1 + rng.next_u64() % 1000).collect();
            let frequencies = quantized_frequencies(&counts, 1 << 12);
            assert_eq!(frequencies.iter().sum::<u64>(), 1 << 12, "len {len}");
            assert!(frequencies.iter().all(|&f| f >= 1), "len {len}");
        }
        // One dominant count with many rare ones: the rare ones keep 1 each.
        let mut counts = vec![1u64; 100];
        counts.push(1_000_000);
        let frequencies = quantized_frequencies(&counts, 256);
        assert_eq!(frequencies[..100], [1; 100]);
        assert_eq!(frequencies[100], 156);
        // As many counts as the total: every frequency ends at 1.
        let counts: Vec<u64> = (1..=64).collect();
        assert_eq!(quantized_frequencies(&counts, 64), vec![1; 64]);
    }

    #[test]
    fn static_code_of_uniform_symbols() {
        // 16 values, 64 times each: at every precision the frequencies are exactly 2^P / 16,
        // 4 bits per symbol, so the least precision (6) wins. The sparse table (16 entries
        // of 8 + 6 bits) beats the dense one (256 of 6 bits).
        let symbols: Vec<u32> = (0..1024u32).map(|i| (i % 16) * 7).collect();
        let expected = 32.0 + 16.0 * (8.0 + 6.0) + 1024.0 * 4.0;
        assert!((static_code_bits(&symbols, 256) - expected).abs() < 1e-9);
        // Over 4 symbols the dense table is shorter: 4 × 6 bits against 4 × (2 + 6).
        let symbols: Vec<u32> = (0..1000u32).map(|i| i % 4).collect();
        let expected = 32.0 + 4.0 * 6.0 + 1000.0 * 2.0;
        assert!((static_code_bits(&symbols, 4) - expected).abs() < 1e-9);
    }

    #[test]
    fn static_code_takes_the_shortest_precision() {
        // One symbol of 2^20 and one of 1: at precision P they get 2^P − 1 and 1, so the
        // rare one costs P bits and the common one about 2^20 · log2(e) / 2^P bits. The
        // total is the least over the precisions, computed here by brute force.
        let mut symbols = vec![0u32; 1 << 20];
        symbols.push(1);
        let n = symbols.len() as f64 - 1.0;
        let expected = (6..=16)
            .map(|p: u32| {
                let total = f64::from(1u32 << p);
                32.0 + 2.0 * f64::from(p) + n * (total / (total - 1.0)).log2() + f64::from(p)
            })
            .fold(f64::INFINITY, f64::min);
        assert!((static_code_bits(&symbols, 2) - expected).abs() < 1e-6, "{}", static_code_bits(&symbols, 2));
    }

    #[test]
    fn static_code_approaches_entropy_plus_table() {
        // Skewed symbols: the coded part lies within a fraction of a percent of n·H₀.
        let mut rng = SplitMix64::new(11);
        let symbols: Vec<u32> = (0..50_000).map(|_| (rng.next_u64() % 64).min(rng.next_u64() % 64) as u32).collect();
        // At most the 16-bit table (64 dense entries) on top of the symbols' share.
        let total = static_code_bits(&symbols, 64);
        let entropy = empirical_entropy_bits(&symbols);
        assert!(total >= entropy, "total {total} below entropy {entropy}");
        assert!(total <= entropy * 1.001 + 32.0 + 64.0 * 16.0, "total {total}, entropy {entropy}");
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
