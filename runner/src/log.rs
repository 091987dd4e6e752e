//! The device's defmt log, decoded and parsed into what the firmware reported.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use defmt_decoder::{DecodeError, Table};
use defmt_parser::Level;

/// Marks the end of the level in [`PROBE_RS_LOG_FORMAT`]; no firmware message contains it.
const LOG_LEVEL_END: &str = " | ";

/// The defmt log format passed to `probe-rs run`: the level, [`LOG_LEVEL_END`] and the
/// message, which [`Report::from_probe_rs`] reads back.
pub const PROBE_RS_LOG_FORMAT: &str = "{L} | {s}";

/// Returns `line` without ANSI colour sequences (`ESC [ ... letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Figures from the firmware's first line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// Board the firmware was built for.
    pub board: String,
    /// Bytes of the embedded container.
    pub container_bytes: u64,
    /// Bytes of the activation arena.
    pub arena_bytes: u64,
    /// Bytes of the scratch buffer.
    pub scratch_bytes: u64,
    /// Bytes between the end of static data and the top of RAM.
    pub stack_region_bytes: u64,
    /// Input rows the firmware will run.
    pub rows: u64,
}

/// One inference.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Cycles the inference took (see `boards::device::cycles`).
    pub cycles: u64,
    /// Index of the largest output.
    pub top1: usize,
    /// The outputs.
    pub values: Vec<f32>,
}

/// One decoded tensor of a weights-only container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorDigest {
    /// Number of values.
    pub values: u32,
    /// CRC-32 of the values, laid out as in the golden expected file.
    pub crc: u32,
    /// Cycles spent in the decoding calls alone.
    pub cycles: u64,
}

/// Everything one run of the firmware reported.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Exit status of the emulator or probe session (`None` if it was killed).
    pub status: Option<i32>,
    /// The first line.
    pub header: Option<Header>,
    /// One entry per inference.
    pub rows: Vec<Row>,
    /// One entry per decoded tensor.
    pub tensors: Vec<TensorDigest>,
    /// Instructions of the firmware's calibration loop and the cycles it took.
    pub calibration: Option<(u64, u64)>,
    /// Total cycles and peak stack bytes, from the last line.
    pub done: Option<(u64, u64)>,
    /// Messages logged at error level.
    pub errors: Vec<String>,
    /// Every decoded message, in order.
    pub lines: Vec<String>,
    /// Whether the board's status LED was lit at the end, where the runner can see it
    /// (QEMU's trace); `None` on real boards.
    pub status_led: Option<bool>,
}

impl Report {
    /// Decodes the defmt `bytes` the firmware in `elf` wrote.
    pub fn decode(elf: &[u8], bytes: &[u8], status: Option<i32>) -> Result<Report> {
        let table = Table::parse(elf)
            .context("cannot read the defmt table of the firmware")?
            .ok_or_else(|| anyhow!("the firmware has no defmt table"))?;
        let mut decoder = table.new_stream_decoder();
        decoder.received(bytes);
        let mut messages = Vec::new();
        loop {
            match decoder.decode() {
                Ok(frame) => messages.push((frame.level(), frame.display_message().to_string())),
                Err(DecodeError::UnexpectedEof) => break,
                Err(DecodeError::Malformed) => {
                    bail!("the device log contains an invalid defmt frame; rebuild the firmware and run it again")
                }
            }
        }
        Report::from_messages(messages, status)
    }

    /// Parses the log that `probe-rs run` printed with `--log-format` [`PROBE_RS_LOG_FORMAT`].
    /// defmt's formatter applies the format to messages with a level only and prints the
    /// others (`defmt::println!`) as they are, so a line without a level and
    /// [`LOG_LEVEL_END`] is a whole message.
    pub fn from_probe_rs(text: &str, status: Option<i32>) -> Result<Report> {
        let messages = text.lines().map(strip_ansi).filter(|line| !line.trim().is_empty()).map(|line| {
            if let Some((level, message)) = line.split_once(LOG_LEVEL_END) {
                let level = match level.trim() {
                    "TRACE" => Some(Level::Trace),
                    "DEBUG" => Some(Level::Debug),
                    "INFO" => Some(Level::Info),
                    "WARN" => Some(Level::Warn),
                    "ERROR" => Some(Level::Error),
                    _ => None,
                };
                if level.is_some() {
                    return (level, message.to_string());
                }
            }
            (None, line)
        });
        Report::from_messages(messages.collect(), status)
    }

    fn from_messages(messages: Vec<(Option<Level>, String)>, status: Option<i32>) -> Result<Report> {
        let mut report = Report { status, ..Report::default() };
        for (level, message) in messages {
            if level == Some(Level::Error) {
                report.errors.push(message.clone());
            }
            report.parse_line(&message).with_context(|| format!("cannot parse device line {message:?}"))?;
            report.lines.push(message);
        }
        Ok(report)
    }

