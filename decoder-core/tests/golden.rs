//! Golden vectors: a committed container and the exact bits it decodes to.
//!
//! Besides comparing with the committed bits, every encoded value is recomputed here from
//! the raw group bytes and indices with 128-bit arithmetic, independently of the crate's
//! codebook code, so a change that breaks both the decoder and the committed file in the
//! same way still fails.

use decoder_core::{Container, TensorData};

const CONTAINER: &[u8] = include_bytes!("golden/codec.hcm");
const EXPECTED: &[u8] = include_bytes!("golden/codec.expected");

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().unwrap())
    }
}

#[test]
fn golden_container_decodes_to_committed_bits() {
    let container = Container::parse(CONTAINER).unwrap();
    let mut expected = Reader(EXPECTED);
    for tensor in container.tensors() {
        let tensor = tensor.unwrap();
        let count = expected.u32();
        assert_eq!(count, tensor.len(), "{}: value count", tensor.name());
        let has_i16 = expected.take(1)[0] == 1;
        let mut values = vec![0.0f32; count as usize];
        tensor.decode_f32(&mut values).unwrap();
        for (i, v) in values.iter().enumerate() {
            assert_eq!(v.to_bits(), expected.u32(), "{} value {i}", tensor.name());
        }
        if let TensorData::Hyper(h) = tensor.data() {
            assert!(has_i16, "{}: expected i16 values", tensor.name());
            let mut row = vec![0i16; h.row_len() as usize];
            for r in 0..h.rows() {
                h.decode_row_i16(r, &mut row).unwrap();
                for (c, v) in row.iter().enumerate() {
                    let stored = i16::from_le_bytes(expected.take(2).try_into().unwrap());
                    assert_eq!(*v, stored, "{} row {r} column {c}", tensor.name());
                }
            }
        } else {
            assert!(!has_i16, "{}: raw tensor has no i16 values", tensor.name());
        }
    }
    assert!(expected.0.is_empty(), "expected file has trailing bytes");
}

/// Recomputes value `column` of `row` straight from the format description.
fn reference_value(h: &decoder_core::HyperTensor<'_>, row: u32, column: u32) -> i64 {
    let book = h.codebook();
    let group = h.group(row / h.group_rows()).unwrap();
    let index = h.index(row, column / 2).unwrap();
    let coordinate = (column % 2) as usize;
    let per_ring = u128::from(book.inner) + 1;
    let ring = u128::from(index) / per_ring;
    let inner = u128::from(index) % per_ring;
    let side = u128::from(group.side);
    let offset: i128 = if inner == 0 {
        0
    } else {
        let n = inner - 1;
        let fraction = (n * u128::from(book.trajectory.direction[coordinate])
            + u128::from(book.trajectory.phase[coordinate]))
            % (1u128 << 32);
        ((fraction * side) >> 32) as i128 - (side / 2) as i128
    };
    let offset = if ring == 0 {
        offset
    } else {
        let scale = i128::from(group.ring_scale(ring as usize - 1).unwrap());
        (offset * scale + (1 << 15)) >> 16
    };
    i64::from(group.centre[coordinate]) + offset as i64
}

#[test]
fn golden_values_match_independent_arithmetic() {
    let container = Container::parse(CONTAINER).unwrap();
    let mut checked = 0;
    for tensor in container.tensors() {
        let tensor = tensor.unwrap();
        let TensorData::Hyper(h) = tensor.data() else { continue };
        let mut row = vec![0.0f32; h.row_len() as usize];
        for r in 0..h.rows() {
            h.decode_row_f32(r, &mut row).unwrap();
            for c in 0..h.row_len() {
                let q = reference_value(h, r, c);
                let value = q as f32 * h.scale();
                assert_eq!(row[c as usize].to_bits(), value.to_bits(), "{} row {r} column {c}", tensor.name());
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "too few encoded values in the golden file: {checked}");
}
