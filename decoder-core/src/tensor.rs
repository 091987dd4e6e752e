//! Validated views of stored tensors and their decoding.
//!
//! A tensor is viewed as `rows × row_len` values, where `rows` is its first dimension
//! (the output channel or filter of a kernel). Rows decode independently, so a caller
//! can hold one row at a time; [`HyperTensor::pair`] decodes a single pair for use inside
//! a multiply-accumulate loop.

use crate::bits::{self, MAX_INDEX_BITS};
use crate::codebook::{Codebook, Group, MAX_RINGS};
use crate::container::{HyperRecord, StorageRecord, TensorRecord};
use crate::{Error, MAX_RANK};

/// One tensor of a container.
#[derive(Debug, Clone)]
pub struct Tensor<'a> {
    name: &'a str,
    shape: heapless::Vec<u32, MAX_RANK>,
    len: u32,
    max_abs_error: f32,
    rel_mse: f32,
    record_len: u32,
    data: TensorData<'a>,
}

/// Storage of a tensor's values.
#[derive(Debug, Clone, Copy)]
pub enum TensorData<'a> {
    /// Little-endian float32 values, row-major.
    Raw(&'a [u8]),
    /// Hyper-Compression encoded values.
    Hyper(HyperTensor<'a>),
}

impl<'a> Tensor<'a> {
    /// Validates `record`, the tensor at position `index` of its container.
    pub fn from_record(record: TensorRecord<'a>, index: u32) -> Result<Self, Error> {
        let invalid = |field, reason| Error::Invalid { field, tensor: Some(index), reason };
        let mut len = 1u64;
        for &dim in record.shape.iter() {
            len = len.saturating_mul(u64::from(dim));
        }
        let len = u32::try_from(len).map_err(|_| invalid("shape", "more than 2^32 - 1 values"))?;
        if !record.max_abs_error.is_finite() || record.max_abs_error < 0.0 {
            return Err(invalid("max_abs_error", "must be finite and not negative"));
        }
        let data = match record.storage {
            StorageRecord::Raw(bytes) => {
                let expected = u64::from(len) * 4;
                if bytes.len() as u64 != expected {
                    return Err(Error::LengthMismatch {
                        field: "raw data",
                        tensor: Some(index),
                        expected,
                        found: bytes.len() as u64,
                    });
                }
                TensorData::Raw(bytes)
            }
            StorageRecord::Hyper(hyper) => {
                let tensor = HyperTensor::validate(hyper, index)?;
                let first = rows_of(&record.shape);
                if tensor.rows != first || u64::from(tensor.rows) * u64::from(tensor.row_len) != u64::from(len) {
                    return Err(invalid(
                        "rows",
                        "rows × row_len must equal the shape, with rows its first dimension (1 for a vector)",
                    ));
                }
                TensorData::Hyper(tensor)
            }
        };
        Ok(Tensor {
            name: record.name,
            shape: record.shape,
            len,
            max_abs_error: record.max_abs_error,
            rel_mse: record.rel_mse,
            record_len: 0,
            data,
        })
    }

    /// Name of the tensor, as in the source model.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Dimensions, outermost first.
    pub fn shape(&self) -> &[u32] {
        &self.shape
    }

    /// Number of values.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// True when the tensor has no values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Error bound the encoder recorded: no decoded value differs from the original by more.
    pub fn max_abs_error(&self) -> f32 {
        self.max_abs_error
    }

    /// Relative mean squared error the encoder measured.
    pub fn rel_mse(&self) -> f32 {
        self.rel_mse
    }

    /// Size of the tensor's record in the container, in bytes; 0 for a tensor not read
    /// from a container.
    pub fn record_len(&self) -> u32 {
        self.record_len
    }

    pub(crate) fn set_record_len(&mut self, len: usize) {
        self.record_len = len as u32;
    }

    /// Returns the stored representation.
    pub fn data(&self) -> &TensorData<'a> {
        &self.data
    }

    /// Number of rows: the first dimension, or 1 for a scalar or a vector.
    pub fn rows(&self) -> u32 {
        rows_of(&self.shape)
    }

    /// Values per row.
    pub fn row_len(&self) -> u32 {
        match self.rows() {
            0 => 0,
            rows => self.len / rows,
        }
    }

    /// Decodes row `row` into `out`, which must hold exactly [`Tensor::row_len`] values.
    pub fn decode_row_f32(&self, row: u32, out: &mut [f32]) -> Result<(), Error> {
        match &self.data {
            TensorData::Hyper(h) => h.decode_row_f32(row, out),
            TensorData::Raw(bytes) => {
                let row_len = self.row_len() as usize;
                check_row(row, self.rows())?;
                check_buffer(out.len(), row_len)?;
                let start = row as usize * row_len * 4;
                let row_bytes = &bytes[start..start + row_len * 4];
                for (value, chunk) in out.iter_mut().zip(row_bytes.chunks_exact(4)) {
                    *value = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                }
                Ok(())
            }
        }
    }

    /// Decodes the whole tensor into `out`, which must hold exactly [`Tensor::len`] values.
    pub fn decode_f32(&self, out: &mut [f32]) -> Result<(), Error> {
        check_buffer(out.len(), self.len as usize)?;
        let row_len = self.row_len() as usize;
        if row_len == 0 {
            return Ok(());
        }
        for (row, chunk) in out.chunks_exact_mut(row_len).enumerate() {
            self.decode_row_f32(row as u32, chunk)?;
        }
        Ok(())
    }
}

