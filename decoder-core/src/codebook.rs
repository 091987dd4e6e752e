//! Codeword index → fixed-point weight pair.
//!
//! A codebook belongs to a group of rows. Weights are integers `q` on the grid
//! `w = q · scale`, and a group stores its centre `c`, the side `L` of the inner square
//! and one scale per outlier ring, all on that grid. Index `i` splits into
//! `ring = i / (N + 1)` and `inner = i % (N + 1)`:
//!
//! - `inner = 0` is the centre itself, `inner = k + 1` is trajectory point `k`, placed in
//!   the square `c ± L/2` as `floor(h(k) · L) − floor(L/2)` per coordinate;
//! - ring `j > 0` multiplies that offset by its scale `s_j` (Q16.16, rounded to nearest),
//!   which undoes the shrinking the encoder applied to points far from the centre.
//!
//! All arithmetic is saturating integer arithmetic, so a hostile group cannot overflow.

use crate::hyperfunction::{scale_fraction, Trajectory};

/// Size in bytes of a group's fixed part: centre x, centre y (i16) and side (u16).
pub const GROUP_HEADER_LEN: usize = 6;

/// Largest number of outlier rings a codebook may have.
pub const MAX_RINGS: u8 = 15;

/// Shape of a codebook, shared by all groups of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codebook {
    /// Trajectory that places the inner codewords.
    pub trajectory: Trajectory,
    /// Number of trajectory points `N` inside the square.
    pub inner: u32,
    /// Number of outlier rings `C`.
    pub rings: u8,
}

impl Codebook {
    /// Number of codewords: `(N + 1)·(C + 1)`.
    pub fn len(&self) -> u64 {
        (u64::from(self.inner) + 1) * (u64::from(self.rings) + 1)
    }

    /// Always false: every codebook contains at least its centre.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Size in bytes of one group's parameters.
    pub fn group_len(&self) -> usize {
        GROUP_HEADER_LEN + 4 * usize::from(self.rings)
    }

    /// Returns the offset of codeword `index` from the centre, before the ring scale.
    #[inline]
    fn inner_offset(&self, inner: u32, side: u16) -> [i32; 2] {
        if inner == 0 {
            return [0, 0];
        }
        let point = self.trajectory.point(inner - 1);
        let side32 = u32::from(side);
        let half = (side32 / 2) as i32;
        [scale_fraction(point[0], side32) as i32 - half, scale_fraction(point[1], side32) as i32 - half]
    }

    /// Reconstructs codeword `index` of `group` as a fixed-point pair.
    ///
    /// Returns `None` when `index` is past the codebook.
    #[inline]
    pub fn reconstruct(&self, group: &Group<'_>, index: u32) -> Option<[i32; 2]> {
        // 32-bit division: the 64-bit one is a library call on 32-bit targets and cost
        // about half of all decoding instructions on the Cortex-M4F.
        let (ring, inner) = match self.inner.checked_add(1) {
            Some(per_ring) => (index / per_ring, index % per_ring),
            None => (0, index),
        };
        if ring > u32::from(self.rings) {
            return None;
        }
        let mut offset = self.inner_offset(inner, group.side);
        if ring > 0 {
            let scale = i64::from(group.ring_scale(ring as usize - 1)?);
            for o in &mut offset {
                let scaled = i64::from(*o).saturating_mul(scale).saturating_add(1 << 15) >> 16;
                *o = scaled.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
            }
        }
        Some([
            i32::from(group.centre[0]).saturating_add(offset[0]),
            i32::from(group.centre[1]).saturating_add(offset[1]),
        ])
    }
}

/// Parameters of one group of rows, read in place from the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group<'a> {
    /// Centre `c` on the fixed-point grid.
    pub centre: [i16; 2],
    /// Side `L` of the inner square on the fixed-point grid.
    pub side: u16,
    /// Ring scales, little-endian Q16.16, four bytes each.
    ring_scales: &'a [u8],
}

