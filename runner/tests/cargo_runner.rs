//! `cargo run` in firmware/: cargo builds the image, and the runner configured in
//! firmware/.cargo/config.toml (scripts/firmware-runner, then `hyperc-runner elf`) runs it
//! on its board and compares its outputs with the host's.
//!
//! Needs QEMU from `make setup`. Without it the test prints `SKIPPED` and passes, unless
//! `HYPERC_REQUIRE_QEMU=1` (set by `make test` and CI) makes its absence a failure.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use defmt_decoder::log::format::{Formatter, FormatterConfig};
use defmt_decoder::Table;
use hyperc::codec::Mode;
use hyperc::commands::encode;
use runner::log::PROBE_RS_LOG_FORMAT;
use runner::{Firmware, Report};

/// Rows of the digits samples the firmware runs.
const ROWS: usize = 3;

const TIMEOUT: Duration = Duration::from_secs(600);

fn repo() -> PathBuf {
    runner::repo_root()
}

fn hyperc_runner() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hyperc-runner"))
}

fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Writes the digits container and the first [`ROWS`] samples as a float32 `.npy` file
/// into `dir`. (The runner's own builds pass raw f32, which the device tests cover.)
fn digits(dir: &Path) -> (PathBuf, PathBuf) {
    let examples = repo().join("examples/digits");
    let model = dir.join("digits.hcm");
    encode::run(&encode::EncodeConfig::new(examples.join("digits.tflite"), model.clone(), Mode::Bits(4))).unwrap();
    let samples = hyperc::io::read_array(&examples.join("samples.npy")).unwrap();
    let row_len = samples.data.len() / samples.shape[0];
    let inputs = dir.join("inputs.npy");
    hyperc::io::write_npy(&inputs, &[ROWS, row_len], &samples.data[..ROWS * row_len]).unwrap();
    (model, inputs)
}

#[test]
fn cargo_run_runs_image_on_its_board() {
    let test = "cargo_run_runs_image_on_its_board";
    if !runner::qemu::require_installed(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (model, inputs) = digits(dir.path());
    let elf = dir.path().join("firmware.elf");
    let output = cargo_in_firmware("run", &model, &inputs, Some(&elf));
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "cargo run failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("running it in QEMU (lm3s6965evb)"), "{stderr}");
    assert!(stdout.contains(&format!("outputs bit-identical to the host engine: {ROWS}/{ROWS}")), "{stdout}");

    // The log as probe-rs prints it reads back as the report QEMU's raw log gives. The
    // lines come from defmt-decoder's formatter, the one `probe-rs run --log-format` uses.
    let firmware = Firmware { board: boards::find("lm3s6965evb").unwrap(), elf: elf.clone() };
    let raw = runner::process::run(&mut runner::qemu::command(&firmware, None).unwrap(), TIMEOUT, true, "").unwrap();
    let image = fs::read(&elf).unwrap();
    let from_qemu = Report::decode(&image, &raw.stdout, raw.status).unwrap();
    let table = Table::parse(&image).unwrap().unwrap();
    let formatter = Formatter::new(FormatterConfig::custom(PROBE_RS_LOG_FORMAT));
    let mut decoder = table.new_stream_decoder();
    decoder.received(&raw.stdout);
    let mut printed = String::new();
    while let Ok(frame) = decoder.decode() {
        printed += &formatter.format_frame(frame, None, None, None);
        printed.push('\n');
    }
    let from_probe_rs = Report::from_probe_rs(&printed, raw.status).unwrap();
    assert_eq!(from_probe_rs.lines, from_qemu.lines, "printed:\n{printed}");
    assert_eq!(from_probe_rs.header, from_qemu.header);
    assert_eq!(from_probe_rs.rows, from_qemu.rows);
    assert_eq!((from_probe_rs.calibration, from_probe_rs.done), (from_qemu.calibration, from_qemu.done));
    assert_eq!(from_qemu.rows.len(), ROWS);
    from_probe_rs.check_success().unwrap();

    // A container changed since the build: the image still runs, without the comparison.
    let mut changed = fs::read(&model).unwrap();
    changed.push(0);
    fs::write(&model, changed).unwrap();
    let output = hyperc_runner().arg("elf").arg(&elf).output().unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("digits.hcm changed since the image was built"), "{stderr}");
    assert!(!stdout.contains("bit-identical"), "{stdout}");
}

