//! Parses arbitrary bytes as a container and decodes every tensor it accepts, row by row
//! in f32 and i16, whole, and pair by pair. Nothing may panic, and the decoding paths
//! must agree with each other.

#![no_main]

use decoder_core::{Container, Tensor, TensorData};
use hyperc_fuzz::with_valid_header;
use libfuzzer_sys::fuzz_target;

/// Most rows decoded one by one per tensor. A tensor of zero-length rows can declare
/// 2³² − 1 of them, so past this count only the first rows and the last one are checked.
const MAX_ROWS: u32 = 4096;

fuzz_target!(|data: &[u8]| {
    decode_all(data);
    decode_all(&with_valid_header(data));
});

fn decode_all(bytes: &[u8]) {
    let Ok(container) = Container::parse(bytes) else {
        return;
    };
    let mut count = 0u32;
    for tensor in container.tensors() {
        // `parse` validated every record with the same code, so reading one again must work.
        let tensor = tensor.expect("a tensor of a parsed container reads back");
        decode_tensor(&tensor);
        count += 1;
    }
    assert_eq!(count, container.tensor_count(), "tensors() yields tensor_count() tensors");
    assert!(container.tensor(container.tensor_count()).is_err(), "a tensor past the end is an error");
}

fn decode_tensor(tensor: &Tensor<'_>) {
    let len = tensor.len() as usize;
    let rows = tensor.rows();
    let row_len = tensor.row_len() as usize;
    assert_eq!(rows as usize * row_len, len, "rows × row_len equals the value count");

    let mut whole = vec![0.0f32; len];
    let whole_result = tensor.decode_f32(&mut whole);

    let mut row = vec![0.0f32; row_len];
    let mut rows_ok = true;
    for r in checked_rows(rows) {
        match tensor.decode_row_f32(r, &mut row) {
            Ok(()) => {
                let start = r as usize * row_len;
                if whole_result.is_ok() {
                    assert_same_bits(&row, &whole[start..start + row_len]);
                }
            }
            Err(_) => rows_ok = false,
        }
    }
    if rows <= MAX_ROWS {
        assert_eq!(whole_result.is_ok(), rows_ok || row_len == 0, "whole and row decoding agree on failure");
    } else if whole_result.is_ok() {
        assert!(rows_ok || row_len == 0, "a row fails although the whole tensor decodes");
    }
    assert!(tensor.decode_row_f32(rows, &mut row).is_err(), "a row past the end is an error");

    if let TensorData::Hyper(hyper) = tensor.data() {
        let scale = hyper.scale();
        let mut fixed = vec![0i16; row_len];
        for r in checked_rows(rows) {
            let fixed_result = hyper.decode_row_i16(r, &mut fixed);
            let float_result = hyper.decode_row_f32(r, &mut row);
            assert_eq!(fixed_result.is_ok(), float_result.is_ok(), "i16 and f32 decoding agree on failure");
            if fixed_result.is_err() {
                continue;
            }
            for pair in 0..hyper.pairs_per_row() {
                let Ok(q) = hyper.pair(r, pair) else {
                    panic!("pair {pair} of row {r} fails although the row decodes");
                };
                for (offset, &value) in q.iter().enumerate() {
                    let column = 2 * pair as usize + offset;
                    if column >= row_len {
                        continue;
                    }
                    let saturated = value.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
                    assert_eq!(fixed[column], saturated, "i16 row and pair() agree at row {r} column {column}");
                    assert_eq!(row[column].to_bits(), (value as f32 * scale).to_bits(), "f32 is q · scale");
                }
            }
        }
    }
}

/// Returns the rows to decode one by one: all of them, or the first [`MAX_ROWS`] − 1 and
/// the last.
fn checked_rows(rows: u32) -> impl Iterator<Item = u32> {
    let (first, last) = if rows <= MAX_ROWS { (rows, None) } else { (MAX_ROWS - 1, Some(rows - 1)) };
    (0..first).chain(last)
}

fn assert_same_bits(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.to_bits(), y.to_bits(), "row and whole-tensor decoding differ");
    }
}
