//! Exact nearest-codeword search over a group's decoded codebook.
//!
//! The codewords are the fixed-point points that the decoder reconstructs, so the search
//! measures distances to exactly what will be decoded. Each ring of the codebook gets a
//! uniform grid of buckets over its bounding box. A search scans square rings of cells
//! outwards from the query's cell and stops at the first ring of cells whose nearest edge
//! lies farther than the best codeword found. Ties go to the lowest index, as in
//! [`nearest_brute_force`].

use std::cell::{Cell, OnceCell};

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
/// searches with its grids. Below it, `query − x` rounds to the same float for no two
/// distinct integers `x` of the `i32` range, so the float distances order the codewords
/// as the exact ones do.
const FIRST_COORDINATE_LIMIT: f64 = (1u64 << 51) as f64;

/// Bucket grids over a codebook whose codewords come in parts: one grid, or one per part.
///
/// A codebook's rings are scaled copies of its inner square, stored one after the other.
/// With one grid over all of them, the cells are sized for the outermost ring, so with a
/// large ring scale the inner codewords crowd into a few cells and each search scans them
/// all. When a cell of the single grid is too crowded, each part gets its own grid.
pub struct CodewordGrid<'a> {
    codewords: &'a [[i32; 2]],
    parts: Vec<CellGrid>,
    /// First coordinates, ascending, each with the lowest codeword index that has it.
    first_coordinates: OnceCell<Vec<(i32, u32)>>,
    /// Padded queries left to scan by columns before the sorted search is built.
    column_queries_left: Cell<u32>,
}

impl<'a> CodewordGrid<'a> {
    /// Builds the grids of a codebook whose parts are runs of `part_len` codewords (the
    /// last run may be shorter).
    ///
    /// # Panics
    ///
    /// Panics if `codewords` is empty or `part_len` is 0.
    pub fn new(codewords: &'a [[i32; 2]], part_len: usize) -> Self {
        assert!(!codewords.is_empty(), "a codebook has at least its centre");
        assert!(part_len > 0, "a codebook part holds at least one codeword");
        let whole = CellGrid::new(codewords, 0..codewords.len());
        let parts = if part_len >= codewords.len() || whole.fullest_cell() <= SPLIT_CELL {
            vec![whole]
        } else {
            (0..codewords.len())
                .step_by(part_len)
                .map(|start| CellGrid::new(codewords, start..(start + part_len).min(codewords.len())))
                .collect()
        };
        // Estimates: a column scan visits about 4·√len codewords and cells, and a sort
        // makes about 2·len·log2(len) comparisons.
        let len = codewords.len() as f64;
        let column_queries = (0.5 * len.sqrt() * len.log2()).ceil() as u32;
        CodewordGrid {
            codewords,
            parts,
            first_coordinates: OnceCell::new(),
            column_queries_left: Cell::new(column_queries),
        }
    }

