//! Containers with a graph: one inference per input row.

use boards::device::{cycles, HostFile, HostRead};
use decoder_core::{Container, Error, Model};

use crate::buffers::Buffers;
use crate::config::{Inputs, INPUTS, ROWS};

/// Runs the model on every input row and logs each output.
#[inline(never)]
pub fn all(container: Container<'_>, buffers: &mut Buffers) -> Result<(), Error> {
    let model = Model::new(container)?;
    let Buffers { arena, scratch } = buffers;
    let mut host = match INPUTS {
        Inputs::Host(path) => match HostFile::open(path) {
            Ok(file) => Some(file),
            Err(_) => {
                defmt::error!("cannot open the input file on the host");
                return Err(Error::Invalid { field: "inputs", tensor: None, reason: "input file not readable" });
            }
        },
        _ => None,
    };
    #[allow(clippy::reversed_empty_ranges)] // ROWS is 0 in builds without inputs.
    for row in 0..ROWS {
        let input = model.input_mut(arena)?;
        match INPUTS {
            Inputs::Flash(bytes) => {
                let start = row * input.len() * 4;
                let bytes = &bytes[start..start + input.len() * 4];
                for (value, chunk) in input.iter_mut().zip(bytes.chunks_exact(4)) {
                    *value = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                }
            }
            Inputs::Host(_) => {
                if let Some(file) = host.as_mut() {
                    read_row(file, input)?;
                }
            }
            Inputs::None => {}
        }
        let start = cycles::now();
        let output = model.run_in_arena(arena, scratch)?;
        let spent = cycles::now() - start;
        let top1 = output.iter().enumerate().fold(0, |best, (i, &v)| if v > output[best] { i } else { best });
        let mut bits = [0u32; 16];
        defmt::println!("row={=usize} cycles={=u64} top1={=usize} values={=usize}", row, spent, top1, output.len());
        // Outputs go as bit patterns, 16 per frame, so the host compares them exactly.
        for (chunk_index, chunk) in output.chunks(bits.len()).enumerate() {
            for (bit, value) in bits.iter_mut().zip(chunk) {
                *bit = value.to_bits();
            }
            defmt::println!("out={=usize} bits={=[?]}", chunk_index * 16, &bits[..chunk.len()]);
        }
    }
    Ok(())
}

/// Reads one row of little-endian f32 values from the host file.
fn read_row(file: &mut HostFile, row: &mut [f32]) -> Result<(), Error> {
    let mut chunk = [0u8; 64];
    let mut filled = 0;
    let mut index = 0;
    while index < row.len() {
        let end = chunk.len().min((row.len() - index) * 4);
        let read = file.read(&mut chunk[filled..end]).unwrap_or(0);
        if read == 0 {
            return Err(Error::Invalid { field: "inputs", tensor: None, reason: "input file ended early" });
        }
        filled += read;
        let whole = filled / 4;
        for (k, bytes) in chunk[..whole * 4].chunks_exact(4).enumerate() {
            row[index + k] = f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        index += whole;
        chunk.copy_within(whole * 4..filled, 0);
        filled -= whole * 4;
    }
    Ok(())
}
