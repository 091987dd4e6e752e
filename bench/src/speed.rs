//! `hyperc-bench speed`: encoder throughput and peak memory.
//!
//! Every measurement runs in a fresh child process (`hyperc-bench speed-child`), so its
//! peak resident memory (`VmHWM` in /proc/self/status) belongs to that measurement
//! alone, and its rayon pool has exactly the requested number of threads.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use hyperc::codec::{encode_tensor, Mode};
use hyperc::container::{to_bytes, verify};
use hyperc::model::lower::Role;
use serde::{Deserialize, Serialize};

use crate::machine::{today, Machine};
use crate::rng::gaussian_f32;

/// Standard deviation of the Gaussian test tensor, typical of trained weights.
const GAUSSIAN_SIGMA: f64 = 0.02;

/// Seed of the Gaussian test tensor.
const GAUSSIAN_SEED: u64 = 2024;

/// Single-core time of the large Gaussian square above which a 1024 × 1024 square is
/// measured as well.
const SLOW_SECONDS: f64 = 600.0;

/// Input of one speed measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workload {
    /// A seeded `n × n` Gaussian tensor.
    Gaussian(usize),
    /// A model from the models folder, by file stem.
    Model(String),
}

impl Workload {
    /// Parses `gaussian:N` or `model:STEM`.
    pub fn parse(text: &str) -> Result<Self> {
        match text.split_once(':') {
            Some(("gaussian", n)) => {
                let n: usize = n.parse().with_context(|| format!("invalid square size in '{text}'"))?;
                ensure!(n > 0, "the square size in '{text}' must be positive");
                Ok(Workload::Gaussian(n))
            }
            Some(("model", stem)) if !stem.is_empty() => Ok(Workload::Model(stem.to_string())),
            _ => bail!("invalid workload '{text}'; use gaussian:N or model:STEM"),
        }
    }

    /// Formats the argument that [`Workload::parse`] reads.
    pub fn argument(&self) -> String {
        match self {
            Workload::Gaussian(n) => format!("gaussian:{n}"),
            Workload::Model(stem) => format!("model:{stem}"),
        }
    }

    /// Name in the table.
    pub fn label(&self) -> String {
        match self {
            Workload::Gaussian(n) => format!("Gaussian {n}×{n}"),
            Workload::Model(stem) => stem.clone(),
        }
    }
}

/// Figures of one child process, printed as one JSON line on its standard output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildResult {
    /// Weights encoded (values of weight tensors; a model's biases are stored raw and
    /// not counted).
    pub weights: u64,
    /// Threads of the rayon pool.
    pub threads: usize,
    /// Time of the encoding alone (a model's import and lowering included), in seconds.
    pub encode_seconds: f64,
    /// Time to serialize the container and check every weight against its recorded
    /// bound, as `hyperc encode` does before it keeps a file, in seconds.
    pub check_seconds: f64,
    /// Peak resident memory of the process (`VmHWM`), in KiB.
    pub peak_kib: u64,
}

/// Runs one measurement in this process; called by `hyperc-bench speed-child`.
pub fn run_child(models_dir: &Path, workload: &Workload, threads: usize) -> Result<ChildResult> {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().context("failed to start the rayon pool")?;
    let (weights, encode_seconds, check_seconds) = match workload {
        Workload::Gaussian(n) => {
            let data = gaussian_f32(n * n, GAUSSIAN_SIGMA, GAUSSIAN_SEED);
            let start = Instant::now();
            let encoded = encode_tensor("gaussian", &[*n, *n], &data, Mode::Bits(4))?;
            let encode_seconds = start.elapsed().as_secs_f64();
            let start = Instant::now();
            let tensors = [encoded];
            let bytes = to_bytes(&tensors, &[]);
            verify(&bytes, &tensors, &[&data])?;
            ((n * n) as u64, encode_seconds, start.elapsed().as_secs_f64())
        }
        Workload::Model(stem) => {
            let path = models_dir.join(format!("{stem}.tflite"));
            let start = Instant::now();
            let model = hyperc::model::encode_tflite(&path, Mode::Bits(4))?;
            let encode_seconds = start.elapsed().as_secs_f64();
            let start = Instant::now();
            let bytes = to_bytes(&model.encoded, &model.lowered.graph);
            let originals: Vec<&[f32]> = model.constants.iter().map(|c| c.data.as_slice()).collect();
            verify(&bytes, &model.encoded, &originals).with_context(|| format!("{}", path.display()))?;
            let check_seconds = start.elapsed().as_secs_f64();
            let weights = model.constants.iter().filter(|c| c.role == Role::Weights).map(|c| c.data.len() as u64).sum();
            (weights, encode_seconds, check_seconds)
        }
    };
    Ok(ChildResult { weights, threads, encode_seconds, check_seconds, peak_kib: peak_resident_kib()? })
}

/// Reads `VmHWM` (peak resident set size) of this process from /proc/self/status.
fn peak_resident_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").context("failed to read /proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .context("/proc/self/status has no VmHWM line")
}

/// One row of the speed table.
#[derive(Debug, Clone)]
pub struct SpeedRow {
    /// Input that was encoded.
    pub workload: Workload,
    /// The child's figures.
    pub result: ChildResult,
    /// Wall time of the child process, including start-up and data generation.
    pub wall_seconds: f64,
}

