//! The reference Hyper-Compression scheme with its square side scaled to each tensor.
//!
//! The published experiments use one parameter group per tensor and a sheared `m × m`
//! grid of `N = m²` codewords in a square of side `L` around the centroid of the pairs.
//! Outliers go to `C` rings with radii spaced evenly from `L/2` to the farthest pair, and
//! `C` is chosen from 1 to a maximum by the lowest mean absolute error. Their `L` is absolute (0.1 or
//! 0.8); here `L = 3σ` of each tensor, the fair version of that scheme. The codewords are
//! those of decoder-core's [`Codebook`], so the result is a regular container record that
//! the engine runs. Each pair takes its nearest codeword over the whole codebook, as
//! hyperc's presets do, which is never worse than the reference's assignment of a pair to
//! a ring by its radius.

use decoder_core::codebook::{write_group, Codebook, Group, GROUP_HEADER_LEN};
use decoder_core::hyperfunction::Trajectory;
use decoder_core::tensor::HyperTensor;
use hyperc::codec::pack;
use hyperc::codec::search::{nearest_first_coordinate, CodewordGrid};
use hyperc::codec::{measure, EncodedTensor, HyperData, Layout, Storage, MIN_ENCODED_VALUES};

/// Largest fixed-point magnitude of a codeword, as in the encoder: headroom below
/// `i16::MAX` for rounding.
const GRID_LIMIT: f64 = 32_000.0;

/// Settings of the scaled reference scheme.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaperScaled {
    /// Square side in standard deviations of the tensor's values.
    pub side_sigmas: f64,
    /// Grid points per side `m`, so the square contains `m²` codewords.
    pub side_points: u32,
    /// Largest ring count tried.
    pub max_rings: u8,
}

/// `N = 225`, up to 3 rings (the UNet and LLaMA settings), `L = 3σ`.
pub const SCALED_225: PaperScaled = PaperScaled { side_sigmas: 3.0, side_points: 15, max_rings: 3 };

/// `N = 1600`, up to 4 rings (the MobileNetV3 settings), `L = 3σ`.
pub const SCALED_1600: PaperScaled = PaperScaled { side_sigmas: 3.0, side_points: 40, max_rings: 4 };

