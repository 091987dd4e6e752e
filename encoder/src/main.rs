//! The `hyperc` command-line tool.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use hyperc::codec::{Mode, Preset};
use hyperc::commands::{decode, encode, inspect};

/// Compress neural-network weights with Hyper-Compression and inspect the result.
#[derive(Debug, Parser)]
#[command(name = "hyperc", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Encode a weights file (.npz, .safetensors) into a .hcm container.
    Encode {
        /// Weights to encode.
        input: PathBuf,
        /// Container to write; replaced only by a complete, verified file.
        #[arg(short, long)]
        output: PathBuf,
        /// Target index bits per weight (1 to 12); square side, rings and groups are
        /// fitted to each tensor for this budget.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=12), conflicts_with_all = ["preset", "lossless"])]
        bits: u8,
        /// Reproduce the settings of a published experiment instead of fitting them.
        #[arg(long, value_enum, conflicts_with = "lossless")]
        preset: Option<PresetArg>,
        /// Store every tensor as raw float32 (no compression).
        #[arg(long)]
        lossless: bool,
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
        Command::Encode { input, output, bits, preset, lossless, json } => {
            let mode = match (lossless, preset) {
                (true, _) => Mode::Lossless,
                (false, Some(PresetArg::PaperUnet)) => Mode::Preset(Preset::PaperUnet),
                (false, Some(PresetArg::PaperMobilenet)) => Mode::Preset(Preset::PaperMobilenet),
                (false, None) => Mode::Bits(bits),
            };
            let config = encode::EncodeConfig { input, output: output.clone(), mode };
            let report = encode::run(&config)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "wrote {}: {} tensors ({} encoded), {} weights, {} bytes, {:.3} bits/weight, max abs error {:.3e}",
                    output.display(),
                    report.tensors,
                    report.encoded_tensors,
                    report.weights,
                    report.bytes,
                    report.bits_per_weight,
                    report.max_abs_error
                );
            }
        }
        Command::Inspect { input, json } => {
            let summary = inspect::summarize(&input)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print!("{}", inspect::render(&summary));
            }
        }
        Command::Decode { input, output } => {
            let count = decode::run(&input, &output)?;
            println!("wrote {}: {count} tensors", output.display());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hyperc: error: {error:#}");
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
