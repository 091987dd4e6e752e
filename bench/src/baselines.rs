//! The comparison schemes: symmetric integer quantisation and k-means palettes.
//!
//! Every scheme works on a tensor in kernel layout, `rows` output channels of `row_len`
//! values each, and returns the reconstructed values together with the bytes a device
//! would store for them. Indices are counted packed over the whole tensor (the last byte
//! rounded up), and every scale or palette entry as a 4-byte float32.

/// A tensor after lossy coding: what the device reconstructs and what it stores.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconstruction {
    /// Reconstructed values, in the layout of the input.
    pub values: Vec<f32>,
    /// Bytes stored for the tensor: packed indices plus scales or palette.
    pub bytes: usize,
}

/// Bytes of `count` values packed at `bits` bits each.
pub fn packed_bytes(count: usize, bits: u32) -> usize {
    (count * bits as usize).div_ceil(8)
}

/// Quantises `data` symmetrically to signed `bits`-bit integers in
/// `[-(2^(bits−1) − 1), 2^(bits−1) − 1]`, with one float32 scale per block.
///
/// A block is one row of `row_len` values. With `group = Some(g)` it is each run of `g`
/// consecutive values inside a row, and the last run of a row may be shorter, so a device
/// can still decode one output channel at a time. The scale of a block is its largest
/// magnitude divided by the largest integer; a block of zeros gets scale 0.
pub fn symmetric(data: &[f32], row_len: usize, bits: u32, group: Option<usize>) -> Reconstruction {
    let row_len = row_len.max(1);
    let block_len = group.unwrap_or(row_len).clamp(1, row_len);
    let largest = ((1i32 << (bits - 1)) - 1) as f32;
    let mut values = Vec::with_capacity(data.len());
    let mut blocks = 0usize;
    for row in data.chunks(row_len) {
        for block in row.chunks(block_len) {
            blocks += 1;
            let magnitude = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let scale = magnitude / largest;
            for &w in block {
                let q = if scale > 0.0 { (w / scale).round().clamp(-largest, largest) } else { 0.0 };
                values.push(q * scale);
            }
        }
    }
    Reconstruction { values, bytes: packed_bytes(data.len(), bits) + 4 * blocks }
}

/// Index bits of a palette of `entries` entries.
pub fn palette_bits(entries: usize) -> u32 {
    usize::BITS - entries.saturating_sub(1).leading_zeros()
}

/// Replaces every value of `data` with the nearest of `entries` centroids found by
/// k-means ([`kmeans_1d`]); stores the packed indices and the float32 palette.
pub fn palette(data: &[f32], entries: usize) -> Reconstruction {
    let centroids = kmeans_1d(data, entries);
    let boundaries = midpoints(&centroids);
    let values = data
        .iter()
        .map(|&w| {
            let cluster = boundaries.partition_point(|&b| b <= f64::from(w));
            centroids[cluster] as f32
        })
        .collect();
    Reconstruction { values, bytes: packed_bytes(data.len(), palette_bits(entries)) + 4 * entries }
}

fn midpoints(sorted_centroids: &[f64]) -> Vec<f64> {
    sorted_centroids.windows(2).map(|pair| 0.5 * (pair[0] + pair[1])).collect()
}

/// Iterations after which Lloyd's algorithm stops even if assignments still change.
const MAX_LLOYD_ITERATIONS: usize = 1000;

/// Returns `k` centroids in ascending order, fitted to `data` with Lloyd's algorithm.
///
/// Lloyd's algorithm only finds a local optimum, so it runs from two deterministic
/// starts and keeps the one with the lower sum of squared errors: the quantiles
/// `(i + ½)/k` of the data, and `k` points spread evenly over its range. In one
/// dimension the clusters are intervals between the midpoints of neighbouring centroids;
/// a value on a midpoint goes to the upper cluster. A cluster that becomes empty keeps
/// its centroid. Each run stops when no value changes cluster, or after 1,000
/// iterations. An empty `data` gives `k` zeros.
pub fn kmeans_1d(data: &[f32], k: usize) -> Vec<f64> {
    let k = k.max(1);
    if data.is_empty() {
        return vec![0.0; k];
    }
    let sorted = SortedValues::new(data);
    let n = sorted.values.len();
    let (min, max) = (sorted.values[0], sorted.values[n - 1]);
    let quantiles: Vec<f64> =
        (0..k).map(|i| sorted.values[(((i as f64 + 0.5) / k as f64) * n as f64) as usize]).collect();
    let even: Vec<f64> = (0..k).map(|i| min + (max - min) * (i as f64 + 0.5) / k as f64).collect();
    let (first, first_error) = sorted.lloyd(quantiles);
    let (second, second_error) = sorted.lloyd(even);
    if second_error < first_error {
        second
    } else {
        first
    }
}

