//! Real boards: flashing and running with `probe-rs run`, which reads the firmware's defmt
//! log over RTT, prints it in the format the runner requests and ends with the firmware's
//! semihosting exit status.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Result};
use boards::Runner;

use crate::log::PROBE_RS_LOG_FORMAT;
use crate::{process, Firmware, Report};

/// Flashes `firmware` with the `probe-rs` on `PATH`, runs it for at most `timeout` and
/// parses the log it printed.
///
/// Fails when probe-rs cannot start, or stops before the firmware's first line: no probe
/// connected or flashing failed. probe-rs prints its own message on the terminal first,
/// and the error names the board, the chip and the firmware file. A firmware that starts
/// and then fails gives a report whose [`Report::check_success`] returns the reason.
pub fn run(firmware: &Firmware, timeout: Duration) -> Result<Report> {
    run_with(OsStr::new("probe-rs"), firmware, timeout)
}

/// Runs [`run`] with the probe-rs executable given by `program`.
pub fn run_with(program: &OsStr, firmware: &Firmware, timeout: Duration) -> Result<Report> {
    let Runner::Probe { chip } = firmware.board.runner else {
        bail!("{} is emulated by QEMU; it needs no probe", firmware.board.name);
    };
    let mut command = Command::new(program);
    command.args(["run", "--chip", chip, "--log-format", PROBE_RS_LOG_FORMAT]).arg(&firmware.elf);
    let install = format!(
        "install probe-rs with `cargo install probe-rs-tools --locked` (tried {})",
        Path::new(program).display()
    );
    let finished = process::run(&mut command, timeout, false, &install)?;
    // NOTE: the parser is checked against defmt-decoder's formatter on a QEMU log, not on
    // a real board. Any other line probe-rs prints on standard output is kept as a device
    // line and ignored by the parser.
    let report = Report::from_probe_rs(&String::from_utf8_lossy(&finished.stdout), finished.status)?;
    if report.header.is_none() && finished.status != Some(0) {
        let how = match finished.status {
            Some(code) => format!("failed with status {code}"),
            None => format!("stopped after {} s or by a signal", timeout.as_secs()),
        };
        bail!(
            "probe-rs {how} before the firmware started on {} (chip {chip}); see its message above, check the \
             probe with `probe-rs list`, or flash {} by hand",
            firmware.board.name,
            firmware.elf.display()
        );
    }
    Ok(report)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;
    use std::sync::{Mutex, MutexGuard, PoisonError};

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(30);

    /// Lock held by every test here that starts a program. Linux does not execute a file
    /// that a process has open for writing (ETXTBSY). A child forked by another test thread
    /// keeps the open descriptors until it executes, so writing a script and starting one
    /// must not overlap.
    static STARTING_PROGRAMS: Mutex<()> = Mutex::new(());

    fn one_program_at_a_time() -> MutexGuard<'static, ()> {
        STARTING_PROGRAMS.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes an executable script that records its arguments in `args.txt` beside it,
    /// prints `log` and exits with `status`.
    fn fake_probe_rs(dir: &Path, log: &str, status: i32) -> PathBuf {
        let path = dir.join("probe-rs");
        let record = dir.join("args.txt");
        let printed = dir.join("log.txt");
        std::fs::write(&printed, log).unwrap();
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\ncat '{}'\nexit {status}\n",
            record.display(),
            printed.display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn firmware(board: &str, dir: &Path) -> Firmware {
        let board = boards::BOARDS.iter().find(|b| b.name == board).unwrap();
        Firmware { board, elf: dir.join("firmware.elf") }
    }

    /// A run of one row as probe-rs prints it: `defmt::println!` messages as they are, a
    /// message with a level after its padded level, colour codes around the level.
    const LOG: &str = "hyperc board=nrf52840-dk container=1400 arena=512 scratch=64 stack_region=200000 rows=1\n\
\u{1b}[32mINFO \u{1b}[0m | calibration instructions=4000 cycles=4100\n\
row=0 cycles=52000 top1=1 values=3\n\
out=0 bits=[1065353216, 1073741824, 0]\n\
\n\
done cycles=60000 peak_stack=2300\n";

    #[test]
    fn passes_chip_log_format_and_elf_to_probe_rs() {
        let _serial = one_program_at_a_time();
        let dir = tempfile::tempdir().unwrap();
        let program = fake_probe_rs(dir.path(), LOG, 0);
        run_with(program.as_os_str(), &firmware("nrf52840-dk", dir.path()), TIMEOUT).unwrap();
        let args = std::fs::read_to_string(dir.path().join("args.txt")).unwrap();
        let elf = dir.path().join("firmware.elf");
        let expected = format!("run\n--chip\nnRF52840_xxAA\n--log-format\n{{L}} | {{s}}\n{}\n", elf.display());
        assert_eq!(args, expected);
    }

    #[test]
    fn log_printed_by_probe_rs_becomes_a_report() {
        let _serial = one_program_at_a_time();
        let dir = tempfile::tempdir().unwrap();
        let program = fake_probe_rs(dir.path(), LOG, 0);
        let report = run_with(program.as_os_str(), &firmware("nrf52840-dk", dir.path()), TIMEOUT).unwrap();
        assert_eq!(report.header.as_ref().map(|h| h.board.as_str()), Some("nrf52840-dk"));
        assert_eq!(report.calibration, Some((4000, 4100)));
        assert_eq!(report.rows.len(), 1);
        assert_eq!(report.rows[0].values, vec![1.0, 2.0, 0.0]);
        assert_eq!(report.done, Some((60000, 2300)));
        assert_eq!(report.lines[1], "calibration instructions=4000 cycles=4100");
        assert_eq!(report.lines.len(), 5, "an empty line is not a message: {:?}", report.lines);
        report.check_success().unwrap();
    }

    #[test]
    fn device_error_and_status_reach_the_report() {
        let _serial = one_program_at_a_time();
        let dir = tempfile::tempdir().unwrap();
        let log = "hyperc board=rpi-pico container=9 arena=0 scratch=0 stack_region=100 rows=0\n\
ERROR | container: checksum mismatch\n";
        let program = fake_probe_rs(dir.path(), log, 1);
        let report = run_with(program.as_os_str(), &firmware("rpi-pico", dir.path()), TIMEOUT).unwrap();
        assert_eq!(report.errors, vec!["container: checksum mismatch".to_string()]);
        let error = report.check_success().unwrap_err().to_string();
        assert!(error.contains("checksum mismatch"), "{error}");
    }

    #[test]
    fn early_failure_names_board_chip_and_elf() {
        let _serial = one_program_at_a_time();
        let dir = tempfile::tempdir().unwrap();
        let program = fake_probe_rs(dir.path(), "", 3);
        let error = run_with(program.as_os_str(), &firmware("rpi-pico", dir.path()), TIMEOUT).unwrap_err();
        let error = format!("{error:#}");
        assert!(error.contains("failed with status 3"), "{error}");
        assert!(error.contains("rpi-pico (chip RP2040)"), "{error}");
        assert!(error.contains("firmware.elf"), "{error}");
    }

    #[test]
    fn missing_probe_rs_gives_install_command() {
        let _serial = one_program_at_a_time();
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-probe-rs");
        let result = run_with(missing.as_os_str(), &firmware("hifive1-revb", dir.path()), TIMEOUT);
        let error = format!("{:#}", result.unwrap_err());
        assert!(error.contains("cargo install probe-rs-tools"), "{error}");
    }

    #[test]
    fn qemu_board_is_rejected() {
        let _serial = one_program_at_a_time();
        let dir = tempfile::tempdir().unwrap();
        let program = fake_probe_rs(dir.path(), LOG, 0);
        let result = run_with(program.as_os_str(), &firmware("lm3s6965evb", dir.path()), TIMEOUT);
        let error = result.unwrap_err().to_string();
        assert!(error.contains("emulated by QEMU"), "{error}");
        assert!(!dir.path().join("args.txt").exists(), "probe-rs must not run for a QEMU board");
    }
}
