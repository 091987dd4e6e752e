//! Lowering an imported TFLite graph to the container's graph: weight layouts the
//! kernels read row by row, value shapes without the batch axis, and the memory plan.

use std::collections::HashMap;
use std::path::Path;

use decoder_core::graph::{GraphRecord, OpRecord, Value, MAX_VALUE_RANK};
use decoder_core::ops::{Activation, Padding, Window};

use super::memory::{self, Interval};
use crate::tflite::{self, OpKind, Operator};

/// What a constant tensor is used for, which decides how it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A kernel, stored one output channel per row.
    Weights,
    /// A bias, stored raw.
    Bias,
}

/// A constant tensor in the layout the kernels read.
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// Name in the TFLite file.
    pub name: String,
    /// Shape in kernel layout, output channels first.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<f32>,
    /// Use of the constant in the graph.
    pub role: Role,
}

/// A graph ready to be stored: constants in container order and the serialized graph.
#[derive(Debug, Clone)]
pub struct Lowered {
    /// Constants, in the order their tensor indices refer to.
    pub constants: Vec<Constant>,
    /// Postcard-encoded [`GraphRecord`].
    pub graph: Vec<u8>,
    /// Arena elements the plan needs.
    pub arena_len: usize,
    /// Scratch elements the plan needs.
    pub scratch_len: usize,
}

/// A graph that the engine cannot run.
#[derive(Debug, thiserror::Error)]
#[error("{}: operator #{operator} ({op}): {reason}", path.display())]
pub struct LowerError {
    /// Model file.
    pub path: std::path::PathBuf,
    /// Index of the operator in the TFLite subgraph.
    pub operator: usize,
    /// TFLite operator name.
    pub op: &'static str,
    /// Reason for the rejection and what to do.
    pub reason: String,
}

struct Lowering<'a> {
    model: &'a tflite::Model,
    path: &'a Path,
    constants: Vec<Constant>,
    constant_ids: HashMap<usize, u32>,
    value_ids: HashMap<usize, u16>,
    value_tensors: Vec<usize>,
    ops: Vec<OpRecord>,
    row_scratch: usize,
    bias_scratch: usize,
}

/// Lowers `model`, read from `path`.
pub fn lower(model: &tflite::Model, path: &Path) -> Result<Lowered, LowerError> {
    let fail = |operator: usize, op: &'static str, reason: String| LowerError {
        path: path.to_path_buf(),
        operator,
        op,
        reason,
    };
    if model.inputs.len() != 1 || model.outputs.len() != 1 {
        return Err(fail(
            0,
            "GRAPH",
            format!(
                "the model has {} inputs and {} outputs; only models with one input and one output are supported",
                model.inputs.len(),
                model.outputs.len()
            ),
        ));
    }
    let mut state = Lowering {
        model,
        path,
        constants: Vec::new(),
        constant_ids: HashMap::new(),
        value_ids: HashMap::new(),
        value_tensors: Vec::new(),
        ops: Vec::new(),
        row_scratch: 0,
        bias_scratch: 0,
    };
    state.value(model.inputs[0], 0, "GRAPH")?;
    for op in &model.operators {
        let record = state.lower_op(op)?;
        state.ops.push(record);
    }
    state.value(model.outputs[0], 0, "GRAPH")?;
    state.finish()
}

