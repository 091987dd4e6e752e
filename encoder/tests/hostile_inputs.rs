//! Hostile and broken inputs to the `hyperc` binary, as a table of cases.
//!
//! Every case runs the binary in a fresh folder and checks the exit code and that the
//! error message names the file and the problem. It also checks that no output or
//! temporary file is left behind, and that an existing output file is byte-identical
//! after the failed command.
//! The inputs are built by hand in `support/` (npy headers, zip archives, safetensors
//! headers and TFLite flatbuffers), not with the readers under test.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hyperc::io::{write_npz, NamedTensor};
use tract_tflite::tflite as fb;

mod support;

use support::files::{f32_bytes, npy, safetensors, zip};
use support::tflite::{activation, build_model, float_constant, op, ModelSpec, OptionsSpec};

/// Contents of an output file that exists before a failing command runs.
const OLD_OUTPUT: &[u8] = b"previous output, which a failed command must leave unchanged";

// ---------------------------------------------------------------------------------------
// The case table and its runner.
// ---------------------------------------------------------------------------------------

/// One bad invocation of the binary.
struct Case {
    /// Short description, printed with every failed check.
    name: &'static str,
    /// Writes the input files into the empty test folder.
    setup: Box<dyn Fn(&Path)>,
    /// Arguments, relative to the test folder.
    args: Vec<String>,
    /// Expected exit code: 1 for a failed command, 2 for a usage error.
    exit_code: i32,
    /// Texts that stderr must contain: the file and the problem.
    expected: Vec<String>,
    /// Output path of the command, relative to the test folder. When its folder exists,
    /// the case runs a second time with an existing file there, which must survive.
    output: Option<&'static str>,
}

impl Case {
    fn new(name: &'static str, args: &[&str], expected: &[&str]) -> Self {
        Case {
            name,
            setup: Box::new(|_| {}),
            args: args.iter().map(|a| a.to_string()).collect(),
            exit_code: 1,
            expected: expected.iter().map(|e| e.to_string()).collect(),
            output: output_of(args),
        }
    }

    fn with_files(mut self, files: Vec<(&'static str, Vec<u8>)>) -> Self {
        self.setup = Box::new(move |dir| {
            for (name, bytes) in &files {
                let path = dir.join(name);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(path, bytes).unwrap();
            }
        });
        self
    }

    fn with_setup(mut self, setup: impl Fn(&Path) + 'static) -> Self {
        self.setup = Box::new(setup);
        self
    }

    fn usage_error(mut self) -> Self {
        self.exit_code = 2;
        self
    }
}

/// Returns the value of `-o` or `--output` in `args`, with `'static` lifetime for the table.
fn output_of(args: &[&str]) -> Option<&'static str> {
    let position = args.iter().position(|&a| a == "-o" || a == "--output")?;
    args.get(position + 1).map(|a| &*a.to_string().leak())
}

/// Runs every case and fails once at the end with the list of all failed checks.
fn run_cases(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in &cases {
        check_case(case, &mut failures);
    }
    assert!(failures.is_empty(), "{} failed checks:\n{}", failures.len(), failures.join("\n"));
}

fn check_case(case: &Case, failures: &mut Vec<String>) {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    (case.setup)(dir);
    let mut fail = |check: &str, detail: String| failures.push(format!("[{}] {check}: {detail}", case.name));

    // First run: no output file exists beforehand, and none may appear.
    let before = entries(dir);
    let result = hyperc(dir, &case.args);
    check_failure(case, &result, &mut fail);
    let after = entries(dir);
    if after != before {
        fail("folder unchanged", format!("before {before:?}, after {after:?}"));
    }

    // Second run: an existing output file must be left byte-identical.
    let Some(output) = case.output else { return };
    let output_path = dir.join(output);
    if !output_path.parent().is_some_and(Path::is_dir) || output_path.exists() {
        return;
    }
    fs::write(&output_path, OLD_OUTPUT).unwrap();
    let before = entries(dir);
    let result = hyperc(dir, &case.args);
    check_failure(case, &result, &mut fail);
    match fs::read(&output_path) {
        Ok(bytes) if bytes == OLD_OUTPUT => {}
        Ok(bytes) => fail("existing output unchanged", format!("now {} bytes", bytes.len())),
        Err(error) => fail("existing output unchanged", format!("cannot read it back: {error}")),
    }
    let after = entries(dir);
    if after != before {
        fail("no temporary file", format!("before {before:?}, after {after:?}"));
    }
}

