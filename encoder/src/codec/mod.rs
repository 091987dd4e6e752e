//! Hyper-Compression of one tensor.
//!
//! A tensor is viewed as `rows × row_len` values (rows along its first dimension) and
//! each row as consecutive pairs. Every pair becomes the index of its nearest codeword,
//! where the codewords are exactly the fixed-point points that
//! [`decoder_core::codebook::Codebook::reconstruct`] produces. Settings come from a
//! [`Mode`]: a target bit rate with parameters fitted to each tensor's statistics, one of
//! the reference presets, or lossless storage.

pub mod lattice;
pub mod pack;
pub mod plan;
pub mod search;

use decoder_core::codebook::{write_group, Codebook, Group, GROUP_HEADER_LEN};
use decoder_core::container::{HyperRecord, StorageRecord, TensorRecord};
use decoder_core::hyperfunction::Trajectory;
use decoder_core::tensor::HyperTensor;
use decoder_core::MAX_RANK;
use rayon::prelude::*;

use plan::{Plan, Side};
use search::CodewordGrid;

/// Tensors with fewer values than this are stored raw: their parameters would cost more
/// than the indices save.
pub const MIN_ENCODED_VALUES: usize = 16;

/// Largest fixed-point magnitude the encoder places a codeword at, leaving headroom
/// below `i16::MAX` for rounding.
const GRID_LIMIT: f64 = 32_000.0;

/// Pairs on which the default settings are compared before the whole tensor is encoded.
const SAMPLE_PAIRS: u64 = 32_768;

/// Encoding mode of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A target of this many index bits per weight (1 to 8), with the square side,
    /// ring count and groups chosen per tensor to minimise the squared error.
    Bits(u8),
    /// The settings of a published experiment.
    Preset(Preset),
    /// Every tensor stored as raw float32.
    Lossless,
}

/// Settings of the reference implementation of Hyper-Compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// UNet and LLaMA experiments: L = 0.1, N = 225 (15 × 15), up to 3 rings.
    PaperUnet,
    /// MobileNetV3 experiment: L = 0.8, N = 1600 (40 × 40), up to 4 rings.
    PaperMobilenet,
}

impl Preset {
    /// Square side, points per side of the grid, and maximum ring count.
    fn settings(self) -> (f64, u32, u8) {
        match self {
            Preset::PaperUnet => (0.1, 15, 3),
            Preset::PaperMobilenet => (0.8, 40, 4),
        }
    }
}

/// Failure to encode a tensor.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// A value is NaN or infinite.
    #[error(
        "tensor '{tensor}' has a non-finite value {value} at flat index {index}; fix or remove it before encoding"
    )]
    NonFinite {
        /// Tensor name.
        tensor: String,
        /// Flat (row-major) position of the value.
        index: usize,
        /// The value.
        value: f32,
    },
    /// The shape cannot be stored.
    #[error("tensor '{tensor}' cannot be stored: {reason}")]
    Shape {
        /// Tensor name.
        tensor: String,
        /// Reason the shape is rejected.
        reason: String,
    },
}

/// A tensor ready to be written into a container.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedTensor {
    /// Tensor name.
    pub name: String,
    /// Dimensions, outermost first.
    pub shape: Vec<u32>,
    /// Stored representation.
    pub storage: Storage,
    /// Largest absolute error of any decoded value, rounded up to a float32.
    pub max_abs_error: f32,
    /// Relative mean squared error of the decoded values.
    pub rel_mse: f32,
}

/// Stored representation of an [`EncodedTensor`].
#[derive(Debug, Clone, PartialEq)]
pub enum Storage {
    /// Little-endian float32 values.
    Raw(Vec<u8>),
    /// Hyper-Compression indices and parameters.
    Hyper(HyperData),
}

/// Owned form of [`HyperRecord`].
#[derive(Debug, Clone, PartialEq)]
pub struct HyperData {
    /// Rows (the first dimension).
    pub rows: u32,
    /// Values per row.
    pub row_len: u32,
    /// Rows per parameter group.
    pub group_rows: u32,
    /// Fixed-point step: `w = q · scale`.
    pub scale: f32,
    /// Trajectory points `N`.
    pub inner: u32,
    /// Outlier rings `C`.
    pub rings: u8,
    /// Direction and phase of the trajectory.
    pub trajectory: Trajectory,
    /// Bits per packed index.
    pub index_bits: u8,
    /// Per-group parameters.
    pub groups: Vec<u8>,
    /// Packed indices.
    pub indices: Vec<u8>,
}

