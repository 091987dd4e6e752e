//! Sources of layer weights that decode one row (one output channel or filter) at a time.

use crate::{Error, Tensor};

/// Source of a layer's weights, decoded one row (one output channel or filter) at a time.
pub trait WeightRows {
    /// Number of rows.
    fn rows(&self) -> u32;
    /// Values per row.
    fn row_len(&self) -> u32;
    /// Decodes row `row` into `out`, which must hold exactly [`WeightRows::row_len`] values.
    fn decode_row(&self, row: u32, out: &mut [f32]) -> Result<(), Error>;
}

impl WeightRows for Tensor<'_> {
    fn rows(&self) -> u32 {
        Tensor::rows(self)
    }

    fn row_len(&self) -> u32 {
        Tensor::row_len(self)
    }

    fn decode_row(&self, row: u32, out: &mut [f32]) -> Result<(), Error> {
        self.decode_row_f32(row, out)
    }
}

/// Plain row-major `f32` weights: `rows` rows of `data.len() / rows` values each.
#[derive(Debug, Clone, Copy)]
pub struct DenseRows<'a> {
    /// All values, row after row.
    pub data: &'a [f32],
    /// Number of rows.
    pub rows: u32,
}

impl WeightRows for DenseRows<'_> {
    fn rows(&self) -> u32 {
        self.rows
    }

    /// Returns `data.len() / rows`, 0 when `rows` is 0, and `u32::MAX` when the quotient
    /// does not fit (such weights fail in [`WeightRows::decode_row`]).
    fn row_len(&self) -> u32 {
        match usize::try_from(self.rows) {
            Ok(0) => 0,
            Ok(rows) => u32::try_from(self.data.len() / rows).unwrap_or(u32::MAX),
            Err(_) => 0,
        }
    }

    /// Decodes row `row`. Fails when `data.len()` is not `rows × row_len`, `row` is past the
    /// last row, or `out` has the wrong length.
    fn decode_row(&self, row: u32, out: &mut [f32]) -> Result<(), Error> {
        let row_len = usize::try_from(self.row_len()).unwrap_or(usize::MAX);
        let rows = usize::try_from(self.rows).unwrap_or(usize::MAX);
        let expected = rows.checked_mul(row_len);
        if expected != Some(self.data.len()) {
            return Err(Error::LengthMismatch {
                field: "dense weights",
                tensor: None,
                expected: u64::from(self.rows).saturating_mul(u64::from(self.row_len())),
                found: self.data.len() as u64,
            });
        }
        if row >= self.rows {
            return Err(Error::OutOfBounds { what: "row", requested: row, available: self.rows });
        }
        if out.len() != row_len {
            return Err(Error::BufferLength { expected: row_len, found: out.len() });
        }
        let start = usize::try_from(row).ok().and_then(|row| row.checked_mul(row_len));
        let values = start.and_then(|start| self.data.get(start..)?.get(..row_len)).ok_or(Error::OutOfBounds {
            what: "row",
            requested: row,
            available: self.rows,
        })?;
        out.copy_from_slice(values);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{StorageRecord, TensorRecord};

    #[test]
    fn dense_rows_decode_each_row() {
        let data: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let weights = DenseRows { data: &data, rows: 3 };
        assert_eq!(weights.rows(), 3);
        assert_eq!(weights.row_len(), 4);
        let mut out = [0.0; 4];
        for row in 0..3u32 {
            weights.decode_row(row, &mut out).unwrap();
            let expected: Vec<f32> = (0..4).map(|j| (row * 4 + j) as f32).collect();
            assert_eq!(out.as_slice(), expected.as_slice(), "row {row}");
        }
    }

    #[test]
    fn dense_rows_reject_bad_requests() {
        let data = [1.0f32; 12];
        let weights = DenseRows { data: &data, rows: 3 };
        let mut out = [0.0; 4];
        assert!(matches!(weights.decode_row(3, &mut out), Err(Error::OutOfBounds { .. })));
        assert!(matches!(weights.decode_row(0, &mut out[..3]), Err(Error::BufferLength { .. })));

        let ragged = DenseRows { data: &data[..11], rows: 3 };
        assert!(matches!(ragged.decode_row(0, &mut [0.0; 3]), Err(Error::LengthMismatch { .. })));

        let no_rows = DenseRows { data: &data, rows: 0 };
        assert_eq!(no_rows.row_len(), 0);
        assert!(no_rows.decode_row(0, &mut []).is_err());
    }

    #[test]
    fn tensor_rows_match_stored_values() {
        let values: Vec<f32> = (0..6).map(|i| i as f32 * 0.5 - 1.0).collect();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut shape = heapless::Vec::new();
        shape.extend_from_slice(&[2, 3]).unwrap();
        let record =
            TensorRecord { name: "w", shape, max_abs_error: 0.0, rel_mse: 0.0, storage: StorageRecord::Raw(&bytes) };
        let tensor = Tensor::from_record(record, 0).unwrap();

        let weights: &dyn WeightRows = &tensor;
        assert_eq!(weights.rows(), 2);
        assert_eq!(weights.row_len(), 3);
        let mut out = [0.0; 3];
        weights.decode_row(1, &mut out).unwrap();
        assert_eq!(out.as_slice(), &values[3..]);
        assert!(weights.decode_row(2, &mut out).is_err());
    }
}
