//! Tests of the `hyperc` binary: encode, inspect and decode on a fresh folder per test,
//! and the exit codes, messages and files left behind on bad input.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hyperc::io::{read_npz, write_npz, NamedTensor};
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------

/// Runs the binary built for this test in `folder` with `args`.
fn hyperc(folder: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hyperc")).current_dir(folder).args(args).output().expect("the hyperc binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed with {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        stdout(output),
        stderr(output)
    );
}

/// Checks a failure reported by `run` (exit code 1), whose message names `file`.
fn assert_run_failure(output: &Output, file: &str) -> String {
    let message = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stderr: {message}");
    assert!(message.starts_with("hyperc: error: "), "stderr: {message}");
    assert!(message.contains(file), "stderr does not name {file}: {message}");
    assert!(stdout(output).is_empty(), "stdout on failure: {}", stdout(output));
    assert_no_repeated_part(&message);
    message
}

/// Checks a command-line usage error reported by clap (exit code 2).
fn assert_usage_error(output: &Output, option: &str) {
    let message = stderr(output);
    assert_eq!(output.status.code(), Some(2), "stderr: {message}");
    assert!(message.starts_with("error: "), "stderr: {message}");
    assert!(message.contains(option), "stderr does not name {option}: {message}");
}

fn entries(folder: &Path) -> BTreeSet<String> {
    fs::read_dir(folder).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

/// SplitMix64 Gaussian values with standard deviation 0.05, reproducible from `seed`.
fn gaussian(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..len)
        .map(|_| {
            let u1 = 1.0 - next();
            let u2 = next();
            (0.05 * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
        })
        .collect()
}

/// Input tensors with '/' and ';' in their names, one of them too small to encode.
fn sample_tensors() -> Vec<NamedTensor> {
    let tensor = |name: &str, shape: &[usize], seed: u64| NamedTensor {
        name: name.to_string(),
        shape: shape.to_vec(),
        data: gaussian(shape.iter().product(), seed),
    };
    vec![
        tensor("block1/conv;weight", &[16, 3, 3, 3], 1),
        tensor("dense/kernel", &[64, 40], 2),
        tensor("bias", &[10], 3),
        tensor("odd/rows", &[7, 9], 4),
    ]
}

fn write_input(folder: &Path, name: &str, tensors: &[NamedTensor]) -> PathBuf {
    let path = folder.join(name);
    write_npz(&path, tensors).unwrap();
    path
}

fn parse_json(output: &Output) -> Value {
    serde_json::from_str(&stdout(output)).unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", stdout(output)))
}

/// Reads a float32 field: JSON holds its shortest decimal form, which only rounds back to
/// the same value as an f32.
fn float32(value: &Value, field: &str) -> f64 {
    f64::from(number(value, field) as f32)
}

fn number(value: &Value, field: &str) -> f64 {
    value[field].as_f64().unwrap_or_else(|| panic!("field {field} missing or not a number in {value}"))
}

// ---------------------------------------------------------------------------------------
// Successful runs.
// ---------------------------------------------------------------------------------------

#[test]
fn encode_inspect_decode_round_trip() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let tensors = sample_tensors();
    write_input(dir, "in.npz", &tensors);
    let weights: usize = tensors.iter().map(|t| t.data.len()).sum();

    let output = hyperc(dir, &["encode", "in.npz", "-o", "out.hcm"]);
    assert_success(&output, "encode");
    assert!(stdout(&output).contains("out.hcm"), "{}", stdout(&output));
    assert_eq!(entries(dir), BTreeSet::from(["in.npz".to_string(), "out.hcm".to_string()]));
    let container_len = fs::metadata(dir.join("out.hcm")).unwrap().len();
    let container_bytes = container_len as f64;

    // Text table: a header, one row per tensor, and the totals.
    let output = hyperc(dir, &["inspect", "out.hcm"]);
    assert_success(&output, "inspect");
    let text = stdout(&output);
    for tensor in &tensors {
        let rows = text.lines().filter(|line| line.ends_with(&format!("  {}", tensor.name))).count();
        assert_eq!(rows, 1, "tensor {} should have one row:\n{text}", tensor.name);
    }
    let total = text.lines().find(|line| line.starts_with("total:")).expect("a totals line");
    assert!(total.contains("bits/weight"), "{total}");
    assert!(total.contains(&format!("{} tensors", tensors.len())), "{total}");
    assert!(total.contains(&format!("{weights} weights")), "{total}");
    assert!(total.contains(&format!("{container_len} bytes")), "{total}");
    let ratio = text.lines().find(|line| line.starts_with("ratio:")).expect("a ratio line");
    assert!(ratio.contains("float32"), "{ratio}");
    assert!(ratio.contains("int8"), "{ratio}");
    assert!(ratio.contains(&format!("{:.2}x", weights as f64 * 4.0 / container_bytes)), "{ratio}");

    // JSON: totals match the file and the input, tensors are listed in input order.
    let output = hyperc(dir, &["inspect", "out.hcm", "--json"]);
    assert_success(&output, "inspect --json");
    let summary = parse_json(&output);
    assert_eq!(summary["file"], "out.hcm");
    assert_eq!(number(&summary, "container_bytes"), container_bytes);
    assert_eq!(number(&summary, "weights"), weights as f64);
    let bits = number(&summary, "bits_per_weight");
    assert!((bits - container_bytes * 8.0 / weights as f64).abs() < 1e-9, "{bits}");
    assert!((number(&summary, "ratio_to_float32") - 32.0 / bits).abs() < 1e-9);
    assert!((number(&summary, "ratio_to_int8") - 8.0 / bits).abs() < 1e-9);
    assert!(number(&summary, "mean_rel_mse") >= 0.0);
    let listed = summary["tensors"].as_array().expect("a tensors array");
    assert_eq!(listed.len(), tensors.len());
    let mut bounds = Vec::new();
    for (entry, tensor) in listed.iter().zip(&tensors) {
        assert_eq!(entry["name"], tensor.name.as_str());
        let shape: Vec<usize> =
            entry["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        assert_eq!(shape, tensor.shape);
        assert_eq!(number(entry, "weights"), tensor.data.len() as f64);
        for field in ["bits_per_weight", "rel_mse", "max_abs_error", "bytes"] {
            assert!(number(entry, field) >= 0.0, "{field} of {}", tensor.name);
        }
        let storage = entry["storage"].as_str().unwrap();
        if tensor.data.len() < hyperc::codec::MIN_ENCODED_VALUES {
            assert_eq!(storage, "raw", "{}", tensor.name);
            assert!(entry["codebook"].is_null());
        } else {
            assert_eq!(storage, "hyper", "{}", tensor.name);
            for field in ["inner", "rings", "index_bits", "groups"] {
                assert!(entry["codebook"][field].is_u64(), "codebook.{field} of {}", tensor.name);
            }
            assert!(number(&entry["codebook"], "index_bits") <= 8.0, "4 bits per weight is 8 bits per pair");
        }
        bounds.push(float32(entry, "max_abs_error"));
    }

    // Decode: names, shapes and every value within the bound listed by inspect.
    let output = hyperc(dir, &["decode", "out.hcm", "-o", "decoded.npz"]);
    assert_success(&output, "decode");
    let decoded = read_npz(&dir.join("decoded.npz")).unwrap();
    assert_eq!(decoded.len(), tensors.len());
    for ((back, original), bound) in decoded.iter().zip(&tensors).zip(&bounds) {
        assert_eq!(back.name, original.name);
        assert_eq!(back.shape, original.shape);
        for (index, (&d, &o)) in back.data.iter().zip(&original.data).enumerate() {
            let error = (f64::from(d) - f64::from(o)).abs();
            assert!(error <= *bound, "{} value {index}: error {error} > bound {bound}", original.name);
        }
    }
    assert_eq!(entries(dir), BTreeSet::from(["in.npz".to_string(), "out.hcm".to_string(), "decoded.npz".to_string()]));
}

#[test]
fn encode_json_report_matches_file() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let tensors = sample_tensors();
    write_input(dir, "in.npz", &tensors);
    let output = hyperc(dir, &["encode", "in.npz", "-o", "out.hcm", "--bits", "6", "--json"]);
    assert_success(&output, "encode --json");
    let report = parse_json(&output);
    let bytes = fs::metadata(dir.join("out.hcm")).unwrap().len() as f64;
    let weights: usize = tensors.iter().map(|t| t.data.len()).sum();
    assert_eq!(number(&report, "tensors"), tensors.len() as f64);
    assert_eq!(number(&report, "encoded_tensors"), 3.0, "all but the 10-value bias are encoded");
    assert_eq!(number(&report, "weights"), weights as f64);
    assert_eq!(number(&report, "bytes"), bytes);
    assert!((number(&report, "bits_per_weight") - bytes * 8.0 / weights as f64).abs() < 1e-9);
    assert!(number(&report, "max_abs_error") > 0.0);
}

