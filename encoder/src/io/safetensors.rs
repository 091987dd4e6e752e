//! safetensors files: an 8-byte little-endian header length, a JSON header that maps each
//! tensor name to its dtype, shape and byte range, and the concatenated tensor data.

use std::path::Path;

use ::safetensors::tensor::{Dtype, SafeTensors};

use super::dtype::{decode_floats, ByteOrder, FloatType};
use super::{element_count, read_input, IoError, NamedTensor};

/// Length of the header-size prefix.
const PREFIX_LEN: usize = 8;

/// Returns true when `prefix` (the first bytes of a file of `file_len` bytes) starts with a
/// header length that fits in the file, followed by the `{` that opens the JSON header.
pub(crate) fn looks_like_safetensors(prefix: &[u8], file_len: u64) -> bool {
    let (Some(length_bytes), Some(b'{')) = (prefix.get(..PREFIX_LEN), prefix.get(PREFIX_LEN)) else {
        return false;
    };
    let mut word = [0u8; PREFIX_LEN];
    word.copy_from_slice(length_bytes);
    let header_len = u64::from_le_bytes(word);
    header_len.checked_add(PREFIX_LEN as u64).is_some_and(|end| end <= file_len)
}

/// Reads every tensor of a safetensors file, in the order of their data in the file.
///
/// F32, F16 and BF16 tensors are read. A tensor of any other dtype fails the whole read
/// with an error naming it. The optional `__metadata__` entry is ignored.
pub fn read_safetensors(path: &Path) -> Result<Vec<NamedTensor>, IoError> {
    read_safetensors_bytes(&read_input(path)?, path)
}

/// Reads every tensor of a safetensors file held in memory, as [`read_safetensors`] does
/// for a file. `path` only labels errors.
pub fn read_safetensors_bytes(bytes: &[u8], path: &Path) -> Result<Vec<NamedTensor>, IoError> {
    let invalid = |detail: String| IoError::InvalidSafetensors { path: path.to_path_buf(), detail };

    // The crate checks that the byte ranges are contiguous, match the shapes and dtypes,
    // and end exactly at the end of the file.
    let (header_len, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| invalid(e.to_string()))?;
    let data_start = PREFIX_LEN + header_len;

    let mut tensors = Vec::new();
    for name in metadata.offset_keys() {
        let Some(info) = metadata.info(&name) else {
            return Err(invalid(format!("tensor `{name}` is listed but has no entry")));
        };
        let float_type = match info.dtype {
            Dtype::F32 => FloatType::F32,
            Dtype::F16 => FloatType::F16,
            Dtype::BF16 => FloatType::Bf16,
            other => {
                return Err(IoError::UnsupportedDtype {
                    path: path.to_path_buf(),
                    tensor: name,
                    dtype: format!("{other:?}"),
                })
            }
        };

        let (begin, end) = info.data_offsets;
        let range = data_start.checked_add(begin).zip(data_start.checked_add(end));
        let Some(payload) = range.and_then(|(begin, end)| bytes.get(begin..end)) else {
            return Err(invalid(format!("the data range of tensor `{name}` lies outside the file")));
        };
        let expected = element_count(&info.shape).and_then(|count| count.checked_mul(float_type.size()));
        if expected != Some(payload.len()) {
            return Err(IoError::DataSize {
                path: path.to_path_buf(),
                tensor: name,
                shape: info.shape.clone(),
                expected: expected.unwrap_or(usize::MAX),
                found: payload.len(),
            });
        }

        let data = decode_floats(payload, float_type, ByteOrder::Little);
        tensors.push(NamedTensor { name, shape: info.shape.clone(), data });
    }
    Ok(tensors)
}
