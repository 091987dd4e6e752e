//! Tests of the TFLite importer and of the tract reference runtime.
//!
//! Real-model facts (operator counts, shapes, options) come from the published MLPerf Tiny
//! architectures and were confirmed by reading the files with the `tflite` Python package,
//! a parser independent of this crate. Weight values are compared with float32 arrays
//! exported from TensorFlow, and tract's outputs with the TensorFlow Lite interpreter's
//! outputs on the same inputs. Synthetic models are built with the flatbuffers builder and
//! the schema module of tract-tflite.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use hyperc::reference::{run_tract, ReferenceError, ReferenceModel};
use hyperc::require_model_file;
use hyperc::tflite::{import, import_bytes, Activation, ImportError, Model, OpKind, Padding};
use tract_tflite::tflite as fb;

mod support;

use support::tflite::{activation, build_model, float_constant, op, ModelSpec, OptionsSpec, TensorSpec};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn count_kinds(model: &Model) -> HashMap<&'static str, usize> {
    let mut counts = HashMap::new();
    for operator in &model.operators {
        *counts.entry(operator.kind.tflite_name()).or_insert(0) += 1;
    }
    counts
}

fn shape_of(model: &Model, tensor: usize) -> Vec<usize> {
    model.tensors[tensor].shape.clone()
}

fn input_shape(model: &Model) -> Vec<usize> {
    assert_eq!(model.inputs.len(), 1, "model inputs");
    shape_of(model, model.inputs[0])
}

fn output_shape(model: &Model) -> Vec<usize> {
    assert_eq!(model.outputs.len(), 1, "model outputs");
    shape_of(model, model.outputs[0])
}

/// Reads every array of an `.npz` file as f32, keyed by array name.
fn read_npz(path: &Path) -> HashMap<String, (Vec<usize>, Vec<f32>)> {
    let mut archive = npyz::npz::NpzArchive::open(path).expect("open npz");
    let names: Vec<String> = archive.array_names().map(str::to_string).collect();
    let mut arrays = HashMap::new();
    for name in names {
        let file = archive.by_name(&name).expect("read npz entry").expect("npz entry exists");
        let shape = file.shape().iter().map(|&d| d as usize).collect();
        let values = file.into_vec::<f32>().expect("npz entry is float32");
        arrays.insert(name, (shape, values));
    }
    arrays
}

/// Reads an `.npy` file as (shape, f32 values).
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let file = npyz::NpyFile::new(File::open(path).expect("open npy")).expect("parse npy");
    let shape = file.shape().iter().map(|&d| d as usize).collect();
    (shape, file.into_vec::<f32>().expect("npy is float32"))
}

fn max_abs_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Checks that every array of the npz equals the model's constant tensor of that name, and
/// that the model has no other float constants. Returns the largest difference.
fn assert_weights_match_npz(model: &Model, npz: &Path) -> f32 {
    let arrays = read_npz(npz);
    let mut max_difference = 0.0f32;
    for (name, (shape, values)) in &arrays {
        let tensor = model.tensors.iter().find(|t| &t.name == name).unwrap_or_else(|| panic!("no tensor '{name}'"));
        assert_eq!(&tensor.shape, shape, "shape of '{name}'");
        let data = tensor.data.as_ref().unwrap_or_else(|| panic!("tensor '{name}' has no data"));
        max_difference = max_difference.max(max_abs_difference(data, values));
    }
    let constants = model.tensors.iter().filter(|t| t.data.is_some()).count();
    assert_eq!(constants, arrays.len(), "constant tensors in the model vs arrays in {}", npz.display());
    max_difference
}

/// A 64-bit linear congruential generator (Knuth's MMIX constants) for repeatable noise.
struct Lcg(u64);

