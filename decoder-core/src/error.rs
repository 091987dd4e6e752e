//! The crate-wide error type.

use core::fmt::{self, Write};

/// Everything that can go wrong while parsing a container or decoding a tensor.
///
/// `field` values name the part of the format being read, such as `"header"`,
/// `"tensor record"` or `"indices"`, so a message points at the broken part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The input ends before `field` is complete.
    Truncated {
        /// Part of the format being read.
        field: &'static str,
        /// Bytes that `field` needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// The file does not start with [`crate::MAGIC`].
    BadMagic {
        /// The first four bytes found.
        found: [u8; 4],
    },
    /// The container was written in a format version this decoder does not read.
    UnsupportedVersion {
        /// Version stored in the header.
        found: u16,
        /// Version this decoder reads.
        supported: u16,
    },
    /// The CRC-32 of the payload differs from the one stored in the header.
    ChecksumMismatch {
        /// CRC-32 stored in the header.
        stored: u32,
        /// CRC-32 computed over the payload.
        computed: u32,
    },
    /// A postcard record could not be deserialized.
    Malformed {
        /// Part of the format being read.
        field: &'static str,
        /// Position of the tensor in the container, when the record belongs to one.
        tensor: Option<u32>,
    },
    /// A value is outside the range the format allows.
    Invalid {
        /// Field holding the value.
        field: &'static str,
        /// Position of the tensor in the container, when the field belongs to one.
        tensor: Option<u32>,
        /// Rule the value breaks.
        reason: &'static str,
    },
    /// A length or count differs from the one implied by other fields.
    LengthMismatch {
        /// Field whose length is wrong.
        field: &'static str,
        /// Position of the tensor in the container, when the field belongs to one.
        tensor: Option<u32>,
        /// Length implied by the other fields.
        expected: u64,
        /// Length found.
        found: u64,
    },
    /// A stored index points past the codebook.
    IndexOutOfRange {
        /// The index read from the stream.
        index: u32,
        /// Number of codewords in the codebook.
        codewords: u64,
    },
    /// A row, pair or tensor position past the end.
    OutOfBounds {
        /// Kind of position requested (`"row"`, `"pair"`, `"tensor"`).
        what: &'static str,
        /// The position requested.
        requested: u32,
        /// The number available.
        available: u32,
    },
    /// A caller-provided buffer has the wrong length.
    BufferLength {
        /// Length the operation needs.
        expected: usize,
        /// Length of the buffer passed.
        found: usize,
    },
    /// An inference operator's shapes or parameters are inconsistent.
    InvalidOperator {
        /// Name of the operator function, such as `"conv2d"`.
        op: &'static str,
        /// The rule the arguments break.
        reason: &'static str,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { field, needed, available } => write!(
                f,
                "input truncated in {field}: needed {needed} bytes, {available} available"
            ),
            Error::BadMagic { found } => {
                f.write_str("not a hyperc container: expected magic \"")?;
                write_escaped(f, &crate::MAGIC)?;
                f.write_str("\", found \"")?;
                write_escaped(f, &found)?;
                f.write_str("\"; encode the model with `hyperc encode` first")
            }
            Error::UnsupportedVersion { found, supported } => write!(
                f,
                "container format version {found} is not supported (this decoder reads version {supported}); re-encode the model with a matching hyperc"
            ),
            Error::ChecksumMismatch { stored, computed } => write!(
                f,
                "payload checksum mismatch: stored CRC-32 {stored:#010x}, computed {computed:#010x}; the container is corrupt"
            ),
            Error::Malformed { field, tensor } => {
                write!(f, "malformed {field}")?;
                write_tensor(f, tensor)
            }
            Error::Invalid { field, tensor, reason } => {
                write!(f, "invalid {field}")?;
                write_tensor(f, tensor)?;
                write!(f, ": {reason}")
            }
            Error::LengthMismatch { field, tensor, expected, found } => {
                write!(f, "wrong length of {field}")?;
                write_tensor(f, tensor)?;
                write!(f, ": expected {expected}, found {found}")
            }
            Error::IndexOutOfRange { index, codewords } => write!(
                f,
                "codeword index {index} is out of range for a codebook of {codewords} codewords"
            ),
            Error::OutOfBounds { what, requested, available } => {
                write!(f, "{what} {requested} is out of bounds ({available} available)")
            }
            Error::BufferLength { expected, found } => write!(
                f,
                "a buffer passed to the decoder (output, input, scratch or arena) has {found} elements, the operation needs {expected}; size it from the container's figures"
            ),
            Error::InvalidOperator { op, reason } => {
                write!(f, "invalid arguments to operator {op}: {reason}; check the layer's shapes and parameters")
            }
        }
    }
}

/// Writes `bytes` as ASCII text, with escapes such as `\x03` for other bytes.
fn write_escaped(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for &byte in bytes {
        for c in core::ascii::escape_default(byte) {
            f.write_char(char::from(c))?;
        }
    }
    Ok(())
}

fn write_tensor(f: &mut fmt::Formatter<'_>, tensor: Option<u32>) -> fmt::Result {
    match tensor {
        Some(index) => write!(f, " of tensor #{index}"),
        None => Ok(()),
    }
}

#[cfg(any(test, feature = "std"))]
impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_magic_prints_escaped_ascii() {
        let message = Error::BadMagic { found: *b"PK\x03\x04" }.to_string();
        assert!(message.contains("found \"PK\\x03\\x04\""), "{message}");
        assert!(message.contains("expected magic \"HYCM\""), "{message}");
    }

    #[test]
    fn buffer_length_lists_buffer_kinds() {
        let message = Error::BufferLength { expected: 12, found: 3 }.to_string();
        assert!(message.contains("has 3 elements, the operation needs 12"), "{message}");
        assert!(message.contains("scratch"), "{message}");
    }
}
