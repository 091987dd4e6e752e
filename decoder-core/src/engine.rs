//! Runs a container's graph: one inference in a caller-provided arena and scratch buffer.
//!
//! The arena contains every activation at the offset the host planned, and the scratch
//! buffer contains one decoded weight row followed by one decoded bias. Both sizes are stored in the
//! container ([`Model::arena_len`], [`Model::scratch_len`]), so firmware can size static
//! buffers at build time. A buffer that is too small is an error, not a fault.

use core::ops::Range;

use crate::graph::{Graph, OpRecord, Value};
use crate::ops;
use crate::{Container, Error, Tensor};

/// A container with a graph, ready to run.
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    container: Container<'a>,
    graph: Graph<'a>,
}

impl<'a> Model<'a> {
    /// Parses and validates a container and its graph.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        Self::new(Container::parse(bytes)?)
    }

    /// Validates the graph of `container`.
    pub fn new(container: Container<'a>) -> Result<Self, Error> {
        if container.graph().is_empty() {
            return Err(Error::Invalid {
                field: "graph",
                tensor: None,
                reason: "the container holds weights only; encode a model (.tflite) to run it",
            });
        }
        let graph = Graph::parse(container.graph())?;
        // Scratch contains one weight row and one bias, so neither part can exceed the
        // largest tensor. A larger declaration is corrupt and would only waste RAM.
        let mut largest = 0;
        for tensor in container.tensors() {
            largest = largest.max(tensor?.len() as usize);
        }
        if graph.row_scratch_len() > largest || graph.bias_scratch_len() > largest {
            return Err(Error::Invalid {
                field: "graph scratch",
                tensor: None,
                reason: "is larger than any tensor of the container",
            });
        }
        Ok(Model { container, graph })
    }

    /// The container.
    pub fn container(&self) -> &Container<'a> {
        &self.container
    }

    /// The graph.
    pub fn graph(&self) -> &Graph<'a> {
        &self.graph
    }

    /// Arena elements (`f32`) that [`Model::run`] needs.
    pub fn arena_len(&self) -> usize {
        self.graph.arena_len()
    }

    /// Scratch elements (`f32`) that [`Model::run`] needs.
    pub fn scratch_len(&self) -> usize {
        self.graph.scratch_len()
    }

    /// Elements of one input.
    pub fn input_len(&self) -> Result<usize, Error> {
        Ok(self.graph.input()?.len())
    }

    /// Elements of one output.
    pub fn output_len(&self) -> Result<usize, Error> {
        Ok(self.graph.output()?.len())
    }

    /// Runs one inference on `input`, writing the result to `output`.
    pub fn run(&self, input: &[f32], arena: &mut [f32], scratch: &mut [f32], output: &mut [f32]) -> Result<(), Error> {
        let output_len = self.output_len()?;
        if output.len() != output_len {
            return Err(Error::BufferLength { expected: output_len, found: output.len() });
        }
        let slot = self.input_mut(arena)?;
        if input.len() != slot.len() {
            return Err(Error::BufferLength { expected: slot.len(), found: input.len() });
        }
        slot.copy_from_slice(input);
        output.copy_from_slice(self.run_in_arena(arena, scratch)?);
        Ok(())
    }

    /// Returns the input's place in `arena`: write an input here, then call
    /// [`Model::run_in_arena`]. Saves the RAM of a separate input buffer.
    pub fn input_mut<'b>(&self, arena: &'b mut [f32]) -> Result<&'b mut [f32], Error> {
        self.check_arena(arena)?;
        slice_mut(arena, range(&self.graph.input()?))
    }

    /// Runs one inference on the input already in `arena` (see [`Model::input_mut`]) and
    /// returns the output, which lives in `arena` until the next inference.
    pub fn run_in_arena<'b>(&self, arena: &'b mut [f32], scratch: &mut [f32]) -> Result<&'b [f32], Error> {
        self.check_arena(arena)?;
        if scratch.len() < self.scratch_len() {
            return Err(Error::BufferLength { expected: self.scratch_len(), found: scratch.len() });
        }
        let output_value = self.graph.output()?;
        let (row_scratch, bias_scratch) = scratch.split_at_mut(self.graph.row_scratch_len());
        for op in self.graph.ops() {
            self.run_op(op?, arena, row_scratch, bias_scratch)?;
        }
        slice(arena, range(&output_value))
    }

    fn check_arena(&self, arena: &[f32]) -> Result<(), Error> {
        if arena.len() < self.arena_len() {
            return Err(Error::BufferLength { expected: self.arena_len(), found: arena.len() });
        }
        Ok(())
    }

    fn tensor(&self, index: u32) -> Result<Tensor<'a>, Error> {
        self.container.tensor(index)
    }

    fn bias<'s>(&self, bias: Option<u32>, scratch: &'s mut [f32]) -> Result<Option<&'s [f32]>, Error> {
        let Some(index) = bias else { return Ok(None) };
        let tensor = self.tensor(index)?;
        let len = tensor.len() as usize;
        let found = scratch.len();
        let buffer = scratch.get_mut(..len).ok_or(Error::BufferLength { expected: len, found })?;
        tensor.decode_f32(buffer)?;
        Ok(Some(buffer))
    }

    // Not inlined: each operator's locals would otherwise share one large frame with the
    // caller's (measured on thumbv6m: 1.2 KiB for the inlined loop).
    #[inline(never)]
    fn run_op(&self, op: OpRecord, arena: &mut [f32], rows: &mut [f32], biases: &mut [f32]) -> Result<(), Error> {
        let value = |index: u16| self.graph.value(index);
        match op {
            OpRecord::Conv2d { input, output, weights, bias, kernel, window, activation } => {
                let (i, o) = (value(input)?, value(output)?);
                let weights = self.tensor(weights)?;
                let bias = self.bias(bias, biases)?;
                let (inp, out) = split(arena, range(&i), None, range(&o))?;
                ops::conv2d(inp.0, i.hwc(), &weights, kernel, bias, window, activation, out, o.hwc(), rows)
            }
            OpRecord::DepthwiseConv2d { input, output, weights, bias, kernel, multiplier, window, activation } => {
                let (i, o) = (value(input)?, value(output)?);
                let weights = self.tensor(weights)?;
                let bias = self.bias(bias, biases)?;
                let (inp, out) = split(arena, range(&i), None, range(&o))?;
                ops::depthwise_conv2d(
                    inp.0,
                    i.hwc(),
                    &weights,
                    kernel,
                    multiplier,
                    bias,
                    window,
                    activation,
                    out,
                    o.hwc(),
                    rows,
                )
            }
            OpRecord::FullyConnected { input, output, weights, bias, activation } => {
                let (i, o) = (value(input)?, value(output)?);
                let weights = self.tensor(weights)?;
                let bias = self.bias(bias, biases)?;
                let (inp, out) = split(arena, range(&i), None, range(&o))?;
                ops::fully_connected(inp.0, &weights, bias, activation, out, rows)
            }
            OpRecord::Add { a, b, output, activation } => {
                let (a, b, o) = (value(a)?, value(b)?, value(output)?);
                let (first, out) = split(arena, range(&a), Some(range(&b)), range(&o))?;
                let (first, second) = first;
                ops::add(first, second, activation, out)
            }
            OpRecord::AveragePool2d { input, output, filter, window, activation } => {
                let (i, o) = (value(input)?, value(output)?);
                let (inp, out) = split(arena, range(&i), None, range(&o))?;
                ops::average_pool2d(inp.0, i.hwc(), filter, window, activation, out, o.hwc())
            }
            OpRecord::MaxPool2d { input, output, filter, window, activation } => {
                let (i, o) = (value(input)?, value(output)?);
                let (inp, out) = split(arena, range(&i), None, range(&o))?;
                ops::max_pool2d(inp.0, i.hwc(), filter, window, activation, out, o.hwc())
            }
            OpRecord::Reshape { input, output } => {
                let (i, o) = (value(input)?, value(output)?);
                if i.len() != o.len() {
                    return Err(Error::InvalidOperator { op: "RESHAPE", reason: "input and output sizes differ" });
                }
                if i.offset == o.offset {
                    return Ok(());
                }
                let (inp, out) = split(arena, range(&i), None, range(&o))?;
                out.copy_from_slice(inp.0);
                Ok(())
            }
            OpRecord::Softmax { input, output, beta } => {
                let (i, o) = (value(input)?, value(output)?);
                let (inp, out) = split(arena, range(&i), None, range(&o))?;
                ops::softmax_rows(inp.0, i.last_dim() as usize, beta, out)
            }
        }
    }
}