fn check_failure(case: &Case, result: &Output, fail: &mut impl FnMut(&str, String)) {
    let message = stderr(result);
    // Shown with --nocapture, to read every message.
    eprintln!("[{}] {}", case.name, message.trim_end());
    if result.status.code() != Some(case.exit_code) {
        fail("exit code", format!("expected {}, got {:?}, stderr: {message}", case.exit_code, result.status.code()));
    }

    if message.contains("panicked") || message.contains("RUST_BACKTRACE") {
        fail("no panic", message.clone());
    }

    let prefix = if case.exit_code == 2 { "error: " } else { "hyperc: error: " };
    if !message.starts_with(prefix) {
        fail("message prefix", format!("expected {prefix:?}: {message}"));
    }
    for text in &case.expected {
        if !message.contains(text.as_str()) {
            fail("message content", format!("{text:?} missing from: {message}"));
        }
    }
    if case.exit_code == 1 && message.trim_end().lines().count() != 1 {
        fail("one-line message", message.clone());
    }

    // An error whose text includes its source, printed again by the error chain.
    let mut parts = BTreeSet::new();
    for part in message.trim_end().split(": ") {
        if !parts.insert(part) {
            fail("no repeated part", format!("{part:?} is repeated in: {message}"));
        }
    }
    if !result.stdout.is_empty() {
        fail("empty stdout", String::from_utf8_lossy(&result.stdout).into_owned());
    }
}

/// Runs the binary built for this test in `folder` with `args`.
fn hyperc(folder: &Path, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hyperc")).current_dir(folder).args(args).output().expect("the hyperc binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Lists a folder and its subfolders as relative paths.
fn entries(folder: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.is_symlink() {
                pending.push(path.clone());
            }
            found.insert(path.strip_prefix(folder).unwrap().to_path_buf());
        }
    }
    found
}

// ---------------------------------------------------------------------------------------
// Input files built by hand.
// ---------------------------------------------------------------------------------------

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn digits_tflite() -> Vec<u8> {
    fs::read(repository().join("examples/digits/digits.tflite")).unwrap()
}

/// Reproducible values in [-0.5, 0.5).
fn ramp(len: usize) -> Vec<f32> {
    (0..len).map(|i| ((i * 37) % 101) as f32 / 101.0 - 0.5).collect()
}

/// Writes `name`, a float `.npz` of two tensors that encodes without error.
fn good_npz(dir: &Path, name: &str) {
    let tensors = vec![
        NamedTensor { name: "dense/kernel".into(), shape: vec![16, 12], data: ramp(192) },
        NamedTensor { name: "dense/bias".into(), shape: vec![16], data: ramp(16) },
    ];
    write_npz(&dir.join(name), &tensors).unwrap();
}

// ---------------------------------------------------------------------------------------
// TFLite models built with the shared flatbuffers builder.
// ---------------------------------------------------------------------------------------

/// input [1, 8] -> FULLY_CONNECTED (weights [4, 8] 'dense/kernel', bias [4] 'dense/bias') -> [1, 4].
fn dense_model() -> ModelSpec {
    ModelSpec {
        tensors: vec![
            activation("input", &[1, 8]),
            float_constant("dense/kernel", &[4, 8], &ramp(32)),
            float_constant("dense/bias", &[4], &ramp(4)),
            activation("output", &[1, 4]),
        ],
        operators: vec![op(fb::BuiltinOperator::FULLY_CONNECTED, &[0, 1, 2], &[3], OptionsSpec::None)],
        inputs: vec![0],
        outputs: vec![3],
        subgraphs: 1,
    }
}