#[test]
fn lossless_round_trip_is_exact() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let tensors = sample_tensors();
    write_input(dir, "in.npz", &tensors);
    assert_success(&hyperc(dir, &["encode", "in.npz", "-o", "out.hcm", "--lossless"]), "encode --lossless");
    assert_success(&hyperc(dir, &["decode", "out.hcm", "-o", "back.npz"]), "decode");
    let decoded = read_npz(&dir.join("back.npz")).unwrap();
    assert_eq!(decoded, tensors);
}

#[test]
fn tflite_is_recognised_by_content() {
    // A model saved under another extension is still read as TFLite, by its identifier.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    fs::copy(repo.join("examples/digits/digits.tflite"), dir.join("digits.model")).unwrap();
    assert_success(&hyperc(dir, &["encode", "digits.model", "-o", "out.hcm"]), "encode");
    let output = hyperc(dir, &["inspect", "out.hcm", "--json"]);
    assert_success(&output, "inspect --json");
    let summary = parse_json(&output);
    assert!(summary["graph"].is_object(), "the container has no graph: {summary}");
}

#[test]
fn empty_tensor_round_trips() {
    // A weights file may keep an array with a zero dimension. It is stored with its shape
    // and comes back unchanged, beside the other tensors.
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let mut tensors = sample_tensors();
    tensors.insert(1, NamedTensor { name: "unused/slot".into(), shape: vec![4, 0, 3], data: Vec::new() });
    write_input(dir, "in.npz", &tensors);
    assert_success(&hyperc(dir, &["encode", "in.npz", "-o", "out.hcm"]), "encode");
    let output = hyperc(dir, &["inspect", "out.hcm", "--json"]);
    assert_success(&output, "inspect --json");
    let summary = parse_json(&output);
    let empty = &summary["tensors"][1];
    assert_eq!(empty["name"], "unused/slot");
    assert_eq!(number(empty, "weights"), 0.0);
    assert_eq!(empty["storage"], "raw");
    assert_success(&hyperc(dir, &["decode", "out.hcm", "-o", "back.npz"]), "decode");
    let decoded = read_npz(&dir.join("back.npz")).unwrap();
    let names: Vec<&str> = decoded.iter().map(|t| t.name.as_str()).collect();
    let expected: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, expected);
    assert_eq!(decoded[1], tensors[1]);
}

