//! Helpers shared by the fuzz targets.

use decoder_core::container::header_for;
use decoder_core::HEADER_LEN;

/// Returns `data` with its first [`HEADER_LEN`] bytes replaced by a valid header for the
/// rest, so that the payload passes the length and CRC-32 checks.
///
/// Mutated inputs almost never carry a matching CRC-32, so without this rewrite the
/// fuzzer would rarely get past `Container::parse`'s header check to the records.
/// Inputs shorter than the header become a header with an empty payload.
pub fn with_valid_header(data: &[u8]) -> Vec<u8> {
    let payload = data.get(HEADER_LEN..).unwrap_or_default();
    let mut bytes = header_for(payload).to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

/// Returns the number of elements of `shape`: 0 when a dimension is 0, otherwise the
/// product, or `None` when it overflows `usize`.
pub fn element_count(shape: &[usize]) -> Option<usize> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape.iter().try_fold(1usize, |count, &dim| count.checked_mul(dim))
}