fn range(value: &Value) -> Range<usize> {
    let start = value.offset as usize;
    start..start.saturating_add(value.len())
}

fn slice(arena: &[f32], r: Range<usize>) -> Result<&[f32], Error> {
    let found = arena.len();
    arena.get(r.clone()).ok_or(Error::BufferLength { expected: r.end, found })
}

fn slice_mut(arena: &mut [f32], r: Range<usize>) -> Result<&mut [f32], Error> {
    let found = arena.len();
    arena.get_mut(r.clone()).ok_or(Error::BufferLength { expected: r.end, found })
}

/// Operator inputs: the first operand and an optional second one.
type Inputs<'b> = (&'b [f32], &'b [f32]);

/// Splits the arena into the operands (read-only) and the output (writable); operands
/// may not overlap the output.
fn split(
    arena: &mut [f32],
    first: Range<usize>,
    second: Option<Range<usize>>,
    output: Range<usize>,
) -> Result<(Inputs<'_>, &mut [f32]), Error> {
    let found = arena.len();
    if output.end > found || output.start > output.end {
        return Err(Error::BufferLength { expected: output.end, found });
    }
    let (left, rest) = arena.split_at_mut(output.start);
    let (out, right) = rest.split_at_mut(output.end - output.start);
    let pick = |r: Range<usize>| -> Result<&[f32], Error> {
        if r.end <= output.start {
            left.get(r.clone()).ok_or(Error::BufferLength { expected: r.end, found })
        } else if r.start >= output.end {
            right.get(r.start - output.end..r.end - output.end).ok_or(Error::BufferLength { expected: r.end, found })
        } else if r.is_empty() {
            Ok(&[])
        } else {
            Err(Error::Invalid {
                field: "graph value",
                tensor: None,
                reason: "an operator's input overlaps its output",
            })
        }
    };
    let a = pick(first)?;
    let b = match second {
        Some(r) => pick(r)?,
        None => &[],
    };
    Ok(((a, b), out))
}