impl HyperData {
    /// Borrows this as the container record.
    pub fn record(&self) -> HyperRecord<'_> {
        HyperRecord {
            rows: self.rows,
            row_len: self.row_len,
            group_rows: self.group_rows,
            scale: self.scale,
            inner: self.inner,
            rings: self.rings,
            trajectory: self.trajectory,
            index_bits: self.index_bits,
            groups: &self.groups,
            indices: &self.indices,
        }
    }
}

impl EncodedTensor {
    /// Borrows this as the container record.
    pub fn record(&self) -> TensorRecord<'_> {
        let mut shape = heapless::Vec::new();
        for &dim in &self.shape {
            // The rank was checked against MAX_RANK when the tensor was encoded.
            let _ = shape.push(dim);
        }
        TensorRecord {
            name: &self.name,
            shape,
            max_abs_error: self.max_abs_error,
            rel_mse: self.rel_mse,
            storage: match &self.storage {
                Storage::Raw(bytes) => StorageRecord::Raw(bytes),
                Storage::Hyper(h) => StorageRecord::Hyper(h.record()),
            },
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().map(|&d| d as usize).product()
    }

    /// True when the tensor has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the serialized record in the container.
    pub fn stored_bytes(&self) -> usize {
        postcard::to_allocvec(&self.record()).map(|v| v.len()).unwrap_or(0)
    }
}

/// Encodes one tensor.
pub fn encode_tensor(name: &str, shape: &[usize], data: &[f32], mode: Mode) -> Result<EncodedTensor, EncodeError> {
    let shape32 = check_shape(name, shape, data.len())?;
    if let Some((index, &value)) = data.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(EncodeError::NonFinite { tensor: name.to_string(), index, value });
    }
    let raw = raw_tensor(name, &shape32, data);
    if matches!(mode, Mode::Lossless) || data.len() < MIN_ENCODED_VALUES {
        return Ok(raw);
    }
    let layout = Layout::new(&shape32, data);
    let hyper = match mode {
        Mode::Bits(bits) => encode_default(&layout, bits.clamp(1, 8)),
        Mode::Preset(preset) => encode_preset(&layout, preset),
        Mode::Lossless => unreachable!("handled above"),
    };
    let (max_abs_error, rel_mse) = measure(&hyper, data);
    let encoded = EncodedTensor {
        name: name.to_string(),
        shape: shape32,
        storage: Storage::Hyper(hyper),
        max_abs_error,
        rel_mse,
    };
    if encoded.stored_bytes() >= raw.stored_bytes() {
        return Ok(raw);
    }
    Ok(encoded)
}

fn check_shape(name: &str, shape: &[usize], len: usize) -> Result<Vec<u32>, EncodeError> {
    let fail = |reason: String| EncodeError::Shape { tensor: name.to_string(), reason };
    if shape.len() > MAX_RANK {
        return Err(fail(format!("rank {} exceeds the maximum of {MAX_RANK}", shape.len())));
    }
    let mut count = 1u64;
    let mut dims = Vec::with_capacity(shape.len());
    for &dim in shape {
        let dim32 = u32::try_from(dim).map_err(|_| fail(format!("dimension {dim} exceeds 2^32 - 1")))?;
        count = count.saturating_mul(u64::from(dim32));
        dims.push(dim32);
    }
    if count > u64::from(u32::MAX) {
        return Err(fail(format!("{count} values exceed the maximum of 2^32 - 1")));
    }
    if count != len as u64 {
        return Err(fail(format!("shape {shape:?} holds {count} values but {len} were given")));
    }
    Ok(dims)
}

fn raw_tensor(name: &str, shape: &[u32], data: &[f32]) -> EncodedTensor {
    EncodedTensor {
        name: name.to_string(),
        shape: shape.to_vec(),
        storage: Storage::Raw(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        max_abs_error: 0.0,
        rel_mse: 0.0,
    }
}

/// A tensor viewed as rows of pairs: rows along its first dimension, or one row for a
/// vector, and consecutive values of a row paired.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    /// Number of rows.
    pub rows: u32,
    /// Values per row.
    pub row_len: u32,
    /// The values, row after row.
    pub data: &'a [f32],
}

impl<'a> Layout<'a> {
    /// Views `data` of a tensor of `shape` as rows of pairs. `data` must hold the
    /// `shape`'s number of values and fit in `u32` counts, as [`encode_tensor`] checks.
    pub fn new(shape: &[u32], data: &'a [f32]) -> Self {
        // A vector is one row, so its values pair up instead of each pairing with padding.
        let rows = if shape.len() >= 2 { shape[0].max(1) } else { 1 };
        Layout { rows, row_len: (data.len() / rows as usize) as u32, data }
    }

