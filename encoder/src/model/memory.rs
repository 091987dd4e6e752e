//! Activation memory plan: one arena offset per value, reusing the memory of values that
//! are dead.
//!
//! A value is alive from the operator that produces it (the model input from the start)
//! to the last operator that reads it (the model output to the end). Values are placed
//! largest first, each at the lowest offset that does not overlap a placed value whose
//! lifetime intersects its own: the greedy-by-size heuristic used by TFLite Micro's
//! planner and others. It is not always optimal, but its result is exact and checked.

/// Lifetime and size of one value to place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// First step at which the value is alive.
    pub first: usize,
    /// Last step at which the value is alive (inclusive).
    pub last: usize,
    /// Number of `f32` elements.
    pub len: usize,
}

impl Interval {
    fn overlaps_in_time(&self, other: &Interval) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

/// Returns an offset per value and the arena length.
pub fn plan(values: &[Interval]) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].len.cmp(&values[a].len).then(a.cmp(&b)));
    let mut offsets = vec![0usize; values.len()];
    let mut placed: Vec<usize> = Vec::new();
    let mut arena = 0usize;
    for &v in &order {
        let mut busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|&&p| values[p].overlaps_in_time(&values[v]) && values[p].len > 0)
            .map(|&p| (offsets[p], offsets[p] + values[p].len))
            .collect();
        busy.sort_unstable();
        let mut candidate = 0usize;
        for (start, end) in busy {
            if candidate + values[v].len <= start {
                break;
            }
            candidate = candidate.max(end);
        }
        offsets[v] = candidate;
        arena = arena.max(candidate + values[v].len);
        placed.push(v);
    }
    (offsets, arena)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_no_conflicts(values: &[Interval], offsets: &[usize], arena: usize) {
        for (i, a) in values.iter().enumerate() {
            assert!(offsets[i] + a.len <= arena, "value {i} past the arena");
            for (j, b) in values.iter().enumerate().skip(i + 1) {
                if a.overlaps_in_time(b) && a.len > 0 && b.len > 0 {
                    let disjoint = offsets[i] + a.len <= offsets[j] || offsets[j] + b.len <= offsets[i];
                    assert!(disjoint, "values {i} and {j} are alive together and overlap");
                }
            }
        }
    }

    #[test]
    fn chain_reuses_memory() {
        // A chain a -> b -> c -> d: only neighbours are alive together.
        let values = [
            Interval { first: 0, last: 0, len: 100 },
            Interval { first: 0, last: 1, len: 50 },
            Interval { first: 1, last: 2, len: 100 },
            Interval { first: 2, last: 3, len: 10 },
        ];
        let (offsets, arena) = plan(&values);
        check_no_conflicts(&values, &offsets, arena);
        assert_eq!(arena, 150, "the two 100-element values can share memory");
    }

    #[test]
    fn random_lifetimes_never_conflict() {
        let mut state = 12_345u64;
        let mut next = |m: usize| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (state >> 33) as usize % m
        };
        for _ in 0..200 {
            let count = 1 + next(20);
            let values: Vec<Interval> = (0..count)
                .map(|_| {
                    let first = next(10);
                    Interval { first, last: first + next(5), len: next(64) }
                })
                .collect();
            let (offsets, arena) = plan(&values);
            check_no_conflicts(&values, &offsets, arena);
            // Never worse than giving every value its own memory.
            assert!(arena <= values.iter().map(|v| v.len).sum::<usize>());
        }
    }
}
