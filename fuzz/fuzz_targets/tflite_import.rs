//! Imports arbitrary bytes as a TFLite model and lowers what imports to the container
//! graph. Nothing may panic, and an imported model must keep the invariants that the
//! lowering relies on.

#![no_main]

use std::path::Path;

use hyperc::model::lower::lower;
use hyperc::tflite::import_bytes;
use hyperc_fuzz::element_count;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.tflite");
    let Ok(model) = import_bytes(data, path) else {
        return;
    };

    let tensor_count = model.tensors.len();
    for tensor in &model.tensors {
        if let Some(values) = &tensor.data {
            assert_eq!(Some(values.len()), element_count(&tensor.shape), "constant '{}' fills its shape", tensor.name);
        }
    }
    for &index in model.inputs.iter().chain(&model.outputs) {
        assert!(index < tensor_count, "graph input or output {index} exists");
    }
    for operator in &model.operators {
        for &index in operator.inputs.iter().flatten().chain(&operator.outputs) {
            assert!(index < tensor_count, "operator #{} refers to tensor {index}, which exists", operator.index);
        }
    }

    let _ = lower(&model, path);
});