impl<'a> Group<'a> {
    /// Reads a group from exactly `codebook.group_len()` bytes.
    pub fn parse(bytes: &'a [u8], rings: u8) -> Option<Self> {
        if bytes.len() != GROUP_HEADER_LEN + 4 * usize::from(rings) {
            return None;
        }
        Some(Group {
            centre: [i16::from_le_bytes([bytes[0], bytes[1]]), i16::from_le_bytes([bytes[2], bytes[3]])],
            side: u16::from_le_bytes([bytes[4], bytes[5]]),
            ring_scales: &bytes[GROUP_HEADER_LEN..],
        })
    }

    /// Scale of ring `ring` (0-based, so ring 1 of the index is `ring_scale(0)`), Q16.16.
    pub fn ring_scale(&self, ring: usize) -> Option<u32> {
        let bytes = self.ring_scales.get(4 * ring..4 * ring + 4)?;
        Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }
}

/// Writes a group's parameters in the layout [`Group::parse`] reads.
pub fn write_group(centre: [i16; 2], side: u16, ring_scales: &[u32], out: &mut [u8]) -> bool {
    if out.len() != GROUP_HEADER_LEN + 4 * ring_scales.len() {
        return false;
    }
    out[0..2].copy_from_slice(&centre[0].to_le_bytes());
    out[2..4].copy_from_slice(&centre[1].to_le_bytes());
    out[4..6].copy_from_slice(&side.to_le_bytes());
    for (chunk, scale) in out[GROUP_HEADER_LEN..].chunks_exact_mut(4).zip(ring_scales) {
        chunk.copy_from_slice(&scale.to_le_bytes());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group_bytes(centre: [i16; 2], side: u16, scales: &[u32]) -> Vec<u8> {
        let mut out = vec![0; GROUP_HEADER_LEN + 4 * scales.len()];
        assert!(write_group(centre, side, scales, &mut out));
        out
    }

    #[test]
    fn index_zero_is_centre() {
        let book = Codebook { trajectory: Trajectory::rank1_lattice(16, 5), inner: 16, rings: 1 };
        let bytes = group_bytes([-100, 250], 64, &[3 << 16]);
        let group = Group::parse(&bytes, 1).unwrap();
        assert_eq!(book.reconstruct(&group, 0), Some([-100, 250]));
        // Index N + 1 is the centre of ring 1: scaling a zero offset keeps the centre.
        assert_eq!(book.reconstruct(&group, 17), Some([-100, 250]));
    }

    #[test]
    fn inner_points_stay_in_square_and_rings_scale_them() {
        let book = Codebook { trajectory: Trajectory::rank1_lattice(21, 8), inner: 21, rings: 2 };
        let bytes = group_bytes([10, -10], 101, &[2 << 16, (5 << 16) / 2]);
        let group = Group::parse(&bytes, 2).unwrap();
        for k in 1..=21u32 {
            let p = book.reconstruct(&group, k).unwrap();
            assert!((-40..=60).contains(&p[0]), "x {p:?}");
            assert!((-60..=40).contains(&p[1]), "y {p:?}");
            let r1 = book.reconstruct(&group, k + 22).unwrap();
            assert_eq!([r1[0] - 10, r1[1] + 10], [(p[0] - 10) * 2, (p[1] + 10) * 2]);
            let r2 = book.reconstruct(&group, k + 44).unwrap();
            let expected = |o: i32| ((i64::from(o) * i64::from((5u32 << 16) / 2) + (1 << 15)) >> 16) as i32;
            assert_eq!([r2[0] - 10, r2[1] + 10], [expected(p[0] - 10), expected(p[1] + 10)]);
        }
        assert_eq!(book.reconstruct(&group, 66), None);
    }

    #[test]
    fn hostile_values_saturate() {
        let book = Codebook { trajectory: Trajectory::rank1_lattice(3, 1), inner: 3, rings: 1 };
        let bytes = group_bytes([i16::MAX, i16::MIN], u16::MAX, &[u32::MAX]);
        let group = Group::parse(&bytes, 1).unwrap();
        for index in 0..8 {
            assert!(book.reconstruct(&group, index).is_some());
        }
    }

    #[test]
    fn parse_rejects_wrong_length() {
        assert!(Group::parse(&[0; 5], 0).is_none());
        assert!(Group::parse(&[0; 10], 0).is_none());
        assert!(Group::parse(&[0; 10], 1).is_some());
    }
}
