//! `hyperc-bench`: writes the benchmark tables and plots. Run it from the repository
//! root; the models come from `HYPERC_MODELS_DIR` (default `../shared/models/mlperf-tiny`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use hyperc_bench::machine::{today, Machine};
use hyperc_bench::quality::{self, Case, CASES};
use hyperc_bench::{entropy, plots, speed};

#[derive(Parser)]
#[command(name = "hyperc-bench", about = "Benchmarks of hyperc's compression quality and encoder speed")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compare hyperc with int8, int4, k-means palettes, the reference scheme and the
    /// Shannon bound on the four MLPerf Tiny float models.
    Quality {
        /// Folder for quality.md.
        #[arg(long, default_value = "target/bench")]
        out: PathBuf,
        /// Folder for the SVG plots.
        #[arg(long, default_value = "docs/bench")]
        plots: PathBuf,
        /// Only this model (file stem); repeat for several. Default: all four.
        #[arg(long = "model")]
        models: Vec<String>,
    },
    /// Measure how many bits hyperc's indices would take under variable-length codes,
    /// against the fixed width they are stored in and the Shannon bound.
    Entropy {
        /// Folder for entropy.md.
        #[arg(long, default_value = "target/bench")]
        out: PathBuf,
        /// Only this model (file stem); repeat for several. Default: all four.
        #[arg(long = "model")]
        models: Vec<String>,
    },
    /// Measure encoding throughput and peak memory on one core and on all cores.
    Speed {
        /// Folder for speed.md.
        #[arg(long, default_value = "target/bench")]
        out: PathBuf,
        /// Side of the square Gaussian test tensor.
        #[arg(long, default_value_t = 4096)]
        size: usize,
        /// Only this model (file stem); repeat for several. Default: all four.
        #[arg(long = "model")]
        models: Vec<String>,
    },
    /// One speed measurement in a fresh process (started by `speed`).
    #[command(hide = true)]
    SpeedChild {
        /// `gaussian:N` or `model:STEM`.
        #[arg(long)]
        workload: String,
        /// Threads of the rayon pool.
        #[arg(long)]
        threads: usize,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let command_line =
        format!("cargo run --release -p hyperc-bench -- {}", std::env::args().skip(1).collect::<Vec<_>>().join(" "));
    match cli.command {
        Command::Quality { out, plots, models } => run_quality(&out, &plots, &models, &command_line),
        Command::Entropy { out, models } => run_entropy(&out, &models, &command_line),
        Command::Speed { out, size, models } => {
            let models_dir = models_dir()?;
            let stems: Vec<&str> = selected(&models)?.iter().map(|c| c.model).collect();
            let start = Instant::now();
            let mut text = speed::run(&models_dir, size, &stems, &command_line)?;
            text.push_str(&format!("\nThe whole run took {:.0} s.\n", start.elapsed().as_secs_f64()));
            write(&out.join("speed.md"), &text)
        }
        Command::SpeedChild { workload, threads } => {
            let workload = speed::Workload::parse(&workload)?;
            let result = speed::run_child(&hyperc::models_dir(), &workload, threads)?;
            println!("{}", serde_json::to_string(&result)?);
            Ok(())
        }
    }
}

/// Returns the models folder, or an error naming it and the variable that sets it.
fn models_dir() -> Result<PathBuf> {
    let dir = hyperc::models_dir();
    if !dir.is_dir() {
        bail!(
            "{}: models folder not found; set {} to the MLPerf Tiny models folder",
            dir.display(),
            hyperc::models::MODELS_DIR_VAR
        );
    }
    Ok(dir)
}

/// Returns the cases named in `models`, or all of them when it is empty.
fn selected(models: &[String]) -> Result<Vec<Case>> {
    if models.is_empty() {
        return Ok(CASES.to_vec());
    }
    models
        .iter()
        .map(|name| {
            CASES.iter().copied().find(|c| c.model == name).with_context(|| {
                let known: Vec<&str> = CASES.iter().map(|c| c.model).collect();
                format!("unknown model '{name}'; use one of {}", known.join(", "))
            })
        })
        .collect()
}

fn run_quality(out: &Path, plots_dir: &Path, models: &[String], command_line: &str) -> Result<()> {
    let models_dir = models_dir()?;
    let start = Instant::now();
    let mut loaded = Vec::new();
    for case in selected(models)? {
        let model_start = Instant::now();
        let model = quality::load(&models_dir, case)?;
        eprintln!("quality: {}: loaded and ran tract in {:.1} s", case.model, model_start.elapsed().as_secs_f64());
        let mut rows = Vec::new();
        for scheme in quality::schemes() {
            let measurement = quality::measure(&model, scheme)
                .with_context(|| format!("{}: scheme {}", case.model, scheme.label()))?;
            eprintln!(
                "quality: {}: {}: {:.2} bits/weight, rel. MSE {:.2e}, {} ({:.1} s)",
                case.model,
                scheme.label(),
                measurement.bits_per_weight,
                measurement.rel_mse,
                quality::fidelity(&measurement.comparison),
                measurement.seconds
            );
            rows.push(measurement);
        }
        loaded.push((model, rows));
    }
    let borrowed: Vec<_> = loaded.iter().map(|(m, rows)| (m, rows.clone())).collect();

    let header = header(command_line, &models_dir, start, quality::METHOD);
    write(&out.join("quality.md"), &quality::markdown(&header, &borrowed))?;
    write(&plots_dir.join("rate-distortion.svg"), &plots::rate_distortion(&borrowed))?;
    write(&plots_dir.join("fidelity-vs-size.svg"), &plots::fidelity_vs_size(&borrowed))
}

fn run_entropy(out: &Path, models: &[String], command_line: &str) -> Result<()> {
    let models_dir = models_dir()?;
    let start = Instant::now();
    let mut rows = Vec::new();
    for case in selected(models)? {
        let path = models_dir.join(format!("{}.tflite", case.model));
        for bits in entropy::BIT_RATES {
            let row =
                entropy::measure(&path, case.model, bits).with_context(|| format!("{}: --bits {bits}", case.model))?;
            eprintln!(
                "entropy: {} --bits {bits}: {:.2} bits/weight stored, {:.2} adaptive, bound {:.2}",
                case.model, row.fixed, row.adaptive, row.bound
            );
            rows.push(row);
        }
    }
    let header = header(command_line, &models_dir, start, entropy::METHOD);
    write(&out.join("entropy.md"), &entropy::markdown(&header, &rows))
}

/// Returns the head of a table file: date, machine, command, models folder and run time,
/// then `method`.
fn header(command_line: &str, models_dir: &Path, start: Instant, method: &str) -> String {
    format!(
        "Measured on {} on {} with `{command_line}` from the repository root (models from `{}`); \
         the run took {:.0} s.\n\n{method}",
        today(),
        Machine::detect().describe(),
        models_dir.canonicalize().unwrap_or_else(|_| models_dir.to_path_buf()).display(),
        start.elapsed().as_secs_f64(),
    )
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("{}: failed to create the folder", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("{}: failed to write", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