    /// Returns the same index as [`nearest_first_coordinate`], for the last pair of an odd
    /// row. The first queries scan columns of cells outwards from the query. Once these
    /// scans have cost about as much as a sort, the first coordinates are sorted, and
    /// later queries use a binary search.
    pub fn nearest_first_coordinate(&self, query: f64) -> u32 {
        if !query.is_finite() || query.abs() >= FIRST_COORDINATE_LIMIT {
            return nearest_first_coordinate(self.codewords, query);
        }
        if self.first_coordinates.get().is_none() && self.column_queries_left.get() > 0 {
            self.column_queries_left.set(self.column_queries_left.get() - 1);
            let mut best = (f64::INFINITY, u32::MAX);
            for part in &self.parts {
                part.search_first_coordinate(self.codewords, query, &mut best);
            }
            return best.1;
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
        let mut best = (f64::INFINITY, u32::MAX);
        for part in &self.parts {
            part.search(self.codewords, query, &mut best);
        }
        best.1
    }
}

/// Codewords in one cell above which a grid drops repeated points.
const CROWDED_CELL: u32 = 8;

/// Codewords in one cell of a single grid above which a codebook gets one grid per ring.
/// Searching every ring's grid costs more per query, so a little crowding is cheaper:
/// with 32 rather than 8, `--bits 4` encodes the MLPerf Tiny models 5–15% faster.
const SPLIT_CELL: u32 = 32;

/// A uniform grid of cells over the bounding box of one part of a codebook.
struct CellGrid {
    origin: [f64; 2],
    cell: f64,
    columns: usize,
    rows: usize,
    /// Start of each cell's run in `members`; `cells + 1` entries.
    starts: Vec<u32>,
    /// Codeword indices into the whole codebook, grouped by cell. A crowded cell keeps
    /// only the lowest index of each distinct point in it, because a repeat never wins.
    members: Vec<u32>,
}

impl CellGrid {
    fn new(codewords: &[[i32; 2]], part: std::ops::Range<usize>) -> Self {
        let points = &codewords[part.clone()];
        let mut min = [i32::MAX; 2];
        let mut max = [i32::MIN; 2];
        for p in points {
            for d in 0..2 {
                min[d] = min[d].min(p[d]);
                max[d] = max[d].max(p[d]);
            }
        }
        let width = f64::from(max[0]) - f64::from(min[0]) + 1.0;
        let height = f64::from(max[1]) - f64::from(min[1]) + 1.0;
        // About two codewords per cell if they were spread evenly over the box.
        let target_cells = (points.len() / 2).max(1) as f64;
        let cell = ((width * height) / target_cells).sqrt().max(1.0);
        let columns = ((width / cell).ceil() as usize).clamp(1, 4096);
        let rows = ((height / cell).ceil() as usize).clamp(1, 4096);
        let cell = (width / columns as f64).max(height / rows as f64);
        let origin = [f64::from(min[0]), f64::from(min[1])];

        let cells: Vec<u32> = points
            .iter()
            .map(|p| {
                let cx = (((f64::from(p[0]) - origin[0]) / cell) as usize).min(columns - 1);
                let cy = (((f64::from(p[1]) - origin[1]) / cell) as usize).min(rows - 1);
                (cy * columns + cx) as u32
            })
            .collect();
        let mut starts = vec![0u32; columns * rows + 1];
        for &c in &cells {
            starts[c as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut fill = starts.clone();
        let mut members = vec![0u32; points.len()];
        for (offset, &c) in cells.iter().enumerate() {
            members[fill[c as usize] as usize] = (part.start + offset) as u32;
            fill[c as usize] += 1;
        }
        let mut grid = CellGrid { origin, cell, columns, rows, starts, members };
        if grid.fullest_cell() > CROWDED_CELL {
            // A square side of a few units puts many codewords on the same points.
            grid.drop_repeated_points(codewords);
        }
        grid
    }

    /// Returns the number of codewords in the fullest cell.
    fn fullest_cell(&self) -> u32 {
        self.starts.windows(2).map(|run| run[1] - run[0]).max().unwrap_or(0)
    }

    /// Keeps one index, the lowest, of each distinct point in each cell.
    fn drop_repeated_points(&mut self, codewords: &[[i32; 2]]) {
        let mut unique = Vec::with_capacity(self.members.len());
        let mut starts = Vec::with_capacity(self.starts.len());
        starts.push(0);
        for window in self.starts.windows(2) {
            let cell = &mut self.members[window[0] as usize..window[1] as usize];
            cell.sort_unstable_by_key(|&index| (codewords[index as usize], index));
            let mut previous: Option<[i32; 2]> = None;
            for &index in cell.iter() {
                let point = codewords[index as usize];
                if previous != Some(point) {
                    unique.push(index);
                    previous = Some(point);
                }
            }
            starts.push(unique.len() as u32);
        }
        self.members = unique;
        self.starts = starts;
    }

    /// Lowers `best` to the nearest codeword of this part, if it is nearer or ties with a
    /// lower index.
    fn search(&self, codewords: &[[i32; 2]], query: [f64; 2], best: &mut (f64, u32)) {
        // Skip the part when its grid lies farther away than the best codeword so far.
        let gx = self.gap(query[0], 0, self.columns as i64 - 1, 0);
        let gy = self.gap(query[1], 0, self.rows as i64 - 1, 1);
        if gx * gx + gy * gy > best.0 {
            return;
        }
        let clamp_cell = |value: f64, origin: f64, count: usize| -> i64 {
            let c = ((value - origin) / self.cell).floor();
            c.clamp(0.0, (count - 1) as f64) as i64
        };
        let home =
            [clamp_cell(query[0], self.origin[0], self.columns), clamp_cell(query[1], self.origin[1], self.rows)];
        let max_ring = self.columns.max(self.rows) as i64;
        for ring in 0..=max_ring {
            if ring >= 1 {
                match self.ring_reach_squared(query, home, ring) {
                    Some(reach) if reach <= best.0 => {}
                    _ => break,
                }
            }
            self.scan_ring(codewords, home, ring, query, best);
        }
    }

    /// Returns the distance along `axis` from `value` to the cells `from..=to`, less a
    /// millionth of a cell, because a codeword can sit a rounding error past its cell.
    fn gap(&self, value: f64, from: i64, to: i64, axis: usize) -> f64 {
        let low = self.origin[axis] + from as f64 * self.cell;
        let high = self.origin[axis] + (to + 1) as f64 * self.cell;
        ((low - value).max(value - high) - self.cell * 1e-6).max(0.0)
    }

    /// Returns a lower bound on the squared distance from `query` to the cells `ring`
    /// steps from `home`, or `None` when the grid has no such cells. The bound grows with
    /// `ring`, so once it exceeds the best distance found, no farther ring can hold a
    /// nearer codeword.
    fn ring_reach_squared(&self, query: [f64; 2], home: [i64; 2], ring: i64) -> Option<f64> {
        let counts = [self.columns as i64, self.rows as i64];
        // Each cell of the ring lies on one of its four sides, and within the ring's span
        // on the other axis.
        let span_gap = |axis: usize| {
            self.gap(query[axis], (home[axis] - ring).max(0), (home[axis] + ring).min(counts[axis] - 1), axis)
        };
        let mut reach: Option<f64> = None;
        for axis in 0..2 {
            let across = span_gap(1 - axis);
            for side in [home[axis] - ring, home[axis] + ring] {
                if side >= 0 && side < counts[axis] {
                    let along = self.gap(query[axis], side, side, axis);
                    let squared = along * along + across * across;
                    reach = Some(reach.map_or(squared, |r| r.min(squared)));
                }
            }
        }
        reach
    }

    /// Lowers `best` to the codeword of this part nearest along the first coordinate, if
    /// it is nearer or ties with a lower index. `best.0` is a distance, not its square.
    fn search_first_coordinate(&self, codewords: &[[i32; 2]], query: f64, best: &mut (f64, u32)) {
        if self.gap(query, 0, self.columns as i64 - 1, 0) > best.0 {
            return;
        }
        let home = ((query - self.origin[0]) / self.cell).floor().clamp(0.0, (self.columns - 1) as f64) as i64;
        for ring in 0..=self.columns as i64 {
            let right = if ring == 0 { -1 } else { home + ring };
            let columns = [home - ring, right].map(|c| (c >= 0 && c < self.columns as i64).then_some(c));
            // Farther columns are farther from the query, so the search ends at the first
            // ring whose columns are all beyond the best distance, or off the grid.
            let reach = columns.iter().flatten().map(|&c| self.gap(query, c, c, 0)).reduce(f64::min);
            match reach {
                Some(reach) if reach <= best.0 => {}
                _ => break,
            }
            for column in columns.into_iter().flatten() {
                for row in 0..self.rows {
                    let cell = row * self.columns + column as usize;
                    let range = self.starts[cell] as usize..self.starts[cell + 1] as usize;
                    for &index in &self.members[range] {
                        let d = (query - f64::from(codewords[index as usize][0])).abs();
                        if d < best.0 || (d == best.0 && index < best.1) {
                            *best = (d, index);
                        }
                    }
                }
            }
        }
    }

    fn scan_ring(&self, codewords: &[[i32; 2]], home: [i64; 2], ring: i64, query: [f64; 2], best: &mut (f64, u32)) {
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
                    self.scan_cell(codewords, y as usize * self.columns + x as usize, query, best);
                }
                x += step;
            }
        }
    }

