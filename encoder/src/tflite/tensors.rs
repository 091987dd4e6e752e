//! Tensor shapes, constant buffers and dequantisation.

use std::path::Path;

use super::error::ImportError;
use super::schema::{fb, tensor_type_name};

/// A tensor's identity, for error messages.
#[derive(Clone, Copy)]
pub(crate) struct TensorRef<'a> {
    pub path: &'a Path,
    pub index: usize,
    pub name: &'a str,
}

/// Reads a tensor's shape, with an unknown leading batch dimension set to 1.
///
/// `shape_signature`, when present, marks unknown dimensions with -1. Only the leading
/// (batch) dimension may be unknown, because the importer plans for one fixed input size.
pub(crate) fn read_shape(tensor: &fb::Tensor<'_>, at: TensorRef<'_>) -> Result<Vec<usize>, ImportError> {
    let raw: Vec<i32> = tensor.shape().map(|v| v.iter().collect()).unwrap_or_default();
    let invalid = |reason: &str| ImportError::InvalidShape {
        path: at.path.to_path_buf(),
        tensor: at.index,
        name: at.name.to_string(),
        shape: raw.clone(),
        reason: reason.to_string(),
    };

    if let Some(signature) = tensor.shape_signature() {
        let signature: Vec<i32> = signature.iter().collect();
        // An empty signature is what some writers emit for "same as shape".
        if !signature.is_empty() {
            if signature.len() != raw.len() {
                return Err(invalid("its shape_signature has a different rank"));
            }
            let dynamic = signature.iter().enumerate().any(|(axis, &d)| d < -1 || (d == -1 && axis > 0));
            if dynamic {
                return Err(ImportError::DynamicShape {
                    path: at.path.to_path_buf(),
                    tensor: at.index,
                    name: at.name.to_string(),
                    signature,
                });
            }
        }
    }

    let mut shape = Vec::with_capacity(raw.len());
    for (axis, &d) in raw.iter().enumerate() {
        match usize::try_from(d) {
            Ok(d) => shape.push(d),
            Err(_) if axis == 0 && d == -1 => shape.push(1),
            Err(_) => return Err(invalid("a dimension is negative")),
        }
    }
    Ok(shape)
}

/// Returns the number of elements of `shape`, or `None` on overflow.
pub(crate) fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |count, &d| count.checked_mul(d))
}

/// Returns the size in bytes of one element of a fixed-size tensor type, or `None` for
/// strings, packed 4-bit values and other types without one.
pub(crate) fn element_size(dtype: fb::TensorType) -> Option<usize> {
    match dtype {
        fb::TensorType::BOOL | fb::TensorType::INT8 | fb::TensorType::UINT8 => Some(1),
        fb::TensorType::FLOAT16 | fb::TensorType::INT16 | fb::TensorType::UINT16 => Some(2),
        fb::TensorType::FLOAT32 | fb::TensorType::INT32 | fb::TensorType::UINT32 => Some(4),
        fb::TensorType::FLOAT64 | fb::TensorType::INT64 | fb::TensorType::UINT64 | fb::TensorType::COMPLEX64 => Some(8),
        fb::TensorType::COMPLEX128 => Some(16),
        _ => None,
    }
}

/// Rejects a constant buffer whose length is not `element_size` times the element count.
pub(crate) fn check_buffer_size(
    bytes: &[u8],
    shape: &[usize],
    dtype: fb::TensorType,
    element_size: usize,
    at: TensorRef<'_>,
) -> Result<(), ImportError> {
    let expected = element_count(shape).and_then(|count| count.checked_mul(element_size));
    if expected != Some(bytes.len()) {
        return Err(ImportError::BufferSizeMismatch {
            path: at.path.to_path_buf(),
            tensor: at.index,
            name: at.name.to_string(),
            shape: shape.to_vec(),
            dtype: tensor_type_name(dtype),
            expected: expected.unwrap_or(usize::MAX),
            actual: bytes.len(),
        });
    }
    Ok(())
}

/// Decodes a constant buffer into f32 values.
///
/// FLOAT32 is read little-endian and FLOAT16 is widened. INT8, UINT8 and INT16 must carry
/// quantisation parameters and are dequantised as `(q - zero_point) * scale`, per tensor
/// or per channel along `quantized_dimension`. `context` completes the message for a
/// type that is not supported, e.g. "as the filter of operator #3 (CONV_2D)".
pub(crate) fn decode_constant(
    tensor: &fb::Tensor<'_>,
    bytes: &[u8],
    shape: &[usize],
    at: TensorRef<'_>,
    context: &str,
) -> Result<Vec<f32>, ImportError> {
    let dtype = tensor.type_();
    let element_size = match dtype {
        fb::TensorType::FLOAT32 => 4,
        fb::TensorType::FLOAT16 | fb::TensorType::INT16 => 2,
        fb::TensorType::INT8 | fb::TensorType::UINT8 => 1,
        _ => {
            return Err(ImportError::UnsupportedTensorType {
                path: at.path.to_path_buf(),
                tensor: at.index,
                name: at.name.to_string(),
                dtype: tensor_type_name(dtype),
                context: context.to_string(),
            })
        }
    };

    check_buffer_size(bytes, shape, dtype, element_size, at)?;

    let values = match dtype {
        fb::TensorType::FLOAT32 => {
            bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        }
        fb::TensorType::FLOAT16 => {
            bytes.chunks_exact(2).map(|b| f16_bits_to_f32(u16::from_le_bytes([b[0], b[1]]))).collect()
        }
        fb::TensorType::INT8 => {
            let q: Vec<i32> = bytes.iter().map(|&b| i32::from(b as i8)).collect();
            dequantize(&q, shape, tensor.quantization(), at)?
        }
        fb::TensorType::UINT8 => {
            let q: Vec<i32> = bytes.iter().map(|&b| i32::from(b)).collect();
            dequantize(&q, shape, tensor.quantization(), at)?
        }
        _ => {
            let q: Vec<i32> = bytes.chunks_exact(2).map(|b| i32::from(i16::from_le_bytes([b[0], b[1]]))).collect();
            dequantize(&q, shape, tensor.quantization(), at)?
        }
    };
    Ok(values)
}