impl Lcg {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0
    }
    fn next_f32(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// input [1, 8, 8, 3] -> MAX_POOL_2D 2x3, stride [2, 1], VALID, RELU6 -> [1, 4, 6, 3].
fn max_pool_spec() -> ModelSpec {
    ModelSpec {
        tensors: vec![activation("input", &[1, 8, 8, 3]), activation("pooled", &[1, 4, 6, 3])],
        operators: vec![op(
            fb::BuiltinOperator::MAX_POOL_2D,
            &[0],
            &[1],
            OptionsSpec::Pool {
                filter: [2, 3],
                stride: [2, 1],
                padding: fb::Padding::VALID,
                activation: fb::ActivationFunctionType::RELU6,
            },
        )],
        inputs: vec![0],
        outputs: vec![1],
        subgraphs: 1,
    }
}

/// input [1, 4] -> FULLY_CONNECTED (weights [3, 4], bias [3], RELU) -> [1, 3].
fn dense_spec() -> ModelSpec {
    let weights: Vec<f32> = (0..12).map(|i| i as f32 * 0.25 - 1.0).collect();
    ModelSpec {
        tensors: vec![
            activation("input", &[1, 4]),
            float_constant("weights", &[3, 4], &weights),
            float_constant("bias", &[3], &[0.5, -0.5, 0.0]),
            activation("output", &[1, 3]),
        ],
        operators: vec![op(
            fb::BuiltinOperator::FULLY_CONNECTED,
            &[0, 1, 2],
            &[3],
            OptionsSpec::FullyConnected { activation: fb::ActivationFunctionType::RELU },
        )],
        inputs: vec![0],
        outputs: vec![3],
        subgraphs: 1,
    }
}

fn import_spec(spec: &ModelSpec) -> Result<Model, ImportError> {
    import_bytes(&build_model(spec), Path::new("built.tflite"))
}

// ---------------------------------------------------------------------------------------
// Real models
// ---------------------------------------------------------------------------------------

#[test]
fn ad01_structure() {
    let Some(path) = require_model_file("ad01_structure", "ad01_fp32.tflite") else { return };
    let model = import(&path).unwrap();

    assert_eq!(input_shape(&model), [1, 640]);
    assert_eq!(output_shape(&model), [1, 640]);
    assert_eq!(count_kinds(&model), HashMap::from([("FULLY_CONNECTED", 10)]));

    // The MLPerf Tiny autoencoder: 640 -> 128 x4 -> 8 -> 128 x4 -> 640, ReLU on every
    // layer but the last.
    let widths = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640];
    for (layer, operator) in model.operators.iter().enumerate() {
        let weights = operator.inputs[1].unwrap();
        assert_eq!(shape_of(&model, weights), [widths[layer + 1], widths[layer]], "weights of layer {layer}");
        let expected_activation = if layer == 9 { Activation::None } else { Activation::Relu };
        assert_eq!(
            operator.kind,
            OpKind::FullyConnected { activation: expected_activation, keep_num_dims: false },
            "layer {layer}"
        );
        let bias = operator.inputs[2].unwrap();
        assert_eq!(shape_of(&model, bias), [widths[layer + 1]], "bias of layer {layer}");
    }
}

#[test]
fn resnet_structure() {
    let Some(path) = require_model_file("resnet_structure", "pretrainedResnet.tflite") else { return };
    let model = import(&path).unwrap();

    assert_eq!(input_shape(&model), [1, 32, 32, 3]);
    assert_eq!(output_shape(&model), [1, 10]);
    // ResNet-8: one stem convolution, three stacks of two 3x3 convolutions, and a 1x1
    // projection on the shortcut of the two stacks that downsample.
    let expected = HashMap::from([
        ("CONV_2D", 9),
        ("ADD", 3),
        ("AVERAGE_POOL_2D", 1),
        ("RESHAPE", 1),
        ("FULLY_CONNECTED", 1),
        ("SOFTMAX", 1),
    ]);
    assert_eq!(count_kinds(&model), expected);

    let convs: Vec<_> = model.operators.iter().filter(|o| matches!(o.kind, OpKind::Conv2d { .. })).collect();
    let strided = convs.iter().filter(|o| matches!(o.kind, OpKind::Conv2d { stride: [2, 2], .. })).count();
    assert_eq!(strided, 4, "two downsampling stacks, each with a strided 3x3 and a strided 1x1");
    let stem = convs[0];
    assert_eq!(shape_of(&model, stem.inputs[1].unwrap()), [16, 3, 3, 3], "stem filter (OHWI)");
    assert_eq!(
        stem.kind,
        OpKind::Conv2d { stride: [1, 1], dilation: [1, 1], padding: Padding::Same, activation: Activation::Relu }
    );
    for add in model.operators.iter().filter(|o| matches!(o.kind, OpKind::Add { .. })) {
        assert_eq!(add.kind, OpKind::Add { activation: Activation::Relu });
    }

    let pool = model.operators.iter().find(|o| matches!(o.kind, OpKind::AveragePool2d { .. })).unwrap();
    assert_eq!(
        pool.kind,
        OpKind::AveragePool2d { filter: [8, 8], stride: [8, 8], padding: Padding::Valid, activation: Activation::None }
    );
    let last = model.operators.last().unwrap();
    assert_eq!(last.kind, OpKind::Softmax { beta: 1.0 });
}

