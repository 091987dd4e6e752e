//! `hyperc-runner`: builds the firmware for a board with a model and inputs, runs it
//! under QEMU (or on a real board with probe-rs) and prints the device's predictions
//! beside the host's and the true labels.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use hyperc::commands::run::Batch;
use runner::prediction::{reconstruction_error, Prediction};
use runner::{build, image, qemu, BuildRequest, Firmware, InputSource};

#[derive(Parser)]
#[command(name = "hyperc-runner", version, about = "Run a hyperc model container on a microcontroller")]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Build the firmware with MODEL and INPUT embedded, run it and report.
    Run {
        /// Board name (see `boards`).
        #[arg(long, default_value = "lm3s6965evb")]
        board: String,
        /// The .hcm container (`hyperc encode` writes one).
        model: PathBuf,
        /// Input rows (.npy or raw little-endian f32 .bin), shape [rows, ...].
        input: Option<PathBuf>,
        /// True labels, one integer per line, for the accuracy column.
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Seconds before the run is stopped.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// Force where the firmware reads the inputs from: flash or host (QEMU only).
        #[arg(long, value_parser = ["auto", "flash", "host"], default_value = "auto")]
        inputs_from: String,
        /// Print every line the device logged.
        #[arg(long)]
        log: bool,
    },
    /// Run a firmware image built in firmware/ on the board it was built for, and compare
    /// its outputs with the host's on the container and inputs it was built with. This is
    /// the cargo runner of firmware/, so `cargo run` there ends here.
    Elf {
        /// The firmware's ELF file.
        elf: PathBuf,
        /// True labels, one integer per line, for the accuracy column.
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Seconds before the run is stopped.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// Print every line the device logged.
        #[arg(long)]
        log: bool,
    },
    /// Measure the cost of decoding on every QEMU board: the digits example and the
    /// MLPerf Tiny models (from HYPERC_MODELS_DIR), compressed and raw; prints Markdown.
    Bench {
        /// Input rows per model.
        #[arg(long, default_value_t = 3)]
        rows: usize,
    },
    /// List the boards.
    Boards,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprint!("hyperc-runner: error: {error}");
            for cause in error.chain().skip(1) {
                eprint!(": {cause}");
            }
            eprintln!();
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Commands::Bench { rows } => {
            let repo = runner::repo_root();
            let digits = repo.join("examples/digits");
            let mut cases = vec![runner::bench::Case {
                name: "digits".into(),
                tflite: digits.join("digits.tflite"),
                inputs: digits.join("samples.npy"),
            }];
            let models = hyperc::models_dir();
            for (name, file, inputs) in [
                ("ad01", "ad01_fp32.tflite", "ad01_rows.npy"),
                ("kws", "kws_ref_model_float32.tflite", "kws_mfcc.npy"),
                ("resnet8", "pretrainedResnet.tflite", "resnet8_crops.npy"),
                ("vww", "vww_96_float.tflite", "vww_crops.npy"),
            ] {
                let tflite = models.join(file);
                if tflite.is_file() {
                    cases.push(runner::bench::Case {
                        name: name.into(),
                        tflite,
                        inputs: models.join("inputs").join(inputs),
                    });
                } else {
                    eprintln!("bench: {} not found; {name} skipped", tflite.display());
                }
            }
            let work = runner::build::work_dir().join("bench");
            std::fs::create_dir_all(&work)?;
            print!("{}", runner::bench::run(&cases, rows, &work)?);
            Ok(ExitCode::SUCCESS)
        }
        Commands::Boards => {
            println!(
                "{:<14} {:<30} {:>10} {:>9}  {:<33} status LED",
                "board", "target", "flash KiB", "RAM KiB", "runner"
            );
            for b in boards::BOARDS {
                let runner = match b.runner {
                    boards::Runner::Qemu { machine } => format!("qemu -M {machine}"),
                    boards::Runner::Probe { chip } => format!("probe-rs run --chip {chip}"),
                };
                println!(
                    "{:<14} {:<30} {:>10} {:>9}  {runner:<33} {}",
                    b.name,
                    b.architecture.target(),
                    b.flash_bytes / 1024,
                    b.ram_bytes / 1024,
                    b.status_led.label
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Commands::Run { board, model, input, labels, timeout, inputs_from, log } => {
            let board = runner::board(&board)?;
            let inputs = match &input {
                Some(path) => hyperc::io::read_array(path)?.data,
                None => Vec::new(),
            };
            let input_source = match inputs_from.as_str() {
                "flash" => InputSource::Flash,
                "host" => InputSource::Host,
                _ => InputSource::Auto,
            };
            let labels = labels.as_deref().map(read_labels).transpose()?;
            let host = match &input {
                Some(path) => Some(hyperc::commands::run::run_bytes(&std::fs::read(&model)?, &model, &inputs, path)?),
                None => None,
            };
            eprintln!("building the firmware for {} ...", board.name);
            let firmware =
                build(&BuildRequest { board, model: &model, inputs: &inputs, input_source, decode_only: false })?;
            let container = std::fs::read(&model).with_context(|| format!("{}: cannot read", model.display()))?;
            let report = execute(&firmware, timeout)?;
            let run = Run { firmware: &firmware, container: Some(&container), inputs: &inputs, host: host.as_ref() };
            finish(&run, &report, labels.as_deref(), log)
        }
        Commands::Elf { elf, labels, timeout, log } => {
            let bytes = std::fs::read(&elf).with_context(|| format!("{}: cannot read the firmware", elf.display()))?;
            let info = image::build_info(&bytes, &elf)?;
            let labels = labels.as_deref().map(read_labels).transpose()?;
            let reference = host_reference(&info)?;
            let firmware = Firmware { board: info.board, elf };
            let report = execute(&firmware, timeout)?;
            let run = Run {
                firmware: &firmware,
                container: reference.container.as_deref(),
                inputs: &reference.inputs,
                host: reference.host.as_ref(),
            };
            finish(&run, &report, labels.as_deref(), log)
        }
    }
}

/// Runs `firmware` in QEMU or, for a real board, with probe-rs.
fn execute(firmware: &Firmware, timeout: u64) -> Result<runner::Report> {
    let timeout = Duration::from_secs(timeout);
    if firmware.board.is_qemu() {
        eprintln!("running it in QEMU ({}) ...", firmware.board.name);
        qemu::run(firmware, timeout)
    } else {
        eprintln!("flashing {} with probe-rs ...", firmware.board.name);
        runner::probe::run(firmware, timeout)
    }
}

/// Reads the container and the inputs an image was built with, and runs the host engine
/// on them. A file that is gone or changed since the build leaves that part out, with a
/// note.
fn host_reference(info: &image::BuildInfo) -> Result<HostReference> {
    let mut reference = HostReference { container: None, inputs: Vec::new(), host: None };
    let container = match image::BuildInfo::read_unchanged(&info.model) {
        Ok(bytes) => reference.container.insert(bytes),
        Err(reason) => {
            eprintln!("note: {reason}; the device's outputs are not compared with the host's");
            return Ok(reference);
        }
    };
    let Some(input) = &info.input else { return Ok(reference) };
    let raw = match image::BuildInfo::read_unchanged(input) {
        Ok(bytes) => bytes,
        Err(reason) => {
            eprintln!("note: {reason}; the device's outputs are not compared with the host's");
            return Ok(reference);
        }
    };
    // The firmware's build script takes a float32 .npy file or raw little-endian f32.
    let inputs: Vec<f32> = if raw.starts_with(b"\x93NUMPY") {
        hyperc::io::read_npy_bytes(&raw, &input.0)?.data
    } else {
        raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    };
    reference.host = Some(hyperc::commands::run::run_bytes(container, &info.model.0, &inputs, &input.0)?);
    reference.inputs = inputs;
    Ok(reference)
}

/// The container, inputs and host outputs that [`host_reference`] could read and compute.
struct HostReference {
    /// The container, if its file is unchanged.
    container: Option<Vec<u8>>,
    /// The input rows, if their file is unchanged (empty otherwise).
    inputs: Vec<f32>,
    /// The host engine's outputs on them.
    host: Option<Batch>,
}

/// A finished device run and what its report is checked against.
struct Run<'a> {
    firmware: &'a Firmware,
    /// The container embedded in the image, when its file is at hand.
    container: Option<&'a [u8]>,
    /// The input rows, when at hand (empty otherwise).
    inputs: &'a [f32],
    /// The host engine's outputs on the same inputs.
    host: Option<&'a Batch>,
}