/// Dequantises integer values with a tensor's scale and zero point.
fn dequantize(
    q: &[i32],
    shape: &[usize],
    quantization: Option<fb::QuantizationParameters<'_>>,
    at: TensorRef<'_>,
) -> Result<Vec<f32>, ImportError> {
    let invalid = |reason: String| ImportError::InvalidQuantization {
        path: at.path.to_path_buf(),
        tensor: at.index,
        name: at.name.to_string(),
        reason,
    };

    let scales: Vec<f32> =
        quantization.as_ref().and_then(|p| p.scale()).map(|v| v.iter().collect()).unwrap_or_default();
    if scales.is_empty() {
        return Err(invalid("an integer constant has no scale, so its real values are unknown".to_string()));
    }
    if let Some(bad) = scales.iter().find(|s| !s.is_finite()) {
        return Err(invalid(format!("the scale {bad} is not finite")));
    }
    let zero_points: Vec<i64> =
        quantization.as_ref().and_then(|p| p.zero_point()).map(|v| v.iter().collect()).unwrap_or_default();
    if !(zero_points.is_empty() || zero_points.len() == 1 || zero_points.len() == scales.len()) {
        return Err(invalid(format!("{} zero points do not match {} scales", zero_points.len(), scales.len())));
    }
    let zero_point_of = |channel: usize| match zero_points.len() {
        0 => 0,
        1 => zero_points[0],
        _ => zero_points[channel],
    };

    if scales.len() == 1 {
        let (scale, zero_point) = (scales[0], zero_point_of(0));
        return Ok(q.iter().map(|&v| (i64::from(v) - zero_point) as f32 * scale).collect());
    }

    // Per-channel quantisation: one scale per index along `quantized_dimension`.
    let axis = quantization.as_ref().map_or(0, |p| p.quantized_dimension());
    let axis = usize::try_from(axis)
        .ok()
        .filter(|&a| a < shape.len())
        .ok_or_else(|| invalid(format!("quantized_dimension {axis} is outside the tensor's rank {}", shape.len())))?;
    if shape[axis] != scales.len() {
        return Err(invalid(format!(
            "{} scales do not match the {} entries of dimension {axis}",
            scales.len(),
            shape[axis]
        )));
    }
    // Elements of one channel index repeat in runs of `inner` consecutive values.
    let inner: usize = shape[axis + 1..].iter().product();
    let values = q
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let channel = (i / inner.max(1)) % scales.len();
            (i64::from(v) - zero_point_of(channel)) as f32 * scales[channel]
        })
        .collect();
    Ok(values)
}

/// Converts IEEE 754 binary16 bits to f32, exactly (every f16 value is an f32 value).
pub(crate) fn f16_bits_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let mantissa = u32::from(bits & 0x3ff);
    let magnitude = match (exponent, mantissa) {
        (0, 0) => 0,
        // Subnormal: value = mantissa * 2^-24, exact in f32.
        (0, m) => (m as f32 * f32::powi(2.0, -24)).to_bits(),
        (0x1f, 0) => 0x7f80_0000,
        (0x1f, m) => 0x7fc0_0000 | (m << 13),
        (e, m) => ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(sign | magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion_matches_known_values() {
        // Bit patterns and values from the IEEE 754 binary16 definition.
        let cases: [(u16, f32); 9] = [
            (0x0000, 0.0),
            (0x3c00, 1.0),
            (0xc000, -2.0),
            (0x3555, 0.333_251_95),
            (0x7bff, 65504.0),
            (0x0400, 6.103_515_6e-5),
            (0x0001, 5.960_464_5e-8),
            (0x03ff, 6.097_555e-5),
            (0x7c00, f32::INFINITY),
        ];
        for (bits, expected) in cases {
            assert_eq!(f16_bits_to_f32(bits), expected, "bits {bits:#06x}");
        }
        assert!(f16_bits_to_f32(0x7e00).is_nan());
        assert_eq!(f16_bits_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn element_count_detects_overflow() {
        assert_eq!(element_count(&[]), Some(1));
        assert_eq!(element_count(&[2, 3, 4]), Some(24));
        assert_eq!(element_count(&[usize::MAX, 2]), None);
    }
}
