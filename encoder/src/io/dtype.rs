//! Decoding of the floating-point element types that the readers accept.

use half::{bf16, f16};

/// Element type of a stored tensor that can be widened to `f32` without rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloatType {
    F32,
    F16,
    Bf16,
}

impl FloatType {
    /// Returns the size of one element in bytes.
    pub(crate) fn size(self) -> usize {
        match self {
            FloatType::F32 => 4,
            FloatType::F16 | FloatType::Bf16 => 2,
        }
    }
}

/// Byte order of stored elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    Little,
    Big,
}

/// Decodes `bytes` as consecutive elements of `float_type` in `order` and widens them to
/// `f32` with `half`. Every non-NaN float16 and bfloat16 value is widened exactly. A NaN
/// stays NaN, but `half` 2.7 sets the quiet bit of a signaling NaN. A trailing partial
/// element is ignored, so callers check the length first.
pub(crate) fn decode_floats(bytes: &[u8], float_type: FloatType, order: ByteOrder) -> Vec<f32> {
    match float_type {
        FloatType::F32 => bytes
            .chunks_exact(4)
            .map(|chunk| {
                let word = [chunk[0], chunk[1], chunk[2], chunk[3]];
                match order {
                    ByteOrder::Little => f32::from_le_bytes(word),
                    ByteOrder::Big => f32::from_be_bytes(word),
                }
            })
            .collect(),
        FloatType::F16 => bytes.chunks_exact(2).map(|chunk| f16::from_bits(read_u16(chunk, order)).to_f32()).collect(),
        FloatType::Bf16 => {
            bytes.chunks_exact(2).map(|chunk| bf16::from_bits(read_u16(chunk, order)).to_f32()).collect()
        }
    }
}

fn read_u16(chunk: &[u8], order: ByteOrder) -> u16 {
    let pair = [chunk[0], chunk[1]];
    match order {
        ByteOrder::Little => u16::from_le_bytes(pair),
        ByteOrder::Big => u16::from_be_bytes(pair),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_byte_orders_agree() {
        let value = -1234.5678f32;
        let little = decode_floats(&value.to_le_bytes(), FloatType::F32, ByteOrder::Little);
        let big = decode_floats(&value.to_be_bytes(), FloatType::F32, ByteOrder::Big);
        assert_eq!(little, vec![value]);
        assert_eq!(big, vec![value]);
    }

    #[test]
    fn bf16_is_upper_half_of_f32() {
        // bfloat16 is by definition the upper 16 bits of an IEEE binary32 value.
        for bits in [0x0000u16, 0x0001, 0x3FC0, 0xC000, 0x7F7F, 0x8001, 0x7F80, 0xFF80] {
            let decoded = decode_floats(&bits.to_le_bytes(), FloatType::Bf16, ByteOrder::Little);
            assert_eq!(decoded.len(), 1);
            assert_eq!(decoded[0].to_bits(), u32::from(bits) << 16, "bf16 bits {bits:#06x}");
        }
    }

    #[test]
    fn f16_big_endian_matches_little() {
        for bits in [0x3E00u16, 0xC000, 0x7BFF, 0x0001, 0x03FF] {
            let little = decode_floats(&bits.to_le_bytes(), FloatType::F16, ByteOrder::Little);
            let big = decode_floats(&bits.to_be_bytes(), FloatType::F16, ByteOrder::Big);
            assert_eq!(little[0].to_bits(), big[0].to_bits(), "f16 bits {bits:#06x}");
        }
    }
}
