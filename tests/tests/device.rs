//! The firmware on emulated boards (QEMU) and the real boards' builds.
//!
//! Every run checks that the device exited cleanly, that its outputs are bit-identical
//! to decoder-core's engine on the host (what `hyperc run` prints), that its peak stack
//! stayed inside the stack the linker script reserves, and that QEMU's trace shows the
//! board's status LED lit.
//!
//! QEMU comes from `make setup`. Without it these tests print `SKIPPED` and pass, unless
//! `HYPERC_REQUIRE_QEMU=1` (set by `make test` and CI) makes its absence a failure.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use boards::{Board, BOARDS};
use decoder_core::{Container, TensorData};
use hyperc::codec::Mode;
use hyperc::commands::{encode, run};
use runner::{BuildRequest, InputSource, Report};

const TIMEOUT: Duration = Duration::from_secs(1200);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn qemu_boards() -> impl Iterator<Item = &'static Board> {
    BOARDS.iter().filter(|b| b.is_qemu())
}

fn board(name: &str) -> &'static Board {
    boards::find(name).unwrap()
}

fn build(board: &'static Board, model: &Path, inputs: &[f32]) -> runner::Firmware {
    runner::build(&BuildRequest { board, model, inputs, input_source: InputSource::Auto, decode_only: false })
        .unwrap_or_else(|e| panic!("{}: {e:#}", board.name))
}

/// Builds and runs, and checks the exit, the final line and the stack.
fn run_ok(board: &'static Board, model: &Path, inputs: &[f32]) -> Report {
    let firmware = build(board, model, inputs);
    let report = runner::qemu::run(&firmware, TIMEOUT).unwrap_or_else(|e| panic!("{}: {e:#}", board.name));
    if let Err(e) = report.check_success() {
        panic!("{}: {e:#}\ndevice log:\n{}", board.name, report.lines.join("\n"));
    }
    assert_eq!(report.status_led, Some(true), "{}: status LED after a successful run", board.name);
    let (_, peak) = report.done.unwrap();
    assert!(
        peak < u64::from(board.stack_bytes),
        "{}: peak stack {peak} bytes exceeds the {} reserved",
        board.name,
        board.stack_bytes
    );
    eprintln!(
        "{} {}: peak stack {peak} of {} reserved bytes ({} spare)",
        board.name,
        model.display(),
        board.stack_bytes,
        u64::from(board.stack_bytes) - peak
    );
    report
}

/// The device's outputs must equal the host engine's, bit for bit.
fn assert_matches_host(board: &Board, model: &Path, inputs: &[f32], report: &Report) {
    let host = run::run_bytes(&fs::read(model).unwrap(), model, inputs, Path::new("inputs")).unwrap();
    assert_eq!(report.rows.len(), host.rows, "{}: rows", board.name);
    for (r, row) in report.rows.iter().enumerate() {
        let expected = &host.values[r * host.row_len..(r + 1) * host.row_len];
        assert_eq!(row.values.len(), expected.len(), "{} row {r}: output length", board.name);
        for (i, (device, host)) in row.values.iter().zip(expected).enumerate() {
            assert_eq!(
                device.to_bits(),
                host.to_bits(),
                "{} row {r} output {i}: device {device}, host {host}",
                board.name
            );
        }
    }
}

fn encode_digits(dir: &Path) -> PathBuf {
    let output = dir.join("digits.hcm");
    let input = repo().join("examples/digits/digits.tflite");
    encode::run(&encode::EncodeConfig::new(input, output.clone(), Mode::Bits(4))).unwrap();
    output
}

fn digits_inputs() -> (Vec<f32>, Vec<usize>) {
    let dir = repo().join("examples/digits");
    let samples = hyperc::io::read_array(&dir.join("samples.npy")).unwrap().data;
    let labels = fs::read_to_string(dir.join("labels.txt")).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    (samples, labels)
}