#[test]
fn presets_encode_and_decode() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let tensors = sample_tensors();
    write_input(dir, "in.npz", &tensors);
    for preset in ["paper-unet", "paper-mobilenet"] {
        let output = hyperc(dir, &["encode", "in.npz", "-o", "out.hcm", "--preset", preset, "--json"]);
        assert_success(&output, preset);
        let bound = float32(&parse_json(&output), "max_abs_error");
        assert_success(&hyperc(dir, &["decode", "out.hcm", "-o", "back.npz"]), "decode");
        let decoded = read_npz(&dir.join("back.npz")).unwrap();
        for (back, original) in decoded.iter().zip(&tensors) {
            assert_eq!(back.name, original.name);
            for (&d, &o) in back.data.iter().zip(&original.data) {
                assert!((f64::from(d) - f64::from(o)).abs() <= bound, "{preset}: {}", original.name);
            }
        }
    }
}

/// Encodes with `args` after the input and output, and returns `inspect --json`'s tensors
/// by name.
fn encode_and_inspect(dir: &Path, input: &str, args: &[&str]) -> std::collections::BTreeMap<String, Value> {
    let mut all = vec!["encode", input, "-o", "out.hcm"];
    all.extend_from_slice(args);
    assert_success(&hyperc(dir, &all), &format!("encode {args:?}"));
    let output = hyperc(dir, &["inspect", "out.hcm", "--json"]);
    assert_success(&output, "inspect --json");
    let summary = parse_json(&output);
    let tensors = summary["tensors"].as_array().unwrap().iter();
    tensors.map(|t| (t["name"].as_str().unwrap().to_string(), t.clone())).collect()
}

