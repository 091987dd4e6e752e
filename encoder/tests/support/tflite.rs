//! A small builder of TFLite flatbuffers for synthetic models, shared by the test files
//! that need hand-made models. It writes with the flatbuffers builder and tract-tflite's
//! schema module, not with the importer under test.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use flatbuffers::{FlatBufferBuilder, WIPOffset};
use tract_tflite::tflite as fb;

/// A tensor of the model: an activation when `data` is `None`, a constant otherwise.
#[derive(Clone)]
pub struct TensorSpec {
    pub name: &'static str,
    pub shape: Vec<i32>,
    pub signature: Option<Vec<i32>>,
    pub dtype: fb::TensorType,
    pub data: Option<Vec<u8>>,
    /// (scales, zero points, quantized_dimension)
    pub quantization: Option<(Vec<f32>, Vec<i64>, i32)>,
    /// Replaces the buffer index the builder assigns.
    pub buffer: Option<u32>,
}

pub fn activation(name: &'static str, shape: &[i32]) -> TensorSpec {
    TensorSpec {
        name,
        shape: shape.to_vec(),
        signature: None,
        dtype: fb::TensorType::FLOAT32,
        data: None,
        quantization: None,
        buffer: None,
    }
}

pub fn float_constant(name: &'static str, shape: &[i32], values: &[f32]) -> TensorSpec {
    let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    TensorSpec { data: Some(data), ..activation(name, shape) }
}

/// Builtin options of an operator.
#[derive(Clone)]
pub enum OptionsSpec {
    None,
    Conv2d { stride: [i32; 2], padding: fb::Padding, activation: fb::ActivationFunctionType },
    Depthwise { stride: [i32; 2], multiplier: i32, activation: fb::ActivationFunctionType },
    Pool { filter: [i32; 2], stride: [i32; 2], padding: fb::Padding, activation: fb::ActivationFunctionType },
    FullyConnected { activation: fb::ActivationFunctionType },
}

/// An operator: its code, tensor indices and options.
#[derive(Clone)]
pub struct OpSpec {
    pub code: fb::BuiltinOperator,
    pub custom_code: Option<&'static str>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    pub options: OptionsSpec,
}

/// Returns a builtin operator.
pub fn op(code: fb::BuiltinOperator, inputs: &[i32], outputs: &[i32], options: OptionsSpec) -> OpSpec {
    OpSpec { code, custom_code: None, inputs: inputs.to_vec(), outputs: outputs.to_vec(), options }
}

/// A model of one subgraph, written `subgraphs` times.
#[derive(Clone)]
pub struct ModelSpec {
    pub tensors: Vec<TensorSpec>,
    pub operators: Vec<OpSpec>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    /// Number of copies of the subgraph to write.
    pub subgraphs: usize,
}