/// CRC-32 of each tensor's part of the golden expected file (count, flag, f32 bits,
/// then i16 values for encoded tensors), read from the file with the container's sizes.
fn golden_digests() -> (Vec<u8>, Vec<(u32, u32)>) {
    let golden = repo().join("decoder-core/tests/golden");
    let container = fs::read(golden.join("codec.hcm")).unwrap();
    let expected = fs::read(golden.join("codec.expected")).unwrap();
    let mut rest = &expected[..];
    let mut digests = Vec::new();
    for _ in Container::parse(&container).unwrap().tensors() {
        let count = u32::from_le_bytes(rest[..4].try_into().unwrap());
        let has_i16 = rest[4] == 1;
        let len = 5 + 4 * count as usize + if has_i16 { 2 * count as usize } else { 0 };
        let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&rest[..len]);
        digests.push((count, crc));
        rest = &rest[len..];
    }
    assert!(rest.is_empty(), "the expected file has bytes for no tensor");
    (container, digests)
}

/// Computes on the host, with decoder-core, the per-tensor CRC-32 that the firmware's
/// decode mode logs.
fn host_digests(container: &[u8]) -> Vec<(u32, u32)> {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut digests = Vec::new();
    for tensor in Container::parse(container).unwrap().tensors() {
        let tensor = tensor.unwrap();
        let mut bytes = tensor.len().to_le_bytes().to_vec();
        let mut values = vec![0.0f32; tensor.len() as usize];
        tensor.decode_f32(&mut values).unwrap();
        match tensor.data() {
            TensorData::Hyper(h) => {
                bytes.push(1);
                bytes.extend(values.iter().flat_map(|v| v.to_bits().to_le_bytes()));
                let mut row = vec![0i16; h.row_len() as usize];
                for r in 0..h.rows() {
                    h.decode_row_i16(r, &mut row).unwrap();
                    bytes.extend(row.iter().flat_map(|v| v.to_le_bytes()));
                }
            }
            TensorData::Raw(_) => {
                bytes.push(0);
                bytes.extend(values.iter().flat_map(|v| v.to_bits().to_le_bytes()));
            }
        }
        digests.push((tensor.len(), crc.checksum(&bytes)));
    }
    digests
}

#[test]
fn decode_only_firmware_matches_host() {
    if !runner::qemu::require_installed("decode_only_firmware_matches_host") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = encode_digits(dir.path());
    let expected = host_digests(&fs::read(&model).unwrap());
    let board = board("microbit");
    let firmware = runner::build(&BuildRequest {
        board,
        model: &model,
        inputs: &[],
        input_source: InputSource::Auto,
        decode_only: true,
    })
    .unwrap();
    let report = runner::qemu::run(&firmware, TIMEOUT).unwrap();
    report.check_success().unwrap();
    let device: Vec<(u32, u32)> = report.tensors.iter().map(|t| (t.values, t.crc)).collect();
    assert_eq!(device, expected);
    assert!(report.tensors.iter().all(|t| t.cycles > 0), "every tensor's decoding is timed");
}

#[test]
fn golden_vectors_on_qemu_boards() {
    if !runner::qemu::require_installed("golden_vectors_on_qemu_boards") {
        return;
    }
    let (container, digests) = golden_digests();
    assert_eq!(host_digests(&container), digests, "the host digest follows the expected file's layout");
    let model = repo().join("decoder-core/tests/golden/codec.hcm");
    for board in qemu_boards() {
        let report = run_ok(board, &model, &[]);
        let device: Vec<(u32, u32)> = report.tensors.iter().map(|t| (t.values, t.crc)).collect();
        assert_eq!(device, digests, "{}: decoded tensors differ from the golden file", board.name);
    }
}

#[test]
fn digits_example_runs_on_every_qemu_board() {
    if !runner::qemu::require_installed("digits_example_runs_on_every_qemu_board") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let model = encode_digits(dir.path());
    let (inputs, labels) = digits_inputs();
    for board in qemu_boards() {
        let report = run_ok(board, &model, &inputs);
        assert_matches_host(board, &model, &inputs, &report);
        let correct = report.rows.iter().zip(&labels).filter(|(r, &l)| r.top1 == l).count();
        assert!(correct * 10 >= labels.len() * 9, "{}: only {correct} of {} digits right", board.name, labels.len());
    }
}