fn index_bits(tensor: &Value) -> f64 {
    number(&tensor["codebook"], "index_bits")
}

#[test]
fn tensor_settings_choose_modes() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    fs::copy(repo.join("examples/digits/digits.tflite"), dir.join("digits.tflite")).unwrap();

    // By default both weight tensors are small, so they get 4 + 2 bits: 12 per pair.
    let default = encode_and_inspect(dir, "digits.tflite", &[]);
    assert_eq!(index_bits(&default["dense_1/weights"]), 12.0);
    assert_eq!(index_bits(&default["dense_2/weights"]), 12.0);

    let args = ["--tensor", "dense_1/weights=raw", "--tensor", "dense_2/*=3", "--tensor", "*/bias=raw"];
    let output = hyperc(dir, &[&["encode", "digits.tflite", "-o", "out.hcm"], &args[..]].concat());
    assert_success(&output, "encode");
    // After the summary line, each setting and the tensors it decided.
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            "--tensor dense_1/weights=raw: dense_1/weights",
            "--tensor dense_2/*=3: dense_2/weights",
            "--tensor */bias=raw: dense_1/bias, dense_2/bias"
        ]
    );
    let chosen = encode_and_inspect(dir, "digits.tflite", &args);
    assert_eq!(chosen["dense_1/weights"]["storage"], "raw");
    assert_eq!(chosen["dense_1/weights"]["max_abs_error"], 0.0);
    let bits = index_bits(&chosen["dense_2/weights"]);
    assert!((1.0..=6.0).contains(&bits), "dense_2/weights at 3 bits per weight has {bits} bits per pair");
    assert_eq!(chosen["dense_1/bias"]["storage"], "raw");

    // The last matching setting wins, and the others keep the default.
    let chosen = encode_and_inspect(dir, "digits.tflite", &["--tensor", "*=2", "--tensor", "dense_2/weights=5"]);
    assert!(index_bits(&chosen["dense_1/weights"]) <= 4.0);
    let bits = index_bits(&chosen["dense_2/weights"]);
    assert!(bits > 4.0, "dense_2/weights at 5 bits per weight has only {bits} bits per pair");
    assert!(bits <= 10.0, "dense_2/weights at 5 bits per weight has {bits} bits per pair");

    // Weights files take the same settings.
    write_input(dir, "in.npz", &sample_tensors());
    let default = encode_and_inspect(dir, "in.npz", &[]);
    let chosen = encode_and_inspect(dir, "in.npz", &["--tensor", "dense/kernel=2"]);
    assert!(index_bits(&chosen["dense/kernel"]) <= 4.0);
    assert!(index_bits(&default["dense/kernel"]) > 4.0);
    assert_eq!(chosen["block1/conv;weight"], default["block1/conv;weight"]);
}

// ---------------------------------------------------------------------------------------
// Bad input to encode.
// ---------------------------------------------------------------------------------------

const OLD_OUTPUT: &[u8] = b"previous container, must survive a failed encode";

/// Runs a failing `encode` twice, once with no output file and once with an existing
/// one, and checks that nothing is created and the existing file is left unchanged.
/// Returns the stderr of the first run.
fn assert_encode_fails(dir: &Path, args: &[&str], output: &str, check: impl Fn(&Output) -> String) -> String {
    let before = entries(dir);
    let result = hyperc(dir, args);
    let message = check(&result);
    assert_eq!(entries(dir), before, "a failed encode must leave the folder unchanged: {message}");

    let output_path = dir.join(output);
    if output_path.parent().is_some_and(Path::is_dir) {
        fs::write(&output_path, OLD_OUTPUT).unwrap();
        let before = entries(dir);
        let result = hyperc(dir, args);
        check(&result);
        assert_eq!(fs::read(&output_path).unwrap(), OLD_OUTPUT, "the old output was changed");
        assert_eq!(entries(dir), before, "a temporary file was left behind");
        fs::remove_file(&output_path).unwrap();
    }
    message
}