/// Runs cargo's `subcommand` (`build` or `run`) in firmware/ for lm3s6965evb with `model`
/// and `inputs`, and returns its output. It shares the runner's target directory, so it
/// holds the runner's build lock, as the runner's builds do, until it has copied the
/// image to `copy_to`.
fn cargo_in_firmware(subcommand: &str, model: &Path, inputs: &Path, copy_to: Option<&Path>) -> Output {
    let work = runner::build::work_dir();
    fs::create_dir_all(&work).unwrap();
    let lock = fs::File::create(work.join("build.lock")).unwrap();
    lock.lock().unwrap();
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(repo().join("firmware"))
        .args([subcommand, "--release", "--locked", "--quiet", "--target", "thumbv7m-none-eabi"])
        .args(["--features", "lm3s6965evb"])
        .env("CARGO_TARGET_DIR", work.join("target"))
        .env("HYPERC_MODEL", model)
        .env("HYPERC_INPUT", inputs)
        .env("HYPERC_RUNNER", env!("CARGO_BIN_EXE_hyperc-runner"))
        .env("HYPERC_DECODE_ONLY", "0")
        .env_remove("HYPERC_INPUT_SOURCE");
    for inherited in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS", "CARGO_BUILD_TARGET"] {
        cargo.env_remove(inherited);
    }
    let output = cargo.output().unwrap();
    if let Some(copy) = copy_to {
        fs::copy(work.join("target/thumbv7m-none-eabi/release/hyperc-firmware"), copy).unwrap();
    }
    output
}

#[test]
fn float64_npy_input_fails_build() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = digits(dir.path());
    // A float64 .npy of one row: 64 values of 8 bytes.
    let mut file = b"\x93NUMPY\x01\x00".to_vec();
    let mut header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 64), }".to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    file.extend_from_slice(&(header.len() as u16).to_le_bytes());
    file.extend_from_slice(header.as_bytes());
    file.extend((0..64).flat_map(|i| f64::from(i).to_le_bytes()));
    let inputs = dir.path().join("f64.npy");
    fs::write(&inputs, file).unwrap();
    let output = cargo_in_firmware("build", &model, &inputs, None);
    let (_, stderr) = text(&output);
    assert!(!output.status.success(), "a float64 .npy was accepted");
    assert!(stderr.contains("f64.npy: the .npy values must be little-endian float32 ('<f4')"), "{stderr}");
}

#[test]
fn invalid_container_build_drops_inputs() {
    let test = "invalid_container_build_drops_inputs";
    if !runner::qemu::require_installed(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (model, inputs) = digits(dir.path());
    let mut bytes = fs::read(&model).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    fs::write(&model, bytes).unwrap();

    // The build leaves the inputs out, and the device reports the container.
    let output = cargo_in_firmware("run", &model, &inputs, None);
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success(), "a corrupt container passed:\n{stdout}\n{stderr}");
    assert!(!stderr.contains("not rows of the model's input"), "{stderr}");
    assert!(stderr.contains("model container rejected: ChecksumMismatch"), "{stderr}");
    assert!(stdout.contains("status LED: dark"), "{stdout}");
}

#[test]
fn elf_without_build_record_is_rejected() {
    // The runner's own executable is an ELF file without the firmware's build record.
    let runner = PathBuf::from(env!("CARGO_BIN_EXE_hyperc-runner"));
    let output = hyperc_runner().arg("elf").arg(&runner).output().unwrap();
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(stderr.contains(&format!("{}: no .hyperc.build section", runner.display())), "{stderr}");
}
