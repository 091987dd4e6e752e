//! Build settings from build.rs: the board, the embedded container, buffer sizes and inputs.

use core::ffi::CStr;

/// Source of the input rows.
#[allow(dead_code)] // Each build uses one variant.
pub enum Inputs {
    /// No inputs: a weights-only container, or a build that only checks the model.
    None,
    /// Raw little-endian f32 rows embedded in flash.
    Flash(&'static [u8]),
    /// Raw little-endian f32 rows in this file on the host, read over semihosting.
    Host(&'static CStr),
}

include!(concat!(env!("OUT_DIR"), "/config.rs"));
