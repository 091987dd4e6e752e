//! The `hyperc` command-line tool.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use hyperc::codec::{Mode, Preset};
use hyperc::commands::{compare, decode, encode, inspect, run};
use hyperc::tensor_settings::TensorSetting;

/// Prints a line to standard output, returning the error instead of panicking when the
/// reader has gone away (`hyperc run ... | head`).
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*)?
    };
}

/// Compress neural-network weights with Hyper-Compression and inspect the result.
#[derive(Debug, Parser)]
#[command(name = "hyperc", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Encode a TFLite model or a weights file (.npz, .safetensors) into a .hcm container.
    Encode {
        /// Model (.tflite) or weights (.npz, .safetensors) to encode.
        input: PathBuf,
        /// Container to write; replaced only by a complete, verified file.
        #[arg(short, long)]
        output: PathBuf,
        /// Target index bits per weight (1 to 8); square side, rings and groups are
        /// fitted to each tensor for this budget.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=8), conflicts_with_all = ["preset", "lossless"])]
        bits: u8,
        /// Reproduce the settings of a published experiment instead of fitting them.
        #[arg(long, value_enum, conflicts_with = "lossless")]
        preset: Option<PresetArg>,
        /// Store every tensor as raw float32 (no compression).
        #[arg(long)]
        lossless: bool,
        /// Encode the tensors whose names match PATTERN at SETTING: index bits per weight
        /// (1 to 8) or `raw` for float32. Names are as `hyperc inspect` lists them and `*`
        /// matches any text. Repeat it for more tensors; the last match wins. It takes
        /// precedence over the other options and over the two extra bits of small tensors.
        #[arg(long = "tensor", value_name = "PATTERN=SETTING")]
        tensors: Vec<TensorSetting>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the tensors of a container with their size and error.
    Inspect {
        /// Container to read.
        input: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run a model container on the host with the device's engine, one inference per input row.
    Run {
        /// Model container (.hcm) encoded from a .tflite file.
        model: PathBuf,
        /// Inputs: NumPy .npy, or raw little-endian float32 .bin; a leading batch axis means one inference per row.
        #[arg(long)]
        input: PathBuf,
        /// Write the outputs as a float32 .npy of shape [rows, output size].
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Compare a container with its original TFLite model (run by tract) on the same inputs.
    Compare {
        /// Original float TFLite model.
        tflite: PathBuf,
        /// Container encoded from it.
        model: PathBuf,
        /// Inputs: NumPy .npy or raw float32 .bin, one inference per row.
        #[arg(long)]
        input: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Decode a container into a NumPy .npz of float32 tensors with the original names.
    Decode {
        /// Container to read.
        input: PathBuf,
        /// .npz file to write.
        #[arg(short, long)]
        output: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PresetArg {
    /// L = 0.1, N = 225, up to 3 rings (UNet and LLaMA experiments).
    PaperUnet,
    /// L = 0.8, N = 1600, up to 4 rings (MobileNetV3 experiment).
    PaperMobilenet,
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Encode { input, output, bits, preset, lossless, tensors, json } => {
            let mode = match (lossless, preset) {
                (true, _) => Mode::Lossless,
                (false, Some(PresetArg::PaperUnet)) => Mode::Preset(Preset::PaperUnet),
                (false, Some(PresetArg::PaperMobilenet)) => Mode::Preset(Preset::PaperMobilenet),
                (false, None) => Mode::Bits(bits),
            };
            let config = encode::EncodeConfig { input, output: output.clone(), mode, tensors };
            let report = encode::run(&config)?;
            if json {
                out!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                out!(
                    "wrote {}: {} tensors ({} encoded), {} weights, {} bytes, {:.3} bits/weight, max abs error {:.3e}",
                    output.display(),
                    report.tensors,
                    report.encoded_tensors,
                    report.weights,
                    report.bytes,
                    report.bits_per_weight,
                    report.max_abs_error
                );
                for used in &report.settings {
                    match used.tensors.as_slice() {
                        [] => out!("--tensor {}: no tensor (later --tensor options match them all)", used.setting),
                        names => out!("--tensor {}: {}", used.setting, names.join(", ")),
                    }
                }
            }
        }
        Command::Inspect { input, json } => {
            let summary = inspect::summarize(&input)?;
            if json {
                out!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                write!(std::io::stdout().lock(), "{}", inspect::render(&summary))?;
            }
        }
        Command::Run { model, input, output } => {
            let batch = run::run_file(&model, &input)?;
            match output {
                Some(path) => {
                    hyperc::io::write_npy(&path, &[batch.rows, batch.row_len], &batch.values)?;
                    out!("wrote {}: {} outputs of {} values", path.display(), batch.rows, batch.row_len);
                }
                None => {
                    let classes = run::top1(&batch);
                    for (row, values) in batch.values.chunks_exact(batch.row_len.max(1)).enumerate() {
                        let shown: Vec<String> = values.iter().take(12).map(|v| format!("{v:.5}")).collect();
                        let more = if values.len() > 12 { " …" } else { "" };
                        out!("row {row}: top-1 {} [{}{more}]", classes[row], shown.join(", "));
                    }
                }
            }
        }
        Command::Compare { tflite, model, input, json } => {
            let result = compare::compare(&tflite, &model, &input)?;
            if json {
                out!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                out!("inputs:            {}", result.inputs);
                out!("max abs diff:      {:.4e}", result.max_abs_diff);
                out!("cosine (mean/min): {:.6} / {:.6}", result.mean_cosine, result.min_cosine);
                if let Some(top1) = result.top1_agreement {
                    out!("top-1 agreement:   {:.1}%", top1 * 100.0);
                }
                if let Some(error) = result.anomaly_score_rel_error {
                    out!("anomaly score rel. error: {error:.4}");
                }
                out!(
                    "size:              {} bytes (.hcm) vs {} bytes (.tflite)",
                    result.container_bytes,
                    result.tflite_bytes
                );
            }
        }
        Command::Decode { input, output } => {
            let count = decode::run(&input, &output)?;
            out!("wrote {}: {count} tensors", output.display());
        }
    }
    Ok(())
}

/// Joins an error and its causes with ": ", leaving out a cause whose text the message
/// already contains (several error types repeat their source in their own text).
fn error_chain(error: &anyhow::Error) -> String {
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe on standard output is the reader's choice, not a failure.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hyperc: error: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
