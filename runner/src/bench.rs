//! `hyperc-runner bench`: the cost of decoding on the QEMU boards.
//!
//! For each model and QEMU board, the firmware runs the model with compressed weights
//! and with the same weights stored raw (`--lossless`), on the first few input rows, and
//! a decode-only build times the decoding calls alone. Counts come from the cycle
//! counter under `-icount shift=0`, converted to instructions by the calibration loop,
//! so they repeat exactly from run to run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use boards::Board;
use hyperc::codec::Mode;
use hyperc::commands::encode;

use crate::{build, image, qemu, BuildRequest, InputSource, Report};

/// One model to measure.
pub struct Case {
    /// Short name for the table.
    pub name: String,
    /// The .tflite file.
    pub tflite: PathBuf,
    /// Input rows (.npy).
    pub inputs: PathBuf,
}

/// Figures one board measured for one storage of one model.
struct Measure {
    flash_bytes: u64,
    ram_bytes: u64,
    peak_stack: u64,
    instructions: u64,
    decode_per_weight: f64,
}

/// Runs every case on every QEMU board and returns the Markdown table.
pub fn run(cases: &[Case], rows: usize, work: &Path) -> Result<String> {
    let mut table = String::new();
    writeln!(
        table,
        "| model | board | weights | flash bytes (compressed / raw) | arena + scratch bytes | peak stack bytes | instructions per inference (compressed / raw) | ratio | decode instructions per weight (compressed / raw) |"
    )?;
    writeln!(table, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")?;
    for case in cases {
        let compressed = work.join(format!("{}.hcm", case.name));
        let raw = work.join(format!("{}.raw.hcm", case.name));
        for (path, mode) in [(&compressed, Mode::Bits(4)), (&raw, Mode::Lossless)] {
            let config = encode::EncodeConfig::new(case.tflite.clone(), path.clone(), mode);
            encode::run(&config).with_context(|| format!("encoding {}", case.tflite.display()))?;
        }
        let array = hyperc::io::read_array(&case.inputs)?;
        let row_len: usize = array.shape.iter().skip(1).product();
        let inputs = &array.data[..rows.min(array.shape[0]) * row_len];
        let weights: u64 = decoder_core::Container::parse(&std::fs::read(&compressed)?)?
            .tensors()
            .filter_map(|t| t.ok())
            .map(|t| u64::from(t.len()))
            .sum();
        for board in boards::BOARDS.iter().filter(|b| b.is_qemu()) {
            let packed = measure(board, &compressed, inputs, weights);
            let plain = measure(board, &raw, inputs, weights);
            let cell = |f: &dyn Fn(&Measure) -> String| -> String {
                let show = |m: &Result<Measure>| m.as_ref().map_or("does not fit".to_owned(), f);
                format!("{} / {}", show(&packed), show(&plain))
            };
            let Ok(p) = &packed else {
                writeln!(table, "| {} | {} | {weights} | does not fit | | | | | |", case.name, board.name)?;
                continue;
            };
            let ratio = plain
                .as_ref()
                .map_or("".to_owned(), |r| format!("{:.2}", p.instructions as f64 / r.instructions as f64));
            writeln!(
                table,
                "| {} | {} | {weights} | {} | {} | {} | {} | {ratio} | {} |",
                case.name,
                board.name,
                cell(&|m| m.flash_bytes.to_string()),
                p.ram_bytes,
                p.peak_stack,
                cell(&|m| m.instructions.to_string()),
                cell(&|m| format!("{:.1}", m.decode_per_weight)),
            )?;
            eprintln!("bench: {} on {} done", case.name, board.name);
        }
    }
    Ok(table)
}

fn run_checked(board: &'static Board, model: &Path, inputs: &[f32], decode_only: bool) -> Result<(Report, u64)> {
    let request = BuildRequest { board, model, inputs, input_source: InputSource::Auto, decode_only };
    let firmware = build(&request)?;
    let report = qemu::run(&firmware, Duration::from_secs(3600))?;
    report.check_success()?;
    let flash = image::footprint(&std::fs::read(&firmware.elf)?)?.flash_bytes;
    Ok((report, flash))
}

fn measure(board: &'static Board, model: &Path, inputs: &[f32], weights: u64) -> Result<Measure> {
    let (report, flash) = run_checked(board, model, inputs, false)?;
    let header = report.header.clone().context("no header line")?;
    let rows = report.rows.len().max(1) as u64;
    let cycles = report.rows.iter().map(|r| r.cycles).sum::<u64>() / rows;
    let instructions = report.instructions(cycles).context("no calibration line")?;
    let (decode, _) = run_checked(board, model, &[], true)?;
    let decode_cycles: u64 = decode.tensors.iter().map(|t| t.cycles).sum();
    let decode_instructions = decode.instructions(decode_cycles).context("no calibration line")?;
    Ok(Measure {
        flash_bytes: flash,
        ram_bytes: header.arena_bytes + header.scratch_bytes,
        peak_stack: report.done.map_or(0, |(_, stack)| stack),
        instructions,
        decode_per_weight: decode_instructions as f64 / weights.max(1) as f64,
    })
}
