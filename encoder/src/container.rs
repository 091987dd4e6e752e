//! Writing `.hcm` containers and checking them against the original weights.

use decoder_core::container::{header_for, ModelRecord};
use decoder_core::Container;

use crate::codec::EncodedTensor;

/// A written container that does not decode to what the encoder intended.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The decoder rejects the container.
    #[error("the decoder rejects the written container: {0}")]
    Decode(#[from] decoder_core::Error),
    /// The container contains a different number of tensors.
    #[error("the container holds {found} tensors, {expected} were written")]
    TensorCount {
        /// Tensors written.
        expected: usize,
        /// Tensors found.
        found: u32,
    },
    /// The originals given do not match the encoded tensors in count or length.
    #[error("{found} original tensors or values were given to check {expected}")]
    Originals {
        /// Encoded tensors.
        expected: usize,
        /// Original tensors given.
        found: usize,
    },
    /// A tensor has another name or shape than the one written.
    #[error("tensor #{index} reads back as '{found}' where '{expected}' was written")]
    Mismatch {
        /// Position of the tensor.
        index: usize,
        /// Name and shape written.
        expected: String,
        /// Name and shape read back.
        found: String,
    },
    /// A decoded value lies outside the recorded error bound.
    #[error("tensor '{tensor}' value {index} decodes to {decoded}, {original} was encoded with a bound of {bound}")]
    OutOfBound {
        /// Tensor name.
        tensor: String,
        /// Flat position of the value.
        index: usize,
        /// Original value.
        original: f32,
        /// Decoded value.
        decoded: f32,
        /// Recorded maximum absolute error.
        bound: f32,
    },
}

/// Serializes `tensors` and `graph` into a complete container.
///
/// # Panics
///
/// Panics if serialization fails, which only happens when the payload reaches 4 GiB.
pub fn to_bytes(tensors: &[EncodedTensor], graph: &[u8]) -> Vec<u8> {
    let model = ModelRecord { tensor_count: tensors.len() as u32, graph };
    let mut payload = postcard::to_allocvec(&model).expect("model record serializes");
    for tensor in tensors {
        let record = postcard::to_allocvec(&tensor.record()).expect("tensor record serializes");
        payload.extend_from_slice(&record);
    }
    let mut bytes = header_for(&payload).to_vec();
    bytes.extend_from_slice(&payload);
    bytes
}

/// Parses `bytes` with the decoder and checks that tensor `i` has the name and shape of
/// `tensors[i]` and that every value lies within its recorded bound of `originals[i]`.
pub fn verify(bytes: &[u8], tensors: &[EncodedTensor], originals: &[&[f32]]) -> Result<(), VerifyError> {
    if originals.len() != tensors.len() {
        return Err(VerifyError::Originals { expected: tensors.len(), found: originals.len() });
    }
    let container = Container::parse(bytes)?;
    if container.tensor_count() as usize != tensors.len() {
        return Err(VerifyError::TensorCount { expected: tensors.len(), found: container.tensor_count() });
    }
    let mut decoded = Vec::new();
    for (index, (stored, (written, original))) in container.tensors().zip(tensors.iter().zip(originals)).enumerate() {
        let stored = stored?;
        let stored_shape: Vec<u32> = stored.shape().to_vec();
        if stored.name() != written.name || stored_shape != written.shape {
            return Err(VerifyError::Mismatch {
                index,
                expected: format!("{} {:?}", written.name, written.shape),
                found: format!("{} {:?}", stored.name(), stored_shape),
            });
        }
        if original.len() != stored.len() as usize {
            return Err(VerifyError::Originals { expected: stored.len() as usize, found: original.len() });
        }
        decoded.clear();
        decoded.resize(stored.len() as usize, 0.0f32);
        stored.decode_f32(&mut decoded)?;
        let bound = f64::from(stored.max_abs_error());
        for (position, (&o, &d)) in original.iter().zip(&decoded).enumerate() {
            if (f64::from(o) - f64::from(d)).abs() > bound {
                return Err(VerifyError::OutOfBound {
                    tensor: written.name.clone(),
                    index: position,
                    original: o,
                    decoded: d,
                    bound: stored.max_abs_error(),
                });
            }
        }
    }
    Ok(())
}
