//! Choice of the rank-1 lattice generator for a given number of codewords.
//!
//! The lattice `{(k/N, k·g/N mod 1)}` covers the unit torus best when its shortest
//! nonzero vector is longest, which Gauss reduction of the basis `(1, g), (0, N)` finds
//! in a few steps. Fibonacci numbers `N = F_m, g = F_{m−1}` are the classic optimum.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Squared length of the shortest nonzero vector of the lattice spanned by
/// `(1, g)` and `(0, n)`, in units of `1/n²`.
fn shortest_squared(n: i64, g: i64) -> i64 {
    let mut a = (1i64, g);
    let mut b = (0i64, n);
    let norm = |v: (i64, i64)| v.0 * v.0 + v.1 * v.1;
    if norm(a) > norm(b) {
        std::mem::swap(&mut a, &mut b);
    }
    loop {
        let dot = a.0 * b.0 + a.1 * b.1;
        let na = norm(a);
        // Nearest integer to dot / na.
        let mu = (2 * dot + na).div_euclid(2 * na);
        b = (b.0 - mu * a.0, b.1 - mu * a.1);
        if norm(b) >= na {
            return na;
        }
        std::mem::swap(&mut a, &mut b);
    }
}

/// Returns the generator `g` in `1..n` whose lattice has the longest shortest vector;
/// ties go to the smaller `g`. For `n` above 65,536 only a window around `n/φ` is
/// searched, where the best generators lie.
pub fn best_generator(n: u32) -> u32 {
    if n <= 2 {
        return 1;
    }
    static CACHE: OnceLock<Mutex<HashMap<u32, u32>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(&g) = cache.lock().expect("generator cache poisoned").get(&n) {
        return g;
    }
    let n64 = i64::from(n);
    let candidates: Box<dyn Iterator<Item = i64>> = if n <= 65_536 {
        Box::new(1..n64)
    } else {
        let centre = (n as f64 / 1.618_033_988_75) as i64;
        Box::new((centre - 20_000).max(1)..(centre + 20_000).min(n64))
    };
    let mut best = (0i64, 1i64);
    for g in candidates {
        let length = shortest_squared(n64, g);
        if length > best.0 {
            best = (length, g);
        }
    }
    let g = best.1 as u32;
    cache.lock().expect("generator cache poisoned").insert(n, g);
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_shortest(n: i64, g: i64) -> i64 {
        let mut best = i64::MAX;
        for k in 1..n {
            let y = (k * g).rem_euclid(n);
            for y in [y, y - n] {
                best = best.min(k * k + y * y).min((n - k) * (n - k) + y * y);
            }
        }
        best.min(n * n)
    }

    #[test]
    fn gauss_reduction_matches_brute_force() {
        for n in [5i64, 13, 21, 55, 64, 100, 255] {
            for g in 1..n {
                assert_eq!(shortest_squared(n, g), brute_shortest(n, g), "n={n} g={g}");
            }
        }
    }

    #[test]
    fn fibonacci_sizes_reach_the_fibonacci_lattice() {
        // For N = F_m the Fibonacci generator F_{m-1} spreads points well; the chosen
        // generator (possibly a mirror or inverse of it) must be at least as good.
        for (n, g) in [(89u32, 55u32), (233, 144), (610, 377)] {
            let best = best_generator(n);
            let fibonacci = shortest_squared(i64::from(n), i64::from(g));
            assert!(shortest_squared(i64::from(n), i64::from(best)) >= fibonacci, "n={n}: got {best}");
        }
    }

    #[test]
    fn best_generator_beats_every_other() {
        for n in [50u32, 127, 255] {
            let best = shortest_squared(i64::from(n), i64::from(best_generator(n)));
            for g in 1..n {
                assert!(shortest_squared(i64::from(n), i64::from(g)) <= best, "n={n} g={g}");
            }
        }
    }
}