    /// Returns the number of pairs in a row, counting the padded last one of an odd row.
    pub fn pairs_per_row(&self) -> u32 {
        self.row_len.div_ceil(2)
    }

    /// Returns pair `pair` of row `row`. The second value is `None` for the padding of an odd row.
    pub fn pair(&self, row: u32, pair: u32) -> (f32, Option<f32>) {
        let start = row as usize * self.row_len as usize + 2 * pair as usize;
        let second = if 2 * pair + 1 < self.row_len { Some(self.data[start + 1]) } else { None };
        (self.data[start], second)
    }

    /// Returns every pair, row after row.
    pub fn pairs(&self) -> impl Iterator<Item = (f32, Option<f32>)> + '_ {
        (0..self.rows).flat_map(move |row| (0..self.pairs_per_row()).map(move |pair| self.pair(row, pair)))
    }

    fn group_count(&self, group_rows: u32) -> u32 {
        self.rows.div_ceil(group_rows)
    }

    fn group_rows_range(&self, group: u32, group_rows: u32) -> std::ops::Range<u32> {
        group * group_rows..((group + 1) * group_rows).min(self.rows)
    }
}

/// Statistics of one group's values, in weight units.
#[derive(Debug, Clone, Copy)]
struct GroupStats {
    centre: [f64; 2],
    sigma: f64,
    /// Largest distance of a pair from the centre.
    farthest: f64,
}

fn group_stats(layout: &Layout<'_>, rows: std::ops::Range<u32>) -> GroupStats {
    let mut sum = [0.0f64; 2];
    let mut count = [0u64; 2];
    for row in rows.clone() {
        for pair in 0..layout.pairs_per_row() {
            let (x, y) = layout.pair(row, pair);
            sum[0] += f64::from(x);
            count[0] += 1;
            if let Some(y) = y {
                sum[1] += f64::from(y);
                count[1] += 1;
            }
        }
    }
    let cx = sum[0] / count[0].max(1) as f64;
    let cy = if count[1] > 0 { sum[1] / count[1] as f64 } else { cx };
    let mean = (sum[0] + sum[1]) / (count[0] + count[1]).max(1) as f64;
    let mut squares = 0.0f64;
    let mut farthest = 0.0f64;
    for row in rows {
        for pair in 0..layout.pairs_per_row() {
            let (x, y) = layout.pair(row, pair);
            let dx = f64::from(x) - cx;
            squares += (f64::from(x) - mean).powi(2);
            let dy = match y {
                Some(y) => {
                    squares += (f64::from(y) - mean).powi(2);
                    f64::from(y) - cy
                }
                None => 0.0,
            };
            farthest = farthest.max((dx * dx + dy * dy).sqrt());
        }
    }
    let sigma = (squares / (count[0] + count[1]).max(1) as f64).sqrt();
    GroupStats { centre: [cx, cy], sigma, farthest }
}

/// A group's square side and ring radii, in weight units.
struct Geometry {
    side: f64,
    radii: Vec<f64>,
}

fn geometry(stats: &GroupStats, plan: &Plan) -> Geometry {
    let side = match plan.side {
        Side::Relative(factor) => factor * stats.sigma,
        Side::Absolute(side) => side,
    };
    let half = side / 2.0;
    let rings = usize::from(plan.rings);
    let outer = stats.farthest.max(half);
    let radii = (1..=rings).map(|j| half + (outer - half) * j as f64 / rings as f64).collect();
    Geometry { side, radii }
}

/// Returns the fixed-point step that keeps every codeword of every group inside the `i16` range.
fn tensor_scale(data: &[f32], stats: &[GroupStats], geometries: &[Geometry]) -> f32 {
    let mut reach = data.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
    for (s, g) in stats.iter().zip(geometries) {
        let outer = g.radii.last().copied().unwrap_or(0.0).max(g.side / 2.0);
        reach = reach.max(s.centre[0].abs().max(s.centre[1].abs()) + outer);
    }
    let scale = (reach / GRID_LIMIT) as f32;
    if scale.is_normal() {
        scale
    } else {
        1.0
    }
}

/// A group's parameters on the fixed-point grid, and its decoded codewords.
struct GroupCodebook {
    bytes: Vec<u8>,
    codewords: Vec<[i32; 2]>,
}

