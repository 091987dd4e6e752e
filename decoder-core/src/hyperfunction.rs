//! The hyperfunction: codeword number → point of the unit square, with integers only.
//!
//! A codeword number `n` maps to the point `h(n) = (n·A + B) mod 2³²` per coordinate,
//! read as a Q0.32 fraction of the unit interval. `A` is the direction of the trajectory
//! and `B` its phase. With `A = round(2³²·a)` this is the irrational winding
//! `τ(n·a)` of Hyper-Compression, and with `A = (2³²/N, 2³²·g/N)` it is the rank-1
//! lattice of `N` points with generator `g`. Both are one wrapping multiplication and one
//! wrapping addition per coordinate, so every target computes the same bits.

/// Direction and phase of a trajectory on the 2-torus, as Q0.32 fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Trajectory {
    /// Step per codeword along each coordinate, in units of 2⁻³².
    pub direction: [u32; 2],
    /// Position of codeword 0 along each coordinate, in units of 2⁻³².
    pub phase: [u32; 2],
}

impl Trajectory {
    /// Returns the point of codeword `n` as two Q0.32 fractions.
    #[inline]
    pub fn point(&self, n: u32) -> [u32; 2] {
        [
            n.wrapping_mul(self.direction[0]).wrapping_add(self.phase[0]),
            n.wrapping_mul(self.direction[1]).wrapping_add(self.phase[1]),
        ]
    }

    /// Returns the trajectory whose codeword `k` is the rank-1 lattice point
    /// `((k + ½)/N, (k·g + ½)/N)` of `points` points with generator `generator`.
    ///
    /// The half-step phase centres the lattice in the unit square. `points` of 0 is
    /// treated as 1.
    pub fn rank1_lattice(points: u32, generator: u32) -> Self {
        let points = u64::from(points.max(1));
        let step = |numerator: u64| -> u32 {
            // round(2^32 · numerator / points), reduced mod 2^32.
            let scaled = ((numerator % points) << 32) + points / 2;
            (scaled / points) as u32
        };
        let half = (((1u64 << 32) + points) / (2 * points)) as u32;
        Trajectory { direction: [step(1), step(u64::from(generator))], phase: [half, half] }
    }

    /// Returns the sheared grid used by the reference implementation of
    /// Hyper-Compression: codeword `k` is `(k/m² mod 1, k/m mod 1)`, with no phase.
    pub fn sheared_grid(side_points: u32) -> Self {
        let m = u64::from(side_points.max(1));
        let frac = |denominator: u64| -> u32 {
            let scaled = (1u64 << 32) + denominator / 2;
            (scaled / denominator) as u32
        };
        Trajectory { direction: [frac(m * m), frac(m)], phase: [0, 0] }
    }
}

/// Maps a Q0.32 fraction onto `0..side`, as `floor(fraction · side / 2³²)`.
#[inline]
pub fn scale_fraction(fraction: u32, side: u32) -> u32 {
    ((u64::from(fraction) * u64::from(side)) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_matches_exact_modular_arithmetic() {
        let t = Trajectory { direction: [0x9E37_79B9, 0x7F4A_7C15], phase: [17, 0xFFFF_FFFF] };
        for n in [0u32, 1, 2, 255, 65_535, 1 << 20, u32::MAX] {
            let expected0 = ((u128::from(n) * 0x9E37_79B9 + 17) % (1u128 << 32)) as u32;
            let expected1 = ((u128::from(n) * 0x7F4A_7C15 + 0xFFFF_FFFF) % (1u128 << 32)) as u32;
            assert_eq!(t.point(n), [expected0, expected1], "codeword {n}");
        }
    }

    #[test]
    fn rank1_lattice_visits_every_column_once() {
        let points = 89;
        let t = Trajectory::rank1_lattice(points, 55);
        let mut seen = [false; 89];
        for k in 0..points {
            let column = scale_fraction(t.point(k)[0], points) as usize;
            assert!(!seen[column], "column {column} hit twice");
            seen[column] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn rank1_lattice_second_coordinate_is_generator_multiple() {
        let points = 55u32;
        let t = Trajectory::rank1_lattice(points, 34);
        for k in 0..points {
            let exact = (f64::from(k * 34 % points) + 0.5) / f64::from(points);
            let got = f64::from(t.point(k)[1]) / 4_294_967_296.0;
            assert!((got - exact).abs() < 1e-6, "k={k}: {got} vs {exact}");
        }
    }

    #[test]
    fn sheared_grid_matches_reference_layout() {
        let m = 15u32;
        let t = Trajectory::sheared_grid(m);
        for k in 0..m * m {
            let x = f64::from(t.point(k)[0]) / 4_294_967_296.0;
            let y = f64::from(t.point(k)[1]) / 4_294_967_296.0;
            let ex = (f64::from(k) / f64::from(m * m)).fract();
            let ey = (f64::from(k) / f64::from(m)).fract();
            assert!((x - ex).abs() < 1e-6, "k={k} x {x} vs {ex}");
            assert!((y - ey).abs() < 1e-6 || (y - ey).abs() > 1.0 - 1e-6, "k={k} y {y} vs {ey}");
        }
    }

    #[test]
    fn scale_fraction_is_floor_of_product() {
        assert_eq!(scale_fraction(0, 1000), 0);
        assert_eq!(scale_fraction(u32::MAX, 1000), 999);
        assert_eq!(scale_fraction(1 << 31, 1001), 500);
        assert_eq!(scale_fraction(u32::MAX, u32::MAX), u32::MAX - 1);
    }
}
