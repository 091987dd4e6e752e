//! Errors of the TFLite import.

use std::path::PathBuf;

use thiserror::Error;

/// Operators the importer translates, as TFLite names them.
pub(crate) const SUPPORTED_OPERATORS: &str = "CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, \
     AVERAGE_POOL_2D, MAX_POOL_2D, RESHAPE, SOFTMAX, and DEQUANTIZE of a constant";

/// Failure to import a `.tflite` file.
///
/// Every message starts with the file path. Messages about one operator name it as
/// `operator #INDEX (TFLITE_NAME)`, and messages about one tensor as `tensor #INDEX 'NAME'`,
/// with the indices of the TFLite subgraph.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The file does not exist.
    #[error("{}: file not found; check the path", path.display())]
    NotFound { path: PathBuf },

    /// The file exists but could not be read.
    #[error("{}: cannot read the file: {source}; check that it is a readable file", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The bytes are not a complete TFLite flatbuffer: empty, truncated or another format.
    #[error(
        "{}: not a valid TFLite model ({reason}); pass a complete .tflite file as written by \
         the TensorFlow Lite converter",
        path.display()
    )]
    InvalidFlatbuffer { path: PathBuf, reason: String },

    /// The model has no subgraph or more than one.
    #[error(
        "{}: the model has {count} subgraphs but only models with exactly one subgraph are \
         supported; convert the model without control-flow operators such as WHILE and IF, \
         which add subgraphs",
        path.display()
    )]
    SubgraphCount { path: PathBuf, count: usize },

    /// A structural inconsistency that the flatbuffer verifier does not catch.
    #[error("{}: invalid model: {reason}; re-export the model with the TensorFlow Lite converter", path.display())]
    InvalidModel { path: PathBuf, reason: String },

    /// An operator or the graph refers to a tensor that does not exist.
    #[error(
        "{}: {location} refers to tensor #{index}, but the subgraph has {count} tensors; \
         the file is corrupt, re-export the model",
        path.display()
    )]
    TensorIndexOutOfRange { path: PathBuf, location: String, index: i64, count: usize },

    /// A tensor refers to a buffer that does not exist.
    #[error(
        "{}: tensor #{tensor} '{name}' refers to buffer #{buffer}, but the model has {count} \
         buffers; the file is corrupt, re-export the model",
        path.display()
    )]
    BufferIndexOutOfRange { path: PathBuf, tensor: usize, name: String, buffer: u32, count: usize },

    /// An operator refers to an operator code that does not exist.
    #[error(
        "{}: operator #{operator} uses operator code #{opcode}, but the model has {count} \
         operator codes; the file is corrupt, re-export the model",
        path.display()
    )]
    OpcodeIndexOutOfRange { path: PathBuf, operator: usize, opcode: u32, count: usize },

    /// A constant buffer whose byte length differs from what its tensor's shape and type need.
    #[error(
        "{}: tensor #{tensor} '{name}' of shape {shape:?} and type {dtype} needs {expected} \
         bytes, but its buffer has {actual}; the file is corrupt, re-export the model",
        path.display()
    )]
    BufferSizeMismatch {
        path: PathBuf,
        tensor: usize,
        name: String,
        shape: Vec<usize>,
        dtype: String,
        expected: usize,
        actual: usize,
    },

    /// A tensor's shape signature has an unknown dimension other than the leading batch.
    #[error(
        "{}: tensor #{tensor} '{name}' has the dynamic shape {signature:?}; only the leading \
         batch dimension may be -1. Convert the model with fixed input shapes",
        path.display()
    )]
    DynamicShape { path: PathBuf, tensor: usize, name: String, signature: Vec<i32> },

    /// A tensor's shape is negative or otherwise unusable.
    #[error(
        "{}: tensor #{tensor} '{name}' has the invalid shape {shape:?}: {reason}; re-export the model \
         with fixed shapes",
        path.display()
    )]
    InvalidShape { path: PathBuf, tensor: usize, name: String, shape: Vec<i32>, reason: String },

    /// A sparse constant, which the importer does not densify.
    #[error(
        "{}: tensor #{tensor} '{name}' is stored sparse, which is not supported; convert the \
         model without sparsification",
        path.display()
    )]
    SparseTensor { path: PathBuf, tensor: usize, name: String },

    /// A tensor whose element type the importer does not handle where it is used.
    #[error(
        "{}: tensor #{tensor} '{name}' has type {dtype}, which is not supported {context}; \
         use a float32 model",
        path.display()
    )]
    UnsupportedTensorType { path: PathBuf, tensor: usize, name: String, dtype: String, context: String },

    /// An activation tensor is quantised, so the whole model runs in integer arithmetic.
    #[error(
        "{}: tensor #{tensor} '{name}' is an activation of type {dtype}: fully quantised \
         models are not supported yet; use the float model",
        path.display()
    )]
    FullyQuantized { path: PathBuf, tensor: usize, name: String, dtype: String },

    /// A quantised constant whose quantisation parameters cannot be applied.
    #[error(
        "{}: tensor #{tensor} '{name}' has invalid quantisation parameters: {reason}; \
         re-export the model or use the float model",
        path.display()
    )]
    InvalidQuantization { path: PathBuf, tensor: usize, name: String, reason: String },

    /// An operator the importer does not translate.
    #[error(
        "{}: operator #{operator} ({op_name}) is not supported; supported operators are \
         {SUPPORTED_OPERATORS}. Rebuild the model from these operators",
        path.display()
    )]
    UnsupportedOperator { path: PathBuf, operator: usize, op_name: String },

    /// A fused activation other than NONE, RELU and RELU6.
    #[error(
        "{}: operator #{operator} ({op_name}) has the fused activation {activation}; only \
         NONE, RELU and RELU6 are supported. Rebuild the model with one of these",
        path.display()
    )]
    UnsupportedActivation { path: PathBuf, operator: usize, op_name: String, activation: String },

    /// A supported operator whose inputs, outputs or options do not fit its definition.
    #[error("{}: operator #{operator} ({op_name}) is invalid: {reason}; re-export the model", path.display())]
    InvalidOperator { path: PathBuf, operator: usize, op_name: String, reason: String },
}