/// Encodes one tensor with the scaled reference scheme, or stores it raw when it has
/// fewer than [`MIN_ENCODED_VALUES`] values, no spread, or would not shrink.
pub fn encode_tensor(name: &str, shape: &[usize], data: &[f32], settings: PaperScaled) -> EncodedTensor {
    let shape32: Vec<u32> = shape.iter().map(|&d| d as u32).collect();
    let raw = EncodedTensor {
        name: name.to_string(),
        shape: shape32.clone(),
        storage: Storage::Raw(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        max_abs_error: 0.0,
        rel_mse: 0.0,
    };
    if data.len() < MIN_ENCODED_VALUES {
        return raw;
    }
    let pairs = Layout::new(&shape32, data);
    let Some(hyper) = encode_pairs(&pairs, settings) else {
        return raw;
    };
    if HyperTensor::validate(hyper.record(), 0).is_err() {
        return raw;
    }
    let (max_abs_error, rel_mse) = measure(&hyper, data);
    let encoded = EncodedTensor {
        name: name.to_string(),
        shape: shape32,
        storage: Storage::Hyper(hyper),
        max_abs_error,
        rel_mse,
    };
    if encoded.stored_bytes() >= raw.stored_bytes() {
        return raw;
    }
    encoded
}

/// Centroid of the pairs, standard deviation of the values, and distance of the farthest
/// pair from the centroid.
fn statistics(pairs: &Layout<'_>) -> ([f64; 2], f64, f64) {
    let (mut sum, mut count) = ([0.0f64; 2], [0usize; 2]);
    for (x, y) in pairs.pairs() {
        sum[0] += f64::from(x);
        count[0] += 1;
        if let Some(y) = y {
            sum[1] += f64::from(y);
            count[1] += 1;
        }
    }
    let cx = sum[0] / count[0].max(1) as f64;
    let cy = if count[1] > 0 { sum[1] / count[1] as f64 } else { cx };
    let mean = (sum[0] + sum[1]) / (count[0] + count[1]).max(1) as f64;
    let variance = pairs.data.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / pairs.data.len() as f64;
    let farthest = pairs
        .pairs()
        .map(|(x, y)| (f64::from(x) - cx).hypot(y.map_or(0.0, |y| f64::from(y) - cy)))
        .fold(0.0f64, f64::max);
    ([cx, cy], variance.sqrt(), farthest)
}

/// One candidate ring count: its group bytes, codebook, indices and error sums.
struct Candidate {
    rings: u8,
    group: Vec<u8>,
    indices: Vec<u32>,
    absolute_error: f64,
}

fn encode_pairs(pairs: &Layout<'_>, settings: PaperScaled) -> Option<HyperData> {
    let (centre, sigma, farthest) = statistics(pairs);
    let side = settings.side_sigmas * sigma;
    let half = side / 2.0;
    let outer = farthest.max(half);
    let largest = pairs.data.iter().fold(0.0f64, |m, &v| m.max(f64::from(v).abs()));
    let reach = largest.max(centre[0].abs().max(centre[1].abs()) + outer);
    let scale = (reach / GRID_LIMIT) as f32;
    if !scale.is_normal() {
        return None;
    }
    let step = f64::from(scale);
    let side_q = (side / step).round().clamp(0.0, f64::from(u16::MAX)) as u16;
    if side_q < 2 {
        return None;
    }
    let centre_q = centre.map(|c| (c / step).round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16);
    let half_q = f64::from(side_q / 2);
    let trajectory = Trajectory::sheared_grid(settings.side_points);
    let inner = settings.side_points * settings.side_points;
    // With every pair inside the square's inscribed circle the rings would stay empty.
    let ring_counts: Vec<u8> = if farthest <= half { vec![0] } else { (1..=settings.max_rings).collect() };

    let best = ring_counts
        .iter()
        .map(|&rings| {
            let radii: Vec<u32> = (1..=u32::from(rings))
                .map(|j| {
                    let radius = half + (outer - half) * f64::from(j) / f64::from(rings);
                    (radius / step / half_q * 65_536.0).round().clamp(65_536.0, f64::from(u32::MAX)) as u32
                })
                .collect();
            let mut group = vec![0u8; GROUP_HEADER_LEN + 4 * radii.len()];
            write_group(centre_q, side_q, &radii, &mut group);
            encode_candidate(pairs, Codebook { trajectory, inner, rings }, group, step)
        })
        .min_by(|a, b| a.absolute_error.total_cmp(&b.absolute_error).then(a.rings.cmp(&b.rings)))?;

    let index_bits = pack::width_of(best.indices.iter().copied().max().unwrap_or(0));
    Some(HyperData {
        rows: pairs.rows,
        row_len: pairs.row_len,
        group_rows: pairs.rows,
        scale,
        inner,
        rings: best.rings,
        trajectory,
        index_bits,
        groups: best.group,
        indices: pack::pack(&best.indices, index_bits),
    })
}

fn encode_candidate(pairs: &Layout<'_>, codebook: Codebook, group_bytes: Vec<u8>, step: f64) -> Candidate {
    let codewords: Vec<[i32; 2]> = match Group::parse(&group_bytes, codebook.rings) {
        Some(group) => (0..codebook.len() as u32).filter_map(|i| codebook.reconstruct(&group, i)).collect(),
        None => Vec::new(),
    };
    if codewords.len() as u64 != codebook.len() {
        return Candidate {
            rings: codebook.rings,
            group: group_bytes,
            indices: Vec::new(),
            absolute_error: f64::INFINITY,
        };
    }
    let grid = CodewordGrid::new(&codewords, codebook.inner as usize + 1);
    let mut indices = Vec::with_capacity(pairs.rows as usize * pairs.pairs_per_row() as usize);
    let mut absolute_error = 0.0f64;
    for (x, y) in pairs.pairs() {
        let (x, y) = (f64::from(x), y.map(f64::from));
        let index = match y {
            Some(y) => grid.nearest([x / step, y / step]),
            None => nearest_first_coordinate(&codewords, x / step),
        };
        let q = codewords[index as usize];
        absolute_error += (x - f64::from(q[0] as f32 * step as f32)).abs();
        if let Some(y) = y {
            absolute_error += (y - f64::from(q[1] as f32 * step as f32)).abs();
        }
        indices.push(index);
    }
    Candidate { rings: codebook.rings, group: group_bytes, indices, absolute_error }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::gaussian_f32;

    fn decode(tensor: &EncodedTensor) -> Vec<f32> {
        let Storage::Hyper(hyper) = &tensor.storage else {
            panic!("tensor '{}' was stored raw", tensor.name);
        };
        let decoded = HyperTensor::validate(hyper.record(), 0).expect("valid record");
        let row_len = hyper.row_len as usize;
        let mut out = vec![0.0f32; tensor.len()];
        for (row, chunk) in out.chunks_mut(row_len).enumerate() {
            decoded.decode_row_f32(row as u32, chunk).expect("rows decode");
        }
        out
    }

    #[test]
    fn gaussian_error_bounded_by_grid_spacing() {
        // 64 rows of 99 values (odd, so each row ends with a padded pair).
        let sigma = 0.02;
        let data = gaussian_f32(64 * 99, sigma, 9);
        let encoded = encode_tensor("w", &[64, 99], &data, SCALED_225);
        let decoded = decode(&encoded);
        // Inside the square the sheared 15 × 15 grid has spacing L/15 along y, so a pair
        // lies at most (L/15)·√2/2 plus rounding from a codeword. Rings spread their
        // codewords wider, so only the pairs well inside the square are checked.
        let side = 3.0 * sigma;
        let spacing = side / 15.0;
        let mut inner = 0;
        for (row, chunk) in data.chunks(99).enumerate() {
            for (pair, values) in chunk.chunks(2).enumerate() {
                if values.iter().all(|v| f64::from(v.abs()) < side / 2.0 - spacing) {
                    inner += 1;
                    for (k, &w) in values.iter().enumerate() {
                        let d = decoded[row * 99 + 2 * pair + k];
                        assert!(f64::from((w - d).abs()) <= spacing, "row {row} pair {pair}: {w} -> {d}");
                    }
                }
            }
        }
        assert!(inner > 1000, "only {inner} pairs inside the square");
        // The recorded error statistics match the decoded values.
        let max_error = data.iter().zip(&decoded).map(|(&w, &d)| (w - d).abs()).fold(0.0f32, f32::max);
        assert!(max_error <= encoded.max_abs_error, "{max_error} > {}", encoded.max_abs_error);
    }

    #[test]
    fn index_width_fits_codebook() {
        let data = gaussian_f32(32 * 64, 1.0, 4);
        let encoded = encode_tensor("w", &[32, 64], &data, SCALED_1600);
        let Storage::Hyper(hyper) = &encoded.storage else {
            panic!("stored raw");
        };
        // (N + 1)·(C + 1) codewords with N = 1600 and 1 ≤ C ≤ 4 need 11 to 13 bits.
        assert_eq!(hyper.inner, 1600);
        assert!((1..=4).contains(&hyper.rings), "rings {}", hyper.rings);
        assert!((11..=13).contains(&hyper.index_bits), "index bits {}", hyper.index_bits);
    }

    #[test]
    fn tiny_and_constant_tensors_stay_raw() {
        let tiny = encode_tensor("t", &[3, 5], &[0.5; 15], SCALED_225);
        assert!(matches!(tiny.storage, Storage::Raw(_)));
        let constant = encode_tensor("c", &[8, 8], &[0.5; 64], SCALED_225);
        assert!(matches!(constant.storage, Storage::Raw(_)));
    }
}