#[test]
fn kws_structure() {
    let Some(path) = require_model_file("kws_structure", "kws_ref_model_float32.tflite") else { return };
    let model = import(&path).unwrap();

    assert_eq!(input_shape(&model), [1, 49, 10, 1]);
    assert_eq!(output_shape(&model), [1, 12]);
    // DS-CNN: a 10x4 convolution, four depthwise-separable blocks, average pooling and a
    // 12-way classifier.
    let expected = HashMap::from([
        ("CONV_2D", 5),
        ("DEPTHWISE_CONV_2D", 4),
        ("AVERAGE_POOL_2D", 1),
        ("RESHAPE", 1),
        ("FULLY_CONNECTED", 1),
        ("SOFTMAX", 1),
    ]);
    assert_eq!(count_kinds(&model), expected);

    let first = &model.operators[0];
    assert_eq!(
        first.kind,
        OpKind::Conv2d { stride: [2, 2], dilation: [1, 1], padding: Padding::Same, activation: Activation::Relu }
    );
    assert_eq!(shape_of(&model, first.inputs[1].unwrap()), [64, 10, 4, 1], "10x4 filter, 64 outputs (OHWI)");
    assert_eq!(shape_of(&model, first.outputs[0]), [1, 25, 5, 64]);

    for depthwise in model.operators.iter().filter(|o| matches!(o.kind, OpKind::DepthwiseConv2d { .. })) {
        assert_eq!(
            depthwise.kind,
            OpKind::DepthwiseConv2d {
                stride: [1, 1],
                dilation: [1, 1],
                padding: Padding::Same,
                depth_multiplier: 1,
                activation: Activation::Relu
            }
        );
        assert_eq!(shape_of(&model, depthwise.inputs[1].unwrap()), [1, 3, 3, 64], "depthwise filter");
    }

    let pool = model.operators.iter().find(|o| matches!(o.kind, OpKind::AveragePool2d { .. })).unwrap();
    assert_eq!(
        pool.kind,
        OpKind::AveragePool2d {
            filter: [25, 5],
            stride: [25, 5],
            padding: Padding::Valid,
            activation: Activation::None
        }
    );

    // RESHAPE keeps only its data input; the int32 shape constant is not decoded.
    let reshape = model.operators.iter().find(|o| o.kind == OpKind::Reshape).unwrap();
    assert_eq!(reshape.inputs.len(), 1);
    assert_eq!(shape_of(&model, reshape.outputs[0]), [1, 64]);
}

#[test]
fn vww_structure() {
    let Some(path) = require_model_file("vww_structure", "vww_96_float.tflite") else { return };
    let model = import(&path).unwrap();

    assert_eq!(input_shape(&model), [1, 96, 96, 3]);
    assert_eq!(output_shape(&model), [1, 2]);
    // MobileNetV1: a stem convolution, 13 depthwise + pointwise pairs, pooling, classifier.
    let expected = HashMap::from([
        ("CONV_2D", 14),
        ("DEPTHWISE_CONV_2D", 13),
        ("AVERAGE_POOL_2D", 1),
        ("RESHAPE", 1),
        ("FULLY_CONNECTED", 1),
        ("SOFTMAX", 1),
    ]);
    assert_eq!(count_kinds(&model), expected);

    let stem = &model.operators[0];
    assert!(matches!(stem.kind, OpKind::Conv2d { stride: [2, 2], padding: Padding::Same, .. }), "{:?}", stem.kind);
    assert_eq!(shape_of(&model, stem.inputs[1].unwrap()), [8, 3, 3, 3], "width 0.25: 8 stem filters");

    let depthwise: Vec<_> =
        model.operators.iter().filter(|o| matches!(o.kind, OpKind::DepthwiseConv2d { .. })).collect();
    let strided = depthwise.iter().filter(|o| matches!(o.kind, OpKind::DepthwiseConv2d { stride: [2, 2], .. })).count();
    assert_eq!(strided, 4, "MobileNetV1 downsamples in depthwise layers 2, 4, 6 and 12");
    for operator in &depthwise {
        assert!(matches!(operator.kind, OpKind::DepthwiseConv2d { depth_multiplier: 1, .. }), "{:?}", operator.kind);
    }
    // Spatial size 96 -> 48 (stem) -> 3 after the four strided depthwise layers.
    let pool = model.operators.iter().find(|o| matches!(o.kind, OpKind::AveragePool2d { .. })).unwrap();
    assert_eq!(shape_of(&model, pool.inputs[0].unwrap()), [1, 3, 3, 256]);
}

#[test]
fn weights_match_npz() {
    let cases = [
        ("ad01_fp32.tflite", "weights/ad01_fp32.npz"),
        ("pretrainedResnet.tflite", "weights/pretrainedResnet.npz"),
        ("kws_ref_model_float32.tflite", "weights/kws_ref_model_float32.npz"),
        ("vww_96_float.tflite", "weights/vww_96_float.npz"),
    ];
    for (model_file, npz_file) in cases {
        let Some(model_path) = require_model_file("weights_match_npz", model_file) else { continue };
        let Some(npz_path) = require_model_file("weights_match_npz", npz_file) else { continue };
        let model = import(&model_path).unwrap();
        let difference = assert_weights_match_npz(&model, &npz_path);
        eprintln!("{model_file}: max |imported - npz| = {difference:e}");
        // The npz contains float32 values, and the dequantised kws kernels are one f32
        // product each, so only float rounding may differ.
        assert!(difference <= 1e-6, "{model_file}: max difference {difference}");
    }
}