#[test]
fn encode_missing_input_fails() {
    let folder = tempfile::tempdir().unwrap();
    let message = assert_encode_fails(folder.path(), &["encode", "missing.npz", "-o", "out.hcm"], "out.hcm", |o| {
        assert_run_failure(o, "missing.npz")
    });
    assert!(message.contains("not found"), "{message}");
}

#[test]
fn encode_directory_input_fails() {
    let folder = tempfile::tempdir().unwrap();
    fs::create_dir(folder.path().join("weights.npz")).unwrap();
    let message = assert_encode_fails(folder.path(), &["encode", "weights.npz", "-o", "out.hcm"], "out.hcm", |o| {
        assert_run_failure(o, "weights.npz")
    });
    assert!(message.contains("directory"), "{message}");
}

#[test]
fn encode_empty_input_fails() {
    let folder = tempfile::tempdir().unwrap();
    fs::write(folder.path().join("empty.npz"), b"").unwrap();
    let message = assert_encode_fails(folder.path(), &["encode", "empty.npz", "-o", "out.hcm"], "out.hcm", |o| {
        assert_run_failure(o, "empty.npz")
    });
    assert!(message.contains("empty"), "{message}");
}

#[test]
fn encode_non_weights_file_fails() {
    let folder = tempfile::tempdir().unwrap();
    fs::write(folder.path().join("notes.txt"), b"these are not weights\n").unwrap();
    assert_encode_fails(folder.path(), &["encode", "notes.txt", "-o", "out.hcm"], "out.hcm", |o| {
        assert_run_failure(o, "notes.txt")
    });
    // A file named .npz that is not a zip archive fails in the .npz reader.
    fs::write(folder.path().join("fake.npz"), b"not a zip archive at all").unwrap();
    assert_encode_fails(folder.path(), &["encode", "fake.npz", "-o", "out.hcm"], "out.hcm", |o| {
        assert_run_failure(o, "fake.npz")
    });
}

#[test]
fn encode_into_missing_folder_fails() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    write_input(dir, "in.npz", &sample_tensors());
    let message = assert_encode_fails(
        dir,
        &["encode", "in.npz", "-o", "no_such_folder/out.hcm"],
        "no_such_folder/out.hcm",
        |o| assert_run_failure(o, "no_such_folder"),
    );
    assert!(!dir.join("no_such_folder").exists(), "{message}");
}

/// Checks that no ": "-separated part of `message` appears twice, as happens when an
/// error's text includes its source and the error chain prints that source again.
fn assert_no_repeated_part(message: &str) {
    let mut seen = BTreeSet::new();
    for part in message.trim_end().split(": ") {
        assert!(seen.insert(part), "'{part}' is repeated in: {message}");
    }
}

#[test]
fn encode_nan_names_tensor_and_index() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let mut tensors = sample_tensors();
    tensors[1].data[37] = f32::NAN;
    write_input(dir, "nan.npz", &tensors);
    let message = assert_encode_fails(dir, &["encode", "nan.npz", "-o", "out.hcm"], "out.hcm", |o| {
        assert_run_failure(o, "nan.npz")
    });
    assert!(message.contains("dense/kernel"), "{message}");
    assert!(message.contains("index 37"), "{message}");
}

#[test]
fn encode_bits_out_of_range_is_usage_error() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    write_input(dir, "in.npz", &sample_tensors());
    for bits in ["0", "13", "four"] {
        assert_encode_fails(dir, &["encode", "in.npz", "-o", "out.hcm", "--bits", bits], "out.hcm", |o| {
            assert_usage_error(o, "--bits");
            stderr(o)
        });
    }
}

#[test]
fn encode_preset_with_lossless_is_usage_error() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    write_input(dir, "in.npz", &sample_tensors());
    let args = ["encode", "in.npz", "-o", "out.hcm", "--preset", "paper-unet", "--lossless"];
    assert_encode_fails(dir, &args, "out.hcm", |o| {
        assert_usage_error(o, "--lossless");
        stderr(o)
    });
    let args = ["encode", "in.npz", "-o", "out.hcm", "--bits", "4", "--lossless"];
    assert_encode_fails(dir, &args, "out.hcm", |o| {
        assert_usage_error(o, "--lossless");
        stderr(o)
    });
    let args = ["encode", "in.npz", "-o", "out.hcm", "--preset", "paper-llama"];
    assert_encode_fails(dir, &args, "out.hcm", |o| {
        assert_usage_error(o, "--preset");
        stderr(o)
    });
}

