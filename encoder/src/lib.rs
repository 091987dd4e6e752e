//! Hyper-Compression encoder for neural network weights.
//!
//! The encoder turns float tensors into the `.hcm` container that
//! [`decoder_core`] reads, searching codewords against exactly the integer
//! hyperfunction the decoder runs.

pub mod codec;
pub mod commands;
pub mod container;
pub mod io;
pub mod model;
pub mod models;
pub mod reference;
pub mod tensor_settings;
pub mod tflite;

pub use models::{models_dir, require_model_file};
