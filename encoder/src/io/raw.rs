//! Raw little-endian float32 files (`.bin`): the values only, with no header.

use std::path::Path;

use super::dtype::{decode_floats, ByteOrder, FloatType};
use super::{file_stem_name, read_input, IoError, NamedTensor};

/// Reads a raw little-endian float32 file as a 1-D tensor named after the file stem.
pub(crate) fn read_raw_f32(path: &Path) -> Result<NamedTensor, IoError> {
    let bytes = read_input(path)?;
    if bytes.len() % 4 != 0 {
        return Err(IoError::RawLength { path: path.to_path_buf(), len: bytes.len() as u64 });
    }
    let data = decode_floats(&bytes, FloatType::F32, ByteOrder::Little);
    Ok(NamedTensor { name: file_stem_name(path), shape: vec![data.len()], data })
}