/// input [1, 3, 3, 2] -> DEPTHWISE_CONV_2D (filter [1, 2, 2, 2] 'depthwise/filter', bias [2],
/// SAME padding) -> [1, 3, 3, 2].
fn depthwise_model(filter: &[f32]) -> ModelSpec {
    let options =
        OptionsSpec::Depthwise { stride: [1, 1], multiplier: 1, activation: fb::ActivationFunctionType::NONE };
    ModelSpec {
        tensors: vec![
            activation("input", &[1, 3, 3, 2]),
            float_constant("depthwise/filter", &[1, 2, 2, 2], filter),
            float_constant("depthwise/bias", &[2], &[0.25, -0.25]),
            activation("output", &[1, 3, 3, 2]),
        ],
        operators: vec![op(fb::BuiltinOperator::DEPTHWISE_CONV_2D, &[0, 1, 2], &[3], options)],
        inputs: vec![0],
        outputs: vec![3],
        subgraphs: 1,
    }
}

/// The dense model with `change` applied.
fn dense_tflite(change: impl FnOnce(&mut ModelSpec)) -> Vec<u8> {
    let mut spec = dense_model();
    change(&mut spec);
    build_model(&spec)
}

// ---------------------------------------------------------------------------------------
// Cases.
// ---------------------------------------------------------------------------------------

fn encode(input: &str) -> Vec<&str> {
    vec!["encode", input, "-o", "out.hcm"]
}

