//! Reading and writing float32 weight tensors.
//!
//! Readers accept NumPy `.npy` arrays and `.npz` archives, safetensors files and raw
//! little-endian float32 `.bin` files. Every reader returns float32 data in row-major
//! (C) order: float16 and bfloat16 values are widened exactly, big-endian arrays are
//! byte-swapped and Fortran-order arrays are transposed. Writers produce `.npy` and `.npz`
//! files that NumPy loads unchanged, and replace the destination atomically.

mod atomic;
mod dtype;
mod npy;
mod npy_header;
mod npz;
mod raw;
mod safetensors;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use self::safetensors::{read_safetensors, read_safetensors_bytes};
pub use atomic::{write_atomic, write_atomic_verified, AtomicWriteError};
pub use npy::{read_npy_bytes, write_npy};
pub use npz::{read_npz, read_npz_bytes, write_npz};

/// Formats that [`read_weights`] accepts, and the TFLite models that `hyperc encode`
/// reads besides them, for error messages.
const SUPPORTED_FORMATS: &str = ".tflite (model), .npz (NumPy archive), .safetensors, \
                                 .npy (NumPy array) and .bin (raw little-endian float32)";

/// A named float32 tensor, row-major (C order).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Tensor name: the `.npz` key, the safetensors key, or the file stem of a single array.
    pub name: String,
    /// Dimensions, outermost first. An empty shape is a scalar with one value.
    pub shape: Vec<usize>,
    /// Values in row-major order; `data.len()` equals the product of `shape`.
    pub data: Vec<f32>,
}

/// Error from reading or writing a tensor file. Every variant carries the file path.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The file does not exist.
    #[error("{}: file not found; check the path", path.display())]
    NotFound { path: PathBuf },

    /// The path is a directory where a file was expected.
    #[error("{}: is a directory, expected a file; pass the path of a file in it", path.display())]
    IsDirectory { path: PathBuf },

    /// The file has no bytes at all.
    #[error("{}: file is empty; expected one of {SUPPORTED_FORMATS}", path.display())]
    Empty { path: PathBuf },

    /// An operating-system call failed.
    #[error("{}: failed to {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        /// The failed action, for example "read the file".
        action: String,
        source: std::io::Error,
    },

    /// Neither the content nor the extension identifies a supported format.
    #[error("{}: unrecognized file format ({detail}); supported formats are {SUPPORTED_FORMATS}",
            path.display())]
    UnsupportedFormat { path: PathBuf, detail: String },

    /// The zip container of an `.npz` file is invalid or contains something other than arrays.
    #[error("{}: invalid .npz archive: {detail}; re-create it with numpy.savez", path.display())]
    InvalidNpz { path: PathBuf, detail: String },

    /// An `.npy` header or payload is malformed.
    #[error("{}: tensor `{tensor}`: invalid .npy data: {detail}; re-save the array with numpy.save",
            path.display())]
    InvalidNpy { path: PathBuf, tensor: String, detail: String },

    /// A safetensors header is malformed or inconsistent with the file size.
    #[error("{}: invalid safetensors file: {detail}; re-save it with safetensors.save_file",
            path.display())]
    InvalidSafetensors { path: PathBuf, detail: String },

    /// A tensor has an element type other than float32, float16 or bfloat16.
    #[error("{}: tensor `{tensor}` has dtype {dtype}, but only float32, float16 and bfloat16 \
             tensors are read; convert it to float32 before encoding", path.display())]
    UnsupportedDtype { path: PathBuf, tensor: String, dtype: String },

    /// The number of elements or bytes of a shape does not fit in `usize`.
    #[error("{}: tensor `{tensor}` has shape {shape:?}, whose size overflows this platform's \
             address space; the header is corrupt", path.display())]
    ShapeOverflow { path: PathBuf, tensor: String, shape: Vec<u64> },

    /// The payload of a tensor is shorter or longer than its shape requires.
    #[error("{}: tensor `{tensor}` with shape {shape:?} needs {expected} bytes of data but the \
             file contains {found}; the file is truncated or corrupt", path.display())]
    DataSize { path: PathBuf, tensor: String, shape: Vec<usize>, expected: usize, found: usize },

    /// A raw float32 file whose length is not a multiple of 4 bytes.
    #[error("{}: raw float32 file has {len} bytes, which is not a multiple of 4; the file is \
             truncated or is not raw little-endian float32", path.display())]
    RawLength { path: PathBuf, len: u64 },

    /// A tensor to be written whose value count does not match its shape.
    #[error("{}: tensor `{tensor}` has {values} values but shape {shape:?} needs {expected}; fix \
             the shape or the data before writing", path.display())]
    ValueCount { path: PathBuf, tensor: String, shape: Vec<usize>, values: usize, expected: usize },

    /// Two tensors with the same name in one file.
    #[error("{}: tensor name `{tensor}` occurs more than once; names within one file must be \
             unique", path.display())]
    DuplicateName { path: PathBuf, tensor: String },
}

impl IoError {
    /// Wraps an operating-system error, naming the path and the failed action.
    pub(crate) fn io(path: &Path, action: impl Into<String>, source: std::io::Error) -> Self {
        IoError::Io { path: path.to_path_buf(), action: action.into(), source }
    }
}