/// Values in ascending order with prefix sums of the values and of their squares, so
/// the mean and squared error of any interval take O(1).
struct SortedValues {
    values: Vec<f64>,
    sums: Vec<f64>,
    squares: Vec<f64>,
}

impl SortedValues {
    fn new(data: &[f32]) -> Self {
        let mut values: Vec<f64> = data.iter().map(|&v| f64::from(v)).collect();
        values.sort_by(f64::total_cmp);
        let mut sums = Vec::with_capacity(values.len() + 1);
        let mut squares = Vec::with_capacity(values.len() + 1);
        let (mut sum, mut square) = (0.0f64, 0.0f64);
        sums.push(0.0);
        squares.push(0.0);
        for &v in &values {
            sum += v;
            square += v * v;
            sums.push(sum);
            squares.push(square);
        }
        SortedValues { values, sums, squares }
    }

    /// Start of each cluster in `values` for the given sorted centroids, then `n`.
    fn cluster_starts(&self, centroids: &[f64]) -> Vec<usize> {
        let mut starts = vec![0usize];
        starts.extend(midpoints(centroids).iter().map(|&b| self.values.partition_point(|&v| v < b)));
        starts.push(self.values.len());
        starts
    }

    /// Runs Lloyd's algorithm from `centroids`; returns the sorted centroids and their
    /// sum of squared errors.
    fn lloyd(&self, mut centroids: Vec<f64>) -> (Vec<f64>, f64) {
        centroids.sort_by(f64::total_cmp);
        let mut previous: Vec<usize> = Vec::new();
        for _ in 0..MAX_LLOYD_ITERATIONS {
            let starts = self.cluster_starts(&centroids);
            if starts == previous {
                break;
            }
            for (i, centroid) in centroids.iter_mut().enumerate() {
                let (begin, end) = (starts[i], starts[i + 1]);
                if end > begin {
                    *centroid = (self.sums[end] - self.sums[begin]) / (end - begin) as f64;
                }
            }
            // Means of ordered intervals stay ordered; the sort guards against rounding.
            centroids.sort_by(f64::total_cmp);
            previous = starts;
        }
        let starts = self.cluster_starts(&centroids);
        let error = centroids
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let (begin, end) = (starts[i], starts[i + 1]);
                let count = (end - begin) as f64;
                let sum = self.sums[end] - self.sums[begin];
                (self.squares[end] - self.squares[begin]) - 2.0 * c * sum + count * c * c
            })
            .sum();
        (centroids, error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::gaussian_f32;

    #[test]
    fn int8_error_within_half_step() {
        let row_len = 37;
        let data = gaussian_f32(row_len * 11, 0.1, 3);
        let result = symmetric(&data, row_len, 8, None);
        for (row, (original, decoded)) in data.chunks(row_len).zip(result.values.chunks(row_len)).enumerate() {
            let magnitude = original.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let step = f64::from(magnitude) / 127.0;
            for (&w, &d) in original.iter().zip(decoded) {
                let error = (f64::from(w) - f64::from(d)).abs();
                assert!(error <= step / 2.0 * (1.0 + 1e-5), "row {row}: {w} -> {d}, step {step}");
                let level = f64::from(d) / step;
                assert!((level - level.round()).abs() < 1e-3, "row {row}: {d} is not a multiple of {step}");
                assert!(level.abs() <= 127.0 + 1e-3, "row {row}: level {level}");
            }
        }
    }

    #[test]
    fn int4_groups_stay_inside_rows() {
        // Rows of 40 values split into groups of 32 and 8; a row of large values next to a
        // row of small ones must not widen the small row's step.
        let mut data = vec![0.001f32; 40];
        data.extend(std::iter::repeat_n(10.0f32, 40));
        data[3] = 0.007;
        let result = symmetric(&data, 40, 4, Some(32));
        // The first group's step is 0.007 / 7 = 0.001, so 0.001 is reproduced.
        assert!((result.values[0] - 0.001).abs() < 1e-6, "{}", result.values[0]);
        assert!((result.values[3] - 0.007).abs() < 1e-6, "{}", result.values[3]);
        // The second group of row 0 has only 0.001 values, reproduced exactly by its own scale.
        assert!((result.values[35] - 0.001).abs() < 1e-7, "{}", result.values[35]);
        assert!((result.values[60] - 10.0).abs() < 1e-5, "{}", result.values[60]);
    }

    #[test]
    fn storage_counted_by_hand() {
        // 3 rows of 5 values.
        let data: Vec<f32> = (0..15).map(|i| i as f32 - 7.0).collect();
        // int8 per row: 15 bytes of levels and 3 scales of 4 bytes.
        assert_eq!(symmetric(&data, 5, 8, None).bytes, 15 + 12);
        // int4 per row: 60 bits round up to 8 bytes, plus 3 scales.
        assert_eq!(symmetric(&data, 5, 4, None).bytes, 8 + 12);
        // int4 in groups of 32: each row of 5 is one group, so still 3 scales.
        assert_eq!(symmetric(&data, 5, 4, Some(32)).bytes, 8 + 12);
        // int4 in groups of 2: 3 groups per row (2 + 2 + 1), 9 scales.
        assert_eq!(symmetric(&data, 5, 4, Some(2)).bytes, 8 + 36);
        // 16-entry palette: 15 × 4 bits = 8 bytes, 16 entries of 4 bytes.
        assert_eq!(palette(&data, 16).bytes, 8 + 64);
        // 32-entry palette: 15 × 5 bits = 75 bits = 10 bytes, 32 entries of 4 bytes.
        assert_eq!(palette(&data, 32).bytes, 10 + 128);
    }

    #[test]
    fn palette_bits_are_ceil_log2() {
        assert_eq!(palette_bits(2), 1);
        assert_eq!(palette_bits(16), 4);
        assert_eq!(palette_bits(17), 5);
        assert_eq!(palette_bits(32), 5);
    }

    fn sum_of_squares(points: &[f64]) -> f64 {
        if points.is_empty() {
            return 0.0;
        }
        let mean = points.iter().sum::<f64>() / points.len() as f64;
        points.iter().map(|p| (p - mean).powi(2)).sum()
    }

    /// Smallest within-cluster sum of squares over every split of `points` into two
    /// non-empty clusters.
    fn brute_force_two_clusters(points: &[f64]) -> f64 {
        let n = points.len();
        let mut best = f64::INFINITY;
        for mask in 1..(1u32 << n) - 1 {
            let a: Vec<f64> = (0..n).filter(|&i| mask & (1 << i) != 0).map(|i| points[i]).collect();
            let b: Vec<f64> = (0..n).filter(|&i| mask & (1 << i) == 0).map(|i| points[i]).collect();
            best = best.min(sum_of_squares(&a) + sum_of_squares(&b));
        }
        best
    }

    #[test]
    fn kmeans_matches_brute_force_on_six_points() {
        let sets: [[f32; 6]; 5] = [
            [0.0, 0.1, 0.2, 5.0, 5.1, 5.3],
            [-1.0, -0.9, 0.0, 0.05, 0.1, 3.0],
            [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            [0.3, -2.0, 0.2, 0.25, 7.0, 0.1],
            [-4.0, -3.5, -3.0, 2.0, 9.0, 10.0],
        ];
        for set in sets {
            let centroids = kmeans_1d(&set, 2);
            let reconstructed = palette(&set, 2).values;
            let sse: f64 = set.iter().zip(&reconstructed).map(|(&w, &d)| (f64::from(w) - f64::from(d)).powi(2)).sum();
            let points: Vec<f64> = set.iter().map(|&v| f64::from(v)).collect();
            let best = brute_force_two_clusters(&points);
            assert!(
                (sse - best).abs() <= 1e-5 * best.max(1e-6),
                "{set:?}: k-means {sse} ({centroids:?}), optimum {best}"
            );
        }
    }

    #[test]
    fn kmeans_with_more_entries_than_values_is_lossless() {
        let data = [0.5f32, -0.25, 2.0];
        let result = palette(&data, 16);
        assert_eq!(result.values, data.to_vec());
    }
}
