//! Decoder for Hyper-Compression model containers (`.hcm`), for microcontrollers and hosts.
//!
//! The crate is `no_std` and never allocates: a container is parsed in place from a
//! `&[u8]` (which may live in flash), and weights are reconstructed one row or one pair at
//! a time into buffers that the caller owns. Every value is computed with integer
//! arithmetic, and the one float operation per weight (`q as f32 * scale`) is a single
//! correctly rounded IEEE multiplication, so every target decodes the same bits.
//!
//! The crate is layered from small primitives up:
//!
//! | module | what it implements |
//! | --- | --- |
//! | [`hyperfunction`] | codeword number → point in the unit square, one wrapping `u32` multiply per coordinate |
//! | [`bits`] | little-endian bit unpacking of the index stream |
//! | [`codebook`] | index → fixed-point weight pair: centre, box side, outlier rings |
//! | [`container`] | the file header (magic, version, CRC-32) and the postcard records of the payload |
//! | [`tensor`] | validated views of one stored tensor, decoding by row, by pair or whole |
//! | [`ops`] | float32 operators reading weights one row at a time |
//! | [`graph`] | the operator graph and activation plan stored in a container |
//! | [`engine`] | running a graph in a caller-provided arena |
//!
//! Malformed input never panics: every count, shape, offset and bit width is checked
//! before use and a failure is returned as an [`Error`].
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod bits;
pub mod codebook;
pub mod container;
pub mod engine;
mod error;
pub mod graph;
pub mod hyperfunction;
pub mod ops;
pub mod tensor;

pub use container::{Container, FORMAT_VERSION, HEADER_LEN, MAGIC};
pub use engine::Model;
pub use error::Error;
pub use tensor::{HyperTensor, Tensor, TensorData};

/// Largest tensor rank the container accepts.
pub const MAX_RANK: usize = 6;
