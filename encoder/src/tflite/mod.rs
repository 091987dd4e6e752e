//! Import of TensorFlow Lite float models into an in-memory graph.
//!
//! [`import`] reads a `.tflite` flatbuffer, checks it completely and returns a [`Model`]:
//! the tensors with their constant data as f32, and the operators in execution order.
//! Layouts stay as TFLite stores them: CONV_2D filters are OHWI, DEPTHWISE_CONV_2D
//! filters are `[1, H, W, C * multiplier]`, FULLY_CONNECTED weights are `[out, in]`, and
//! activations are NHWC.
//!
//! Hybrid models, whose weights are int8 with a scale while activations are float, import
//! with the weights dequantised. A DEQUANTIZE operator whose input is a constant is folded
//! into its output tensor. Fully quantised models are rejected.

mod error;
mod ops;
mod schema;
mod tensors;

use std::path::Path;

pub use error::ImportError;

use schema::{fb, tensor_type_name};
use tensors::{check_buffer_size, element_size, read_shape, TensorRef};

/// A float graph imported from one TFLite subgraph.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// All tensors of the subgraph, indexed as in the file.
    pub tensors: Vec<TensorInfo>,
    /// Supported operators in execution order. Folded DEQUANTIZE operators are absent.
    pub operators: Vec<Operator>,
    /// Indices into `tensors` of the graph inputs.
    pub inputs: Vec<usize>,
    /// Indices into `tensors` of the graph outputs.
    pub outputs: Vec<usize>,
}

/// One tensor: name, shape and, for constants, values.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// The tensor name in the file.
    pub name: String,
    /// The shape, with an unknown leading batch dimension set to 1.
    pub shape: Vec<usize>,
    /// Constant contents as f32 in row-major order: float32 as stored, quantised weights
    /// dequantised. `None` for activations and for tensors no imported operator reads as
    /// a constant, such as the shape input of RESHAPE.
    pub data: Option<Vec<f32>>,
}

/// One operator of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    /// The operator's index in the file's subgraph, used in messages.
    pub index: usize,
    /// Operation and options.
    pub kind: OpKind,
    /// Input tensor indices in TFLite's order, `None` where the file has -1 for an omitted
    /// optional input such as a bias. RESHAPE keeps only its data input.
    pub inputs: Vec<Option<usize>>,
    /// Output tensor indices.
    pub outputs: Vec<usize>,
}

/// Spatial padding of convolutions and pooling, as TFLite defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Output size `ceil(input / stride)`, zero padding split with the extra row or column
    /// at the end.
    Same,
    /// No padding: output size `ceil((input - dilated_filter + 1) / stride)`.
    Valid,
}

/// Activation function fused into an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    None,
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
}

/// Operation and options of an [`Operator`]. Pairs of sizes are `[height, width]`.
#[derive(Debug, Clone, PartialEq)]
pub enum OpKind {
    /// Inputs: activation NHWC, filter OHWI, optional bias `[O]`.
    Conv2d {
        stride: [usize; 2],
        dilation: [usize; 2],
        padding: Padding,
        activation: Activation,
    },
    /// Inputs: activation NHWC, filter `[1, H, W, C * depth_multiplier]`, optional bias.
    DepthwiseConv2d {
        stride: [usize; 2],
        dilation: [usize; 2],
        padding: Padding,
        depth_multiplier: usize,
        activation: Activation,
    },
    /// Inputs: activation, weights `[out, in]`, optional bias `[out]`. The activation is
    /// read as rows of `in` values. `keep_num_dims` keeps the leading dimensions of the
    /// input in the output instead of flattening them into one.
    FullyConnected {
        activation: Activation,
        keep_num_dims: bool,
    },
    /// Element-wise sum of two inputs with broadcasting.
    Add {
        activation: Activation,
    },
    AveragePool2d {
        filter: [usize; 2],
        stride: [usize; 2],
        padding: Padding,
        activation: Activation,
    },
    MaxPool2d {
        filter: [usize; 2],
        stride: [usize; 2],
        padding: Padding,
        activation: Activation,
    },
    /// Copies the input to the output tensor's shape.
    Reshape,
    /// `exp(beta * x_i) / sum_j exp(beta * x_j)` along the last dimension.
    Softmax {
        beta: f32,
    },
}

impl OpKind {
    /// Returns the TFLite name of the operator, e.g. `CONV_2D`.
    pub fn tflite_name(&self) -> &'static str {
        match self {
            OpKind::Conv2d { .. } => "CONV_2D",
            OpKind::DepthwiseConv2d { .. } => "DEPTHWISE_CONV_2D",
            OpKind::FullyConnected { .. } => "FULLY_CONNECTED",
            OpKind::Add { .. } => "ADD",
            OpKind::AveragePool2d { .. } => "AVERAGE_POOL_2D",
            OpKind::MaxPool2d { .. } => "MAX_POOL_2D",
            OpKind::Reshape => "RESHAPE",
            OpKind::Softmax { .. } => "SOFTMAX",
        }
    }
}

