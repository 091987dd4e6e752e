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

fn have_qemu(test: &str) -> bool {
    let found = Command::new("qemu-system-arm").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("HYPERC_REQUIRE_QEMU").as_deref() != Ok("1"),
            "{test}: QEMU is required (HYPERC_REQUIRE_QEMU=1) but qemu-system-arm is missing; run `make setup`"
        );
        eprintln!("SKIPPED: {test}: qemu-system-arm not found (`make setup` installs it)");
    }
    found
}

fn hyperc_runner() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hyperc-runner"))
}

fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Writes the digits container and the first [`ROWS`] samples as raw f32 into `dir`.
fn digits(dir: &Path) -> (PathBuf, PathBuf) {
    let examples = repo().join("examples/digits");
    let model = dir.join("digits.hcm");
    encode::run(&encode::EncodeConfig {
        input: examples.join("digits.tflite"),
        output: model.clone(),
        mode: Mode::Bits(4),
        tensors: Vec::new(),
    })
    .unwrap();
    let samples = hyperc::io::read_array(&examples.join("samples.npy")).unwrap();
    let row_len = samples.data.len() / samples.shape[0];
    let bytes: Vec<u8> = samples.data[..ROWS * row_len].iter().flat_map(|v| v.to_le_bytes()).collect();
    let inputs = dir.join("inputs.bin");
    fs::write(&inputs, bytes).unwrap();
    (model, inputs)
}

#[test]
fn cargo_run_runs_image_on_its_board() {
    let test = "cargo_run_runs_image_on_its_board";
    if !have_qemu(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (model, inputs) = digits(dir.path());
    let work = runner::build::work_dir();
    fs::create_dir_all(&work).unwrap();
    let target_dir = work.join("target");

    // The runner's builds share this target directory and hold this lock while they
    // build and copy an image; so does this test.
    let lock = fs::File::create(work.join("build.lock")).unwrap();
    lock.lock().unwrap();
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(repo().join("firmware"))
        .args(["run", "--release", "--locked", "--quiet", "--target", "thumbv7m-none-eabi"])
        .args(["--features", "lm3s6965evb"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("HYPERC_MODEL", &model)
        .env("HYPERC_INPUT", &inputs)
        .env("HYPERC_RUNNER", env!("CARGO_BIN_EXE_hyperc-runner"))
        .env("HYPERC_DECODE_ONLY", "0")
        .env_remove("HYPERC_INPUT_SOURCE");
    for inherited in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS", "CARGO_BUILD_TARGET"] {
        cargo.env_remove(inherited);
    }
    let output = cargo.output().unwrap();
    let elf = dir.path().join("firmware.elf");
    fs::copy(target_dir.join("thumbv7m-none-eabi/release/hyperc-firmware"), &elf).unwrap();
    drop(lock);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "cargo run failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("running it in QEMU (lm3s6965evb)"), "{stderr}");
    assert!(stdout.contains(&format!("outputs bit-identical to the host engine: {ROWS}/{ROWS}")), "{stdout}");

    // The log as probe-rs prints it reads back as the report QEMU's raw log gives. The
    // lines come from defmt-decoder's formatter, the one `probe-rs run --log-format` uses.
    let firmware = Firmware { board: boards::find("lm3s6965evb").unwrap(), elf: elf.clone() };
    let raw = runner::process::run(&mut runner::qemu::command(&firmware).unwrap(), TIMEOUT, true, "").unwrap();
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

#[test]
fn elf_without_build_record_is_refused() {
    // The runner's own executable is an ELF file without the firmware's build record.
    let runner = PathBuf::from(env!("CARGO_BIN_EXE_hyperc-runner"));
    let output = hyperc_runner().arg("elf").arg(&runner).output().unwrap();
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(stderr.contains(&format!("{}: no .hyperc.build section", runner.display())), "{stderr}");
}