/// Reads every tensor of a weights file, choosing the format from the content and the
/// extension.
///
/// A `.bin` extension means raw little-endian float32. Otherwise a zip signature selects
/// `.npz`, the NumPy magic selects a single `.npy` array and a plausible safetensors header
/// selects safetensors. When the content matches none of them, the extension `.npz`,
/// `.safetensors` or `.npy` picks the reader, so the error comes from that format's parser.
pub fn read_weights(path: &Path) -> Result<Vec<NamedTensor>, IoError> {
    let extension = lowercase_extension(path);
    if extension.as_deref() == Some("bin") {
        return Ok(vec![raw::read_raw_f32(path)?]);
    }

    let (mut file, len) = open_input(path)?;
    let mut prefix = Vec::with_capacity(9);
    file.by_ref().take(9).read_to_end(&mut prefix).map_err(|e| IoError::io(path, "read the file", e))?;
    drop(file);

    if npz::has_zip_signature(&prefix) {
        return read_npz(path);
    }
    if npy::has_npy_magic(&prefix) {
        return Ok(vec![npy::read_npy(path)?]);
    }
    if safetensors::looks_like_safetensors(&prefix, len) {
        return read_safetensors(path);
    }

    match extension.as_deref() {
        Some("npz") => read_npz(path),
        Some("safetensors") => read_safetensors(path),
        Some("npy") => Ok(vec![npy::read_npy(path)?]),
        other => Err(IoError::UnsupportedFormat {
            path: path.to_path_buf(),
            detail: match other {
                Some(ext) => format!("the content matches no known format and the extension is .{ext}"),
                None => "the content matches no known format and the file has no extension".into(),
            },
        }),
    }
}

/// Reads one array: a `.npy` file, or a `.bin` file of raw little-endian float32 values,
/// which becomes a 1-D tensor. The tensor is named after the file stem.
pub fn read_array(path: &Path) -> Result<NamedTensor, IoError> {
    match lowercase_extension(path).as_deref() {
        Some("bin") => raw::read_raw_f32(path),
        Some("npy") => npy::read_npy(path),
        other => {
            let (mut file, _) = open_input(path)?;
            let mut prefix = Vec::with_capacity(6);
            file.by_ref().take(6).read_to_end(&mut prefix).map_err(|e| IoError::io(path, "read the file", e))?;
            if npy::has_npy_magic(&prefix) {
                return npy::read_npy(path);
            }
            Err(IoError::UnsupportedFormat {
                path: path.to_path_buf(),
                detail: format!(
                    "read_array reads .npy and .bin files, and this file has {} and no NumPy magic",
                    match other {
                        Some(ext) => format!("extension .{ext}"),
                        None => "no extension".into(),
                    }
                ),
            })
        }
    }
}

/// Returns the number of elements of `shape`, or `None` when it overflows `usize`.
/// A shape with a zero dimension has zero elements even if other dimensions are huge.
pub(crate) fn element_count(shape: &[usize]) -> Option<usize> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape.iter().try_fold(1usize, |count, &dim| count.checked_mul(dim))
}

/// Checks that `data` fills `shape` exactly before a tensor is written to `path`.
pub(crate) fn check_value_count(path: &Path, name: &str, shape: &[usize], data: &[f32]) -> Result<(), IoError> {
    let Some(expected) = element_count(shape) else {
        return Err(IoError::ShapeOverflow {
            path: path.to_path_buf(),
            tensor: name.to_owned(),
            shape: shape.iter().map(|&d| d as u64).collect(),
        });
    };
    if data.len() != expected {
        return Err(IoError::ValueCount {
            path: path.to_path_buf(),
            tensor: name.to_owned(),
            shape: shape.to_vec(),
            values: data.len(),
            expected,
        });
    }
    Ok(())
}

/// Opens an input file, mapping a missing file, a directory and an empty file to their own
/// errors. Returns the file and its length in bytes.
pub(crate) fn open_input(path: &Path) -> Result<(File, u64), IoError> {
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => IoError::NotFound { path: path.to_path_buf() },
        _ => IoError::io(path, "read the file's metadata", e),
    })?;
    if metadata.is_dir() {
        return Err(IoError::IsDirectory { path: path.to_path_buf() });
    }
    if metadata.len() == 0 {
        return Err(IoError::Empty { path: path.to_path_buf() });
    }
    let file = File::open(path).map_err(|e| IoError::io(path, "open the file", e))?;
    Ok((file, metadata.len()))
}

/// Reads a whole input file after the checks of [`open_input`].
pub(crate) fn read_input(path: &Path) -> Result<Vec<u8>, IoError> {
    let (mut file, len) = open_input(path)?;
    // The length is only a capacity hint: the file may change while it is read.
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.read_to_end(&mut bytes).map_err(|e| IoError::io(path, "read the file", e))?;
    Ok(bytes)
}

/// Returns the tensor name for a single-array file: its stem, or its whole name without one.
pub(crate) fn file_stem_name(path: &Path) -> String {
    path.file_stem().or_else(|| path.file_name()).map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default()
}

fn lowercase_extension(path: &Path) -> Option<String> {
    path.extension().map(|ext| ext.to_string_lossy().to_ascii_lowercase())
}