#[test]
fn bad_encode_inputs_fail_cleanly() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x06\0\0\0".to_vec();
    let half_digits = {
        let bytes = digits_tflite();
        bytes[..bytes.len() / 2].to_vec()
    };
    let huge_npy = npy("<f4", "(1048576, 1048576)", &f32_bytes(&[1.0; 4]));
    let overflowing_npy = npy("<f4", "(4294967296, 4294967296, 4294967296)", &f32_bytes(&[1.0]));

    let mut nan_kernel = ramp(32);
    nan_kernel[13] = f32::NAN;
    // Index 5 of the [1, 2, 2, 2] filter is row 1, column 0, channel 1, which is index 6
    // once the encoder stores the filter one channel per row.
    let mut nan_filter = ramp(8);
    nan_filter[5] = f32::NAN;
    let mut infinite_bias = ramp(16);
    infinite_bias[9] = f32::INFINITY;
    let mut negative_infinity = ramp(6);
    negative_infinity[5] = f32::NEG_INFINITY;

    let cases = vec![
        Case::new("missing file", &encode("missing.tflite"), &["missing.tflite", "not found"]),
        Case::new("directory", &encode("model.tflite"), &["model.tflite", "Is a directory"])
            .with_setup(|dir| fs::create_dir(dir.join("model.tflite")).unwrap()),
        Case::new("empty .npz", &encode("empty.npz"), &["empty.npz", "empty"])
            .with_files(vec![("empty.npz", Vec::new())]),
        Case::new("empty .tflite", &encode("empty.tflite"), &["empty.tflite", "empty"])
            .with_files(vec![("empty.tflite", Vec::new())]),
        Case::new("PNG image", &encode("image.png"), &["image.png", "unrecognized file format", ".tflite (model)"])
            .with_files(vec![("image.png", png.clone())]),
        Case::new("PNG named .npz", &encode("image.npz"), &["image.npz", "invalid .npz archive"])
            .with_files(vec![("image.npz", png.clone())]),
        Case::new("text named .tflite", &encode("notes.tflite"), &["notes.tflite", "not a valid TFLite model"])
            .with_files(vec![("notes.tflite", b"these are notes, not a model\n".to_vec())]),
        Case::new("truncated TFLite", &encode("half.tflite"), &["half.tflite", "not a valid TFLite model"])
            .with_files(vec![("half.tflite", half_digits)]),
        Case::new(
            "TFLite tensor index out of range",
            &encode("index.tflite"),
            &["index.tflite", "refers to tensor #7", "4 tensors"],
        )
        .with_files(vec![("index.tflite", dense_tflite(|spec| spec.operators[0].inputs[1] = 7))]),
        Case::new(
            "TFLite buffer index out of range",
            &encode("buffer.tflite"),
            &["buffer.tflite", "'dense/kernel'", "buffer #99"],
        )
        .with_files(vec![("buffer.tflite", dense_tflite(|spec| spec.tensors[1].buffer = Some(99)))]),
        Case::new("TFLite unsupported operator", &encode("tanh.tflite"), &["tanh.tflite", "TANH", "not supported"])
            .with_files(vec![(
                "tanh.tflite",
                build_model(&ModelSpec {
                    tensors: vec![activation("input", &[1, 8]), activation("output", &[1, 8])],
                    operators: vec![op(fb::BuiltinOperator::TANH, &[0], &[1], OptionsSpec::None)],
                    inputs: vec![0],
                    outputs: vec![1],
                    subgraphs: 1,
                }),
            )]),
        Case::new(
            "TFLite weights do not match the input",
            &encode("shape.tflite"),
            &["shape.tflite", "FULLY_CONNECTED", "[1, 5]", "8 input features"],
        )
        .with_files(vec![("shape.tflite", dense_tflite(|spec| spec.tensors[0].shape = vec![1, 5]))]),
        Case::new(
            "TFLite buffer shorter than its shape",
            &encode("short.tflite"),
            &["short.tflite", "'dense/kernel'", "needs 128 bytes", "has 124"],
        )
        .with_files(vec![("short.tflite", dense_tflite(|spec| spec.tensors[1].data = Some(f32_bytes(&ramp(31)))))]),
        Case::new(
            "TFLite huge declared weight shape",
            &encode("huge.tflite"),
            &["huge.tflite", "'dense/kernel'", "needs 68719476736 bytes"],
        )
        .with_files(vec![("huge.tflite", dense_tflite(|spec| spec.tensors[1].shape = vec![131072, 131072]))]),
        Case::new("TFLite zero-sized weights", &encode("zero.tflite"), &["zero.tflite", "'dense/kernel'", "no values"])
            .with_files(vec![(
                "zero.tflite",
                dense_tflite(|spec| {
                    spec.tensors[1] = float_constant("dense/kernel", &[4, 0], &[]);
                    spec.tensors[0].shape = vec![1, 0];
                }),
            )]),
        Case::new("TFLite NaN weight", &encode("nan.tflite"), &["nan.tflite", "'dense/kernel'", "NaN", "index 13"])
            .with_files(vec![("nan.tflite", dense_tflite(|spec| spec.tensors[1].data = Some(f32_bytes(&nan_kernel))))]),
        Case::new(
            "TFLite NaN depthwise filter",
            &encode("depthwise.tflite"),
            &["depthwise.tflite", "'depthwise/filter'", "NaN", "index 5"],
        )
        .with_files(vec![("depthwise.tflite", build_model(&depthwise_model(&nan_filter)))]),
        Case::new("TFLite infinite bias", &encode("inf.tflite"), &["inf.tflite", "'dense/bias'", "inf", "index 2"])
            .with_files(vec![(
                "inf.tflite",
                dense_tflite(|spec| spec.tensors[2].data = Some(f32_bytes(&[0.5, -0.5, f32::INFINITY, 0.0]))),
            )]),
        Case::new("npz infinite value", &encode("inf.npz"), &["inf.npz", "dense/bias", "inf", "index 9"]).with_files(
            vec![(
                "inf.npz",
                zip(&[
                    ("dense/kernel.npy", npy("<f4", "(16, 12)", &f32_bytes(&ramp(192)))),
                    ("dense/bias.npy", npy("<f4", "(16,)", &f32_bytes(&infinite_bias))),
                ]),
            )],
        ),
        Case::new("npy negative infinity", &encode("w.npy"), &["w.npy", "-inf", "index 5"])
            .with_files(vec![("w.npy", npy("<f4", "(2, 3)", &f32_bytes(&negative_infinity)))]),
        Case::new("npz int32 array", &encode("ints.npz"), &["ints.npz", "`steps`", "int32"]).with_files(vec![(
            "ints.npz",
            zip(&[
                ("dense/kernel.npy", npy("<f4", "(16, 12)", &f32_bytes(&ramp(192)))),
                ("steps.npy", npy("<i4", "(3,)", &[1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0])),
            ]),
        )]),
        Case::new("npy float64 array", &encode("w.npy"), &["w.npy", "float64"])
            .with_files(vec![("w.npy", npy("<f8", "(2,)", &[0; 16]))]),
        Case::new("npz member that is not .npy", &encode("odd.npz"), &["odd.npz", "readme.txt"])
            .with_files(vec![("odd.npz", zip(&[("readme.txt", b"hello".to_vec())]))]),
        Case::new("npy huge declared shape", &encode("huge.npy"), &["huge.npy", "4398046511104 bytes", "16"])
            .with_files(vec![("huge.npy", huge_npy)]),
        Case::new("npy shape overflows", &encode("overflow.npy"), &["overflow.npy", "overflows"])
            .with_files(vec![("overflow.npy", overflowing_npy)]),
        Case::new("npy truncated data", &encode("cut.npy"), &["cut.npy", "needs 24 bytes", "contains 20"])
            .with_files(vec![("cut.npy", npy("<f4", "(2, 3)", &f32_bytes(&ramp(5))))]),
        Case::new(
            "safetensors data outside the file",
            &encode("w.safetensors"),
            &["w.safetensors", "invalid safetensors"],
        )
        .with_files(vec![(
            "w.safetensors",
            safetensors(r#"{"w":{"dtype":"F32","shape":[4,4],"data_offsets":[0,64]}}"#, &[0; 16]),
        )]),
        Case::new("raw .bin of odd length", &encode("w.bin"), &["w.bin", "not a multiple of 4"])
            .with_files(vec![("w.bin", vec![0; 10])]),
    ];
    assert!(cases.len() >= 20, "the table has {} cases", cases.len());
    run_cases(cases);
}