/// Prints the device's log if asked, then its report.
fn finish(run: &Run<'_>, report: &runner::Report, labels: Option<&[usize]>, log: bool) -> Result<ExitCode> {
    if log {
        for line in &report.lines {
            println!("device: {line}");
        }
    }
    let footprint = image::footprint(
        &std::fs::read(&run.firmware.elf).with_context(|| format!("{}: cannot read", run.firmware.elf.display()))?,
    )?;
    print_report(run, report, labels, footprint)
}

fn read_labels(path: &Path) -> Result<Vec<usize>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read the labels", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            line.trim().parse().with_context(|| {
                format!("{} line {}: {line:?} is not a class index; write one integer per line", path.display(), n + 1)
            })
        })
        .collect()
}

fn print_report(
    run: &Run<'_>,
    report: &runner::Report,
    labels: Option<&[usize]>,
    footprint: image::Footprint,
) -> Result<ExitCode> {
    let board = run.firmware.board;
    let host = run.host;
    // Under QEMU the cycle counter counts instructions; on a chip it counts clock cycles.
    let cost = if board.is_qemu() { "instructions" } else { "cycles" };
    let cost_of = |cycles: u64| if board.is_qemu() { report.instructions(cycles).unwrap_or(cycles) } else { cycles };
    for error in &report.errors {
        eprintln!("device: {error}");
    }
    let mut identical = 0;
    let mut correct = 0;
    let rows = report.rows.len();
    let output_len = report.rows.first().map_or(0, |r| r.values.len());
    let input_len = if rows > 0 && run.inputs.len().is_multiple_of(rows) { run.inputs.len() / rows } else { 0 };
    let prediction = Prediction::for_model(input_len, output_len);
    // The prediction of row `i` as the table prints it, from its outputs and their class.
    let predict = |i: usize, outputs: &[f32], class: usize| match prediction {
        Prediction::Class => class.to_string(),
        Prediction::ReconstructionError => {
            let input = &run.inputs[i * input_len..(i + 1) * input_len];
            format!("{:.4e}", reconstruction_error(input, outputs))
        }
    };
    let width = if prediction == Prediction::Class { 6 } else { 10 };
    if rows > 0 {
        if prediction == Prediction::ReconstructionError {
            println!("device and host: reconstruction error, the mean squared difference between input and output");
        }
        println!("{:>4}  {:>width$}  {:>width$}  {:>5}  {:>12}  bits", "row", "device", "host", "label", cost);
    }
    for (i, row) in report.rows.iter().enumerate() {
        let host_row = host.map(|h| &h.values[i * h.row_len..(i + 1) * h.row_len]);
        let same = host_row.is_some_and(|h| {
            h.len() == row.values.len() && h.iter().zip(&row.values).all(|(a, b)| a.to_bits() == b.to_bits())
        });
        identical += usize::from(same);
        let label = labels.and_then(|l| l.get(i)).copied();
        correct += usize::from(label == Some(row.top1));
        println!(
            "{i:>4}  {:>width$}  {:>width$}  {:>5}  {:>12}  {}",
            predict(i, &row.values, row.top1),
            host_row.map_or("-".into(), |h| predict(i, h, hyperc::commands::run::top1_of(h))),
            label.map_or("-".into(), |l| l.to_string()),
            cost_of(row.cycles),
            match (host_row, same) {
                (None, _) => "-",
                (Some(_), true) => "identical",
                (Some(_), false) => "DIFFERENT",
            }
        );
    }
    if rows > 0 {
        if labels.is_some() {
            println!("accuracy on the device: {correct}/{rows} ({:.1}%)", 100.0 * correct as f64 / rows as f64);
        }
        if host.is_some() {
            println!("outputs bit-identical to the host engine: {identical}/{rows}");
        }
        let mean = report.rows.iter().map(|r| r.cycles).sum::<u64>() / rows as u64;
        if !board.is_qemu() {
            println!("cycles per inference, mean over the rows: {mean}");
        } else if let Some(instructions) = report.instructions(mean) {
            println!("instructions per inference, mean over the rows (QEMU -icount, repeatable): {instructions}");
        }
    }
    if let Some(h) = &report.header {
        let weights: Option<u64> = run
            .container
            .and_then(|bytes| decoder_core::Container::parse(bytes).ok())
            .map(|c| c.tensors().filter_map(|t| t.ok()).map(|t| u64::from(t.len())).sum());
        match weights {
            Some(weights) => println!(
                "model: {} bytes for {weights} weights ({:.2} bits per weight; float32 would take {} bytes, {:.1}x more)",
                h.container_bytes,
                8.0 * h.container_bytes as f64 / weights.max(1) as f64,
                4 * weights,
                (4 * weights) as f64 / h.container_bytes.max(1) as f64
            ),
            None => println!("model: {} bytes", h.container_bytes),
        }
        println!(
            "flash: {} of {} bytes; RAM: arena {} + scratch {} bytes, {} static of {} bytes",
            footprint.flash_bytes,
            board.flash_bytes,
            h.arena_bytes,
            h.scratch_bytes,
            footprint.static_ram_bytes,
            board.ram_bytes
        );
    }
    if let Some((_, stack)) = report.done {
        println!("peak stack: {stack} of {} bytes reserved", board.stack_bytes);
    }
    if let Some(lit) = report.status_led {
        let state = if lit { "lit" } else { "dark" };
        println!("status LED: {state} ({}, read from QEMU's GPIO trace)", board.status_led.label);
    }
    report.check_success()?;
    if host.is_some() && identical != rows {
        bail!("{} of {rows} device outputs differ from the host's", rows - identical);
    }
    Ok(ExitCode::SUCCESS)
}