/// Serializes `spec`: buffer 0 empty, then one buffer per constant.
pub fn build_model(spec: &ModelSpec) -> Vec<u8> {
    let mut fbb = FlatBufferBuilder::new();

    // Buffer 0 is the empty sentinel, then one buffer for each tensor with data.
    let empty = fb::Buffer::create(&mut fbb, &fb::BufferArgs { data: None });
    let mut buffers = vec![empty];
    let mut buffer_of = Vec::new();
    for tensor in &spec.tensors {
        match &tensor.data {
            Some(bytes) => {
                let data = fbb.create_vector(bytes);
                buffers.push(fb::Buffer::create(&mut fbb, &fb::BufferArgs { data: Some(data) }));
                buffer_of.push((buffers.len() - 1) as u32);
            }
            None => buffer_of.push(0),
        }
    }

    let mut codes: Vec<(fb::BuiltinOperator, Option<&'static str>)> = Vec::new();
    for operator in &spec.operators {
        if !codes.contains(&(operator.code, operator.custom_code)) {
            codes.push((operator.code, operator.custom_code));
        }
    }
    let opcode_offsets: Vec<_> = codes
        .iter()
        .map(|&(code, custom)| {
            let custom_code = custom.map(|c| fbb.create_string(c));
            fb::OperatorCode::create(
                &mut fbb,
                &fb::OperatorCodeArgs {
                    deprecated_builtin_code: code.0.min(127) as i8,
                    custom_code,
                    version: 1,
                    builtin_code: code,
                },
            )
        })
        .collect();

    let mut subgraphs = Vec::new();
    for _ in 0..spec.subgraphs {
        let tensors: Vec<_> = spec
            .tensors
            .iter()
            .zip(&buffer_of)
            .map(|(tensor, &buffer)| {
                let name = fbb.create_string(tensor.name);
                let shape = fbb.create_vector(&tensor.shape);
                let shape_signature = tensor.signature.as_ref().map(|s| fbb.create_vector(s));
                let quantization = tensor.quantization.as_ref().map(|(scale, zero_point, dimension)| {
                    let scale = fbb.create_vector(scale);
                    let zero_point = fbb.create_vector(zero_point);
                    fb::QuantizationParameters::create(
                        &mut fbb,
                        &fb::QuantizationParametersArgs {
                            scale: Some(scale),
                            zero_point: Some(zero_point),
                            quantized_dimension: *dimension,
                            ..Default::default()
                        },
                    )
                });
                fb::Tensor::create(
                    &mut fbb,
                    &fb::TensorArgs {
                        shape: Some(shape),
                        type_: tensor.dtype,
                        buffer: tensor.buffer.unwrap_or(buffer),
                        name: Some(name),
                        quantization,
                        shape_signature,
                        ..Default::default()
                    },
                )
            })
            .collect();
        let operators: Vec<_> = spec
            .operators
            .iter()
            .map(|operator| {
                let opcode_index =
                    codes.iter().position(|&c| c == (operator.code, operator.custom_code)).unwrap() as u32;
                let (builtin_options_type, builtin_options) = build_options(&mut fbb, &operator.options);
                let inputs = fbb.create_vector(&operator.inputs);
                let outputs = fbb.create_vector(&operator.outputs);
                fb::Operator::create(
                    &mut fbb,
                    &fb::OperatorArgs {
                        opcode_index,
                        inputs: Some(inputs),
                        outputs: Some(outputs),
                        builtin_options_type,
                        builtin_options,
                        ..Default::default()
                    },
                )
            })
            .collect();
        let tensors = fbb.create_vector(&tensors);
        let operators = fbb.create_vector(&operators);
        let inputs = fbb.create_vector(&spec.inputs);
        let outputs = fbb.create_vector(&spec.outputs);
        subgraphs.push(fb::SubGraph::create(
            &mut fbb,
            &fb::SubGraphArgs {
                tensors: Some(tensors),
                inputs: Some(inputs),
                outputs: Some(outputs),
                operators: Some(operators),
                name: None,
            },
        ));
    }

    let operator_codes = fbb.create_vector(&opcode_offsets);
    let subgraphs = fbb.create_vector(&subgraphs);
    let buffers = fbb.create_vector(&buffers);
    let model = fb::Model::create(
        &mut fbb,
        &fb::ModelArgs {
            version: 3,
            operator_codes: Some(operator_codes),
            subgraphs: Some(subgraphs),
            buffers: Some(buffers),
            ..Default::default()
        },
    );
    fb::finish_model_buffer(&mut fbb, model);
    fbb.finished_data().to_vec()
}

fn build_options(
    fbb: &mut FlatBufferBuilder<'_>,
    options: &OptionsSpec,
) -> (fb::BuiltinOptions, Option<WIPOffset<flatbuffers::UnionWIPOffset>>) {
    match *options {
        OptionsSpec::None => (fb::BuiltinOptions::NONE, None),
        OptionsSpec::Conv2d { stride, padding, activation } => {
            let args = fb::Conv2DOptionsArgs {
                padding,
                stride_h: stride[0],
                stride_w: stride[1],
                fused_activation_function: activation,
                dilation_h_factor: 1,
                dilation_w_factor: 1,
            };
            (fb::BuiltinOptions::Conv2DOptions, Some(fb::Conv2DOptions::create(fbb, &args).as_union_value()))
        }
        OptionsSpec::Depthwise { stride, multiplier, activation } => {
            let args = fb::DepthwiseConv2DOptionsArgs {
                padding: fb::Padding::SAME,
                stride_h: stride[0],
                stride_w: stride[1],
                depth_multiplier: multiplier,
                fused_activation_function: activation,
                dilation_h_factor: 1,
                dilation_w_factor: 1,
            };
            let offset = fb::DepthwiseConv2DOptions::create(fbb, &args).as_union_value();
            (fb::BuiltinOptions::DepthwiseConv2DOptions, Some(offset))
        }
        OptionsSpec::Pool { filter, stride, padding, activation } => {
            let args = fb::Pool2DOptionsArgs {
                padding,
                stride_h: stride[0],
                stride_w: stride[1],
                filter_height: filter[0],
                filter_width: filter[1],
                fused_activation_function: activation,
            };
            (fb::BuiltinOptions::Pool2DOptions, Some(fb::Pool2DOptions::create(fbb, &args).as_union_value()))
        }
        OptionsSpec::FullyConnected { activation } => {
            let args = fb::FullyConnectedOptionsArgs { fused_activation_function: activation, ..Default::default() };
            let offset = fb::FullyConnectedOptions::create(fbb, &args).as_union_value();
            (fb::BuiltinOptions::FullyConnectedOptions, Some(offset))
        }
    }
}