    fn parse_line(&mut self, line: &str) -> Result<()> {
        let fields = fields(line);
        let number = |key: &str| -> Result<u64> {
            fields
                .get(key)
                .ok_or_else(|| anyhow!("missing {key}"))?
                .parse()
                .with_context(|| format!("field {key} is not a number"))
        };
        if line.starts_with("hyperc ") {
            self.header = Some(Header {
                board: fields.get("board").cloned().unwrap_or_default(),
                container_bytes: number("container")?,
                arena_bytes: number("arena")?,
                scratch_bytes: number("scratch")?,
                stack_region_bytes: number("stack_region")?,
                rows: number("rows")?,
            });
        } else if line.starts_with("row=") {
            let values = number("values")? as usize;
            self.rows.push(Row {
                cycles: number("cycles")?,
                top1: number("top1")? as usize,
                values: Vec::with_capacity(values),
            });
        } else if line.starts_with("out=") {
            let row = self.rows.last_mut().ok_or_else(|| anyhow!("outputs before any row"))?;
            let offset = number("out")? as usize;
            if offset != row.values.len() {
                bail!("outputs out of order: offset {offset} after {} values", row.values.len());
            }
            let list = line.split_once("bits=").map(|(_, l)| l).unwrap_or("");
            for bits in list.trim_matches(|c| c == '[' || c == ']').split(',').filter(|s| !s.trim().is_empty()) {
                row.values.push(f32::from_bits(bits.trim().parse().with_context(|| format!("bits {bits:?}"))?));
            }
        } else if line.starts_with("tensor=") {
            self.tensors.push(TensorDigest {
                values: number("values")? as u32,
                crc: number("crc")? as u32,
                cycles: number("cycles")?,
            });
        } else if line.starts_with("calibration ") {
            self.calibration = Some((number("instructions")?, number("cycles")?));
        } else if line.starts_with("done ") {
            self.done = Some((number("cycles")?, number("peak_stack")?));
        }
        Ok(())
    }

    /// Fails unless the firmware exited with status 0, logged no error and finished.
    pub fn check_success(&self) -> Result<()> {
        if let Some(error) = self.errors.first() {
            bail!("the device reported an error: {error}");
        }
        match self.status {
            Some(0) => {}
            Some(status) => bail!("the device exited with status {status}"),
            None => bail!("the device did not exit (killed after the timeout)"),
        }
        if self.done.is_none() {
            bail!("the device exited without its final line");
        }
        if self.status_led == Some(false) {
            bail!("the device finished, but QEMU's trace shows its status LED dark: check the board's `status_led` in boards/src/lib.rs");
        }
        Ok(())
    }

    /// Converts `cycles` of the board's counter into executed instructions, using the
    /// calibration loop. Exact to a few instructions under QEMU `-icount`, where the
    /// counter advances with instructions; meaningless on real chips.
    pub fn instructions(&self, cycles: u64) -> Option<u64> {
        let (instructions, calibration_cycles) = self.calibration?;
        if calibration_cycles == 0 {
            return None;
        }
        Some((u128::from(cycles) * u128::from(instructions) / u128::from(calibration_cycles)) as u64)
    }

    /// Returns all outputs, row after row.
    pub fn outputs(&self) -> Vec<f32> {
        self.rows.iter().flat_map(|r| r.values.iter().copied()).collect()
    }
}

/// `key=value` pairs of a line; values end at the next space (lists are not split).
fn fields(line: &str) -> BTreeMap<String, String> {
    line.split(' ').filter_map(|word| word.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_into_rows_and_totals() {
        let mut report = Report::default();
        for line in [
            "hyperc board=microbit container=100 arena=8 scratch=4 stack_region=2048 rows=1",
            "row=0 cycles=1234 top1=1 values=3",
            "out=0 bits=[1065353216, 1073741824]",
            "out=2 bits=[0]",
            "done cycles=2000 peak_stack=512",
        ] {
            report.parse_line(line).unwrap();
        }
        assert_eq!(report.header.as_ref().unwrap().board, "microbit");
        assert_eq!(report.rows, vec![Row { cycles: 1234, top1: 1, values: vec![1.0, 2.0, 0.0] }]);
        assert_eq!(report.done, Some((2000, 512)));
    }

    #[test]
    fn outputs_out_of_order_are_rejected() {
        let mut report = Report::default();
        report.parse_line("row=0 cycles=1 top1=0 values=4").unwrap();
        assert!(report.parse_line("out=2 bits=[0]").is_err());
    }
}