#[test]
fn bad_outputs_fail_cleanly() {
    let cases = vec![
        Case::new("output in a missing folder", &["encode", "in.npz", "-o", "missing/out.hcm"], &["missing/out.hcm"])
            .with_setup(|dir| good_npz(dir, "in.npz")),
        Case::new("output is a folder", &["encode", "in.npz", "-o", "folder"], &["folder", "is a directory"])
            .with_setup(|dir| {
                good_npz(dir, "in.npz");
                fs::create_dir(dir.join("folder")).unwrap();
            }),
        Case::new("output path ends in ..", &["encode", "in.npz", "-o", "sub/.."], &["sub/.."]).with_setup(|dir| {
            good_npz(dir, "in.npz");
            fs::create_dir(dir.join("sub")).unwrap();
        }),
        Case::new("output is a named pipe", &["encode", "in.npz", "-o", "pipe"], &["pipe", "not a regular file"])
            .with_setup(|dir| {
                good_npz(dir, "in.npz");
                let status = Command::new("mkfifo").arg(dir.join("pipe")).status().expect("mkfifo runs");
                assert!(status.success(), "mkfifo failed");
            }),
        Case::new("decode output in a missing folder", &["decode", "in.hcm", "-o", "missing/out.npz"], &["missing"])
            .with_setup(|dir| encode_container(dir, "in.hcm")),
        Case::new(
            "run output in a missing folder",
            &["run", "m.hcm", "--input", "x.npy", "--output", "no/y.npy"],
            &["no/y.npy"],
        )
        .with_setup(|dir| {
            encode_container(dir, "m.hcm");
            fs::write(dir.join("x.npy"), npy("<f4", "(1, 8)", &f32_bytes(&ramp(8)))).unwrap();
        }),
    ];
    run_cases(cases);
}

/// Writes `name`: the dense model encoded by the binary.
fn encode_container(dir: &Path, name: &str) {
    fs::write(dir.join("model.tflite"), build_model(&dense_model())).unwrap();
    let output = hyperc(dir, &["encode".into(), "model.tflite".into(), "-o".into(), name.into()]);
    assert!(output.status.success(), "encode failed: {}", stderr(&output));
    fs::remove_file(dir.join("model.tflite")).unwrap();
}

/// Returns true when the current process can create files in `folder`, which is the case
/// for root whatever the folder's mode.
fn can_write_in(folder: &Path) -> bool {
    let probe = folder.join("probe");
    let writable = fs::write(&probe, b"").is_ok();
    let _ = fs::remove_file(probe);
    writable
}