fn group_codebook(stats: &GroupStats, geometry: &Geometry, scale: f32, codebook: &Codebook) -> GroupCodebook {
    let scale = f64::from(scale);
    let to_i16 = |v: f64| (v / scale).round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16;
    let centre = [to_i16(stats.centre[0]), to_i16(stats.centre[1])];
    let side = (geometry.side / scale).round().clamp(0.0, f64::from(u16::MAX)) as u16;
    let half = f64::from(side / 2);
    let ring_scales: Vec<u32> = geometry
        .radii
        .iter()
        .map(|&r| {
            if half == 0.0 {
                1 << 16
            } else {
                (r / scale / half * 65_536.0).round().clamp(65_536.0, f64::from(u32::MAX)) as u32
            }
        })
        .collect();
    let mut bytes = vec![0u8; GROUP_HEADER_LEN + 4 * ring_scales.len()];
    let written = write_group(centre, side, &ring_scales, &mut bytes);
    debug_assert!(written, "group buffer sized from the ring count");
    let group = Group::parse(&bytes, codebook.rings).expect("group bytes laid out by write_group");
    let codewords = (0..codebook.len() as u32)
        .map(|index| codebook.reconstruct(&group, index).expect("index below the codebook length"))
        .collect();
    GroupCodebook { bytes, codewords }
}

/// Returns the number of codewords per ring: the centre and the `N` trajectory points.
fn ring_len(plan: &Plan) -> usize {
    plan.inner as usize + 1
}

/// Everything needed to encode the rows of a tensor with one plan.
struct Prepared {
    scale: f32,
    groups: Vec<GroupCodebook>,
}

fn prepare(layout: &Layout<'_>, plan: &Plan, stats: &[GroupStats]) -> Prepared {
    let geometries: Vec<Geometry> = stats.iter().map(|s| geometry(s, plan)).collect();
    let scale = tensor_scale(layout.data, stats, &geometries);
    let codebook = Codebook { trajectory: plan.trajectory, inner: plan.inner, rings: plan.rings };
    let groups = stats.iter().zip(&geometries).map(|(s, g)| group_codebook(s, g, scale, &codebook)).collect();
    Prepared { scale, groups }
}

/// Encodes the rows of one group; returns their indices, row after row.
fn encode_rows(layout: &Layout<'_>, rows: std::ops::Range<u32>, grid: &CodewordGrid<'_>, scale: f32) -> Vec<u32> {
    let inverse = 1.0 / f64::from(scale);
    let mut out = Vec::with_capacity(rows.len() * layout.pairs_per_row() as usize);
    for row in rows {
        for pair in 0..layout.pairs_per_row() {
            let index = match layout.pair(row, pair) {
                (x, Some(y)) => grid.nearest([f64::from(x) * inverse, f64::from(y) * inverse]),
                (x, None) => grid.nearest_first_coordinate(f64::from(x) * inverse),
            };
            out.push(index);
        }
    }
    out
}

/// Sum of squared and of absolute errors of `rows` encoded with `prepared`.
fn evaluate(layout: &Layout<'_>, plan: &Plan, prepared: &Prepared, rows: &[u32]) -> (f64, f64) {
    let mut squared = 0.0;
    let mut absolute = 0.0;
    // The sampled rows ascend, so each group's search grid is built once.
    let mut cached: Option<(usize, CodewordGrid<'_>)> = None;
    for &row in rows {
        let group_index = (row / plan.group_rows) as usize;
        let group = &prepared.groups[group_index];
        let grid = match cached {
            Some((built, ref grid)) if built == group_index => grid,
            _ => &cached.insert((group_index, CodewordGrid::new(&group.codewords, ring_len(plan)))).1,
        };
        let indices = encode_rows(layout, row..row + 1, grid, prepared.scale);
        for (pair, &index) in indices.iter().enumerate() {
            let q = group.codewords[index as usize];
            let (x, y) = layout.pair(row, pair as u32);
            let mut add = |value: f32, q: i32| {
                let error = f64::from(value) - f64::from(q as f32 * prepared.scale);
                squared += error * error;
                absolute += error.abs();
            };
            add(x, q[0]);
            if let Some(y) = y {
                add(y, q[1]);
            }
        }
    }
    (squared, absolute)
}

fn all_stats(layout: &Layout<'_>, group_rows: u32) -> Vec<GroupStats> {
    (0..layout.group_count(group_rows)).map(|g| group_stats(layout, layout.group_rows_range(g, group_rows))).collect()
}

/// Rows spread evenly over the tensor, covering about [`SAMPLE_PAIRS`] pairs.
fn sample_rows(layout: &Layout<'_>) -> Vec<u32> {
    let total = u64::from(layout.rows) * u64::from(layout.pairs_per_row());
    let wanted = (SAMPLE_PAIRS / u64::from(layout.pairs_per_row()).max(1)).max(1);
    if total <= SAMPLE_PAIRS || wanted >= u64::from(layout.rows) {
        return (0..layout.rows).collect();
    }
    let stride = u64::from(layout.rows) as f64 / wanted as f64;
    (0..wanted).map(|i| (i as f64 * stride) as u32).collect()
}

fn encode_default(layout: &Layout<'_>, bits_per_weight: u8) -> HyperData {
    let group_rows = plan::default_group_rows(layout.rows, layout.row_len);
    let stats = all_stats(layout, group_rows);
    let sample = sample_rows(layout);
    let candidates = plan::default_candidates(2 * bits_per_weight, group_rows);
    let scored: Vec<(f64, usize)> = candidates
        .par_iter()
        .enumerate()
        .map(|(i, plan)| (evaluate(layout, plan, &prepare(layout, plan, &stats), &sample).0, i))
        .collect();
    let best = scored.iter().min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))).map(|&(_, i)| i).unwrap_or(0);
    encode_with(layout, &candidates[best], &stats)
}

