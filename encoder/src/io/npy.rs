//! NumPy `.npy` arrays, format versions 1.0, 2.0 and 3.0.
//!
//! Layout: the magic `\x93NUMPY`, a major and a minor version byte, the header length
//! (little-endian `u16` in version 1.0, `u32` in 2.0 and 3.0), the header text (see
//! [`super::npy_header`]) and the raw element data.

use std::path::Path;

use super::dtype::{decode_floats, ByteOrder, FloatType};
use super::npy_header::parse_header;
use super::{check_value_count, element_count, file_stem_name, read_input, write_atomic, IoError, NamedTensor};

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Header text plus prefix is padded to a multiple of this many bytes (`ARRAY_ALIGN` in
/// NumPy 2.4 `numpy.lib.format`), so that the data of a memory-mapped file is aligned.
const HEADER_ALIGNMENT: usize = 64;

/// Returns true when `bytes` starts with the `.npy` magic string.
pub(crate) fn has_npy_magic(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Reads a `.npy` file into a tensor named after the file stem.
pub(crate) fn read_npy(path: &Path) -> Result<NamedTensor, IoError> {
    read_npy_bytes(&read_input(path)?, path)
}

/// Reads a `.npy` array held in memory into a tensor named after the stem of `path`,
/// which also labels errors.
pub fn read_npy_bytes(bytes: &[u8], path: &Path) -> Result<NamedTensor, IoError> {
    let name = file_stem_name(path);
    let (shape, data) = decode_npy(bytes, path, &name)?;
    Ok(NamedTensor { name, shape, data })
}

/// Writes a float32 array as a version 1.0 `.npy` file (2.0 if the header exceeds 64 KiB),
/// in C order and little-endian, replacing `path` atomically.
pub fn write_npy(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), IoError> {
    check_value_count(path, &file_stem_name(path), shape, data)?;
    write_atomic(path, &encode_npy(shape, data))
}

/// Decodes the bytes of one `.npy` array into its shape and C-order float32 values.
/// `path` and `tensor` only label errors.
pub(crate) fn decode_npy(bytes: &[u8], path: &Path, tensor: &str) -> Result<(Vec<usize>, Vec<f32>), IoError> {
    let invalid = |detail: String| IoError::InvalidNpy { path: path.to_path_buf(), tensor: tensor.to_owned(), detail };

    if !has_npy_magic(bytes) {
        return Err(invalid("the data does not start with the \\x93NUMPY magic string".into()));
    }
    let (Some(&major), Some(&minor)) = (bytes.get(6), bytes.get(7)) else {
        return Err(invalid("the data ends inside the format version".into()));
    };
    let (header_start, header_len): (usize, Option<usize>) = match major {
        1 => (10, bytes.get(8..10).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))),
        2 | 3 => {
            (12, bytes.get(8..12).and_then(|b| usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()))
        }
        _ => {
            return Err(invalid(format!(
                "unsupported format version {major}.{minor}; versions 1.0, 2.0 and 3.0 are read"
            )))
        }
    };
    let Some(header_len) = header_len else {
        return Err(invalid("the data ends inside the header length".into()));
    };
    let header_bytes = header_start.checked_add(header_len).and_then(|header_end| bytes.get(header_start..header_end));
    let Some(header_bytes) = header_bytes else {
        return Err(invalid(format!(
            "the header claims {header_len} bytes but only {} follow the prefix; the data is truncated",
            bytes.len().saturating_sub(header_start)
        )));
    };
    let header_end = header_start + header_len;

    let header_text = header_to_text(header_bytes, major == 3)
        .ok_or_else(|| invalid("the version 3.0 header is not valid UTF-8".into()))?;
    let header = parse_header(&header_text)
        .map_err(|detail| invalid(format!("cannot parse header {:?}: {detail}", shorten(header_text.trim_end()))))?;

    let Some(descr) = header.descr else {
        return Err(IoError::UnsupportedDtype {
            path: path.to_path_buf(),
            tensor: tensor.to_owned(),
            dtype: "a structured (record) dtype".into(),
        });
    };
    let Some((float_type, order)) = parse_descr(&descr) else {
        return Err(IoError::UnsupportedDtype {
            path: path.to_path_buf(),
            tensor: tensor.to_owned(),
            dtype: describe_descr(&descr),
        });
    };

    let overflow =
        || IoError::ShapeOverflow { path: path.to_path_buf(), tensor: tensor.to_owned(), shape: header.shape.clone() };
    let shape: Vec<usize> =
        header.shape.iter().map(|&dim| usize::try_from(dim)).collect::<Result<_, _>>().map_err(|_| overflow())?;
    let expected = element_count(&shape).and_then(|count| count.checked_mul(float_type.size())).ok_or_else(overflow)?;

    let payload = &bytes[header_end..];
    if payload.len() != expected {
        return Err(IoError::DataSize {
            path: path.to_path_buf(),
            tensor: tensor.to_owned(),
            shape,
            expected,
            found: payload.len(),
        });
    }

    let values = decode_floats(payload, float_type, order);
    let values = if header.fortran_order { fortran_to_c_order(&shape, &values) } else { values };
    Ok((shape, values))
}