#[test]
fn kws_dequantized_model_matches_hybrid() {
    let Some(hybrid_path) = require_model_file("kws_dequantized_model_matches_hybrid", "kws_ref_model_float32.tflite")
    else {
        return;
    };
    let Some(float_path) =
        require_model_file("kws_dequantized_model_matches_hybrid", "kws_ref_model_float32_dequantized.tflite")
    else {
        return;
    };
    let hybrid = import(&hybrid_path).unwrap();
    let float = import(&float_path).unwrap();

    assert_eq!(count_kinds(&hybrid), count_kinds(&float));
    let mut compared = 0;
    let mut max_difference = 0.0f32;
    for tensor in float.tensors.iter().filter(|t| t.data.is_some()) {
        let twin = hybrid.tensors.iter().find(|t| t.name == tensor.name).unwrap();
        assert_eq!(twin.shape, tensor.shape, "shape of '{}'", tensor.name);
        let difference = max_abs_difference(twin.data.as_ref().unwrap(), tensor.data.as_ref().unwrap());
        max_difference = max_difference.max(difference);
        compared += 1;
    }
    eprintln!("kws hybrid vs dequantised model: {compared} constants, max difference {max_difference:e}");
    assert_eq!(compared, 20, "9 kernels, 9 biases, the classifier's weights and bias");
    assert!(max_difference <= 1e-6, "max difference {max_difference}");
}

// ---------------------------------------------------------------------------------------
// Rejected files
// ---------------------------------------------------------------------------------------

#[test]
fn missing_file_is_not_found() {
    let path = PathBuf::from("/nonexistent/model.tflite");
    let error = import(&path).unwrap_err();
    assert!(matches!(error, ImportError::NotFound { .. }), "{error:?}");
    assert!(error.to_string().contains("/nonexistent/model.tflite"), "{error}");
}

#[test]
fn empty_file_is_invalid() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let error = import(file.path()).unwrap_err();
    assert!(matches!(error, ImportError::InvalidFlatbuffer { .. }), "{error:?}");
    assert!(error.to_string().contains(&file.path().display().to_string()), "{error}");
    assert!(error.to_string().contains("empty"), "{error}");
}

#[test]
fn random_bytes_are_invalid() {
    let mut rng = Lcg(7);
    for length in [1, 7, 8, 64, 1000, 65536] {
        let bytes: Vec<u8> = (0..length).map(|_| rng.next_u64() as u8).collect();
        let error = import_bytes(&bytes, Path::new("noise.bin")).unwrap_err();
        assert!(matches!(error, ImportError::InvalidFlatbuffer { .. }), "length {length}: {error:?}");
        assert!(error.to_string().starts_with("noise.bin: "), "{error}");
    }
}