/// Reads and imports a `.tflite` file.
pub fn import(path: &Path) -> Result<Model, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ImportError::NotFound { path: path.to_path_buf() },
        _ => ImportError::Read { path: path.to_path_buf(), source },
    })?;
    import_bytes(&bytes, path)
}

/// Imports a TFLite flatbuffer held in memory. `path_for_messages` names it in errors.
///
/// The whole file is checked before the model is returned: a file that fails any check
/// returns an error and no partial model.
pub fn import_bytes(bytes: &[u8], path_for_messages: &Path) -> Result<Model, ImportError> {
    let path = path_for_messages;
    let model = schema::verify_model(bytes, path)?;

    let subgraph_count = model.subgraphs().map_or(0, |s| s.len());
    let graph = match model.subgraphs() {
        Some(subgraphs) if subgraph_count == 1 => subgraphs.get(0),
        _ => return Err(ImportError::SubgraphCount { path: path.to_path_buf(), count: subgraph_count }),
    };

    let buffers: Vec<fb::Buffer<'_>> = model.buffers().map(|v| v.iter().collect()).unwrap_or_default();
    let opcodes: Vec<fb::OperatorCode<'_>> = model.operator_codes().map(|v| v.iter().collect()).unwrap_or_default();
    let flat_tensors: Vec<fb::Tensor<'_>> = graph.tensors().map(|v| v.iter().collect()).unwrap_or_default();
    let flat_operators: Vec<fb::Operator<'_>> = graph.operators().map(|v| v.iter().collect()).unwrap_or_default();

    let tensors = read_tensors(&flat_tensors, &buffers, path)?;
    let graph_index = |location: &str, raw: i32| tensor_index(raw, tensors.len(), path, location);
    let inputs: Vec<usize> = graph
        .inputs()
        .map(|v| v.iter().map(|t| graph_index("the subgraph's input list", t)).collect::<Result<Vec<_>, _>>())
        .transpose()?
        .unwrap_or_default();
    let outputs: Vec<usize> = graph
        .outputs()
        .map(|v| v.iter().map(|t| graph_index("the subgraph's output list", t)).collect::<Result<Vec<_>, _>>())
        .transpose()?
        .unwrap_or_default();

    let raw_operators = ops::read_operators(&flat_operators, &opcodes, tensors.len(), path)?;
    check_activation_types(&flat_tensors, &tensors, &inputs, &raw_operators, path)?;

    let mut builder = ops::GraphBuilder::new(path, &flat_tensors, tensors, &inputs);
    for raw in &raw_operators {
        builder.translate(raw)?;
    }
    let (tensors, operators) = builder.finish(&outputs)?;

    Ok(Model { tensors, operators, inputs, outputs })
}

/// Per-tensor facts read once: name, shape and the bytes of a non-empty constant buffer.
pub(crate) struct FlatTensor<'a> {
    pub name: String,
    pub shape: Vec<usize>,
    pub constant: Option<&'a [u8]>,
}

fn read_tensors<'a>(
    flat_tensors: &[fb::Tensor<'a>],
    buffers: &[fb::Buffer<'a>],
    path: &Path,
) -> Result<Vec<FlatTensor<'a>>, ImportError> {
    let mut tensors = Vec::with_capacity(flat_tensors.len());
    for (index, tensor) in flat_tensors.iter().enumerate() {
        let name = tensor.name().unwrap_or_default().to_string();
        let at = TensorRef { path, index, name: &name };
        let shape = read_shape(tensor, at)?;

        let buffer_index = tensor.buffer();
        let buffer = usize::try_from(buffer_index).ok().and_then(|b| buffers.get(b)).ok_or_else(|| {
            ImportError::BufferIndexOutOfRange {
                path: path.to_path_buf(),
                tensor: index,
                name: name.clone(),
                buffer: buffer_index,
                count: buffers.len(),
            }
        })?;
        // Buffer 0 is the empty sentinel, and an empty buffer marks an activation.
        let constant = buffer.data().map(|d| d.bytes()).filter(|d| !d.is_empty() && buffer_index != 0);
        if constant.is_some() && tensor.sparsity().is_some() {
            return Err(ImportError::SparseTensor { path: path.to_path_buf(), tensor: index, name });
        }
        // Every constant of a fixed-size type is checked here, used or not, because a
        // wrong length means the file is corrupt.
        if let (Some(bytes), Some(size)) = (constant, element_size(tensor.type_())) {
            check_buffer_size(bytes, &shape, tensor.type_(), size, TensorRef { path, index, name: &name })?;
        }
        tensors.push(FlatTensor { name, shape, constant });
    }
    Ok(tensors)
}