#[cfg(unix)]
#[test]
fn read_only_folder_keeps_old_output() {
    use std::os::unix::fs::PermissionsExt;

    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    good_npz(dir, "in.npz");
    let locked = dir.join("locked");
    fs::create_dir(&locked).unwrap();
    fs::write(locked.join("out.hcm"), OLD_OUTPUT).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();

    if can_write_in(&locked) {
        // Permissions do not stop root, so a folder of a read-only file system is used instead.
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
        let target = Path::new("/sys/hyperc-hostile-inputs.hcm");
        if !Path::new("/sys").is_dir() || can_write_in(Path::new("/sys")) {
            eprintln!("SKIPPED: read_only_folder_keeps_old_output: no unwritable folder for this user");
            return;
        }
        let output = hyperc(dir, &["encode".into(), "in.npz".into(), "-o".into(), target.display().to_string()]);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{message}");
        assert!(message.contains(&target.display().to_string()), "{message}");
        assert!(message.contains("writable"), "{message}");
        assert!(!target.exists());
        return;
    }

    let before = entries(dir);
    let output = hyperc(dir, &["encode".into(), "in.npz".into(), "-o".into(), "locked/out.hcm".into()]);
    let message = stderr(&output);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains("locked/out.hcm"), "{message}");
    assert!(message.contains("Permission denied"), "{message}");
    assert_eq!(fs::read(locked.join("out.hcm")).unwrap(), OLD_OUTPUT);
    assert_eq!(entries(dir), before);
}

#[test]
fn bad_arguments_are_usage_errors() {
    let cases = vec![
        Case::new("--bits 0", &["encode", "in.npz", "-o", "out.hcm", "--bits", "0"], &["--bits", "0"]).usage_error(),
        Case::new("--bits 9", &["encode", "in.npz", "-o", "out.hcm", "--bits", "9"], &["--bits", "9"]).usage_error(),
        Case::new("--bits -1", &["encode", "in.npz", "-o", "out.hcm", "--bits=-1"], &["--bits", "-1"]).usage_error(),
        Case::new("--bits text", &["encode", "in.npz", "-o", "out.hcm", "--bits", "many"], &["--bits", "many"])
            .usage_error(),
        Case::new("missing --output", &["encode", "in.npz"], &["--output"]).usage_error(),
        Case::new("unknown preset", &["encode", "in.npz", "-o", "out.hcm", "--preset", "best"], &["--preset", "best"])
            .usage_error(),
    ];
    let cases = cases.into_iter().map(|case| case.with_setup(|dir| good_npz(dir, "in.npz"))).collect();
    run_cases(cases);
}

/// Bytes of a container encoded from the dense model, built once per test.
fn dense_container() -> Vec<u8> {
    let folder = tempfile::tempdir().unwrap();
    encode_container(folder.path(), "m.hcm");
    fs::read(folder.path().join("m.hcm")).unwrap()
}

/// Returns `bytes` with bit `bit` of byte `at` flipped.
fn flip(bytes: &[u8], at: usize, bit: u8) -> Vec<u8> {
    let mut flipped = bytes.to_vec();
    flipped[at] ^= 1 << bit;
    flipped
}

/// Returns `bytes` with the header's length and CRC-32 recomputed for the payload, so
/// that the damage behind the header reaches the record checks.
fn reseal(bytes: &[u8]) -> Vec<u8> {
    let mut sealed = bytes.to_vec();
    let payload = &bytes[decoder_core::HEADER_LEN..];
    let header = decoder_core::container::header_for(payload);
    sealed[..decoder_core::HEADER_LEN].copy_from_slice(&header);
    sealed
}