#[test]
fn truncated_models_are_rejected() {
    let Some(path) = require_model_file("truncated_models_are_rejected", "kws_ref_model_float32.tflite") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let mut lengths: Vec<usize> = vec![1, 4, 8, 12, 16, 32, 100, 1000, bytes.len() / 2, bytes.len() - 1];
    lengths.extend((1..64).map(|i| bytes.len() * i / 64));
    for length in lengths {
        let result = import_bytes(&bytes[..length], &path);
        let error = result.expect_err(&format!("truncated at {length} bytes"));
        assert!(matches!(error, ImportError::InvalidFlatbuffer { .. }), "truncated at {length}: {error:?}");
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    // Overwrite random bytes of valid models. The verifier catches broken offsets, and
    // the importer's own checks catch values that verify but make no sense (indices,
    // shapes, sizes). Any panic fails the test.
    let mut models = vec![build_model(&dense_spec()), build_model(&max_pool_spec())];
    if let Some(path) = require_model_file("corrupted_bytes_never_panic", "kws_ref_model_float32.tflite") {
        models.push(std::fs::read(path).unwrap());
    }
    let mut rng = Lcg(11);
    let mut rejected = 0;
    let mut trials = 0;
    for bytes in &models {
        for _ in 0..400 {
            let mut corrupted = bytes.clone();
            for _ in 0..1 + rng.next_u64() % 4 {
                let position = (rng.next_u64() % corrupted.len() as u64) as usize;
                corrupted[position] = rng.next_u64() as u8;
            }
            trials += 1;
            if import_bytes(&corrupted, Path::new("corrupted.tflite")).is_err() {
                rejected += 1;
            }
        }
    }
    eprintln!("corrupted models: {rejected} of {trials} rejected");
    assert!(rejected > 0, "no corrupted model was rejected");
}

#[test]
fn fully_int8_model_is_rejected() {
    let Some(path) = require_model_file("fully_int8_model_is_rejected", "ad01_int8.tflite") else { return };
    let error = import(&path).unwrap_err();
    match &error {
        ImportError::FullyQuantized { tensor, name, dtype, .. } => {
            assert_eq!((*tensor, name.as_str(), dtype.as_str()), (0, "input_1", "INT8"));
        }
        other => panic!("expected FullyQuantized, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("ad01_int8.tflite"), "{message}");
    assert!(message.contains("fully quantised models are not supported yet; use the float model"), "{message}");
}

#[test]
fn unsupported_operator_is_named() {
    let mut spec = dense_spec();
    spec.tensors.push(activation("squashed", &[1, 3]));
    spec.operators.push(op(fb::BuiltinOperator::TANH, &[3], &[4], OptionsSpec::None));
    spec.outputs = vec![4];
    let error = import_spec(&spec).unwrap_err();
    assert!(
        matches!(&error, ImportError::UnsupportedOperator { operator: 1, op_name, .. } if op_name == "TANH"),
        "{error:?}"
    );
    assert!(error.to_string().contains("operator #1 (TANH)"), "{error}");
    assert!(error.to_string().starts_with("built.tflite: "), "{error}");

    let mut custom = dense_spec();
    custom.tensors.push(activation("custom_out", &[1, 3]));
    let mut custom_op = op(fb::BuiltinOperator::CUSTOM, &[3], &[4], OptionsSpec::None);
    custom_op.custom_code = Some("MyOp");
    custom.operators.push(custom_op);
    let error = import_spec(&custom).unwrap_err();
    assert!(error.to_string().contains("operator #1 (CUSTOM (MyOp))"), "{error}");

    // GELU (150) does not fit deprecated_builtin_code, which contains the placeholder 127.
    let mut gelu = dense_spec();
    gelu.tensors.push(activation("gelu_out", &[1, 3]));
    gelu.operators.push(op(fb::BuiltinOperator::GELU, &[3], &[4], OptionsSpec::None));
    let error = import_spec(&gelu).unwrap_err();
    assert!(error.to_string().contains("operator #1 (GELU)"), "{error}");
}

#[test]
fn unsupported_activation_is_named() {
    let mut spec = max_pool_spec();
    spec.operators[0].options = OptionsSpec::Pool {
        filter: [2, 3],
        stride: [2, 1],
        padding: fb::Padding::VALID,
        activation: fb::ActivationFunctionType::TANH,
    };
    let error = import_spec(&spec).unwrap_err();
    assert!(
        matches!(&error, ImportError::UnsupportedActivation { operator: 0, activation, .. } if activation == "TANH"),
        "{error:?}"
    );
    assert!(error.to_string().contains("operator #0 (MAX_POOL_2D)"), "{error}");
}

#[test]
fn two_subgraphs_are_rejected() {
    let mut spec = max_pool_spec();
    spec.subgraphs = 2;
    let error = import_spec(&spec).unwrap_err();
    assert!(matches!(error, ImportError::SubgraphCount { count: 2, .. }), "{error:?}");
}

#[test]
fn tensor_index_out_of_range_is_rejected() {
    let mut spec = max_pool_spec();
    spec.operators[0].inputs = vec![99];
    let error = import_spec(&spec).unwrap_err();
    assert!(matches!(error, ImportError::TensorIndexOutOfRange { index: 99, count: 2, .. }), "{error:?}");
    assert!(error.to_string().contains("operator #0 (MAX_POOL_2D)"), "{error}");

    let mut spec = max_pool_spec();
    spec.outputs = vec![5];
    let error = import_spec(&spec).unwrap_err();
    assert!(matches!(error, ImportError::TensorIndexOutOfRange { index: 5, .. }), "{error:?}");

    // -1 is only allowed for an omitted optional input, never as an output.
    let mut spec = max_pool_spec();
    spec.operators[0].outputs = vec![-1];
    let error = import_spec(&spec).unwrap_err();
    assert!(matches!(error, ImportError::TensorIndexOutOfRange { index: -1, .. }), "{error:?}");
}

#[test]
fn buffer_index_out_of_range_is_rejected() {
    let mut spec = dense_spec();
    spec.tensors[1].buffer = Some(42);
    let error = import_spec(&spec).unwrap_err();
    assert!(
        matches!(&error, ImportError::BufferIndexOutOfRange { tensor: 1, buffer: 42, name, .. } if name == "weights"),
        "{error:?}"
    );
    assert!(error.to_string().contains("tensor #1 'weights'"), "{error}");
}

#[test]
fn buffer_size_mismatch_is_rejected() {
    let mut spec = dense_spec();
    spec.tensors[1].data.as_mut().unwrap().truncate(44);
    let error = import_spec(&spec).unwrap_err();
    assert!(matches!(error, ImportError::BufferSizeMismatch { tensor: 1, expected: 48, actual: 44, .. }), "{error:?}");
    assert!(error.to_string().contains("tensor #1 'weights'"), "{error}");

    // A constant that no operator reads is checked too: 3 int32 values need 12 bytes.
    let mut unused = dense_spec();
    unused.tensors.push(TensorSpec {
        dtype: fb::TensorType::INT32,
        data: Some(vec![0; 10]),
        ..activation("unused", &[3])
    });
    let error = import_spec(&unused).unwrap_err();
    assert!(matches!(error, ImportError::BufferSizeMismatch { tensor: 4, expected: 12, actual: 10, .. }), "{error:?}");
}

#[test]
fn dynamic_shapes_are_rejected_except_batch() {
    let mut batch = max_pool_spec();
    batch.tensors[0].signature = Some(vec![-1, 8, 8, 3]);
    batch.tensors[1].signature = Some(vec![-1, 4, 6, 3]);
    let model = import_spec(&batch).unwrap();
    assert_eq!(input_shape(&model), [1, 8, 8, 3]);

    let mut dynamic = max_pool_spec();
    dynamic.tensors[0].signature = Some(vec![-1, -1, 8, 3]);
    let error = import_spec(&dynamic).unwrap_err();
    assert!(matches!(&error, ImportError::DynamicShape { tensor: 0, name, .. } if name == "input"), "{error:?}");
    assert!(error.to_string().contains("tensor #0 'input'"), "{error}");
}

#[test]
fn int64_weights_are_rejected() {
    let mut spec = dense_spec();
    spec.tensors[1].dtype = fb::TensorType::INT64;
    spec.tensors[1].data = Some(vec![0; 12 * 8]);
    let error = import_spec(&spec).unwrap_err();
    assert!(
        matches!(&error, ImportError::UnsupportedTensorType { tensor: 1, dtype, .. } if dtype == "INT64"),
        "{error:?}"
    );
    assert!(error.to_string().contains("tensor #1 'weights'"), "{error}");
    assert!(error.to_string().contains("operator #0 (FULLY_CONNECTED)"), "{error}");
}

#[test]
fn int8_activation_is_fully_quantized() {
    let mut spec = dense_spec();
    spec.tensors[3].dtype = fb::TensorType::INT8;
    spec.tensors[3].quantization = Some((vec![0.1], vec![0], 0));
    let error = import_spec(&spec).unwrap_err();
    assert!(matches!(error, ImportError::FullyQuantized { tensor: 3, .. }), "{error:?}");
}

#[test]
fn conv_without_options_is_invalid() {
    let spec = ModelSpec {
        tensors: vec![
            activation("input", &[1, 4, 4, 1]),
            float_constant("filter", &[2, 1, 1, 1], &[1.0, 2.0]),
            activation("output", &[1, 4, 4, 2]),
        ],
        operators: vec![op(fb::BuiltinOperator::CONV_2D, &[0, 1, -1], &[2], OptionsSpec::None)],
        inputs: vec![0],
        outputs: vec![2],
        subgraphs: 1,
    };
    let error = import_spec(&spec).unwrap_err();
    assert!(matches!(error, ImportError::InvalidOperator { operator: 0, .. }), "{error:?}");
    assert!(error.to_string().contains("operator #0 (CONV_2D)"), "{error}");
}

// ---------------------------------------------------------------------------------------
// Synthetic models that import
// ---------------------------------------------------------------------------------------

#[test]
fn max_pool_options_are_imported() {
    let model = import_spec(&max_pool_spec()).unwrap();
    assert_eq!(model.operators.len(), 1);
    assert_eq!(
        model.operators[0].kind,
        OpKind::MaxPool2d { filter: [2, 3], stride: [2, 1], padding: Padding::Valid, activation: Activation::Relu6 }
    );
    assert_eq!(model.operators[0].inputs, [Some(0)]);
    assert_eq!(model.operators[0].outputs, [1]);
    assert_eq!(output_shape(&model), [1, 4, 6, 3]);
}

#[test]
fn max_pool_output_size_is_checked() {
    let mut spec = max_pool_spec();
    spec.tensors[1].shape = vec![1, 4, 4, 3];
    let error = import_spec(&spec).unwrap_err();
    assert!(matches!(error, ImportError::InvalidOperator { operator: 0, .. }), "{error:?}");
}

#[test]
fn optional_bias_is_none() {
    let mut spec = dense_spec();
    spec.operators[0].inputs = vec![0, 1, -1];
    let model = import_spec(&spec).unwrap();
    assert_eq!(model.operators[0].inputs, [Some(0), Some(1), None]);
    assert_eq!(model.tensors[2].data, None, "the unused bias is not decoded");
}

#[test]
fn per_channel_int8_conv_is_dequantized() {
    // Hybrid CONV_2D: int8 filter [3, 2, 1, 2] (OHWI), one scale and zero point per output
    // channel along dimension 0.
    let q: Vec<i8> = vec![-128, -3, 0, 127, 5, -5, 64, -64, 1, 2, 3, 4];
    let scales = [0.5f32, 0.01, 2.0];
    let zero_points = [0i64, 3, -2];
    let filter = TensorSpec {
        dtype: fb::TensorType::INT8,
        data: Some(q.iter().map(|&v| v as u8).collect()),
        quantization: Some((scales.to_vec(), zero_points.to_vec(), 0)),
        ..activation("filter", &[3, 2, 1, 2])
    };
    let spec = ModelSpec {
        tensors: vec![
            activation("input", &[1, 5, 5, 2]),
            filter,
            float_constant("bias", &[3], &[0.0, 1.0, 2.0]),
            activation("output", &[1, 5, 5, 3]),
        ],
        operators: vec![op(
            fb::BuiltinOperator::CONV_2D,
            &[0, 1, 2],
            &[3],
            OptionsSpec::Conv2d {
                stride: [1, 1],
                padding: fb::Padding::SAME,
                activation: fb::ActivationFunctionType::NONE,
            },
        )],
        inputs: vec![0],
        outputs: vec![3],
        subgraphs: 1,
    };
    let model = import_spec(&spec).unwrap();

    // Each output channel is 2 * 1 * 2 = 4 consecutive values.
    let expected: Vec<f32> = q
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let channel = i / 4;
            (f32::from(v) - zero_points[channel] as f32) * scales[channel]
        })
        .collect();
    assert_eq!(model.tensors[1].data.as_deref(), Some(expected.as_slice()));
}

#[test]
fn per_channel_scale_count_is_checked() {
    let mut spec = dense_spec();
    spec.tensors[1] = TensorSpec {
        dtype: fb::TensorType::INT8,
        data: Some(vec![1; 12]),
        quantization: Some((vec![0.1, 0.2], vec![0, 0], 0)),
        ..activation("weights", &[3, 4])
    };
    let error = import_spec(&spec).unwrap_err();
    assert!(matches!(error, ImportError::InvalidQuantization { tensor: 1, .. }), "{error:?}");
}

#[test]
fn dequantize_of_constant_is_folded() {
    // int8 weights -> DEQUANTIZE -> float weights -> FULLY_CONNECTED.
    let q: Vec<i8> = (0..12).map(|i| (i * 20 - 110) as i8).collect();
    let spec = ModelSpec {
        tensors: vec![
            activation("input", &[1, 4]),
            TensorSpec {
                dtype: fb::TensorType::INT8,
                data: Some(q.iter().map(|&v| v as u8).collect()),
                quantization: Some((vec![0.05], vec![10], 0)),
                ..activation("weights_int8", &[3, 4])
            },
            activation("weights", &[3, 4]),
            activation("output", &[1, 3]),
        ],
        operators: vec![
            op(fb::BuiltinOperator::DEQUANTIZE, &[1], &[2], OptionsSpec::None),
            op(
                fb::BuiltinOperator::FULLY_CONNECTED,
                &[0, 2, -1],
                &[3],
                OptionsSpec::FullyConnected { activation: fb::ActivationFunctionType::NONE },
            ),
        ],
        inputs: vec![0],
        outputs: vec![3],
        subgraphs: 1,
    };
    let model = import_spec(&spec).unwrap();
    assert_eq!(model.operators.len(), 1, "DEQUANTIZE is folded away");
    assert_eq!(model.operators[0].index, 1, "the FULLY_CONNECTED keeps its index in the file");
    assert_eq!(model.operators[0].inputs, [Some(0), Some(2), None]);
    let expected: Vec<f32> = q.iter().map(|&v| (f32::from(v) - 10.0) * 0.05).collect();
    assert_eq!(model.tensors[2].data.as_deref(), Some(expected.as_slice()));
}

#[test]
fn depthwise_multiplier_follows_shapes() {
    // Input with 2 channels and a [1, 3, 3, 6] filter: multiplier 3.
    let spec = |multiplier: i32| ModelSpec {
        tensors: vec![
            activation("input", &[1, 6, 6, 2]),
            float_constant("filter", &[1, 3, 3, 6], &[0.5; 54]),
            activation("output", &[1, 3, 3, 6]),
        ],
        operators: vec![op(
            fb::BuiltinOperator::DEPTHWISE_CONV_2D,
            &[0, 1],
            &[2],
            OptionsSpec::Depthwise { stride: [2, 2], multiplier, activation: fb::ActivationFunctionType::RELU },
        )],
        inputs: vec![0],
        outputs: vec![2],
        subgraphs: 1,
    };
    let model = import_spec(&spec(3)).unwrap();
    assert_eq!(
        model.operators[0].kind,
        OpKind::DepthwiseConv2d {
            stride: [2, 2],
            dilation: [1, 1],
            padding: Padding::Same,
            depth_multiplier: 3,
            activation: Activation::Relu
        }
    );
    let error = import_spec(&spec(2)).unwrap_err();
    assert!(matches!(error, ImportError::InvalidOperator { operator: 0, .. }), "{error:?}");
}

// ---------------------------------------------------------------------------------------
// Reference runtime
// ---------------------------------------------------------------------------------------

/// Runs the first `rows` inputs through tract and compares each output row with the
/// TFLite interpreter's within 1e-4 of the row's largest magnitude.
fn check_reference(test: &str, model_file: &str, inputs_file: &str, expected_file: &str, rows: usize) {
    let Some(model_path) = require_model_file(test, model_file) else { return };
    let Some(inputs_path) = require_model_file(test, inputs_file) else { return };
    let Some(expected_path) = require_model_file(test, expected_file) else { return };
    let (input_dims, inputs) = read_npy(&inputs_path);
    let (expected_dims, expected) = read_npy(&expected_path);
    let input_size: usize = input_dims[1..].iter().product();
    let output_size: usize = expected_dims[1..].iter().product();
    let mut shape = input_dims.clone();
    shape[0] = 1;

    for row in 0..rows {
        let input = &inputs[row * input_size..(row + 1) * input_size];
        let outputs = run_tract(&model_path, input, &shape).unwrap();
        assert_eq!(outputs.len(), 1, "{model_file}: outputs");
        let want = &expected[row * output_size..(row + 1) * output_size];
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let difference = max_abs_difference(&outputs[0], want);
        eprintln!("{model_file} row {row}: max difference {difference:e}, row max {scale:e}");
        assert!(difference <= 1e-4 * scale, "{model_file} row {row}: difference {difference} > 1e-4 * {scale}");
    }
}

#[test]
fn tract_matches_tflite_ad01() {
    check_reference(
        "tract_matches_tflite_ad01",
        "ad01_fp32.tflite",
        "inputs/ad01_rows.npy",
        "expected/ad01_fp32__ad01_rows.npy",
        3,
    );
}

#[test]
fn tract_matches_tflite_resnet() {
    check_reference(
        "tract_matches_tflite_resnet",
        "pretrainedResnet.tflite",
        "inputs/resnet8_crops.npy",
        "expected/pretrainedResnet__resnet8_crops.npy",
        3,
    );
}

#[test]
fn tract_matches_tflite_vww() {
    check_reference(
        "tract_matches_tflite_vww",
        "vww_96_float.tflite",
        "inputs/vww_crops.npy",
        "expected/vww_96_float__vww_crops.npy",
        3,
    );
}

#[test]
fn tract_matches_tflite_kws_dequantized() {
    check_reference(
        "tract_matches_tflite_kws_dequantized",
        "kws_ref_model_float32_dequantized.tflite",
        "inputs/kws_mfcc.npy",
        "expected/kws_ref_model_float32_dequantized__kws_mfcc.npy",
        3,
    );
}

#[test]
fn tract_rejects_hybrid_kws() {
    let Some(path) = require_model_file("tract_rejects_hybrid_kws", "kws_ref_model_float32.tflite") else { return };
    let error = run_tract(&path, &[0.0; 490], &[1, 49, 10, 1]).unwrap_err();
    assert!(matches!(error, ReferenceError::HybridModel { .. }), "{error:?}");
    assert!(error.to_string().contains("kws_ref_model_float32.tflite"), "{error}");
    assert!(error.to_string().contains("dequantised"), "{error}");
}

#[test]
fn reference_checks_input_shape_and_length() {
    let Some(path) = require_model_file("reference_checks_input_shape_and_length", "ad01_fp32.tflite") else {
        return;
    };
    let error = run_tract(&path, &[0.0; 640], &[640]).unwrap_err();
    assert!(matches!(error, ReferenceError::InputShape { .. }), "{error:?}");

    let model = ReferenceModel::load(&path).unwrap();
    assert_eq!(model.input_shape(), [1, 640]);
    let error = model.run(&[0.0; 639]).unwrap_err();
    assert!(matches!(error, ReferenceError::InputLength { expected: 640, actual: 639, .. }), "{error:?}");

    let error = ReferenceModel::load(Path::new("/nonexistent/model.tflite")).unwrap_err();
    assert!(matches!(error, ReferenceError::NotFound { .. }), "{error:?}");
}

#[test]
fn reference_runs_built_max_pool() {
    // The synthetic MAX_POOL_2D model, run by tract, against a direct computation.
    let bytes = build_model(&max_pool_spec());
    let file = tempfile::Builder::new().suffix(".tflite").tempfile().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();

    let mut rng = Lcg(3);
    let input: Vec<f32> = (0..8 * 8 * 3).map(|_| rng.next_f32() * 8.0).collect();
    let outputs = run_tract(file.path(), &input, &[1, 8, 8, 3]).unwrap();

    let at = |y: usize, x: usize, c: usize| input[(y * 8 + x) * 3 + c];
    let mut expected = Vec::new();
    for oy in 0..4 {
        for ox in 0..6 {
            for c in 0..3 {
                let mut max = f32::NEG_INFINITY;
                for dy in 0..2 {
                    for dx in 0..3 {
                        max = max.max(at(oy * 2 + dy, ox + dx, c));
                    }
                }
                expected.push(max.clamp(0.0, 6.0));
            }
        }
    }
    assert_eq!(outputs, vec![expected]);
}