/// Converts a tensor index from the file, rejecting -1 and indices past the end.
pub(crate) fn tensor_index(raw: i32, count: usize, path: &Path, location: &str) -> Result<usize, ImportError> {
    usize::try_from(raw).ok().filter(|&i| i < count).ok_or_else(|| ImportError::TensorIndexOutOfRange {
        path: path.to_path_buf(),
        location: location.to_string(),
        index: i64::from(raw),
        count,
    })
}

/// Rejects activation tensors that are not float32, reporting quantised ones as a fully
/// quantised model. Graph inputs are checked first, so the message names the input.
/// Tensors of operators that the importer does not support are left to the operator
/// check, which names the operator.
fn check_activation_types(
    flat_tensors: &[fb::Tensor<'_>],
    tensors: &[FlatTensor<'_>],
    inputs: &[usize],
    operators: &[ops::RawOperator<'_>],
    path: &Path,
) -> Result<(), ImportError> {
    let check = |index: usize, context: &str| -> Result<(), ImportError> {
        if tensors[index].constant.is_some() {
            return Ok(());
        }
        let dtype = flat_tensors[index].type_();
        let name = || tensors[index].name.clone();
        match dtype {
            fb::TensorType::FLOAT32 => Ok(()),
            fb::TensorType::INT8 | fb::TensorType::UINT8 | fb::TensorType::INT16 => Err(ImportError::FullyQuantized {
                path: path.to_path_buf(),
                tensor: index,
                name: name(),
                dtype: tensor_type_name(dtype),
            }),
            _ => Err(ImportError::UnsupportedTensorType {
                path: path.to_path_buf(),
                tensor: index,
                name: name(),
                dtype: tensor_type_name(dtype),
                context: context.to_string(),
            }),
        }
    };

    for &input in inputs {
        check(input, "as a graph input")?;
    }
    for raw in operators.iter().filter(|raw| ops::is_supported(raw.code)) {
        let context = format!("as an activation of operator #{} ({})", raw.index, raw.name);
        for (position, input) in raw.inputs.iter().enumerate() {
            // RESHAPE's second input is the int32 target shape, which the importer ignores.
            let is_reshape_shape = raw.code == fb::BuiltinOperator::RESHAPE && position == 1;
            if let (Some(input), false) = (input, is_reshape_shape) {
                check(*input, &context)?;
            }
        }
        for &output in &raw.outputs {
            check(output, &context)?;
        }
    }
    Ok(())
}

/// Returns the index and name of the first int8 or uint8 constant that a CONV_2D,
/// DEPTHWISE_CONV_2D or FULLY_CONNECTED operator with a float32 input reads as its
/// weights: the mark of a hybrid model. Returns `None` for other models and for bytes
/// that are not a valid TFLite model.
pub(crate) fn hybrid_weight(bytes: &[u8]) -> Option<(usize, String)> {
    let model = schema::verify_model(bytes, Path::new("")).ok()?;
    let graph = model.subgraphs()?.iter().next()?;
    let tensors: Vec<fb::Tensor<'_>> = graph.tensors()?.iter().collect();
    let buffers: Vec<fb::Buffer<'_>> = model.buffers()?.iter().collect();
    let opcodes: Vec<fb::OperatorCode<'_>> = model.operator_codes()?.iter().collect();

    let tensor_at = |raw: i32| usize::try_from(raw).ok().and_then(|i| tensors.get(i).map(|t| (i, t)));
    let is_constant = |tensor: &fb::Tensor<'_>| {
        let buffer = usize::try_from(tensor.buffer()).ok().and_then(|b| buffers.get(b));
        tensor.buffer() != 0 && buffer.and_then(|b| b.data()).is_some_and(|d| !d.is_empty())
    };
    for operator in graph.operators()?.iter() {
        let code = usize::try_from(operator.opcode_index()).ok().and_then(|i| opcodes.get(i));
        let weighted = code.map(schema::builtin_code).is_some_and(|code| {
            matches!(
                code,
                fb::BuiltinOperator::CONV_2D
                    | fb::BuiltinOperator::DEPTHWISE_CONV_2D
                    | fb::BuiltinOperator::FULLY_CONNECTED
            )
        });
        let inputs: Vec<i32> = operator.inputs().map(|v| v.iter().collect()).unwrap_or_default();
        if !weighted || inputs.len() < 2 {
            continue;
        }
        let (Some((_, input)), Some((index, weights))) = (tensor_at(inputs[0]), tensor_at(inputs[1])) else { continue };
        let quantized = matches!(weights.type_(), fb::TensorType::INT8 | fb::TensorType::UINT8);
        if input.type_() == fb::TensorType::FLOAT32 && quantized && is_constant(weights) {
            return Some((index, weights.name().unwrap_or_default().to_string()));
        }
    }
    None
}
