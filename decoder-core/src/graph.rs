//! The operator graph stored in a container, and its activation memory plan.
//!
//! The graph is a postcard-encoded [`GraphRecord`] inside the container's model record.
//! Activations ("values") are described by a fixed-size table so that value `i` is found
//! without parsing the ones before it; operators follow as a sequence of postcard
//! [`OpRecord`]s and are read in order while the model runs.
//!
//! Every value has an offset in one arena of `f32`, planned on the host so that values
//! alive at the same time never overlap. The arena and scratch sizes are therefore known
//! before anything runs: [`Graph::arena_len`] and [`Graph::scratch_len`].

use serde::{Deserialize, Serialize};

use crate::ops::{Activation, Hwc, Window};
use crate::Error;

/// Size in bytes of one entry of the value table.
pub const VALUE_ENTRY_LEN: usize = 21;

/// Largest rank of an activation value (batch excluded).
pub const MAX_VALUE_RANK: usize = 4;

/// The graph as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphRecord<'a> {
    /// Length of the activation arena, in `f32` elements.
    pub arena_len: u32,
    /// Scratch elements for one decoded weight row.
    pub row_scratch_len: u32,
    /// Scratch elements for one decoded bias.
    pub bias_scratch_len: u32,
    /// Value that receives the model input.
    pub input: u16,
    /// Value that contains the model output.
    pub output: u16,
    /// Value table, [`VALUE_ENTRY_LEN`] bytes per value: offset (u32), rank (u8), four
    /// dimensions (u32), all little endian; unused dimensions are 1.
    #[serde(borrow)]
    pub values: &'a [u8],
    /// Number of operators in `ops`.
    pub op_count: u32,
    /// Postcard-encoded [`OpRecord`]s, in execution order.
    #[serde(borrow)]
    pub ops: &'a [u8],
}

/// One operator. Values are indices into the value table; weights and biases are indices
/// of tensors in the container.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum OpRecord {
    /// 2-D convolution; weights have one row per output channel, laid out `[kh][kw][in_c]`.
    Conv2d {
        /// Input value (H, W, C).
        input: u16,
        /// Output value (H, W, C).
        output: u16,
        /// Weight tensor.
        weights: u32,
        /// Bias tensor.
        bias: Option<u32>,
        /// Kernel height and width.
        kernel: [u32; 2],
        /// Stride, dilation and padding.
        window: Window,
        /// Fused activation.
        activation: Activation,
    },
    /// Depthwise 2-D convolution; weights have one row per output channel, laid out `[kh][kw]`.
    DepthwiseConv2d {
        /// Input value (H, W, C).
        input: u16,
        /// Output value (H, W, C·multiplier).
        output: u16,
        /// Weight tensor.
        weights: u32,
        /// Bias tensor.
        bias: Option<u32>,
        /// Kernel height and width.
        kernel: [u32; 2],
        /// Output channels per input channel.
        multiplier: u32,
        /// Stride, dilation and padding.
        window: Window,
        /// Fused activation.
        activation: Activation,
    },
    /// Fully connected layer; weights have one row per output.
    FullyConnected {
        /// Input value.
        input: u16,
        /// Output value.
        output: u16,
        /// Weight tensor.
        weights: u32,
        /// Bias tensor.
        bias: Option<u32>,
        /// Fused activation.
        activation: Activation,
    },
    /// Element-wise addition.
    Add {
        /// First operand.
        a: u16,
        /// Second operand, of the same length or a single value.
        b: u16,
        /// Output value.
        output: u16,
        /// Fused activation.
        activation: Activation,
    },
    /// Average pooling over in-bounds elements.
    AveragePool2d {
        /// Input value (H, W, C).
        input: u16,
        /// Output value (H, W, C).
        output: u16,
        /// Filter height and width.
        filter: [u32; 2],
        /// Stride and padding.
        window: Window,
        /// Fused activation.
        activation: Activation,
    },
    /// Max pooling.
    MaxPool2d {
        /// Input value (H, W, C).
        input: u16,
        /// Output value (H, W, C).
        output: u16,
        /// Filter height and width.
        filter: [u32; 2],
        /// Stride and padding.
        window: Window,
        /// Fused activation.
        activation: Activation,
    },
    /// Copy with a new shape.
    Reshape {
        /// Input value.
        input: u16,
        /// Output value with the same number of elements.
        output: u16,
    },
    /// Softmax over the last dimension.
    Softmax {
        /// Input value.
        input: u16,
        /// Output value.
        output: u16,
        /// Inverse temperature.
        beta: f32,
    },
}

/// An activation value: where it lives in the arena and its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value {
    /// Offset in the arena, in `f32` elements.
    pub offset: u32,
    /// Number of dimensions used in `dims`.
    pub rank: u8,
    /// Dimensions, outermost first; unused ones are 1.
    pub dims: [u32; MAX_VALUE_RANK],
}

impl Value {
    /// Number of elements, saturating at `usize::MAX` so that a corrupt table entry is
    /// rejected by the arena check instead of overflowing.
    pub fn len(&self) -> usize {
        self.dims.iter().fold(1usize, |count, &dim| count.saturating_mul(dim as usize))
    }

    /// True when the value has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the last three dimensions as height, width and channels (1 where the rank is lower).
    pub fn hwc(&self) -> Hwc {
        let rank = usize::from(self.rank).clamp(1, MAX_VALUE_RANK);
        let dim = |from_end: usize| if from_end <= rank { self.dims[rank - from_end] } else { 1 };
        Hwc { h: dim(3), w: dim(2), c: dim(1) }
    }

    /// Returns the innermost dimension.
    pub fn last_dim(&self) -> u32 {
        let rank = usize::from(self.rank).clamp(1, MAX_VALUE_RANK);
        self.dims[rank - 1]
    }