#[test]
fn unmatched_tensor_setting_fails() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    write_input(dir, "in.npz", &sample_tensors());
    let args = ["encode", "in.npz", "-o", "out.hcm", "--tensor", "dense/kernel=3", "--tensor", "dense/kernal=3"];
    let message = assert_encode_fails(dir, &args, "out.hcm", |o| assert_run_failure(o, "in.npz"));
    assert!(message.contains("--tensor dense/kernal=3 matches no tensor"), "{message}");
    assert!(message.contains("block1/conv;weight, dense/kernel, bias, odd/rows"), "{message}");
}

#[test]
fn invalid_tensor_setting_is_usage_error() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    write_input(dir, "in.npz", &sample_tensors());
    for setting in ["dense/kernel", "dense/kernel=9", "dense/kernel=int8", "=4"] {
        let args = ["encode", "in.npz", "-o", "out.hcm", "--tensor", setting];
        let message = assert_encode_fails(dir, &args, "out.hcm", |o| {
            assert_usage_error(o, "--tensor");
            stderr(o)
        });
        assert!(message.contains("write PATTERN=SETTING"), "{setting}: {message}");
    }
}

// ---------------------------------------------------------------------------------------
// Bad input to inspect and decode.
// ---------------------------------------------------------------------------------------

#[test]
fn inspect_and_decode_reject_non_containers() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    write_input(dir, "in.npz", &sample_tensors());
    fs::write(dir.join("empty.hcm"), b"").unwrap();

    for file in ["missing.hcm", "in.npz", "empty.hcm"] {
        let output = hyperc(dir, &["inspect", file]);
        assert_run_failure(&output, file);
        let before = entries(dir);
        let output = hyperc(dir, &["decode", file, "-o", "out.npz"]);
        assert_run_failure(&output, file);
        assert_eq!(entries(dir), before, "decode of {file} left a file behind");
    }
    let output = hyperc(dir, &["inspect", "in.npz"]);
    assert!(stderr(&output).contains("not a hyperc container"), "{}", stderr(&output));
}

#[test]
fn corrupt_container_is_rejected() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    write_input(dir, "in.npz", &sample_tensors());
    assert_success(&hyperc(dir, &["encode", "in.npz", "-o", "out.hcm"]), "encode");
    let mut bytes = fs::read(dir.join("out.hcm")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    fs::write(dir.join("corrupt.hcm"), &bytes).unwrap();

    let message = assert_run_failure(&hyperc(dir, &["inspect", "corrupt.hcm"]), "corrupt.hcm");
    assert!(message.contains("checksum"), "{message}");
    fs::write(dir.join("old.npz"), OLD_OUTPUT).unwrap();
    assert_run_failure(&hyperc(dir, &["decode", "corrupt.hcm", "-o", "old.npz"]), "corrupt.hcm");
    assert_eq!(fs::read(dir.join("old.npz")).unwrap(), OLD_OUTPUT);
}

#[test]
fn decode_into_missing_folder_fails() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    write_input(dir, "in.npz", &sample_tensors());
    assert_success(&hyperc(dir, &["encode", "in.npz", "-o", "out.hcm"]), "encode");
    let before = entries(dir);
    let output = hyperc(dir, &["decode", "out.hcm", "-o", "nowhere/out.npz"]);
    assert_run_failure(&output, "nowhere");
    assert_eq!(entries(dir), before);
}

#[test]
fn run_ends_quietly_on_closed_pipe() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let model = folder.path().join("digits.hcm");
    let encoded = hyperc(
        folder.path(),
        &["encode", repo.join("examples/digits/digits.tflite").to_str().unwrap(), "-o", model.to_str().unwrap()],
    );
    assert_success(&encoded, "encode");
    // The reader closes the pipe before hyperc prints its 48 rows.
    let mut child = Command::new(env!("CARGO_BIN_EXE_hyperc"))
        .args(["run", model.to_str().unwrap(), "--input"])
        .arg(repo.join("examples/digits/samples.npy"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "exit {:?}, stderr: {}", output.status.code(), stderr(&output));
    assert_eq!(stderr(&output), "", "nothing on stderr when the reader leaves");
}
