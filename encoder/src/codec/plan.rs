//! Codebook settings of a tensor: how many trajectory points and rings, how wide the
//! square is, and which rows share parameters.

use decoder_core::hyperfunction::Trajectory;

use super::lattice::best_generator;

/// Values per parameter group that the default settings aim for. A group's parameters
/// cost 6 + 4·C bytes, so with 2,048 values they add at most 0.07 bits per value.
pub const TARGET_GROUP_VALUES: usize = 2048;

/// Rule that sets the side `L` of each group's inner square.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Side {
    /// `L = factor · σ`, with σ the standard deviation of the group's values.
    Relative(f64),
    /// `L` in the weights' own units, the same for every group.
    Absolute(f64),
}

/// The settings a tensor is encoded with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Trajectory placing the inner codewords.
    pub trajectory: Trajectory,
    /// Trajectory points `N`.
    pub inner: u32,
    /// Outlier rings `C`.
    pub rings: u8,
    /// Side of the inner square.
    pub side: Side,
    /// Rows per parameter group.
    pub group_rows: u32,
}

/// Rows per group for the default settings: enough rows to reach
/// [`TARGET_GROUP_VALUES`] values, at most all of them.
pub fn default_group_rows(rows: u32, row_len: u32) -> u32 {
    let wanted = TARGET_GROUP_VALUES.div_ceil(row_len.max(1) as usize);
    (wanted.min(rows as usize) as u32).max(1)
}

/// Candidate plans for a budget of `index_bits` bits per pair: `(N + 1)·(C + 1)` fills
/// the `2^index_bits` indices for each ring count, crossed with square sides between
/// 1.5σ and 8σ.
pub fn default_candidates(index_bits: u8, group_rows: u32) -> Vec<Plan> {
    const SIDE_FACTORS: [f64; 10] = [1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 8.0];
    let codes = 1u64 << index_bits;
    let mut plans = Vec::new();
    for rings in 0u8..=3 {
        let per_ring = codes / (u64::from(rings) + 1);
        if per_ring < 2 {
            continue;
        }
        let inner = (per_ring - 1) as u32;
        let trajectory = Trajectory::rank1_lattice(inner, best_generator(inner));
        for factor in SIDE_FACTORS {
            plans.push(Plan { trajectory, inner, rings, side: Side::Relative(factor), group_rows });
        }
    }
    plans
}

/// Returns the settings of the published experiments: a square of absolute side `side`,
/// `side_points²` codewords on the reference's sheared grid, and 1 to `max_rings` rings.
pub fn preset_candidates(side: f64, side_points: u32, max_rings: u8, rows: u32) -> Vec<Plan> {
    let trajectory = Trajectory::sheared_grid(side_points);
    (1..=max_rings)
        .map(|rings| Plan {
            trajectory,
            inner: side_points * side_points,
            rings,
            side: Side::Absolute(side),
            group_rows: rows,
        })
        .collect()
}