impl Lowering<'_> {
    fn error(&self, op: &Operator, reason: impl Into<String>) -> LowerError {
        LowerError {
            path: self.path.to_path_buf(),
            operator: op.index,
            op: op.kind.tflite_name(),
            reason: reason.into(),
        }
    }

    /// Returns the value id of activation tensor `tensor`, creating it on first use.
    fn value(&mut self, tensor: usize, operator: usize, op: &'static str) -> Result<u16, LowerError> {
        if let Some(&id) = self.value_ids.get(&tensor) {
            return Ok(id);
        }
        let info = &self.model.tensors[tensor];
        if info.data.is_some() {
            return Err(LowerError {
                path: self.path.to_path_buf(),
                operator,
                op,
                reason: format!(
                    "tensor #{tensor} '{}' is a constant used as an activation, which is not supported",
                    info.name
                ),
            });
        }
        let id = u16::try_from(self.value_tensors.len()).map_err(|_| LowerError {
            path: self.path.to_path_buf(),
            operator,
            op,
            reason: "the graph has more than 65,535 activation tensors".into(),
        })?;
        self.value_ids.insert(tensor, id);
        self.value_tensors.push(tensor);
        Ok(id)
    }

    fn activation_input(&mut self, op: &Operator, position: usize) -> Result<u16, LowerError> {
        let tensor = op
            .inputs
            .get(position)
            .copied()
            .flatten()
            .ok_or_else(|| self.error(op, format!("input {position} is missing")))?;
        self.value(tensor, op.index, op.kind.tflite_name())
    }

    fn output(&mut self, op: &Operator) -> Result<u16, LowerError> {
        let tensor = *op.outputs.first().ok_or_else(|| self.error(op, "the operator has no output"))?;
        self.value(tensor, op.index, op.kind.tflite_name())
    }

    /// Registers constant input `position` of `op`, converted by `layout`, and returns its
    /// tensor index in the container.
    fn constant(
        &mut self,
        op: &Operator,
        position: usize,
        role: Role,
        layout: impl Fn(&[usize], &[f32]) -> Option<(Vec<usize>, Vec<f32>)>,
    ) -> Result<Option<u32>, LowerError> {
        let Some(tensor) = op.inputs.get(position).copied().flatten() else {
            return Ok(None);
        };
        if let Some(&id) = self.constant_ids.get(&tensor) {
            return Ok(Some(id));
        }
        let info = &self.model.tensors[tensor];
        let data = info.data.as_ref().ok_or_else(|| {
            self.error(op, format!("input {position} (tensor #{tensor} '{}') must be a constant", info.name))
        })?;
        let (shape, data) = layout(&info.shape, data).ok_or_else(|| {
            self.error(op, format!("tensor #{tensor} '{}' has an unexpected shape {:?}", info.name, info.shape))
        })?;
        let id = self.constants.len() as u32;
        self.constants.push(Constant { name: info.name.clone(), shape, data, role });
        self.constant_ids.insert(tensor, id);
        Ok(Some(id))
    }

    fn input_shape(&self, op: &Operator, position: usize) -> Vec<usize> {
        op.inputs.get(position).copied().flatten().map(|t| self.model.tensors[t].shape.clone()).unwrap_or_default()
    }

    fn lower_op(&mut self, op: &Operator) -> Result<OpRecord, LowerError> {
        let input = self.activation_input(op, 0)?;
        let output = self.output(op)?;
        let record = match op.kind {
            OpKind::Conv2d { stride, dilation, padding, activation } => {
                let filter = self.input_shape(op, 1);
                if filter.len() != 4 {
                    return Err(self.error(op, format!("the filter shape {filter:?} is not [O, H, W, I]")));
                }
                self.row_scratch = self.row_scratch.max(filter[1] * filter[2] * filter[3]);
                self.bias_scratch = self.bias_scratch.max(filter[0]);
                let weights = self.constant(op, 1, Role::Weights, keep)?.expect("input 1 exists");
                let bias = self.constant(op, 2, Role::Bias, keep)?;
                OpRecord::Conv2d {
                    input,
                    output,
                    weights,
                    bias,
                    kernel: [filter[1] as u32, filter[2] as u32],
                    window: window(stride, dilation, padding),
                    activation: activation_of(activation),
                }
            }
            OpKind::DepthwiseConv2d { stride, dilation, padding, activation, .. } => {
                let filter = self.input_shape(op, 1);
                let in_shape = self.input_shape(op, 0);
                if filter.len() != 4 || filter[0] != 1 || in_shape.is_empty() {
                    return Err(self.error(op, format!("the filter shape {filter:?} is not [1, H, W, C·M]")));
                }
                let in_channels = *in_shape.last().expect("checked non-empty");
                if in_channels == 0 || !filter[3].is_multiple_of(in_channels) {
                    return Err(self.error(op, "output channels are not a multiple of input channels"));
                }
                self.row_scratch = self.row_scratch.max(filter[1] * filter[2]);
                self.bias_scratch = self.bias_scratch.max(filter[3]);
                let weights = self.constant(op, 1, Role::Weights, depthwise_rows)?.expect("input 1 exists");
                let bias = self.constant(op, 2, Role::Bias, keep)?;
                OpRecord::DepthwiseConv2d {
                    input,
                    output,
                    weights,
                    bias,
                    kernel: [filter[1] as u32, filter[2] as u32],
                    multiplier: (filter[3] / in_channels) as u32,
                    window: window(stride, dilation, padding),
                    activation: activation_of(activation),
                }
            }
            OpKind::FullyConnected { activation, .. } => {
                let weights_shape = self.input_shape(op, 1);
                if weights_shape.len() != 2 {
                    return Err(self.error(op, format!("the weight shape {weights_shape:?} is not [out, in]")));
                }
                self.row_scratch = self.row_scratch.max(weights_shape[1]);
                self.bias_scratch = self.bias_scratch.max(weights_shape[0]);
                let weights = self.constant(op, 1, Role::Weights, keep)?.expect("input 1 exists");
                let bias = self.constant(op, 2, Role::Bias, keep)?;
                OpRecord::FullyConnected { input, output, weights, bias, activation: activation_of(activation) }
            }
            OpKind::Add { activation } => {
                let b = self.activation_input(op, 1)?;
                OpRecord::Add { a: input, b, output, activation: activation_of(activation) }
            }
            OpKind::AveragePool2d { filter, stride, padding, activation } => OpRecord::AveragePool2d {
                input,
                output,
                filter: [filter[0] as u32, filter[1] as u32],
                window: window(stride, [1, 1], padding),
                activation: activation_of(activation),
            },
            OpKind::MaxPool2d { filter, stride, padding, activation } => OpRecord::MaxPool2d {
                input,
                output,
                filter: [filter[0] as u32, filter[1] as u32],
                window: window(stride, [1, 1], padding),
                activation: activation_of(activation),
            },
            OpKind::Reshape => OpRecord::Reshape { input, output },
            OpKind::Softmax { beta } => OpRecord::Softmax { input, output, beta },
        };
        Ok(record)
    }

    fn finish(self) -> Result<Lowered, LowerError> {
        let steps = self.ops.len();
        let mut intervals: Vec<Interval> = self
            .value_tensors
            .iter()
            .map(|&t| Interval { first: usize::MAX, last: 0, len: self.model.tensors[t].shape.iter().product() })
            .collect();
        // The input is alive from the start, the output to the end.
        intervals[0].first = 0;
        for (step, op) in self.ops.iter().enumerate() {
            let (reads, write) = operands(op);
            for v in reads {
                let interval = &mut intervals[usize::from(v)];
                interval.last = interval.last.max(step);
                interval.first = interval.first.min(step);
            }
            let interval = &mut intervals[usize::from(write)];
            interval.first = interval.first.min(step);
            interval.last = interval.last.max(step);
        }
        let output = self.value_ids[&self.model.outputs[0]];
        intervals[usize::from(output)].last = steps;
        let (offsets, arena_len) = memory::plan(&intervals);

        let mut values = Vec::with_capacity(self.value_tensors.len() * decoder_core::graph::VALUE_ENTRY_LEN);
        for (id, &tensor) in self.value_tensors.iter().enumerate() {
            let shape = &self.model.tensors[tensor].shape;
            let dims = value_dims(shape).ok_or_else(|| LowerError {
                path: self.path.to_path_buf(),
                operator: 0,
                op: "GRAPH",
                reason: format!(
                    "tensor #{tensor} '{}' has shape {shape:?}; activations of rank above 4 after the batch axis are not supported",
                    self.model.tensors[tensor].name
                ),
            })?;
            let value = Value { offset: offsets[id] as u32, rank: dims.0, dims: dims.1 };
            values.extend_from_slice(&value.to_bytes());
        }
        let mut ops = Vec::new();
        for op in &self.ops {
            ops.extend(postcard::to_allocvec(op).expect("operator serializes"));
        }
        let record = GraphRecord {
            arena_len: arena_len as u32,
            row_scratch_len: self.row_scratch as u32,
            bias_scratch_len: self.bias_scratch as u32,
            input: 0,
            output,
            values: &values,
            op_count: self.ops.len() as u32,
            ops: &ops,
        };
        let graph = postcard::to_allocvec(&record).expect("graph serializes");
        Ok(Lowered { constants: self.constants, graph, arena_len, scratch_len: self.row_scratch + self.bias_scratch })
    }
}

