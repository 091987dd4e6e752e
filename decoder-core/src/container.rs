//! The `.hcm` container: a fixed header followed by a postcard payload.
//!
//! ```text
//! offset  size  field
//!      0     4  magic "HYCM"
//!      4     2  format version, little endian
//!      6     2  flags, must be 0
//!      8     4  payload length in bytes, little endian
//!     12     4  CRC-32 (ISO-HDLC, as in zlib) of the payload, little endian
//!     16     …  payload
//! ```
//!
//! The payload is a [`ModelRecord`] followed by `tensor_count` [`TensorRecord`]s, each
//! postcard-encoded, with nothing after the last one. Byte slices inside the records are
//! borrowed from the input, so index data is never copied.

use serde::{Deserialize, Serialize};

use crate::hyperfunction::Trajectory;
use crate::tensor::Tensor;
use crate::{Error, MAX_RANK};

/// First four bytes of every container.
pub const MAGIC: [u8; 4] = *b"HYCM";

/// Format version this crate reads and writes.
pub const FORMAT_VERSION: u16 = 1;

/// Length of the fixed header in bytes.
pub const HEADER_LEN: usize = 16;

/// The CRC-32 variant of the header (the one zlib, PNG and gzip use).
pub const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// First record of the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord<'a> {
    /// Number of tensor records that follow.
    pub tensor_count: u32,
    /// Postcard-encoded operator graph; empty for a weights-only container.
    #[serde(borrow)]
    pub graph: &'a [u8],
}

/// One stored tensor, as written in the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorRecord<'a> {
    /// Tensor name, as in the source model.
    #[serde(borrow)]
    pub name: &'a str,
    /// Dimensions, outermost first. The first dimension is the row (output channel) axis.
    pub shape: heapless::Vec<u32, MAX_RANK>,
    /// Largest absolute reconstruction error of any weight, as measured by the encoder.
    pub max_abs_error: f32,
    /// Relative mean squared error ‖w − ŵ‖² / ‖w‖² measured by the encoder.
    pub rel_mse: f32,
    /// Storage of the values.
    #[serde(borrow)]
    pub storage: StorageRecord<'a>,
}

/// Storage of a tensor's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StorageRecord<'a> {
    /// Little-endian IEEE-754 float32 values, row-major.
    Raw(#[serde(borrow)] &'a [u8]),
    /// Hyper-Compression indices and per-group parameters.
    Hyper(#[serde(borrow)] HyperRecord<'a>),
}

/// A Hyper-Compression encoded tensor, viewed as `rows × row_len` values.
///
/// Each row is split into `ceil(row_len / 2)` pairs; an odd row's last pair carries one
/// padding value that is never output. Rows `g·group_rows ..` share group `g`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HyperRecord<'a> {
    /// Number of rows (the first dimension of the shape).
    pub rows: u32,
    /// Values per row.
    pub row_len: u32,
    /// Rows per parameter group.
    pub group_rows: u32,
    /// Weight of one step of the fixed-point grid: `w = q · scale`.
    pub scale: f32,
    /// Trajectory points `N` inside the square.
    pub inner: u32,
    /// Outlier rings `C`.
    pub rings: u8,
    /// Direction and phase of the trajectory.
    pub trajectory: Trajectory,
    /// Width of one packed index in bits.
    pub index_bits: u8,
    /// Per-group parameters, [`crate::codebook::Codebook::group_len`] bytes each.
    #[serde(borrow)]
    pub groups: &'a [u8],
    /// Packed indices, one per pair, row after row.
    #[serde(borrow)]
    pub indices: &'a [u8],
}

/// Builds the 16-byte header for `payload`.
///
/// # Panics
///
/// Panics if `payload` is 4 GiB or longer, which no container can be.
pub fn header_for(payload: &[u8]) -> [u8; HEADER_LEN] {
    let len = u32::try_from(payload.len()).expect("payload must be shorter than 4 GiB");
    let mut header = [0u8; HEADER_LEN];
    header[0..4].copy_from_slice(&MAGIC);
    header[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[8..12].copy_from_slice(&len.to_le_bytes());
    header[12..16].copy_from_slice(&CRC32.checksum(payload).to_le_bytes());
    header
}

/// A parsed and fully validated container, borrowing its bytes.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    graph: &'a [u8],
    records: &'a [u8],
    tensor_count: u32,
    size: usize,
}