/// Runs `workload` in a child process of this executable with `threads` threads.
fn measure_in_child(models_dir: &Path, workload: &Workload, threads: usize) -> Result<SpeedRow> {
    let exe = std::env::current_exe().context("failed to locate the hyperc-bench executable")?;
    let start = Instant::now();
    let output = Command::new(&exe)
        .arg("speed-child")
        .arg("--workload")
        .arg(workload.argument())
        .arg("--threads")
        .arg(threads.to_string())
        .env(hyperc::models::MODELS_DIR_VAR, models_dir)
        .output()
        .with_context(|| format!("failed to start {}", exe.display()))?;
    let wall_seconds = start.elapsed().as_secs_f64();
    ensure!(
        output.status.success(),
        "the measurement of {} on {threads} threads failed ({}): {}",
        workload.label(),
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let result: ChildResult = serde_json::from_str(line)
        .with_context(|| format!("the measurement of {} printed '{line}', not a result", workload.label()))?;
    Ok(SpeedRow { workload: workload.clone(), result, wall_seconds })
}

/// Measures every workload on one thread and on all cores; returns the Markdown file.
pub fn run(models_dir: &Path, size: usize, models: &[&str], command: &str) -> Result<String> {
    let machine = Machine::detect();
    let load_before = machine.load.clone();
    let mut thread_counts = vec![1, machine.cores];
    thread_counts.dedup();

    let mut workloads = vec![Workload::Gaussian(size)];
    let mut missing = Vec::new();
    for stem in models {
        if models_dir.join(format!("{stem}.tflite")).exists() {
            workloads.push(Workload::Model((*stem).to_string()));
        } else {
            missing.push(*stem);
        }
    }

    let mut rows = Vec::new();
    let mut index = 0;
    while index < workloads.len() {
        let workload = workloads[index].clone();
        for &threads in &thread_counts {
            eprintln!("speed: {} on {threads} thread(s)", workload.label());
            let row = measure_in_child(models_dir, &workload, threads)?;
            eprintln!(
                "speed: {} on {threads} thread(s): encode {:.2} s, peak {} KiB",
                workload.label(),
                row.result.encode_seconds,
                row.result.peak_kib
            );
            let slow = threads == 1 && row.result.encode_seconds > SLOW_SECONDS;
            rows.push(row);
            if slow && workload == Workload::Gaussian(size) && size > 1024 {
                workloads.insert(index + 1, Workload::Gaussian(1024));
            }
        }
        index += 1;
    }
    let load_after = Machine::detect().load;
    Ok(markdown(&machine, &load_before, &load_after, command, &rows, &missing))
}

fn markdown(
    machine: &Machine,
    load_before: &str,
    load_after: &str,
    command: &str,
    rows: &[SpeedRow],
    missing: &[&str],
) -> String {
    let mut out = String::new();
    out.push_str("# Encoder speed and memory\n\n");
    out.push_str(&format!(
        "Measured on {} on {}, with `{command}` from the repository root ({} build). \
         Load average before and after: {load_before} / {load_after}; the machine may have been \
         shared with other work, which slows the figures.\n\n",
        today(),
        machine.describe(),
        if cfg!(debug_assertions) { "debug, so NOT representative" } else { "release" }
    ));
    out.push_str(
        "Each row is one child process encoding at the default setting (`--bits 4`) through the \
         path `hyperc encode` uses: `encode_tensor` for the Gaussian tensor (σ = 0.02, seed 2024), \
         `model::encode_tflite` for a model (TFLite import and lowering included). Weights counts \
         the values of weight tensors; a model's biases are stored raw and not counted. The check \
         is the container serialization and the decode of every weight against its recorded \
         bound that `hyperc encode` runs before it keeps a file. Peak memory is the child's \
         `VmHWM` and includes the input data (64 MiB of float32 for 4096 × 4096).\n\n",
    );
    out.push_str(
        "| workload | weights | threads | encode (s) | weights/s | encode + check (s) | peak memory (MiB) | process wall time (s) |\n",
    );
    out.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for row in rows {
        let r = &row.result;
        out.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.0} | {:.3} | {:.1} | {:.1} |\n",
            row.workload.label(),
            r.weights,
            r.threads,
            r.encode_seconds,
            r.weights as f64 / r.encode_seconds.max(1e-9),
            r.encode_seconds + r.check_seconds,
            r.peak_kib as f64 / 1024.0,
            row.wall_seconds
        ));
    }
    if !missing.is_empty() {
        out.push_str(&format!("\nNot measured (model file not found): {}.\n", missing.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_arguments_round_trip() {
        for workload in [Workload::Gaussian(4096), Workload::Model("ad01_fp32".into())] {
            assert_eq!(Workload::parse(&workload.argument()).unwrap(), workload);
        }
        assert!(Workload::parse("gaussian:0").is_err());
        assert!(Workload::parse("gaussian:x").is_err());
        assert!(Workload::parse("model:").is_err());
        assert!(Workload::parse("ad01").is_err());
    }

    #[test]
    fn peak_memory_is_read() {
        let kib = peak_resident_kib().expect("VmHWM on Linux");
        assert!(kib > 0);
    }
}
