//! Bit unpacking of the index stream.
//!
//! Indices are packed least significant bit first: index `i` of width `w` occupies bits
//! `i·w .. i·w + w` of the stream, where bit `b` is bit `b % 8` of byte `b / 8`.

/// Widest index the format stores, in bits.
pub const MAX_INDEX_BITS: u8 = 24;

/// Returns the number of bytes that `count` indices of `bits` bits occupy, or `None` on
/// overflow.
pub fn packed_len(count: u64, bits: u8) -> Option<u64> {
    count.checked_mul(u64::from(bits))?.checked_add(7).map(|b| b / 8)
}

/// Reads index `position` of width `bits` (1 to [`MAX_INDEX_BITS`]) from `stream`.
///
/// Returns `None` when the index does not lie entirely inside `stream`.
#[inline]
pub fn read(stream: &[u8], position: u64, bits: u8) -> Option<u32> {
    let start = position.checked_mul(u64::from(bits))?;
    let first = usize::try_from(start / 8).ok()?;
    let shift = (start % 8) as u32;
    let bytes = (shift + u32::from(bits)).div_ceil(8) as usize;
    let window = stream.get(first..first.checked_add(bytes)?)?;
    let mut word = 0u32;
    for (i, &byte) in window.iter().enumerate() {
        word |= u32::from(byte) << (8 * i);
    }
    let mask = if bits >= 32 { u32::MAX } else { (1u32 << bits) - 1 };
    Some((word >> shift) & mask)
}

/// Reads consecutive indices of one width, starting at a given index.
///
/// Decoding a row reads its indices in order; keeping the bit position avoids the 64-bit
/// multiplication that [`read`] does for every index.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    stream: &'a [u8],
    bit: usize,
    bits: u8,
}

impl<'a> Reader<'a> {
    /// Starts at index `position` of width `bits` (1 to [`MAX_INDEX_BITS`]); `None` if the
    /// starting bit does not fit in `usize`.
    pub fn new(stream: &'a [u8], position: u64, bits: u8) -> Option<Self> {
        let bit = usize::try_from(position.checked_mul(u64::from(bits))?).ok()?;
        Some(Reader { stream, bit, bits })
    }

    /// Reads the next index; `None` when it does not lie entirely inside the stream.
    #[inline]
    pub fn next_index(&mut self) -> Option<u32> {
        let first = self.bit / 8;
        let shift = (self.bit % 8) as u32;
        let bytes = (shift + u32::from(self.bits)).div_ceil(8) as usize;
        let window = self.stream.get(first..first.checked_add(bytes)?)?;
        let mut word = 0u32;
        for (i, &byte) in window.iter().enumerate() {
            word |= u32::from(byte) << (8 * i);
        }
        self.bit = self.bit.checked_add(usize::from(self.bits))?;
        let mask = if self.bits >= 32 { u32::MAX } else { (1u32 << self.bits) - 1 };
        Some((word >> shift) & mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(values: &[u32], bits: u8) -> Vec<u8> {
        let mut out = vec![0u8; packed_len(values.len() as u64, bits).unwrap() as usize];
        for (i, &v) in values.iter().enumerate() {
            for b in 0..u64::from(bits) {
                if v >> b & 1 == 1 {
                    let bit = i as u64 * u64::from(bits) + b;
                    out[(bit / 8) as usize] |= 1 << (bit % 8);
                }
            }
        }
        out
    }

    #[test]
    fn reader_agrees_with_read_from_any_start() {
        for bits in 1..=MAX_INDEX_BITS {
            let values: Vec<u32> = (0..29u32).map(|i| i.wrapping_mul(2_246_822_519) & ((1 << bits) - 1)).collect();
            let stream = pack(&values, bits);
            for start in [0u64, 1, 7, 28] {
                let mut reader = Reader::new(&stream, start, bits).unwrap();
                let mut position = start;
                loop {
                    let expected = read(&stream, position, bits);
                    assert_eq!(reader.next_index(), expected, "width {bits}, index {position}");
                    if expected.is_none() {
                        break;
                    }
                    position += 1;
                }
            }
        }
        assert!(Reader::new(&[], u64::MAX, 24).is_none());
    }

    #[test]
    fn read_round_trips_every_width() {
        for bits in 1..=MAX_INDEX_BITS {
            let values: Vec<u32> = (0..37u32).map(|i| i.wrapping_mul(2_654_435_761) & ((1 << bits) - 1)).collect();
            let stream = pack(&values, bits);
            for (i, &v) in values.iter().enumerate() {
                assert_eq!(read(&stream, i as u64, bits), Some(v), "width {bits}, index {i}");
            }
            let past = (stream.len() * 8 / usize::from(bits)) as u64;
            assert_eq!(read(&stream, past, bits), None, "width {bits}");
        }
    }

    #[test]
    fn read_past_end_is_none() {
        assert_eq!(read(&[0xFF], 1, 8), None);
        assert_eq!(read(&[], 0, 1), None);
        assert_eq!(read(&[0xFF, 0xFF], u64::MAX, 24), None);
    }

    #[test]
    fn packed_len_rounds_up() {
        assert_eq!(packed_len(3, 3), Some(2));
        assert_eq!(packed_len(0, 8), Some(0));
        assert_eq!(packed_len(u64::MAX, 24), None);
    }
}