impl<'a> Container<'a> {
    /// Parses and validates a whole container.
    ///
    /// Checks the magic, version, flags, length and CRC-32, then every tensor record.
    /// Bytes after the declared payload are rejected.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let payload = check_header(bytes)?;
        let (model, records) = postcard::take_from_bytes::<ModelRecord<'a>>(payload)
            .map_err(|_| Error::Malformed { field: "model record", tensor: None })?;
        let container = Container { graph: model.graph, records, tensor_count: model.tensor_count, size: bytes.len() };
        let mut rest = records;
        for index in 0..model.tensor_count {
            let (tensor, tail) = next_tensor(rest, index)?;
            drop(tensor);
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(Error::LengthMismatch {
                field: "payload",
                tensor: None,
                expected: (payload.len() - rest.len()) as u64,
                found: payload.len() as u64,
            });
        }
        Ok(container)
    }

    /// Number of tensors.
    pub fn tensor_count(&self) -> u32 {
        self.tensor_count
    }

    /// Size of the whole container in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Returns the postcard-encoded operator graph, which is empty for a weights-only container.
    pub fn graph(&self) -> &'a [u8] {
        self.graph
    }

    /// Iterates over the tensors in stored order.
    pub fn tensors(&self) -> Tensors<'a> {
        Tensors { rest: self.records, next: 0, count: self.tensor_count }
    }

    /// Returns tensor `index`.
    pub fn tensor(&self, index: u32) -> Result<Tensor<'a>, Error> {
        if index >= self.tensor_count {
            return Err(Error::OutOfBounds { what: "tensor", requested: index, available: self.tensor_count });
        }
        self.tensors()
            .nth(index as usize)
            .unwrap_or(Err(Error::Malformed { field: "tensor record", tensor: Some(index) }))
    }

    /// Returns the first tensor called `name`, if any.
    pub fn find(&self, name: &str) -> Option<Tensor<'a>> {
        self.tensors().flatten().find(|t| t.name() == name)
    }
}

/// Iterator over a container's tensors, from [`Container::tensors`].
#[derive(Debug, Clone)]
pub struct Tensors<'a> {
    rest: &'a [u8],
    next: u32,
    count: u32,
}

impl<'a> Iterator for Tensors<'a> {
    type Item = Result<Tensor<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.count {
            return None;
        }
        let index = self.next;
        self.next += 1;
        match next_tensor(self.rest, index) {
            Ok((tensor, tail)) => {
                self.rest = tail;
                Some(Ok(tensor))
            }
            Err(e) => {
                self.next = self.count;
                Some(Err(e))
            }
        }
    }
}

fn next_tensor(bytes: &[u8], index: u32) -> Result<(Tensor<'_>, &[u8]), Error> {
    let (record, tail) = postcard::take_from_bytes::<TensorRecord<'_>>(bytes)
        .map_err(|_| Error::Malformed { field: "tensor record", tensor: Some(index) })?;
    let mut tensor = Tensor::from_record(record, index)?;
    tensor.set_record_len(bytes.len() - tail.len());
    Ok((tensor, tail))
}

/// Checks the fixed header and returns the payload it describes.
fn check_header(bytes: &[u8]) -> Result<&[u8], Error> {
    if bytes.len() < HEADER_LEN {
        if bytes.len() >= 4 && bytes[0..4] != MAGIC {
            return Err(Error::BadMagic { found: [bytes[0], bytes[1], bytes[2], bytes[3]] });
        }
        return Err(Error::Truncated { field: "header", needed: HEADER_LEN, available: bytes.len() });
    }
    let word = |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if magic != MAGIC {
        return Err(Error::BadMagic { found: magic });
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
    }
    let flags = u16::from_le_bytes([bytes[6], bytes[7]]);
    if flags != 0 {
        return Err(Error::Invalid { field: "header flags", tensor: None, reason: "must be 0" });
    }
    let declared = word(8) as usize;
    let body = &bytes[HEADER_LEN..];
    if body.len() < declared {
        return Err(Error::Truncated { field: "payload", needed: declared, available: body.len() });
    }
    if body.len() > declared {
        return Err(Error::LengthMismatch {
            field: "container",
            tensor: None,
            expected: (HEADER_LEN + declared) as u64,
            found: bytes.len() as u64,
        });
    }
    let stored = word(12);
    let computed = CRC32.checksum(body);
    if stored != computed {
        return Err(Error::ChecksumMismatch { stored, computed });
    }
    Ok(body)
}