/// Values an operator reads and the one it writes.
fn operands(op: &OpRecord) -> (Vec<u16>, u16) {
    match *op {
        OpRecord::Conv2d { input, output, .. }
        | OpRecord::DepthwiseConv2d { input, output, .. }
        | OpRecord::FullyConnected { input, output, .. }
        | OpRecord::AveragePool2d { input, output, .. }
        | OpRecord::MaxPool2d { input, output, .. }
        | OpRecord::Reshape { input, output }
        | OpRecord::Softmax { input, output, .. } => (vec![input], output),
        OpRecord::Add { a, b, output, .. } => (vec![a, b], output),
    }
}

/// Rank and dimensions of a value: the TFLite shape without its leading batch axis of 1.
fn value_dims(shape: &[usize]) -> Option<(u8, [u32; MAX_VALUE_RANK])> {
    let dims: &[usize] = if shape.len() >= 2 && shape[0] == 1 { &shape[1..] } else { shape };
    let dims: &[usize] = if dims.is_empty() { &[1] } else { dims };
    if dims.len() > MAX_VALUE_RANK {
        return None;
    }
    let mut out = [1u32; MAX_VALUE_RANK];
    for (slot, &d) in out.iter_mut().zip(dims) {
        *slot = u32::try_from(d).ok()?;
    }
    Some((dims.len() as u8, out))
}

