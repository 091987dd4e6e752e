//! Access to the TFLite flatbuffer schema.
//!
//! The flatbuffers code generated from TensorFlow's `schema.fbs` is the public module
//! `tract_tflite::tflite` of tract-tflite 0.23, so this crate does not carry its own copy.

use std::path::Path;

pub use tract_tflite::tflite as fb;

use super::error::ImportError;

/// Verifies `bytes` as a TFLite flatbuffer and returns its root table.
///
/// The flatbuffers verifier checks every offset, vector length and string before any
/// accessor reads it, so a truncated or foreign file becomes an error instead of a panic.
pub fn verify_model<'a>(bytes: &'a [u8], path: &Path) -> Result<fb::Model<'a>, ImportError> {
    let invalid = |reason: String| ImportError::InvalidFlatbuffer { path: path.to_path_buf(), reason };
    if bytes.is_empty() {
        return Err(invalid("the file is empty".to_string()));
    }
    match fb::root_as_model(bytes) {
        Ok(model) => Ok(model),
        Err(error) => {
            // The verifier's message spans several lines (one per enclosing table), so it
            // is joined into one line to keep the error a single line.
            let error = error.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
            // TFLite writers put the identifier "TFL3" at bytes 4..8. The flatbuffers
            // format makes identifiers optional, so its absence only sharpens the message.
            // `fb::model_buffer_has_identifier` panics on fewer than 8 bytes.
            let has_identifier = bytes.get(4..8) == Some(fb::MODEL_IDENTIFIER.as_bytes());
            let reason = if has_identifier {
                format!("{} bytes, flatbuffer verification failed: {error}", bytes.len())
            } else {
                format!(
                    "{} bytes without the TFLite identifier \"{}\", flatbuffer verification \
                     failed: {error}",
                    bytes.len(),
                    fb::MODEL_IDENTIFIER
                )
            };
            Err(invalid(reason))
        }
    }
}

/// Returns the operator code of an `OperatorCode` table.
///
/// Schema version 3a added the int `builtin_code` because codes above 127 do not fit the
/// byte `deprecated_builtin_code`, which old writers fill alone. The larger of the two
/// fields is the code, as `GetBuiltinCode` in TensorFlow's
/// `tensorflow/lite/schema/schema_utils.cc` computes it.
pub fn builtin_code(code: &fb::OperatorCode<'_>) -> fb::BuiltinOperator {
    let deprecated = i32::from(code.deprecated_builtin_code());
    fb::BuiltinOperator(deprecated.max(code.builtin_code().0))
}

/// Returns the TFLite name of an operator code, e.g. `CONV_2D`, or `CUSTOM (name)` for a
/// custom operator.
pub fn operator_name(code: &fb::OperatorCode<'_>) -> String {
    let builtin = builtin_code(code);
    if builtin == fb::BuiltinOperator::CUSTOM {
        return match code.custom_code() {
            Some(custom) => format!("CUSTOM ({custom})"),
            None => "CUSTOM".to_string(),
        };
    }
    match builtin.variant_name() {
        Some(name) => name.to_string(),
        None => format!("builtin operator code {}", builtin.0),
    }
}

/// Returns the TFLite name of a tensor type, e.g. `FLOAT32`.
pub fn tensor_type_name(dtype: fb::TensorType) -> String {
    match dtype.variant_name() {
        Some(name) => name.to_string(),
        None => format!("tensor type {}", dtype.0),
    }
}

/// Returns the TFLite name of a fused activation, e.g. `TANH`.
pub fn activation_name(activation: fb::ActivationFunctionType) -> String {
    match activation.variant_name() {
        Some(name) => name.to_string(),
        None => format!("activation code {}", activation.0),
    }
}
