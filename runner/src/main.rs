//! `hyperc-runner`: builds the firmware for a board with a model and inputs, runs it
//! under QEMU (or on a real board with probe-rs) and prints the device's predictions
//! beside the host's and the true labels.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use runner::{build, image, qemu, BuildRequest, InputSource};

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
        /// Seconds before an emulator run is stopped.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
        /// Force where the firmware reads the inputs from: flash or host (QEMU only).
        #[arg(long, value_parser = ["auto", "flash", "host"], default_value = "auto")]
        inputs_from: String,
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
            println!("{:<14} {:<30} {:>10} {:>9}  runner", "board", "target", "flash KiB", "RAM KiB");
            for b in boards::BOARDS {
                let runner = match b.runner {
                    boards::Runner::Qemu { machine } => format!("qemu -M {machine}"),
                    boards::Runner::Probe { chip } => format!("probe-rs --chip {chip}"),
                };
                println!(
                    "{:<14} {:<30} {:>10} {:>9}  {runner}",
                    b.name,
                    b.architecture.target(),
                    b.flash_bytes / 1024,
                    b.ram_bytes / 1024
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
            if !board.is_qemu() {
                eprintln!("flashing {} with probe-rs ...", board.name);
                runner::probe::run(&firmware)?;
                return Ok(ExitCode::SUCCESS);
            }
            eprintln!("running it in QEMU ({}) ...", board.name);
            let report = qemu::run(&firmware, Duration::from_secs(timeout))?;
            if log {
                for line in &report.lines {
                    println!("device: {line}");
                }
            }
            let footprint = image::footprint(&std::fs::read(&firmware.elf)?)?;
            print_report(&model, &report, host.as_ref(), labels.as_deref(), footprint, board)
        }
    }
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
    model: &Path,
    report: &runner::Report,
    host: Option<&hyperc::commands::run::Batch>,
    labels: Option<&[usize]>,
    footprint: image::Footprint,
    board: &boards::Board,
) -> Result<ExitCode> {
    for error in &report.errors {
        eprintln!("device: {error}");
    }
    let mut identical = 0;
    let mut correct = 0;
    if !report.rows.is_empty() {
        println!("{:>4}  {:>6}  {:>6}  {:>5}  {:>12}  bits", "row", "device", "host", "label", "instructions");
    }
    let host_top1 = host.map(hyperc::commands::run::top1);
    for (i, row) in report.rows.iter().enumerate() {
        let host_row = host.map(|h| &h.values[i * h.row_len..(i + 1) * h.row_len]);
        let same = host_row.is_some_and(|h| {
            h.len() == row.values.len() && h.iter().zip(&row.values).all(|(a, b)| a.to_bits() == b.to_bits())
        });
        identical += usize::from(same);
        let label = labels.and_then(|l| l.get(i)).copied();
        correct += usize::from(label == Some(row.top1));
        println!(
            "{i:>4}  {:>6}  {:>6}  {:>5}  {:>12}  {}",
            row.top1,
            host_top1.as_ref().and_then(|t| t.get(i)).map_or("-".into(), |t| t.to_string()),
            label.map_or("-".into(), |l| l.to_string()),
            report.instructions(row.cycles).unwrap_or(row.cycles),
            if same { "identical" } else { "DIFFERENT" }
        );
    }
    let rows = report.rows.len();
    if rows > 0 {
        if labels.is_some() {
            println!("accuracy on the device: {correct}/{rows} ({:.1}%)", 100.0 * correct as f64 / rows as f64);
        }
        println!("outputs bit-identical to the host engine: {identical}/{rows}");
        let mean = report.rows.iter().map(|r| r.cycles).sum::<u64>() / rows as u64;
        if let Some(instructions) = report.instructions(mean) {
            println!("instructions per inference (QEMU -icount, repeatable): {instructions}");
        }
    }
    if let Some(h) = &report.header {
        let container = std::fs::read(model)?;
        let weights: u64 = decoder_core::Container::parse(&container)
            .map(|c| c.tensors().filter_map(|t| t.ok()).map(|t| u64::from(t.len())).sum())
            .unwrap_or(0);
        println!(
            "model: {} bytes for {weights} weights ({:.2} bits per weight; float32 would take {} bytes, {:.1}x more)",
            h.container_bytes,
            8.0 * h.container_bytes as f64 / weights.max(1) as f64,
            4 * weights,
            (4 * weights) as f64 / h.container_bytes.max(1) as f64
        );
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
    report.check_success()?;
    if host.is_some() && identical != rows {
        bail!("{} of {rows} device outputs differ from the host's", rows - identical);
    }
    Ok(ExitCode::SUCCESS)
}
