//! Translation of TFLite operators into [`Operator`]s, with their shape checks.

use std::path::Path;

use super::error::ImportError;
use super::schema::{activation_name, fb, operator_name};
use super::tensors::{decode_constant, element_count, TensorRef};
use super::{tensor_index, Activation, FlatTensor, OpKind, Operator, Padding, TensorInfo};

/// An operator with its code resolved and its tensor indices checked.
pub(crate) struct RawOperator<'a> {
    pub index: usize,
    pub code: fb::BuiltinOperator,
    /// The TFLite name of the operator, for messages.
    pub name: String,
    pub inputs: Vec<Option<usize>>,
    pub outputs: Vec<usize>,
    flat: fb::Operator<'a>,
}

/// Returns whether the importer translates operators of this code.
pub(crate) fn is_supported(code: fb::BuiltinOperator) -> bool {
    matches!(
        code,
        fb::BuiltinOperator::CONV_2D
            | fb::BuiltinOperator::DEPTHWISE_CONV_2D
            | fb::BuiltinOperator::FULLY_CONNECTED
            | fb::BuiltinOperator::ADD
            | fb::BuiltinOperator::AVERAGE_POOL_2D
            | fb::BuiltinOperator::MAX_POOL_2D
            | fb::BuiltinOperator::RESHAPE
            | fb::BuiltinOperator::SOFTMAX
            | fb::BuiltinOperator::DEQUANTIZE
    )
}

/// Resolves operator codes and checks every tensor index of every operator.
pub(crate) fn read_operators<'a>(
    flat_operators: &[fb::Operator<'a>],
    opcodes: &[fb::OperatorCode<'_>],
    tensor_count: usize,
    path: &Path,
) -> Result<Vec<RawOperator<'a>>, ImportError> {
    let mut operators = Vec::with_capacity(flat_operators.len());
    for (index, flat) in flat_operators.iter().enumerate() {
        let opcode = flat.opcode_index();
        let code = usize::try_from(opcode).ok().and_then(|i| opcodes.get(i)).ok_or_else(|| {
            ImportError::OpcodeIndexOutOfRange {
                path: path.to_path_buf(),
                operator: index,
                opcode,
                count: opcodes.len(),
            }
        })?;
        let name = operator_name(code);

        let mut inputs = Vec::new();
        for (position, raw) in flat.inputs().into_iter().flatten().enumerate() {
            // -1 marks an omitted optional input.
            if raw == -1 {
                inputs.push(None);
            } else {
                let location = format!("input {position} of operator #{index} ({name})");
                inputs.push(Some(tensor_index(raw, tensor_count, path, &location)?));
            }
        }
        let mut outputs = Vec::new();
        for (position, raw) in flat.outputs().into_iter().flatten().enumerate() {
            let location = format!("output {position} of operator #{index} ({name})");
            outputs.push(tensor_index(raw, tensor_count, path, &location)?);
        }

        operators.push(RawOperator {
            index,
            code: super::schema::builtin_code(code),
            name,
            inputs,
            outputs,
            flat: *flat,
        });
    }
    Ok(operators)
}

/// Translates operators in execution order and collects the constants they read.
pub(crate) struct GraphBuilder<'a> {
    path: &'a Path,
    flat_tensors: &'a [fb::Tensor<'a>],
    tensors: Vec<FlatTensor<'a>>,
    /// Decoded constant values, filled when an operator first reads a constant.
    data: Vec<Option<Vec<f32>>>,
    /// Whether a tensor has a value before the next operator runs: graph inputs, constants
    /// and outputs of earlier operators.
    available: Vec<bool>,
    operators: Vec<Operator>,
}