#[test]
fn bad_containers_fail_cleanly() {
    let good = dense_container();
    let weights_only = {
        let folder = tempfile::tempdir().unwrap();
        good_npz(folder.path(), "in.npz");
        let output = hyperc(folder.path(), &["encode".into(), "in.npz".into(), "-o".into(), "w.hcm".into()]);
        assert!(output.status.success(), "{}", stderr(&output));
        fs::read(folder.path().join("w.hcm")).unwrap()
    };
    let last = good.len() - 1;
    let truncated = good[..good.len() - 7].to_vec();
    // Bytes 16.. start the model record, whose first byte is the tensor count.
    let more_tensors = reseal(&flip(&good, 16, 3));
    let input = npy("<f4", "(2, 8)", &f32_bytes(&ramp(16)));
    let with_input = move |container: Vec<u8>, input: Vec<u8>| vec![("m.hcm", container), ("x.npy", input)];

    let mut cases = Vec::new();
    for (command, output) in [("inspect", None), ("decode", Some("out.npz")), ("run", Some("y.npy"))] {
        let args = |file: &'static str| -> Vec<&'static str> {
            match (command, output) {
                ("inspect", _) => vec!["inspect", file],
                ("decode", Some(out)) => vec!["decode", file, "-o", out],
                (_, Some(out)) => vec!["run", file, "--input", "x.npy", "--output", out],
                _ => unreachable!(),
            }
        };
        let name = |what: &str| -> &'static str { format!("{command}: {what}").leak() };
        cases.push(
            Case::new(name("flipped bit in the payload"), &args("m.hcm"), &["m.hcm", "checksum"])
                .with_files(with_input(flip(&good, last, 0), input.clone())),
        );
        cases.push(
            Case::new(name("flipped bit in the magic"), &args("m.hcm"), &["m.hcm", "not a hyperc container"])
                .with_files(with_input(flip(&good, 0, 1), input.clone())),
        );
        cases.push(
            Case::new(name("truncated container"), &args("m.hcm"), &["m.hcm", "truncated"])
                .with_files(with_input(truncated.clone(), input.clone())),
        );
        cases.push(
            Case::new(name("tensor count larger than stored"), &args("m.hcm"), &["m.hcm", "tensor"])
                .with_files(with_input(more_tensors.clone(), input.clone())),
        );
        cases.push(
            Case::new(name("TFLite file given as container"), &args("m.hcm"), &["m.hcm", "not a hyperc container"])
                .with_files(with_input(digits_tflite(), input.clone())),
        );
        cases.push(Case::new(name("directory given as container"), &args("m.hcm"), &["m.hcm"]).with_setup(|dir| {
            fs::create_dir(dir.join("m.hcm")).unwrap();
        }));
    }
    cases.push(
        Case::new("run: weights-only container", &["run", "m.hcm", "--input", "x.npy"], &["m.hcm", "weights only"])
            .with_files(with_input(weights_only, input.clone())),
    );
    cases.push(
        Case::new("run: input of the wrong size", &["run", "m.hcm", "--input", "x.npy"], &["x.npy", "15 values", "8"])
            .with_files(with_input(good.clone(), npy("<f4", "(15,)", &f32_bytes(&ramp(15))))),
    );
    let mut nan_input = ramp(16);
    nan_input[11] = f32::NAN;
    cases.push(
        Case::new("run: NaN input", &["run", "m.hcm", "--input", "x.npy"], &["x.npy", "row 1", "value 3", "NaN"])
            .with_files(with_input(good.clone(), npy("<f4", "(2, 8)", &f32_bytes(&nan_input)))),
    );
    let mut infinite_input = ramp(16);
    infinite_input[2] = f32::NEG_INFINITY;
    cases.push(
        Case::new(
            "run: infinite input",
            &["run", "m.hcm", "--input", "x.npy", "--output", "y.npy"],
            &["x.npy", "row 0", "value 2", "-inf"],
        )
        .with_files(with_input(good.clone(), npy("<f4", "(2, 8)", &f32_bytes(&infinite_input)))),
    );
    cases.push(
        Case::new(
            "compare: container of another model",
            &["compare", "digits.tflite", "m.hcm", "--input", "x.npy"],
            &["m.hcm", "digits.tflite", "takes 8 input values", "not encoded from this model"],
        )
        .with_files(vec![
            ("m.hcm", good.clone()),
            ("digits.tflite", digits_tflite()),
            ("x.npy", input.clone()),
        ]),
    );
    cases.push(
        Case::new("run: missing input", &["run", "m.hcm", "--input", "x.npy"], &["x.npy", "not found"])
            .with_files(vec![("m.hcm", good.clone())]),
    );
    run_cases(cases);
}