    /// Writes the table entry of this value.
    pub fn to_bytes(&self) -> [u8; VALUE_ENTRY_LEN] {
        let mut out = [0u8; VALUE_ENTRY_LEN];
        out[0..4].copy_from_slice(&self.offset.to_le_bytes());
        out[4] = self.rank;
        for (i, dim) in self.dims.iter().enumerate() {
            out[5 + 4 * i..9 + 4 * i].copy_from_slice(&dim.to_le_bytes());
        }
        out
    }
}

/// A parsed and validated graph.
#[derive(Debug, Clone, Copy)]
pub struct Graph<'a> {
    record_arena: u32,
    row_scratch: u32,
    bias_scratch: u32,
    input: u16,
    output: u16,
    values: &'a [u8],
    op_count: u32,
    ops: &'a [u8],
}

impl<'a> Graph<'a> {
    /// Parses the graph bytes of a container and checks that every value lies inside the
    /// arena and every operator parses and names existing values.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let invalid = |field, reason| Error::Invalid { field, tensor: None, reason };
        let record: GraphRecord<'a> =
            postcard::from_bytes(bytes).map_err(|_| Error::Malformed { field: "graph", tensor: None })?;
        if !record.values.len().is_multiple_of(VALUE_ENTRY_LEN) || record.values.is_empty() {
            return Err(invalid("graph values", "the value table length must be a nonzero multiple of 21 bytes"));
        }
        let graph = Graph {
            record_arena: record.arena_len,
            row_scratch: record.row_scratch_len,
            bias_scratch: record.bias_scratch_len,
            input: record.input,
            output: record.output,
            values: record.values,
            op_count: record.op_count,
            ops: record.ops,
        };
        let mut used = 0;
        for index in 0..graph.value_count() {
            let value = graph.value(index)?;
            let end = (value.offset as usize).checked_add(value.len());
            if value.rank == 0 || usize::from(value.rank) > MAX_VALUE_RANK {
                return Err(invalid("graph value rank", "must be between 1 and 4"));
            }
            match end {
                Some(end) if end <= record.arena_len as usize => used = used.max(end),
                _ => return Err(invalid("graph value", "lies outside the arena")),
            }
        }
        // The arena ends with its last value, so a declared size beyond that cannot make
        // a host or firmware allocate more than the graph uses.
        if record.arena_len as usize > used {
            return Err(invalid("graph arena", "is larger than the values it holds"));
        }
        graph.value(graph.input)?;
        graph.value(graph.output)?;
        let mut count = 0u32;
        for op in graph.ops() {
            op?;
            count += 1;
        }
        if count != record.op_count {
            return Err(Error::LengthMismatch {
                field: "graph operators",
                tensor: None,
                expected: u64::from(record.op_count),
                found: u64::from(count),
            });
        }
        Ok(graph)
    }

    /// Arena length in `f32` elements.
    pub fn arena_len(&self) -> usize {
        self.record_arena as usize
    }

    /// Scratch length in `f32` elements: one weight row plus one bias.
    pub fn scratch_len(&self) -> usize {
        (self.row_scratch as usize).saturating_add(self.bias_scratch as usize)
    }

    /// Scratch elements reserved for one bias.
    pub fn bias_scratch_len(&self) -> usize {
        self.bias_scratch as usize
    }

    /// Scratch elements reserved for one weight row.
    pub fn row_scratch_len(&self) -> usize {
        self.row_scratch as usize
    }

    /// Number of values.
    pub fn value_count(&self) -> u16 {
        (self.values.len() / VALUE_ENTRY_LEN).min(usize::from(u16::MAX)) as u16
    }

    /// Number of operators.
    pub fn op_count(&self) -> u32 {
        self.op_count
    }

    /// Returns the model input value.
    pub fn input(&self) -> Result<Value, Error> {
        self.value(self.input)
    }

    /// Returns the model output value.
    pub fn output(&self) -> Result<Value, Error> {
        self.value(self.output)
    }

    /// Value `index` of the table.
    pub fn value(&self, index: u16) -> Result<Value, Error> {
        let start = usize::from(index) * VALUE_ENTRY_LEN;
        let entry = self.values.get(start..start + VALUE_ENTRY_LEN).ok_or(Error::OutOfBounds {
            what: "value",
            requested: u32::from(index),
            available: u32::from(self.value_count()),
        })?;
        let word = |at: usize| u32::from_le_bytes([entry[at], entry[at + 1], entry[at + 2], entry[at + 3]]);
        Ok(Value { offset: word(0), rank: entry[4], dims: [word(5), word(9), word(13), word(17)] })
    }

    /// Iterates over the operators in execution order.
    pub fn ops(&self) -> Ops<'a> {
        Ops { rest: self.ops, left: self.op_count }
    }
}

/// Iterator over a graph's operators, from [`Graph::ops`].
#[derive(Debug, Clone)]
pub struct Ops<'a> {
    rest: &'a [u8],
    left: u32,
}

impl Iterator for Ops<'_> {
    type Item = Result<OpRecord, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            if self.rest.is_empty() {
                return None;
            }
            self.rest = &[];
            return Some(Err(Error::Malformed { field: "graph operators (trailing bytes)", tensor: None }));
        }
        self.left -= 1;
        match postcard::take_from_bytes::<OpRecord>(self.rest) {
            Ok((op, tail)) => {
                self.rest = tail;
                Some(Ok(op))
            }
            Err(_) => {
                self.left = 0;
                self.rest = &[];
                Some(Err(Error::Malformed { field: "graph operator", tensor: None }))
            }
        }
    }
}