impl<'a> GraphBuilder<'a> {
    pub(crate) fn new(
        path: &'a Path,
        flat_tensors: &'a [fb::Tensor<'a>],
        tensors: Vec<FlatTensor<'a>>,
        graph_inputs: &[usize],
    ) -> Self {
        let mut available: Vec<bool> = tensors.iter().map(|t| t.constant.is_some()).collect();
        for &input in graph_inputs {
            available[input] = true;
        }
        let data = vec![None; tensors.len()];
        GraphBuilder { path, flat_tensors, tensors, data, available, operators: Vec::new() }
    }

    /// Translates one operator, or folds it into a constant (DEQUANTIZE of a constant).
    pub(crate) fn translate(&mut self, raw: &RawOperator<'_>) -> Result<(), ImportError> {
        let kind = match raw.code {
            fb::BuiltinOperator::CONV_2D => Some(self.conv_2d(raw)?),
            fb::BuiltinOperator::DEPTHWISE_CONV_2D => Some(self.depthwise_conv_2d(raw)?),
            fb::BuiltinOperator::FULLY_CONNECTED => Some(self.fully_connected(raw)?),
            fb::BuiltinOperator::ADD => Some(self.add(raw)?),
            fb::BuiltinOperator::AVERAGE_POOL_2D | fb::BuiltinOperator::MAX_POOL_2D => Some(self.pool_2d(raw)?),
            fb::BuiltinOperator::RESHAPE => Some(self.reshape(raw)?),
            fb::BuiltinOperator::SOFTMAX => Some(self.softmax(raw)?),
            fb::BuiltinOperator::DEQUANTIZE => {
                self.fold_dequantize(raw)?;
                None
            }
            _ => {
                return Err(ImportError::UnsupportedOperator {
                    path: self.path.to_path_buf(),
                    operator: raw.index,
                    op_name: raw.name.clone(),
                })
            }
        };
        for &output in &raw.outputs {
            self.available[output] = true;
        }
        if let Some(kind) = kind {
            let mut inputs = raw.inputs.clone();
            if kind == OpKind::Reshape {
                inputs.truncate(1);
            }
            self.operators.push(Operator { index: raw.index, kind, inputs, outputs: raw.outputs.clone() });
        }
        Ok(())
    }

    /// Checks that every graph output gets a value and returns tensors and operators.
    pub(crate) fn finish(self, graph_outputs: &[usize]) -> Result<(Vec<TensorInfo>, Vec<Operator>), ImportError> {
        for &output in graph_outputs {
            if !self.available[output] {
                return Err(ImportError::InvalidModel {
                    path: self.path.to_path_buf(),
                    reason: format!(
                        "graph output tensor #{output} '{}' is written by no operator",
                        self.tensors[output].name
                    ),
                });
            }
        }
        let tensors = self
            .tensors
            .into_iter()
            .zip(self.data)
            .map(|(tensor, data)| TensorInfo { name: tensor.name, shape: tensor.shape, data })
            .collect();
        Ok((tensors, self.operators))
    }

    fn conv_2d(&mut self, raw: &RawOperator<'_>) -> Result<OpKind, ImportError> {
        self.expect_arity(raw, 2..=3, 1)?;
        let options = raw.flat.builtin_options_as_conv_2_doptions().ok_or_else(|| self.missing_options(raw))?;
        let stride =
            [self.positive(raw, "stride_h", options.stride_h())?, self.positive(raw, "stride_w", options.stride_w())?];
        let dilation = [
            self.positive(raw, "dilation_h_factor", options.dilation_h_factor())?,
            self.positive(raw, "dilation_w_factor", options.dilation_w_factor())?,
        ];
        let padding = self.padding(raw, options.padding())?;
        let activation = self.activation(raw, options.fused_activation_function())?;

        let input = self.activation_input(raw, 0)?;
        let filter = self.constant_input(raw, 1, "filter")?;
        let input_shape = self.rank(raw, input, 4, "input")?;
        let filter_shape = self.rank(raw, filter, 4, "filter")?;
        if filter_shape[3] != input_shape[3] {
            return Err(self.invalid(
                raw,
                format!(
                    "the filter {filter_shape:?} (OHWI) expects {} input channels but the input {input_shape:?} \
                     has {}; grouped convolutions are not supported",
                    filter_shape[3], input_shape[3]
                ),
            ));
        }
        self.optional_bias(raw, 2, filter_shape[0])?;
        let output_shape = self.rank(raw, raw.outputs[0], 4, "output")?;
        let window = Window { filter: [filter_shape[1], filter_shape[2]], stride, dilation, padding };
        self.check_window_output(raw, &input_shape, &output_shape, window)?;
        self.check_channels(raw, &output_shape, filter_shape[0])?;
        Ok(OpKind::Conv2d { stride, dilation, padding, activation })
    }

    fn depthwise_conv_2d(&mut self, raw: &RawOperator<'_>) -> Result<OpKind, ImportError> {
        self.expect_arity(raw, 2..=3, 1)?;
        let options =
            raw.flat.builtin_options_as_depthwise_conv_2_doptions().ok_or_else(|| self.missing_options(raw))?;
        let stride =
            [self.positive(raw, "stride_h", options.stride_h())?, self.positive(raw, "stride_w", options.stride_w())?];
        let dilation = [
            self.positive(raw, "dilation_h_factor", options.dilation_h_factor())?,
            self.positive(raw, "dilation_w_factor", options.dilation_w_factor())?,
        ];
        let padding = self.padding(raw, options.padding())?;
        let activation = self.activation(raw, options.fused_activation_function())?;

        let input = self.activation_input(raw, 0)?;
        let filter = self.constant_input(raw, 1, "filter")?;
        let input_shape = self.rank(raw, input, 4, "input")?;
        let filter_shape = self.rank(raw, filter, 4, "filter")?;
        let (channels, filter_channels) = (input_shape[3], filter_shape[3]);
        if filter_shape[0] != 1 || channels == 0 || !filter_channels.is_multiple_of(channels) {
            return Err(self.invalid(
                raw,
                format!(
                    "the filter {filter_shape:?} must be [1, H, W, C * multiplier] for the input {input_shape:?} \
                     with C = {channels} channels"
                ),
            ));
        }
        // The multiplier follows from the shapes. The option must agree when it is set,
        // and some converters leave it 0.
        let depth_multiplier = filter_channels / channels;
        let option = options.depth_multiplier();
        if option != 0 && usize::try_from(option).ok() != Some(depth_multiplier) {
            return Err(self.invalid(
                raw,
                format!(
                    "depth_multiplier is {option} but the filter {filter_shape:?} and the input {input_shape:?} \
                     give {depth_multiplier}"
                ),
            ));
        }
        self.optional_bias(raw, 2, filter_channels)?;
        let output_shape = self.rank(raw, raw.outputs[0], 4, "output")?;
        let window = Window { filter: [filter_shape[1], filter_shape[2]], stride, dilation, padding };
        self.check_window_output(raw, &input_shape, &output_shape, window)?;
        self.check_channels(raw, &output_shape, filter_channels)?;
        Ok(OpKind::DepthwiseConv2d { stride, dilation, padding, depth_multiplier, activation })
    }

    fn fully_connected(&mut self, raw: &RawOperator<'_>) -> Result<OpKind, ImportError> {
        self.expect_arity(raw, 2..=3, 1)?;
        // Missing options mean the defaults: no activation, flattened output.
        let options = raw.flat.builtin_options_as_fully_connected_options();
        let activation = match &options {
            Some(options) => self.activation(raw, options.fused_activation_function())?,
            None => Activation::None,
        };
        let keep_num_dims = options.as_ref().is_some_and(|o| o.keep_num_dims());
        if let Some(format) = options.as_ref().map(|o| o.weights_format()) {
            if format != fb::FullyConnectedOptionsWeightsFormat::DEFAULT {
                return Err(self.invalid(
                    raw,
                    format!("the weights format {format:?} is not supported; only DEFAULT ([out, in]) is"),
                ));
            }
        }

        let input = self.activation_input(raw, 0)?;
        let weights = self.constant_input(raw, 1, "weights")?;
        let weights_shape = self.rank(raw, weights, 2, "weights")?;
        let (units, depth) = (weights_shape[0], weights_shape[1]);
        let input_shape = self.tensors[input].shape.clone();
        let rows =
            element_count(&input_shape).filter(|&count| depth > 0 && count.is_multiple_of(depth)).map(|c| c / depth);
        let Some(rows) = rows else {
            return Err(self.invalid(
                raw,
                format!("the input {input_shape:?} cannot be read as rows of the weights' {depth} input features"),
            ));
        };
        self.optional_bias(raw, 2, units)?;
        let output_shape = self.tensors[raw.outputs[0]].shape.clone();
        let output_count = element_count(&output_shape);
        if output_shape.last() != Some(&units) || output_count.is_none() || output_count != rows.checked_mul(units) {
            return Err(
                self.invalid(raw, format!("the output {output_shape:?} does not contain {rows} rows of {units} units"))
            );
        }
        Ok(OpKind::FullyConnected { activation, keep_num_dims })
    }

    fn add(&mut self, raw: &RawOperator<'_>) -> Result<OpKind, ImportError> {
        self.expect_arity(raw, 2..=2, 1)?;
        // Missing options mean no fused activation.
        let activation = match raw.flat.builtin_options_as_add_options() {
            Some(options) => self.activation(raw, options.fused_activation_function())?,
            None => Activation::None,
        };
        let left = self.activation_input(raw, 0)?;
        let right = self.activation_input(raw, 1)?;
        let (left_shape, right_shape) = (&self.tensors[left].shape, &self.tensors[right].shape);
        let output_shape = &self.tensors[raw.outputs[0]].shape;
        if broadcast_shape(left_shape, right_shape).as_ref() != Some(output_shape) {
            return Err(self.invalid(
                raw,
                format!(
                    "the inputs {left_shape:?} and {right_shape:?} do not broadcast to the output {output_shape:?}"
                ),
            ));
        }
        Ok(OpKind::Add { activation })
    }

    fn pool_2d(&mut self, raw: &RawOperator<'_>) -> Result<OpKind, ImportError> {
        self.expect_arity(raw, 1..=1, 1)?;
        let options = raw.flat.builtin_options_as_pool_2_doptions().ok_or_else(|| self.missing_options(raw))?;
        let filter = [
            self.positive(raw, "filter_height", options.filter_height())?,
            self.positive(raw, "filter_width", options.filter_width())?,
        ];
        let stride =
            [self.positive(raw, "stride_h", options.stride_h())?, self.positive(raw, "stride_w", options.stride_w())?];
        let padding = self.padding(raw, options.padding())?;
        let activation = self.activation(raw, options.fused_activation_function())?;

        let input = self.activation_input(raw, 0)?;
        let input_shape = self.rank(raw, input, 4, "input")?;
        let output_shape = self.rank(raw, raw.outputs[0], 4, "output")?;
        let window = Window { filter, stride, dilation: [1, 1], padding };
        self.check_window_output(raw, &input_shape, &output_shape, window)?;
        self.check_channels(raw, &output_shape, input_shape[3])?;
        Ok(if raw.code == fb::BuiltinOperator::MAX_POOL_2D {
            OpKind::MaxPool2d { filter, stride, padding, activation }
        } else {
            OpKind::AveragePool2d { filter, stride, padding, activation }
        })
    }

    fn reshape(&mut self, raw: &RawOperator<'_>) -> Result<OpKind, ImportError> {
        // Input 1, when present, is the int32 target shape. The output tensor's shape is
        // the result, so that input is not read and is dropped from the operator.
        self.expect_arity(raw, 1..=2, 1)?;
        let input = self.activation_input(raw, 0)?;
        let input_shape = &self.tensors[input].shape;
        let output_shape = &self.tensors[raw.outputs[0]].shape;
        if element_count(input_shape) != element_count(output_shape) {
            return Err(self.invalid(
                raw,
                format!("the input {input_shape:?} and the output {output_shape:?} differ in element count"),
            ));
        }
        Ok(OpKind::Reshape)
    }

    fn softmax(&mut self, raw: &RawOperator<'_>) -> Result<OpKind, ImportError> {
        self.expect_arity(raw, 1..=1, 1)?;
        let options = raw.flat.builtin_options_as_softmax_options().ok_or_else(|| self.missing_options(raw))?;
        let beta = options.beta();
        if !beta.is_finite() {
            return Err(self.invalid(raw, format!("beta is {beta}")));
        }
        let input = self.activation_input(raw, 0)?;
        let (input_shape, output_shape) = (&self.tensors[input].shape, &self.tensors[raw.outputs[0]].shape);
        if input_shape != output_shape {
            return Err(self.invalid(raw, format!("the input {input_shape:?} and the output {output_shape:?} differ")));
        }
        Ok(OpKind::Softmax { beta })
    }

    /// Replaces DEQUANTIZE of a constant by the dequantised values in its output tensor.
    fn fold_dequantize(&mut self, raw: &RawOperator<'_>) -> Result<(), ImportError> {
        self.expect_arity(raw, 1..=1, 1)?;
        let input = self.constant_input(raw, 0, "input")?;
        let output = raw.outputs[0];
        let output_type = self.flat_tensors[output].type_();
        if output_type != fb::TensorType::FLOAT32 {
            return Err(self.invalid(raw, format!("the output type is {output_type:?}, not FLOAT32")));
        }
        let (input_shape, output_shape) = (&self.tensors[input].shape, &self.tensors[output].shape);
        if element_count(input_shape) != element_count(output_shape) {
            return Err(self.invalid(
                raw,
                format!("the input {input_shape:?} and the output {output_shape:?} differ in element count"),
            ));
        }
        self.data[output] = self.data[input].clone();
        Ok(())
    }

    /// Returns the input at `position`, which may be computed or constant, decoding it if
    /// it is a constant.
    fn activation_input(&mut self, raw: &RawOperator<'_>, position: usize) -> Result<usize, ImportError> {
        let tensor = self.required_input(raw, position)?;
        if self.tensors[tensor].constant.is_some() {
            self.decode(raw, tensor, &format!("as input {position}"))?;
        } else if !self.available[tensor] {
            return Err(self.invalid(
                raw,
                format!(
                    "it reads tensor #{tensor} '{}', which is neither a graph input nor written by an earlier operator",
                    self.tensors[tensor].name
                ),
            ));
        }
        Ok(tensor)
    }

    /// Returns the input at `position`, which must be a constant, decoding its values.
    fn constant_input(&mut self, raw: &RawOperator<'_>, position: usize, role: &str) -> Result<usize, ImportError> {
        let tensor = self.required_input(raw, position)?;
        // A zero-sized constant has an empty buffer, which TFLite also uses to mark an
        // activation, so it is named for what it is before the constant check.
        if element_count(&self.tensors[tensor].shape) == Some(0) {
            let shape = &self.tensors[tensor].shape;
            let name = &self.tensors[tensor].name;
            let reason = format!("its {role}, tensor #{tensor} '{name}', has the shape {shape:?} with no values");
            return Err(self.invalid(raw, reason));
        }
        if self.tensors[tensor].constant.is_none() && self.data[tensor].is_none() {
            return Err(self.invalid(
                raw,
                format!(
                    "its {role}, tensor #{tensor} '{}', is not a constant; only constant weights are supported",
                    self.tensors[tensor].name
                ),
            ));
        }
        self.decode(raw, tensor, &format!("as the {role}"))?;
        Ok(tensor)
    }

    /// Checks an optional bias: absent, or a constant of `units` values.
    fn optional_bias(&mut self, raw: &RawOperator<'_>, position: usize, units: usize) -> Result<(), ImportError> {
        if raw.inputs.get(position).copied().flatten().is_none() {
            return Ok(());
        }
        let bias = self.constant_input(raw, position, "bias")?;
        let shape = &self.tensors[bias].shape;
        if element_count(shape) != Some(units) {
            return Err(
                self.invalid(raw, format!("the bias {shape:?} does not contain one value for each of {units} outputs"))
            );
        }
        Ok(())
    }

    fn required_input(&self, raw: &RawOperator<'_>, position: usize) -> Result<usize, ImportError> {
        raw.inputs
            .get(position)
            .copied()
            .flatten()
            .ok_or_else(|| self.invalid(raw, format!("input {position} is missing")))
    }

    fn decode(&mut self, raw: &RawOperator<'_>, tensor: usize, role: &str) -> Result<(), ImportError> {
        if self.data[tensor].is_some() {
            return Ok(());
        }
        let Some(bytes) = self.tensors[tensor].constant else { return Ok(()) };
        let flat = &self.flat_tensors[tensor];
        let at = TensorRef { path: self.path, index: tensor, name: &self.tensors[tensor].name };
        let context = format!("{role} of operator #{} ({})", raw.index, raw.name);
        let values = decode_constant(flat, bytes, &self.tensors[tensor].shape, at, &context)?;
        self.data[tensor] = Some(values);
        Ok(())
    }

    fn expect_arity(
        &self,
        raw: &RawOperator<'_>,
        inputs: std::ops::RangeInclusive<usize>,
        outputs: usize,
    ) -> Result<(), ImportError> {
        if !inputs.contains(&raw.inputs.len()) || raw.outputs.len() != outputs {
            return Err(self.invalid(
                raw,
                format!(
                    "it has {} inputs and {} outputs, expected {} to {} inputs and {outputs} outputs",
                    raw.inputs.len(),
                    raw.outputs.len(),
                    inputs.start(),
                    inputs.end()
                ),
            ));
        }
        Ok(())
    }

    /// Returns the shape of `tensor`, which must have rank `rank`.
    fn rank(&self, raw: &RawOperator<'_>, tensor: usize, rank: usize, role: &str) -> Result<Vec<usize>, ImportError> {
        let shape = &self.tensors[tensor].shape;
        if shape.len() != rank {
            return Err(self.invalid(raw, format!("the {role} {shape:?} must have rank {rank}")));
        }
        Ok(shape.clone())
    }

    fn positive(&self, raw: &RawOperator<'_>, option: &str, value: i32) -> Result<usize, ImportError> {
        usize::try_from(value)
            .ok()
            .filter(|&v| v > 0)
            .ok_or_else(|| self.invalid(raw, format!("the option {option} is {value}, expected at least 1")))
    }

    fn padding(&self, raw: &RawOperator<'_>, padding: fb::Padding) -> Result<Padding, ImportError> {
        match padding {
            fb::Padding::SAME => Ok(Padding::Same),
            fb::Padding::VALID => Ok(Padding::Valid),
            other => Err(self.invalid(raw, format!("the padding code {} is unknown", other.0))),
        }
    }

    fn activation(
        &self,
        raw: &RawOperator<'_>,
        activation: fb::ActivationFunctionType,
    ) -> Result<Activation, ImportError> {
        match activation {
            fb::ActivationFunctionType::NONE => Ok(Activation::None),
            fb::ActivationFunctionType::RELU => Ok(Activation::Relu),
            fb::ActivationFunctionType::RELU6 => Ok(Activation::Relu6),
            other => Err(ImportError::UnsupportedActivation {
                path: self.path.to_path_buf(),
                operator: raw.index,
                op_name: raw.name.clone(),
                activation: activation_name(other),
            }),
        }
    }

    /// Checks the output height and width of a sliding-window operator against TFLite's
    /// output size rule for its padding.
    fn check_window_output(
        &self,
        raw: &RawOperator<'_>,
        input_shape: &[usize],
        output_shape: &[usize],
        window: Window,
    ) -> Result<(), ImportError> {
        let expected: Vec<Option<usize>> = (0..2)
            .map(|axis| {
                window_output_size(
                    input_shape[1 + axis],
                    window.filter[axis],
                    window.stride[axis],
                    window.dilation[axis],
                    window.padding,
                )
            })
            .collect();
        let actual = [Some(output_shape[1]), Some(output_shape[2])];
        if output_shape[0] != input_shape[0] || expected != actual {
            let Window { filter, stride, dilation, padding } = window;
            return Err(self.invalid(
                raw,
                format!(
                    "the output {output_shape:?} does not match the input {input_shape:?} with filter {filter:?}, \
                     stride {stride:?}, dilation {dilation:?} and padding {padding:?}"
                ),
            ));
        }
        Ok(())
    }

    fn check_channels(
        &self,
        raw: &RawOperator<'_>,
        output_shape: &[usize],
        channels: usize,
    ) -> Result<(), ImportError> {
        if output_shape.last() != Some(&channels) {
            return Err(self.invalid(raw, format!("the output {output_shape:?} should have {channels} channels")));
        }
        Ok(())
    }

    fn missing_options(&self, raw: &RawOperator<'_>) -> ImportError {
        let found = raw.flat.builtin_options_type();
        let found = found.variant_name().map_or_else(|| format!("code {}", found.0), str::to_string);
        self.invalid(raw, format!("its builtin options are missing or of the wrong type ({found})"))
    }

    fn invalid(&self, raw: &RawOperator<'_>, reason: String) -> ImportError {
        ImportError::InvalidOperator {
            path: self.path.to_path_buf(),
            operator: raw.index,
            op_name: raw.name.clone(),
            reason,
        }
    }
}