fn encode_preset(layout: &Layout<'_>, preset: Preset) -> HyperData {
    let (side, side_points, max_rings) = preset.settings();
    let stats = all_stats(layout, layout.rows);
    let all_rows: Vec<u32> = (0..layout.rows).collect();
    let mut candidates = plan::preset_candidates(side, side_points, max_rings, layout.rows);
    if stats[0].farthest <= side / 2.0 {
        // Every pair lies within the inscribed circle of the square: rings would be empty.
        candidates.truncate(1);
        candidates[0].rings = 0;
    }
    // The reference picks the ring count with the lowest mean absolute error.
    let best = candidates
        .iter()
        .enumerate()
        .map(|(i, plan)| (evaluate(layout, plan, &prepare(layout, plan, &stats), &all_rows).1, i))
        .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .map(|(_, i)| i)
        .unwrap_or(0);
    encode_with(layout, &candidates[best], &stats)
}

fn encode_with(layout: &Layout<'_>, plan: &Plan, stats: &[GroupStats]) -> HyperData {
    let prepared = prepare(layout, plan, stats);
    let per_group: Vec<Vec<u32>> = (0..layout.group_count(plan.group_rows))
        .into_par_iter()
        .map(|g| {
            let rows = layout.group_rows_range(g, plan.group_rows);
            let group = &prepared.groups[g as usize];
            encode_rows(layout, rows, &CodewordGrid::new(&group.codewords, ring_len(plan)), prepared.scale)
        })
        .collect();
    let indices: Vec<u32> = per_group.into_iter().flatten().collect();
    let index_bits = pack::width_of(indices.iter().copied().max().unwrap_or(0));
    HyperData {
        rows: layout.rows,
        row_len: layout.row_len,
        group_rows: plan.group_rows,
        scale: prepared.scale,
        inner: plan.inner,
        rings: plan.rings,
        trajectory: plan.trajectory,
        index_bits,
        groups: prepared.groups.iter().flat_map(|g| g.bytes.iter().copied()).collect(),
        indices: pack::pack(&indices, index_bits),
    }
}

/// Decodes `hyper` with the decoder and returns the maximum absolute error, rounded up to
/// a float32, and the relative mean squared error against `data`.
///
/// # Panics
///
/// Panics when `hyper` is not a valid record for `data`, which the encoder never writes.
pub fn measure(hyper: &HyperData, data: &[f32]) -> (f32, f32) {
    let tensor = HyperTensor::validate(hyper.record(), 0).expect("the encoder writes valid records");
    let mut row = vec![0.0f32; hyper.row_len as usize];
    let mut max_error = 0.0f64;
    let mut squared = 0.0f64;
    let mut energy = 0.0f64;
    for (r, original) in data.chunks_exact(hyper.row_len as usize).enumerate() {
        tensor.decode_row_f32(r as u32, &mut row).expect("rows of a validated tensor decode");
        for (&w, &decoded) in original.iter().zip(&row) {
            let error = f64::from(w) - f64::from(decoded);
            max_error = max_error.max(error.abs());
            squared += error * error;
            energy += f64::from(w) * f64::from(w);
        }
    }
    let rel_mse = if energy > 0.0 {
        squared / energy
    } else if squared > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    (round_up(max_error), rel_mse as f32)
}

/// Returns the smallest float32 not below `value`.
pub fn round_up(value: f64) -> f32 {
    let rounded = value as f32;
    if f64::from(rounded) < value {
        rounded.next_up()
    } else {
        rounded
    }
}
