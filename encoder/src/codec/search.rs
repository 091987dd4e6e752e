//! Exact nearest-codeword search over a group's decoded codebook.
//!
//! The codewords are the fixed-point points that the decoder reconstructs, so the search
//! measures distances to exactly what will be decoded. A uniform grid of buckets over the
//! codewords' bounding box finds the nearest one by scanning square rings of cells
//! outwards until no unscanned cell can hold a closer codeword. Ties go to the lowest
//! index, as in [`nearest_brute_force`].

use std::cell::OnceCell;

/// Squared Euclidean distance from `query` to `point`, both in fixed-point units.
#[inline]
pub fn distance_squared(query: [f64; 2], point: [i32; 2]) -> f64 {
    let dx = query[0] - f64::from(point[0]);
    let dy = query[1] - f64::from(point[1]);
    dx * dx + dy * dy
}

/// Returns the index of the codeword nearest to `query`, by trying every codeword.
///
/// # Panics
///
/// Panics if `codewords` is empty.
pub fn nearest_brute_force(codewords: &[[i32; 2]], query: [f64; 2]) -> u32 {
    assert!(!codewords.is_empty(), "a codebook has at least its centre");
    let mut best = (f64::INFINITY, 0u32);
    for (index, &point) in codewords.iter().enumerate() {
        let d = distance_squared(query, point);
        if d < best.0 {
            best = (d, index as u32);
        }
    }
    best.1
}

/// Returns the index of the codeword nearest to `query` along the first coordinate only,
/// for the last pair of an odd row whose second value is padding.
pub fn nearest_first_coordinate(codewords: &[[i32; 2]], query: f64) -> u32 {
    let mut best = (f64::INFINITY, 0u32);
    for (index, &point) in codewords.iter().enumerate() {
        let d = (query - f64::from(point[0])).abs();
        if d < best.0 {
            best = (d, index as u32);
        }
    }
    best.1
}

/// Largest magnitude of a padded query that [`CodewordGrid::nearest_first_coordinate`]
/// handles with a binary search. Below it, `query − x` rounds to the same float for no two
/// distinct integers `x` of the `i32` range, so the float distances order the codewords
/// as the exact ones do.
const SORTED_SEARCH_LIMIT: f64 = (1u64 << 51) as f64;

/// A bucket grid over one codebook.
pub struct CodewordGrid<'a> {
    codewords: &'a [[i32; 2]],
    origin: [f64; 2],
    cell: f64,
    columns: usize,
    rows: usize,
    /// Start of each cell's run in `members`; `cells + 1` entries.
    starts: Vec<u32>,
    /// Codeword indices, grouped by cell, ascending within a cell.
    members: Vec<u32>,
    /// First coordinates, ascending, each with the lowest codeword index that has it.
    /// Built by the first padded query, because only tensors with odd rows need it.
    first_coordinates: OnceCell<Vec<(i32, u32)>>,
}

