//! Weights-only containers (the codec's golden vectors): decodes every tensor row by
//! row and logs a CRC-32 of the values, laid out as in `decoder-core/tests/golden`'s
//! expected file, so the host checks every bit without the values crossing the link.

use crc::{Crc, CRC_32_ISO_HDLC};
use decoder_core::{Container, Error, TensorData};

const CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Decodes every tensor of `container`, using `row` (at least the longest row) as
/// the buffer.
#[inline(never)]
pub fn all(container: &Container<'_>, row: &mut [f32]) -> Result<(), Error> {
    for (index, tensor) in container.tensors().enumerate() {
        let tensor = tensor?;
        let mut digest = CRC.digest();
        digest.update(&tensor.len().to_le_bytes());
        let hyper = match tensor.data() {
            TensorData::Hyper(h) => Some(*h),
            TensorData::Raw(_) => None,
        };
        digest.update(&[u8::from(hyper.is_some())]);
        let row_len = tensor.row_len() as usize;
        let available = row.len();
        let row = row.get_mut(..row_len).ok_or(Error::BufferLength { expected: row_len, found: available })?;
        let mut cycles = 0;
        for r in 0..tensor.rows() {
            let start = boards::device::cycles::now();
            tensor.decode_row_f32(r, row)?;
            cycles += boards::device::cycles::now() - start;
            for value in row.iter() {
                digest.update(&value.to_bits().to_le_bytes());
            }
        }
        if let Some(h) = hyper {
            for r in 0..h.rows() {
                h.decode_row_with(r, |_, q| {
                    let q = q.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
                    digest.update(&q.to_le_bytes());
                })?;
            }
        }
        defmt::println!(
            "tensor={=usize} values={=u32} crc={=u32} cycles={=u64}",
            index,
            tensor.len(),
            digest.finalize(),
            cycles
        );
    }
    Ok(())
}