/// A validated Hyper-Compression tensor.
#[derive(Debug, Clone, Copy)]
pub struct HyperTensor<'a> {
    rows: u32,
    row_len: u32,
    group_rows: u32,
    scale: f32,
    codebook: Codebook,
    index_bits: u8,
    groups: &'a [u8],
    indices: &'a [u8],
}

impl<'a> HyperTensor<'a> {
    /// Checks every count, length and width of `record` (tensor `index` of its container).
    pub fn validate(record: HyperRecord<'a>, index: u32) -> Result<Self, Error> {
        let tensor = Some(index);
        let invalid = |field, reason| Error::Invalid { field, tensor, reason };
        if record.rows == 0 || record.row_len == 0 {
            return Err(invalid("rows", "an encoded tensor needs at least one row and one column"));
        }
        if record.group_rows == 0 || record.group_rows > record.rows {
            return Err(invalid("group_rows", "must be between 1 and the number of rows"));
        }
        if !record.scale.is_finite() || record.scale <= 0.0 {
            return Err(invalid("scale", "must be finite and positive"));
        }
        if record.rings > MAX_RINGS {
            return Err(invalid("rings", "at most 15 outlier rings are allowed"));
        }
        if record.index_bits == 0 || record.index_bits > MAX_INDEX_BITS {
            return Err(invalid("index_bits", "must be between 1 and 24"));
        }
        let codebook = Codebook { trajectory: record.trajectory, inner: record.inner, rings: record.rings };
        let group_count = u64::from(record.rows.div_ceil(record.group_rows));
        let groups_len = group_count * codebook.group_len() as u64;
        if record.groups.len() as u64 != groups_len {
            return Err(Error::LengthMismatch {
                field: "groups",
                tensor,
                expected: groups_len,
                found: record.groups.len() as u64,
            });
        }
        let pairs = u64::from(record.rows) * u64::from(record.row_len.div_ceil(2));
        let indices_len =
            bits::packed_len(pairs, record.index_bits).ok_or(invalid("indices", "index stream length overflows"))?;
        if record.indices.len() as u64 != indices_len {
            return Err(Error::LengthMismatch {
                field: "indices",
                tensor,
                expected: indices_len,
                found: record.indices.len() as u64,
            });
        }
        Ok(HyperTensor {
            rows: record.rows,
            row_len: record.row_len,
            group_rows: record.group_rows,
            scale: record.scale,
            codebook,
            index_bits: record.index_bits,
            groups: record.groups,
            indices: record.indices,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Values per row.
    pub fn row_len(&self) -> u32 {
        self.row_len
    }

    /// Pairs per row: `ceil(row_len / 2)`.
    pub fn pairs_per_row(&self) -> u32 {
        self.row_len.div_ceil(2)
    }

    /// Rows per parameter group.
    pub fn group_rows(&self) -> u32 {
        self.group_rows
    }

    /// Weight of one fixed-point step: `w = q · scale`. This is also the scale of the
    /// `i16` output of [`HyperTensor::decode_row_i16`].
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// Returns the codebook shared by all groups.
    pub fn codebook(&self) -> &Codebook {
        &self.codebook
    }

    /// Returns the packed indices, as stored in the container.
    pub fn indices(&self) -> &'a [u8] {
        self.indices
    }

    /// Width of one packed index in bits.
    pub fn index_bits(&self) -> u8 {
        self.index_bits
    }

    /// Size in bytes of the per-group parameters and the packed indices.
    pub fn stored_bytes(&self) -> usize {
        self.groups.len() + self.indices.len()
    }

    /// Parameters of group `group`.
    pub fn group(&self, group: u32) -> Result<Group<'a>, Error> {
        let len = self.codebook.group_len();
        // Checked arithmetic: on 32-bit targets the product can overflow `usize`.
        let bytes = (group as usize).checked_mul(len).and_then(|start| self.groups.get(start..start.checked_add(len)?));
        bytes.and_then(|bytes| Group::parse(bytes, self.codebook.rings)).ok_or(Error::OutOfBounds {
            what: "group",
            requested: group,
            available: self.rows.div_ceil(self.group_rows),
        })
    }

    /// Reads the stored codeword index of pair `pair` of row `row`.
    pub fn index(&self, row: u32, pair: u32) -> Result<u32, Error> {
        check_row(row, self.rows)?;
        if pair >= self.pairs_per_row() {
            return Err(Error::OutOfBounds { what: "pair", requested: pair, available: self.pairs_per_row() });
        }
        let position = u64::from(row) * u64::from(self.pairs_per_row()) + u64::from(pair);
        bits::read(self.indices, position, self.index_bits).ok_or(Error::Truncated {
            field: "indices",
            needed: bits::packed_len(position + 1, self.index_bits).unwrap_or(u64::MAX) as usize,
            available: self.indices.len(),
        })
    }

    /// Decodes pair `pair` of row `row` as fixed-point values `q` (`w = q · scale`).
    ///
    /// For an odd row, the second value of the last pair is padding.
    pub fn pair(&self, row: u32, pair: u32) -> Result<[i32; 2], Error> {
        let index = self.index(row, pair)?;
        let group = self.group(row / self.group_rows)?;
        self.codebook.reconstruct(&group, index).ok_or(Error::IndexOutOfRange { index, codewords: self.codebook.len() })
    }

    /// Decodes row `row` as fixed-point values, calling `sink(column, q)` for each value.
    pub fn decode_row_with(&self, row: u32, mut sink: impl FnMut(usize, i32)) -> Result<(), Error> {
        check_row(row, self.rows)?;
        let group = self.group(row / self.group_rows)?;
        let pairs = self.pairs_per_row();
        let base = u64::from(row) * u64::from(pairs);
        let row_len = self.row_len as usize;
        let truncated = Error::Truncated { field: "indices", needed: 0, available: self.indices.len() };
        let mut reader = bits::Reader::new(self.indices, base, self.index_bits).ok_or(truncated)?;
        for pair in 0..pairs {
            let index = reader.next_index().ok_or(truncated)?;
            let q = self
                .codebook
                .reconstruct(&group, index)
                .ok_or(Error::IndexOutOfRange { index, codewords: self.codebook.len() })?;
            let column = 2 * pair as usize;
            sink(column, q[0]);
            if column + 1 < row_len {
                sink(column + 1, q[1]);
            }
        }
        Ok(())
    }

    /// Decodes row `row` into `out` as float32, `row_len` values.
    pub fn decode_row_f32(&self, row: u32, out: &mut [f32]) -> Result<(), Error> {
        check_buffer(out.len(), self.row_len as usize)?;
        let scale = self.scale;
        self.decode_row_with(row, |column, q| out[column] = q as f32 * scale)
    }

    /// Decodes row `row` into `out` as fixed-point `i16` with scale [`HyperTensor::scale`].
    ///
    /// Values outside the `i16` range saturate; the encoder chooses the scale so that no
    /// value it writes does.
    pub fn decode_row_i16(&self, row: u32, out: &mut [i16]) -> Result<(), Error> {
        check_buffer(out.len(), self.row_len as usize)?;
        self.decode_row_with(row, |column, q| out[column] = q.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16)
    }
}

/// Rows of a tensor of `shape`: its first dimension when it has two or more, else 1, so
/// that a vector is one row of pairs rather than many rows of one value.
fn rows_of(shape: &[u32]) -> u32 {
    if shape.len() >= 2 {
        shape[0]
    } else {
        1
    }
}

fn check_row(row: u32, rows: u32) -> Result<(), Error> {
    if row >= rows {
        return Err(Error::OutOfBounds { what: "row", requested: row, available: rows });
    }
    Ok(())
}

fn check_buffer(found: usize, expected: usize) -> Result<(), Error> {
    if found != expected {
        return Err(Error::BufferLength { expected, found });
    }
    Ok(())
}