    fn scan_cell(&self, codewords: &[[i32; 2]], cell: usize, query: [f64; 2], best: &mut (f64, u32)) {
        let range = self.starts[cell] as usize..self.starts[cell + 1] as usize;
        for &index in &self.members[range] {
            let d = distance_squared(query, codewords[index as usize]);
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

    /// Returns a codebook shaped like the encoder's: `inner` points spread over a square of
    /// side `side` around the origin, then for each factor in `scales` a scaled copy.
    fn ringed_points(seed: u64, inner: usize, side: i32, scales: &[i64]) -> Vec<[i32; 2]> {
        let square = lcg_points(seed, inner, side / 2);
        let mut points = square.clone();
        for &scale in scales {
            points.extend(square.iter().map(|p| {
                let grow = |v: i32| (i64::from(v) * scale).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
                [grow(p[0]), grow(p[1])]
            }));
        }
        points
    }

    /// Returns two clusters `distance` apart, with empty cells between them.
    fn clustered_points(seed: u64, count: usize, spread: i32, distance: i32) -> Vec<[i32; 2]> {
        let mut points = lcg_points(seed, count, spread);
        for (i, p) in points.iter_mut().enumerate() {
            if i % 2 == 1 {
                *p = [p[0] + distance, p[1] + distance / 3];
            }
        }
        points
    }

    proptest! {
        #[test]
        fn clustered_nearest_matches_brute_force(seed in 0u64..1000, count in 2usize..400, spread in 0i32..50,
                                              distance in 100i32..100_000, parts in 1usize..3,
                                              queries in proptest::collection::vec((-2e5f64..2e5, -2e5f64..2e5), 1..20)) {
            let points = clustered_points(seed, count, spread, distance);
            let grid = CodewordGrid::new(&points, count.div_ceil(parts));
            for (qx, qy) in queries {
                prop_assert_eq!(grid.nearest([qx, qy]), nearest_brute_force(&points, [qx, qy]));
                prop_assert_eq!(grid.nearest_first_coordinate(qx), nearest_first_coordinate(&points, qx));
            }
        }

        #[test]
        fn grid_matches_brute_force(seed in 0u64..1000, count in 1usize..400, spread in 0i32..5000,
                                    parts in 1usize..5, qx in -8000.0f64..8000.0, qy in -8000.0f64..8000.0) {
            let points = lcg_points(seed, count, spread);
            let grid = CodewordGrid::new(&points, count.div_ceil(parts));
            let q = [qx, qy];
            prop_assert_eq!(grid.nearest(q), nearest_brute_force(&points, q));
        }

        #[test]
        fn ringed_nearest_matches_brute_force(seed in 0u64..1000, inner in 1usize..200, side in 0i32..400,
                                           scales in proptest::collection::vec(1i64..200_000, 0..4),
                                           queries in proptest::collection::vec((-1e7f64..1e7, -1e7f64..1e7), 1..20)) {
            let points = ringed_points(seed, inner, side, &scales);
            let grid = CodewordGrid::new(&points, inner);
            for (qx, qy) in queries {
                // Scale some queries down so that they land among the inner codewords.
                for q in [[qx, qy], [qx / 1e5, qy / 1e5]] {
                    prop_assert_eq!(grid.nearest(q), nearest_brute_force(&points, q), "query {:?}", q);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn first_coordinate_search_matches_brute_force(seed in 0u64..1000, count in 1usize..400,
                                                       spread in 0i32..5000, query in -8000.0f64..8000.0) {
            let points = lcg_points(seed, count, spread);
            let grid = CodewordGrid::new(&points, count);
            prop_assert_eq!(grid.nearest_first_coordinate(query), nearest_first_coordinate(&points, query));
            // A query on a codeword and one half a unit past it test exact hits and possible ties.
            let on_point = f64::from(points[seed as usize % count][0]);
            prop_assert_eq!(grid.nearest_first_coordinate(on_point), nearest_first_coordinate(&points, on_point));
            let between = on_point + 0.5;
            prop_assert_eq!(grid.nearest_first_coordinate(between), nearest_first_coordinate(&points, between));
        }

        /// Enough queries that the grid stops scanning columns and sorts.
        #[test]
        fn first_coordinate_before_after_sort(seed in 0u64..1000, count in 1usize..100,
                                                                   spread in 0i32..5000,
                                                                   queries in proptest::collection::vec(-8000.0f64..8000.0, 400..500)) {
            let points = clustered_points(seed, count, spread, 3 * spread + 7);
            let grid = CodewordGrid::new(&points, count);
            for query in queries {
                let on_point = f64::from(points[query.abs() as usize % count][0]);
                for q in [query, on_point, on_point + 0.5] {
                    prop_assert_eq!(grid.nearest_first_coordinate(q), nearest_first_coordinate(&points, q), "query {}", q);
                }
            }
            prop_assert!(grid.first_coordinates.get().is_some(), "the sorted search was reached");
        }

        #[test]
        fn ringed_first_coordinate_matches_brute_force(seed in 0u64..1000, inner in 1usize..200,
                                                              side in 0i32..400,
                                                              scales in proptest::collection::vec(1i64..200_000, 0..4),
                                                              queries in proptest::collection::vec(-1e7f64..1e7, 1..20)) {
            let points = ringed_points(seed, inner, side, &scales);
            let count = points.len();
            let grid = CodewordGrid::new(&points, inner);
            for query in queries {
                let on_point = f64::from(points[query.abs() as usize % count][0]);
                for q in [query, query / 1e5, on_point, on_point + 0.5] {
                    prop_assert_eq!(grid.nearest_first_coordinate(q), nearest_first_coordinate(&points, q), "query {}", q);
                }
            }
        }
    }

    #[test]
    fn first_coordinate_search_handles_extreme_queries() {
        let points = vec![[i32::MIN, 0], [7, 1], [7, 2], [-3, 3], [i32::MAX, 4]];
        let grid = CodewordGrid::new(&points, points.len());
        for query in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300, 5.0, 2.0, 7.0, -3.0] {
            assert_eq!(grid.nearest_first_coordinate(query), nearest_first_coordinate(&points, query), "query {query}");
        }
    }

    #[test]
    fn duplicate_codewords_resolve_to_lowest_index() {
        let points = vec![[5, 5], [0, 0], [0, 0], [5, 5]];
        for part_len in 1..=points.len() {
            let grid = CodewordGrid::new(&points, part_len);
            assert_eq!(grid.nearest([0.1, 0.0]), 1, "parts of {part_len}");
            assert_eq!(grid.nearest([4.9, 5.0]), 0, "parts of {part_len}");
        }
    }

    #[test]
    fn collapsed_square_deduplicates_points() {
        // A zero side puts every inner codeword on the centre, as a tiny σ does.
        let mut points = vec![[3, -2]; 4096];
        points.extend([[0, 0], [9, 9], [3, -2]]);
        let grid = CodewordGrid::new(&points, points.len());
        let distinct: usize = grid.parts.iter().map(|part| part.members.len()).sum();
        assert_eq!(distinct, 3, "one index per distinct point");
        assert_eq!(grid.nearest([3.2, -2.0]), 0);
        assert_eq!(grid.nearest([0.4, 0.0]), 4096);
        assert_eq!(grid.nearest([9.0, 8.0]), 4097);
    }

    #[test]
    fn single_codeword_always_wins() {
        let points = vec![[-3, 7]];
        let grid = CodewordGrid::new(&points, 1);
        assert_eq!(grid.nearest([1e9, -1e9]), 0);
    }
}