/// Filter, stride, dilation and padding of a convolution or pooling window.
#[derive(Clone, Copy)]
struct Window {
    filter: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    padding: Padding,
}

/// Returns the output size of a sliding window along one axis, or `None` when the dilated
/// filter is larger than a VALID input.
///
/// SAME gives `ceil(input / stride)`. VALID gives `ceil((input - dilated + 1) / stride)`,
/// where `dilated = (filter - 1) * dilation + 1`.
pub(crate) fn window_output_size(
    input: usize,
    filter: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> Option<usize> {
    match padding {
        Padding::Same => Some(input.div_ceil(stride)),
        Padding::Valid => {
            let dilated = filter.checked_sub(1)?.checked_mul(dilation)?.checked_add(1)?;
            let span = input.checked_sub(dilated)?.checked_add(1)?;
            Some(span.div_ceil(stride))
        }
    }
}

/// Returns the NumPy broadcast of two shapes, or `None` if they are incompatible.
pub(crate) fn broadcast_shape(left: &[usize], right: &[usize]) -> Option<Vec<usize>> {
    let rank = left.len().max(right.len());
    let at = |shape: &[usize], axis: usize| {
        let offset = rank - shape.len();
        if axis < offset {
            1
        } else {
            shape[axis - offset]
        }
    };
    (0..rank)
        .map(|axis| match (at(left, axis), at(right, axis)) {
            (l, r) if l == r => Some(l),
            (1, r) => Some(r),
            (l, 1) => Some(l),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_output_size_same_and_valid() {
        // kws first layer: 49 x 10 input, 10 x 4 filter, stride 2, SAME gives 25 x 5.
        assert_eq!(window_output_size(49, 10, 2, 1, Padding::Same), Some(25));
        assert_eq!(window_output_size(10, 4, 2, 1, Padding::Same), Some(5));
        // VALID 7 wide with a 3 filter: 5 positions, stride 2 keeps 0, 2, 4.
        assert_eq!(window_output_size(7, 3, 2, 1, Padding::Valid), Some(3));
        // A dilation of 2 widens a 3 filter to 5 taps: 7 - 5 + 1 = 3 positions.
        assert_eq!(window_output_size(7, 3, 1, 2, Padding::Valid), Some(3));
        assert_eq!(window_output_size(2, 3, 1, 1, Padding::Valid), None);
    }

    #[test]
    fn broadcast_follows_numpy_rules() {
        assert_eq!(broadcast_shape(&[1, 8, 8, 16], &[1, 8, 8, 16]), Some(vec![1, 8, 8, 16]));
        assert_eq!(broadcast_shape(&[1, 8, 8, 16], &[16]), Some(vec![1, 8, 8, 16]));
        assert_eq!(broadcast_shape(&[4, 1], &[1, 3]), Some(vec![4, 3]));
        assert_eq!(broadcast_shape(&[2, 3], &[3, 2]), None);
    }
}