#[test]
fn ad01_runs_compressed_on_the_small_boards() {
    if !runner::qemu::require_installed("ad01_runs_compressed_on_the_small_boards") {
        return;
    }
    let test = "ad01_runs_compressed_on_the_small_boards";
    let Some(tflite) = hyperc::require_model_file(test, "ad01_fp32.tflite") else { return };
    let Some(rows) = hyperc::require_model_file(test, "inputs/ad01_rows.npy") else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("ad01.hcm");
    encode::run(&encode::EncodeConfig::new(tflite, model.clone(), Mode::Bits(4))).unwrap();
    let inputs = hyperc::io::read_array(&rows).unwrap().data;
    assert_eq!(inputs.len(), 40 * 640, "ad01 inputs: 40 rows of 640");
    for name in ["lm3s6965evb", "microbit", "sifive_e"] {
        let report = run_ok(board(name), &model, &inputs);
        assert_eq!(report.rows.len(), 40);
        assert_matches_host(board(name), &model, &inputs, &report);
    }
}

#[test]
fn mlperf_models_run_on_mps2_an386() {
    let test = "mlperf_models_run_on_mps2_an386";
    if !runner::qemu::require_installed(test) {
        return;
    }
    let cases = [
        ("kws_ref_model_float32.tflite", "inputs/kws_mfcc.npy"),
        ("pretrainedResnet.tflite", "inputs/resnet8_crops.npy"),
        ("vww_96_float.tflite", "inputs/vww_crops.npy"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, inputs) in cases {
        let (Some(tflite), Some(inputs)) =
            (hyperc::require_model_file(test, name), hyperc::require_model_file(test, inputs))
        else {
            continue;
        };
        let model = dir.path().join(name).with_extension("hcm");
        encode::run(&encode::EncodeConfig::new(tflite, model.clone(), Mode::Bits(4))).unwrap();
        let array = hyperc::io::read_array(&inputs).unwrap();
        let row: usize = array.shape[1..].iter().product();
        let inputs = &array.data[..3 * row];
        let report = run_ok(board("mps2-an386"), &model, inputs);
        assert_eq!(report.rows.len(), 3, "{name}");
        assert_matches_host(board("mps2-an386"), &model, inputs, &report);
    }
}

/// Builds `container` into the firmware and expects the device to reject it cleanly:
/// status 1 and an error line, never a fault (status 101/102) or a hang.
fn assert_rejected(dir: &Path, label: &str, container: &[u8], expected: &str) {
    let path = dir.join(format!("{label}.hcm"));
    fs::write(&path, container).unwrap();
    let firmware = build(board("lm3s6965evb"), &path, &[]);
    let report = runner::qemu::run(&firmware, TIMEOUT).unwrap();
    assert_eq!(report.status, Some(1), "{label}: exit status; log:\n{}", report.lines.join("\n"));
    assert_eq!(report.status_led, Some(false), "{label}: status LED after a rejected container");
    assert!(
        report.errors.iter().any(|e| e.contains("model container rejected") && e.contains(expected)),
        "{label}: expected an error about {expected:?}, got {:?}",
        report.errors
    );
}

#[test]
fn corrupt_containers_are_reported_not_faulted() {
    if !runner::qemu::require_installed("corrupt_containers_are_reported_not_faulted") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let good = fs::read(encode_digits(dir.path())).unwrap();
    let container = Container::parse(&good).unwrap();
    let offset = |part: &[u8]| part.as_ptr() as usize - good.as_ptr() as usize;
    let graph = offset(container.graph()) + container.graph().len() / 2;
    let indices = container
        .tensors()
        .find_map(|t| match t.unwrap().data() {
            TensorData::Hyper(h) => Some(offset(h.indices()) + h.indices().len() / 2),
            TensorData::Raw(_) => None,
        })
        .unwrap();
    // Byte 12 is the stored CRC itself.
    for (label, at) in [("header", 12), ("graph", graph), ("indices", indices)] {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        assert_rejected(dir.path(), label, &bad, "ChecksumMismatch");
    }

    // A container whose CRC is right but whose first tensor claims an impossible shape.
    let payload = &good[decoder_core::HEADER_LEN..];
    let (model, mut rest): (decoder_core::container::ModelRecord<'_>, &[u8]) =
        postcard::take_from_bytes(payload).unwrap();
    let mut records = Vec::new();
    for _ in 0..model.tensor_count {
        let (record, tail): (decoder_core::container::TensorRecord<'_>, &[u8]) =
            postcard::take_from_bytes(rest).unwrap();
        records.push(record);
        rest = tail;
    }
    records[0].shape[0] = 0x7fff_ffff;
    let mut payload = postcard::to_allocvec(&model).unwrap();
    for record in &records {
        payload.extend(postcard::to_allocvec(record).unwrap());
    }
    payload.extend_from_slice(rest);
    let mut hostile = decoder_core::container::header_for(&payload).to_vec();
    hostile.extend(payload);
    // The device logs the error with defmt, which prints the variant as Debug does.
    let error = format!("{:?}", Container::parse(&hostile).and_then(decoder_core::Model::new).unwrap_err());
    assert!(!error.contains("ChecksumMismatch"), "the hostile container must pass the CRC: {error}");
    let variant = error.split([' ', '{', '(']).next().unwrap().to_owned();
    assert_rejected(dir.path(), "impossible-shape", &hostile, &variant);
}

#[test]
fn build_rejects_model_too_big_for_ram() {
    let test = "build_rejects_model_too_big_for_ram";
    let Some(tflite) = hyperc::require_model_file(test, "vww_96_float.tflite") else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("vww.hcm");
    encode::run(&encode::EncodeConfig::new(tflite, model.clone(), Mode::Bits(4))).unwrap();
    let error = runner::build(&BuildRequest {
        board: board("microbit"),
        model: &model,
        inputs: &[],
        input_source: InputSource::Auto,
        decode_only: false,
    })
    .unwrap_err();
    let message = format!("{error:#}");
    let arena = decoder_core::Model::parse(&fs::read(&model).unwrap()).unwrap().arena_len() * 4;
    assert!(message.contains(&format!("arena {arena}")), "{message}");
    assert!(message.contains("microbit has 16384 bytes"), "{message}");
    // The runner checks before it starts cargo, so no build output surrounds the message.
    assert!(!message.contains("build"), "{message}");

    // The firmware's build script makes the same check for builds that skip the runner.
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--locked", "--quiet", "--manifest-path"])
        .arg(repo().join("firmware/Cargo.toml"))
        .args(["--target", "thumbv6m-none-eabi", "--features", "microbit"])
        .env("CARGO_TARGET_DIR", runner::build::work_dir().join("target"))
        .env("HYPERC_MODEL", &model)
        .env("DEFMT_LOG", "info")
        .env_remove("HYPERC_INPUT")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the firmware build accepted a model too big for the board");
    assert!(stderr.contains(&format!("arena {arena}")), "{stderr}");
    assert!(stderr.contains("microbit has 16384 bytes"), "{stderr}");
}

#[test]
fn real_board_firmware_builds() {
    let dir = tempfile::tempdir().unwrap();
    let model = encode_digits(dir.path());
    let (inputs, _) = digits_inputs();
    for board in BOARDS.iter().filter(|b| !b.is_qemu()) {
        let firmware = build(board, &model, &inputs);
        let elf = fs::read(&firmware.elf).unwrap();
        let footprint = runner::image::footprint(&elf).unwrap();
        assert!(footprint.flash_bytes < u64::from(board.flash_bytes), "{}: {footprint:?}", board.name);
        // The build record and probe-rs's chip section, outside the device's memory: the
        // image still starts at the flash origin.
        let info = runner::image::build_info(&elf, &firmware.elf).unwrap();
        assert_eq!(info.board.name, board.name);
        assert_eq!(info.model, (fs::canonicalize(&model).unwrap(), boards::content_hash(&fs::read(&model).unwrap())));
        let (input_path, input_hash) = info.input.clone().unwrap();
        let input_bytes: Vec<u8> = inputs.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(input_hash, boards::content_hash(&input_bytes), "{}: {}", board.name, input_path.display());
        let boards::Runner::Probe { chip } = board.runner else { unreachable!("real boards use probe-rs") };
        assert_eq!(
            runner::image::section_data(&elf, boards::PROBE_RS_CHIP_SECTION).unwrap(),
            Some(chip.as_bytes().to_vec())
        );
        let start = runner::image::lowest_flash_address(&elf).unwrap();
        assert_eq!(start, u64::from(board.flash_origin), "{}: image does not start at the flash origin", board.name);
        if board.name == "rpi-pico" {
            let boot2 = runner::image::section(&elf, ".boot2").unwrap();
            assert_eq!(boot2, Some((0x1000_0000, 256)), "rpi-pico: boot2 must fill the first 256 bytes of flash");
        }
    }
}