impl<'a> CodewordGrid<'a> {
    /// Builds the grid.
    ///
    /// # Panics
    ///
    /// Panics if `codewords` is empty.
    pub fn new(codewords: &'a [[i32; 2]]) -> Self {
        assert!(!codewords.is_empty(), "a codebook has at least its centre");
        let mut min = [i32::MAX; 2];
        let mut max = [i32::MIN; 2];
        for p in codewords {
            for d in 0..2 {
                min[d] = min[d].min(p[d]);
                max[d] = max[d].max(p[d]);
            }
        }
        let width = f64::from(max[0]) - f64::from(min[0]) + 1.0;
        let height = f64::from(max[1]) - f64::from(min[1]) + 1.0;
        // About two codewords per cell if they were spread evenly over the box.
        let target_cells = (codewords.len() / 2).max(1) as f64;
        let cell = ((width * height) / target_cells).sqrt().max(1.0);
        let columns = ((width / cell).ceil() as usize).clamp(1, 4096);
        let rows = ((height / cell).ceil() as usize).clamp(1, 4096);
        let cell = (width / columns as f64).max(height / rows as f64);
        let origin = [f64::from(min[0]), f64::from(min[1])];

        let cell_of = |p: &[i32; 2]| -> usize {
            let cx = (((f64::from(p[0]) - origin[0]) / cell) as usize).min(columns - 1);
            let cy = (((f64::from(p[1]) - origin[1]) / cell) as usize).min(rows - 1);
            cy * columns + cx
        };
        let mut counts = vec![0u32; columns * rows + 1];
        for p in codewords {
            counts[cell_of(p) + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let starts = counts.clone();
        let mut fill = counts;
        let mut members = vec![0u32; codewords.len()];
        for (index, p) in codewords.iter().enumerate() {
            let c = cell_of(p);
            members[fill[c] as usize] = index as u32;
            fill[c] += 1;
        }
        CodewordGrid { codewords, origin, cell, columns, rows, starts, members, first_coordinates: OnceCell::new() }
    }

    /// Returns the same index as [`nearest_first_coordinate`] by binary search over the
    /// sorted first coordinates, for the last pair of an odd row.
    pub fn nearest_first_coordinate(&self, query: f64) -> u32 {
        if !query.is_finite() || query.abs() >= SORTED_SEARCH_LIMIT {
            return nearest_first_coordinate(self.codewords, query);
        }
        let sorted = self.first_coordinates.get_or_init(|| {
            let mut sorted: Vec<(i32, u32)> =
                self.codewords.iter().enumerate().map(|(index, point)| (point[0], index as u32)).collect();
            sorted.sort_unstable();
            // Sorting by (coordinate, index) puts the lowest index first in each run.
            sorted.dedup_by_key(|entry| entry.0);
            sorted
        });
        // The nearest codeword is the last one below `query` or the first one at or above it.
        let split = sorted.partition_point(|&(x, _)| f64::from(x) < query);
        let neighbours = &sorted[split.saturating_sub(1)..(split + 1).min(sorted.len())];
        let mut best = (f64::INFINITY, u32::MAX);
        for &(x, index) in neighbours {
            let d = (query - f64::from(x)).abs();
            if d < best.0 || (d == best.0 && index < best.1) {
                best = (d, index);
            }
        }
        best.1
    }

    /// Returns the index of the codeword nearest to `query`, ties to the lowest index.
    pub fn nearest(&self, query: [f64; 2]) -> u32 {
        let clamp_cell = |value: f64, origin: f64, count: usize| -> i64 {
            let c = ((value - origin) / self.cell).floor();
            c.clamp(0.0, (count - 1) as f64) as i64
        };
        let home =
            [clamp_cell(query[0], self.origin[0], self.columns), clamp_cell(query[1], self.origin[1], self.rows)];
        let mut best = (f64::INFINITY, u32::MAX);
        let max_ring = self.columns.max(self.rows) as i64;
        for ring in 0..=max_ring {
            if ring >= 1 {
                let reach = (ring - 1) as f64 * self.cell;
                if reach * reach > best.0 {
                    break;
                }
            }
            self.scan_ring(home, ring, query, &mut best);
        }
        best.1
    }

    fn scan_ring(&self, home: [i64; 2], ring: i64, query: [f64; 2], best: &mut (f64, u32)) {
        let (x0, x1) = (home[0] - ring, home[0] + ring);
        let (y0, y1) = (home[1] - ring, home[1] + ring);
        for y in y0..=y1 {
            if y < 0 || y >= self.rows as i64 {
                continue;
            }
            let on_edge = y == y0 || y == y1;
            let step = if on_edge || ring == 0 { 1 } else { (x1 - x0).max(1) };
            let mut x = x0;
            while x <= x1 {
                if x >= 0 && x < self.columns as i64 {
                    self.scan_cell(y as usize * self.columns + x as usize, query, best);
                }
                x += step;
            }
        }
    }

    fn scan_cell(&self, cell: usize, query: [f64; 2], best: &mut (f64, u32)) {
        let range = self.starts[cell] as usize..self.starts[cell + 1] as usize;
        for &index in &self.members[range] {
            let d = distance_squared(query, self.codewords[index as usize]);
            if d < best.0 || (d == best.0 && index < best.1) {
                *best = (d, index);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lcg_points(seed: u64, count: usize, spread: i32) -> Vec<[i32; 2]> {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as i64 % (2 * i64::from(spread) + 1)) as i32 - spread
        };
        (0..count).map(|_| [next(), next()]).collect()
    }

    proptest! {
        #[test]
        fn grid_matches_brute_force(seed in 0u64..1000, count in 1usize..400, spread in 0i32..5000,
                                    qx in -8000.0f64..8000.0, qy in -8000.0f64..8000.0) {
            let points = lcg_points(seed, count, spread);
            let grid = CodewordGrid::new(&points);
            let q = [qx, qy];
            prop_assert_eq!(grid.nearest(q), nearest_brute_force(&points, q));
        }
    }

    proptest! {
        #[test]
        fn first_coordinate_search_matches_brute_force(seed in 0u64..1000, count in 1usize..400,
                                                       spread in 0i32..5000, query in -8000.0f64..8000.0) {
            let points = lcg_points(seed, count, spread);
            let grid = CodewordGrid::new(&points);
            prop_assert_eq!(grid.nearest_first_coordinate(query), nearest_first_coordinate(&points, query));
            // A query on a codeword and one half a unit past it test exact hits and possible ties.
            let on_point = f64::from(points[seed as usize % count][0]);
            prop_assert_eq!(grid.nearest_first_coordinate(on_point), nearest_first_coordinate(&points, on_point));
            let between = on_point + 0.5;
            prop_assert_eq!(grid.nearest_first_coordinate(between), nearest_first_coordinate(&points, between));
        }
    }

    #[test]
    fn first_coordinate_search_handles_extreme_queries() {
        let points = vec![[i32::MIN, 0], [7, 1], [7, 2], [-3, 3], [i32::MAX, 4]];
        let grid = CodewordGrid::new(&points);
        for query in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300, 5.0, 2.0, 7.0, -3.0] {
            assert_eq!(grid.nearest_first_coordinate(query), nearest_first_coordinate(&points, query), "query {query}");
        }
    }

    #[test]
    fn duplicate_codewords_resolve_to_lowest_index() {
        let points = vec![[5, 5], [0, 0], [0, 0], [5, 5]];
        let grid = CodewordGrid::new(&points);
        assert_eq!(grid.nearest([0.1, 0.0]), 1);
        assert_eq!(grid.nearest([4.9, 5.0]), 0);
    }

    #[test]
    fn single_codeword_always_wins() {
        let points = vec![[-3, 7]];
        let grid = CodewordGrid::new(&points);
        assert_eq!(grid.nearest([1e9, -1e9]), 0);
    }
}