fn keep(shape: &[usize], data: &[f32]) -> Option<(Vec<usize>, Vec<f32>)> {
    Some((shape.to_vec(), data.to_vec()))
}

/// `[1, H, W, C]` → `[C, H, W]`: one row per output channel.
fn depthwise_rows(shape: &[usize], data: &[f32]) -> Option<(Vec<usize>, Vec<f32>)> {
    let [1, h, w, c] = *shape else { return None };
    let mut out = vec![0.0f32; data.len()];
    for y in 0..h {
        for x in 0..w {
            for channel in 0..c {
                out[(channel * h + y) * w + x] = data[(y * w + x) * c + channel];
            }
        }
    }
    Some((vec![c, h, w], out))
}

fn window(stride: [usize; 2], dilation: [usize; 2], padding: tflite::Padding) -> Window {
    Window {
        stride: [stride[0] as u32, stride[1] as u32],
        dilation: [dilation[0] as u32, dilation[1] as u32],
        padding: match padding {
            tflite::Padding::Same => Padding::Same,
            tflite::Padding::Valid => Padding::Valid,
        },
    }
}

fn activation_of(activation: tflite::Activation) -> Activation {
    match activation {
        tflite::Activation::None => Activation::None,
        tflite::Activation::Relu => Activation::Relu,
        tflite::Activation::Relu6 => Activation::Relu6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depthwise_layout_moves_channels_first() {
        // [1, 2, 2, 3]: value = 100·y + 10·x + c.
        let data: Vec<f32> =
            (0..2).flat_map(|y| (0..2).flat_map(move |x| (0..3).map(move |c| (100 * y + 10 * x + c) as f32))).collect();
        let (shape, rows) = depthwise_rows(&[1, 2, 2, 3], &data).unwrap();
        assert_eq!(shape, vec![3, 2, 2]);
        for c in 0..3 {
            for y in 0..2 {
                for x in 0..2 {
                    assert_eq!(rows[(c * 2 + y) * 2 + x], (100 * y + 10 * x + c) as f32);
                }
            }
        }
    }

    #[test]
    fn value_dims_drop_batch_axis() {
        assert_eq!(value_dims(&[1, 32, 32, 3]), Some((3, [32, 32, 3, 1])));
        assert_eq!(value_dims(&[1, 640]), Some((1, [640, 1, 1, 1])));
        assert_eq!(value_dims(&[10]), Some((1, [10, 1, 1, 1])));
        assert_eq!(value_dims(&[1, 2, 3, 4, 5, 6]), None);
    }
}