/// Encodes a float32 array as `.npy` bytes. The caller checks that `data` fills `shape`.
pub(crate) fn encode_npy(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let shape_text = match shape {
        [] => "()".to_owned(),
        [length] => format!("({length},)"),
        dims => {
            let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
            format!("({})", dims.join(", "))
        }
    };
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");

    // Version 1.0 stores the header length in a u16, so larger headers need version 2.0.
    let padded_len = |prefix_len: usize| {
        let unpadded = prefix_len + dict.len() + 1;
        unpadded.div_ceil(HEADER_ALIGNMENT) * HEADER_ALIGNMENT - prefix_len
    };
    let (version, prefix_len) = if padded_len(10) <= usize::from(u16::MAX) { (1u8, 10) } else { (2u8, 12) };
    let header_len = padded_len(prefix_len);

    let mut bytes = Vec::with_capacity(prefix_len + header_len + 4 * data.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&[version, 0]);
    if version == 1 {
        // Fits: checked against u16::MAX above.
        bytes.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        // NOTE: a header longer than 4 GiB (hundreds of millions of dimensions) would be
        // truncated here, but no realistic shape comes near it.
        bytes.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    bytes.extend_from_slice(dict.as_bytes());
    bytes.resize(prefix_len + header_len - 1, b' ');
    bytes.push(b'\n');
    for value in data {
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes
}

/// Decodes header bytes: UTF-8 in version 3.0, Latin-1 before.
fn header_to_text(bytes: &[u8], utf8: bool) -> Option<String> {
    if utf8 {
        String::from_utf8(bytes.to_vec()).ok()
    } else {
        Some(bytes.iter().map(|&b| char::from(b)).collect())
    }
}

/// Maps a type string to the float type and byte order it stores, or `None` if the type is
/// not float32 or float16. A missing, `=` or `|` byte-order mark means native order, as in
/// `numpy.dtype`.
fn parse_descr(descr: &str) -> Option<(FloatType, ByteOrder)> {
    let native = if cfg!(target_endian = "big") { ByteOrder::Big } else { ByteOrder::Little };
    let (order, code) = match descr.as_bytes().first() {
        Some(b'<') => (ByteOrder::Little, &descr[1..]),
        Some(b'>') => (ByteOrder::Big, &descr[1..]),
        Some(b'=' | b'|') => (native, &descr[1..]),
        _ => (native, descr),
    };
    let float_type = match code {
        "f4" | "f" | "float32" => FloatType::F32,
        "f2" | "e" | "float16" => FloatType::F16,
        _ => return None,
    };
    Some((float_type, order))
}

/// Describes a rejected type string for an error message, for example `'<f8' (float64)`.
fn describe_descr(descr: &str) -> String {
    let code = descr.trim_start_matches(['<', '>', '=', '|']);
    let (kind, size) = code.split_at(code.find(|c: char| c.is_ascii_digit()).unwrap_or(code.len()));
    let name = match (kind, size) {
        ("f", "8") | ("d", "") => "float64".to_owned(),
        ("f", "16") | ("g", "") => "long double".to_owned(),
        ("i", bytes) if !bytes.is_empty() => format!("int{}", bytes.parse::<u32>().unwrap_or(0) * 8),
        ("u", bytes) if !bytes.is_empty() => format!("uint{}", bytes.parse::<u32>().unwrap_or(0) * 8),
        ("b", "1") | ("?", "") => "bool".to_owned(),
        ("c", "8") => "complex64".to_owned(),
        ("c", "16") => "complex128".to_owned(),
        ("O", _) => "Python object".to_owned(),
        ("U", _) => "unicode string".to_owned(),
        ("S" | "a", _) => "byte string".to_owned(),
        ("V", _) => "void (raw bytes)".to_owned(),
        ("M", _) => "datetime64".to_owned(),
        ("m", _) => "timedelta64".to_owned(),
        _ => return format!("'{descr}'"),
    };
    format!("'{descr}' ({name})")
}

/// Reorders column-major (Fortran) values into row-major (C) order.
///
/// Walks the C-order index with an odometer, last axis fastest, and tracks the matching
/// Fortran offset, where axis `k` has stride `shape[0] * … * shape[k-1]`.
fn fortran_to_c_order(shape: &[usize], values: &[f32]) -> Vec<f32> {
    if shape.len() < 2 || values.is_empty() {
        return values.to_vec();
    }
    let mut strides = vec![1usize; shape.len()];
    for axis in 1..shape.len() {
        // Cannot overflow: the partial product is at most the element count.
        strides[axis] = strides[axis - 1] * shape[axis - 1];
    }

    let mut index = vec![0usize; shape.len()];
    let mut offset = 0usize;
    let mut c_order = Vec::with_capacity(values.len());
    for _ in 0..values.len() {
        c_order.push(values[offset]);
        for axis in (0..shape.len()).rev() {
            index[axis] += 1;
            offset += strides[axis];
            if index[axis] < shape[axis] {
                break;
            }
            offset -= strides[axis] * shape[axis];
            index[axis] = 0;
        }
    }
    c_order
}

/// Shortens header text for an error message.
fn shorten(text: &str) -> String {
    const LIMIT: usize = 200;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computes the C-order values of a Fortran-order array the slow way: for every C index,
    /// the Fortran offset is `i0 + d0 * (i1 + d1 * (i2 + …))`.
    fn naive_fortran_to_c(shape: &[usize], values: &[f32]) -> Vec<f32> {
        let count: usize = shape.iter().product();
        (0..count)
            .map(|c_offset| {
                let mut rest = c_offset;
                let mut index = vec![0; shape.len()];
                for axis in (0..shape.len()).rev() {
                    index[axis] = rest % shape[axis];
                    rest /= shape[axis];
                }
                let mut f_offset = 0;
                for axis in (0..shape.len()).rev() {
                    f_offset = f_offset * shape[axis] + index[axis];
                }
                values[f_offset]
            })
            .collect()
    }

    #[test]
    fn fortran_order_matches_naive() {
        for shape in [vec![2, 3], vec![3, 1, 4], vec![2, 3, 4, 5], vec![1, 7], vec![5, 0, 2]] {
            let count: usize = shape.iter().product();
            let values: Vec<f32> = (0..count).map(|i| i as f32).collect();
            assert_eq!(fortran_to_c_order(&shape, &values), naive_fortran_to_c(&shape, &values), "shape {shape:?}");
        }
    }

    #[test]
    fn fortran_order_of_matrix_is_transpose() {
        // Column-major [[1, 2, 3], [4, 5, 6]] is stored as 1 4 2 5 3 6.
        let stored = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        assert_eq!(fortran_to_c_order(&[2, 3], &stored), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn encoded_header_is_aligned_and_parses() {
        for shape in [vec![], vec![0], vec![3], vec![2, 3, 4, 5]] {
            let count: usize = shape.iter().product();
            let bytes = encode_npy(&shape, &vec![0.5; count]);
            let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
            assert_eq!((10 + header_len) % HEADER_ALIGNMENT, 0, "shape {shape:?}");
            assert_eq!(bytes[10 + header_len - 1], b'\n');
            assert_eq!(bytes.len(), 10 + header_len + 4 * count);
            let header = parse_header(std::str::from_utf8(&bytes[10..10 + header_len]).unwrap()).unwrap();
            let expected_shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
            assert_eq!(header.shape, expected_shape);
        }
    }

    #[test]
    fn huge_header_uses_version_two() {
        // Each "1, " adds 3 bytes, so 30 000 dimensions need more than the 64 KiB of version 1.0.
        let shape = vec![1usize; 30_000];
        let bytes = encode_npy(&shape, &[2.5]);
        assert_eq!(&bytes[6..8], &[2, 0]);
        let (decoded_shape, values) = decode_npy(&bytes, Path::new("big.npy"), "big").unwrap();
        assert_eq!(decoded_shape, shape);
        assert_eq!(values, vec![2.5]);
    }

    #[test]
    fn descr_variants() {
        let native = if cfg!(target_endian = "big") { ByteOrder::Big } else { ByteOrder::Little };
        assert_eq!(parse_descr("<f4"), Some((FloatType::F32, ByteOrder::Little)));
        assert_eq!(parse_descr(">f4"), Some((FloatType::F32, ByteOrder::Big)));
        assert_eq!(parse_descr("<f2"), Some((FloatType::F16, ByteOrder::Little)));
        assert_eq!(parse_descr(">f2"), Some((FloatType::F16, ByteOrder::Big)));
        assert_eq!(parse_descr("=f4"), Some((FloatType::F32, native)));
        assert_eq!(parse_descr("f4"), Some((FloatType::F32, native)));
        for rejected in ["<f8", "<i4", "|b1", "|O", "<c8", "<U3", "|V2", "<f16", ""] {
            assert_eq!(parse_descr(rejected), None, "{rejected}");
        }
    }

    #[test]
    fn describe_rejected_descr() {
        assert_eq!(describe_descr("<f8"), "'<f8' (float64)");
        assert_eq!(describe_descr("<i8"), "'<i8' (int64)");
        assert_eq!(describe_descr("|u1"), "'|u1' (uint8)");
        assert_eq!(describe_descr("|b1"), "'|b1' (bool)");
        assert_eq!(describe_descr("|O"), "'|O' (Python object)");
        assert_eq!(describe_descr("<c16"), "'<c16' (complex128)");
        assert_eq!(describe_descr("xyz"), "'xyz'");
    }
}
