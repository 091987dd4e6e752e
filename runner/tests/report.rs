//! The report `hyperc-runner run` prints for an autoencoder: each row's reconstruction
//! error on the device and on the host, where a classifier gets its class.
//!
//! Needs QEMU from `make setup` and the MLPerf Tiny models (HYPERC_MODELS_DIR). Without
//! them the test prints `SKIPPED` and passes, unless `HYPERC_REQUIRE_QEMU=1` and
//! `HYPERC_REQUIRE_MODELS=1` (set by CI) make their absence a failure.

use std::process::Command;

use hyperc::codec::Mode;
use hyperc::commands::{encode, run};
use runner::prediction::reconstruction_error;

/// Rows of ad01's inputs the firmware runs.
const ROWS: usize = 3;

#[test]
fn autoencoder_rows_show_reconstruction_error() {
    let test = "autoencoder_rows_show_reconstruction_error";
    if !runner::qemu::require_installed(test) {
        return;
    }
    let Some(tflite) = hyperc::require_model_file(test, "ad01_fp32.tflite") else { return };
    let Some(rows) = hyperc::require_model_file(test, "inputs/ad01_rows.npy") else { return };

    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("ad01.hcm");
    let config = encode::EncodeConfig::new(tflite, model.clone(), Mode::Bits(4));
    encode::run(&config).unwrap();
    let all = hyperc::io::read_array(&rows).unwrap();
    let row_len = all.data.len() / all.shape[0];
    let inputs = &all.data[..ROWS * row_len];
    let input_file = dir.path().join("rows.npy");
    hyperc::io::write_npy(&input_file, &[ROWS, row_len], inputs).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_hyperc-runner"))
        .args(["run", "--board", "microbit"])
        .arg(&model)
        .arg(&input_file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("reconstruction error, the mean squared difference between input and output"), "{stdout}");
    assert!(stdout.contains(&format!("outputs bit-identical to the host engine: {ROWS}/{ROWS}")), "{stdout}");

    // Each row shows the error the host engine's outputs give, on the device and the host.
    let host = run::run_bytes(&std::fs::read(&model).unwrap(), &model, inputs, &input_file).unwrap();
    assert_eq!(host.row_len, row_len, "ad01 reconstructs its input");
    for r in 0..ROWS {
        let span = r * row_len..(r + 1) * row_len;
        let error = format!("{:.4e}", reconstruction_error(&inputs[span.clone()], &host.values[span]));
        let line = stdout
            .lines()
            .find(|line| line.split_whitespace().next() == Some(&r.to_string()))
            .unwrap_or_else(|| panic!("no line for row {r}:\n{stdout}"));
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1..3], [error.as_str(), error.as_str()], "row {r}: {line}");
    }
}
