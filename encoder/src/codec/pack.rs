//! Bit packing of codeword indices, the inverse of [`decoder_core::bits::read`].

/// Packs `indices` least significant bit first, `bits` bits each.
pub fn pack(indices: &[u32], bits: u8) -> Vec<u8> {
    let total_bits = indices.len() as u64 * u64::from(bits);
    let mut out = vec![0u8; total_bits.div_ceil(8) as usize];
    let mut bit = 0u64;
    for &index in indices {
        let mut value = u64::from(index) & ((1u64 << bits) - 1);
        let mut remaining = u32::from(bits);
        while remaining > 0 {
            let byte = (bit / 8) as usize;
            let shift = (bit % 8) as u32;
            let take = remaining.min(8 - shift);
            out[byte] |= ((value & ((1 << take) - 1)) as u8) << shift;
            value >>= take;
            bit += u64::from(take);
            remaining -= take;
        }
    }
    out
}

/// Width in bits of the largest index, at least 1.
pub fn width_of(max_index: u32) -> u8 {
    (32 - max_index.leading_zeros()).max(1) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use decoder_core::bits;

    #[test]
    fn pack_then_read_round_trips() {
        for width in 1..=bits::MAX_INDEX_BITS {
            let mask = (1u32 << width) - 1;
            let values: Vec<u32> = (0..101u32).map(|i| i.wrapping_mul(0x9E37_79B9) & mask).collect();
            let packed = pack(&values, width);
            assert_eq!(packed.len() as u64, bits::packed_len(101, width).unwrap());
            for (i, &v) in values.iter().enumerate() {
                assert_eq!(bits::read(&packed, i as u64, width), Some(v), "width {width} index {i}");
            }
        }
    }

    #[test]
    fn width_of_matches_bit_length() {
        assert_eq!(width_of(0), 1);
        assert_eq!(width_of(1), 1);
        assert_eq!(width_of(2), 2);
        assert_eq!(width_of(255), 8);
        assert_eq!(width_of(256), 9);
    }
}
