//! Real boards: flashing and running with `probe-rs run`, which prints the defmt log
//! it reads over RTT and ends with the firmware's semihosting exit status.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};
use boards::Runner;

use crate::Firmware;

/// Flashes `firmware` with the `probe-rs` on `PATH` and streams its log to the terminal.
///
/// Fails when probe-rs cannot start or ends with a failure status: no probe connected,
/// flashing failed, or the firmware reported a failure. probe-rs prints its own message
/// first, and the error names the board, the chip and the firmware file.
pub fn run(firmware: &Firmware) -> Result<()> {
    run_with(OsStr::new("probe-rs"), firmware)
}

/// Runs [`run`] with the probe-rs executable given by `program`.
pub fn run_with(program: &OsStr, firmware: &Firmware) -> Result<()> {
    let Runner::Probe { chip } = firmware.board.runner else {
        bail!("{} is emulated by QEMU; it needs no probe", firmware.board.name);
    };
    let status =
        Command::new(program).args(["run", "--chip", chip]).arg(&firmware.elf).status().with_context(|| {
            format!(
                "cannot start {}; install probe-rs with `cargo install probe-rs-tools --locked`",
                Path::new(program).display()
            )
        })?;
    if !status.success() {
        let code = status.code().map_or_else(|| "a signal".to_string(), |code| format!("status {code}"));
        bail!(
            "probe-rs failed with {code} for {} (chip {chip}); see its message above, check the probe with \
             `probe-rs list`, or flash {} by hand",
            firmware.board.name,
            firmware.elf.display()
        );
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use super::*;

    /// Writes an executable script that records its arguments in `args.txt` beside it
    /// and exits with `status`.
    fn fake_probe_rs(dir: &Path, status: i32) -> PathBuf {
        let path = dir.join("probe-rs");
        let record = dir.join("args.txt");
        let script = format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit {status}\n", record.display());
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn firmware(board: &str, dir: &Path) -> Firmware {
        let board = boards::BOARDS.iter().find(|b| b.name == board).unwrap();
        Firmware { board, elf: dir.join("firmware.elf") }
    }

    #[test]
    fn passes_chip_and_elf_to_probe_rs() {
        let dir = tempfile::tempdir().unwrap();
        let program = fake_probe_rs(dir.path(), 0);
        run_with(program.as_os_str(), &firmware("nrf52840-dk", dir.path())).unwrap();
        let args = std::fs::read_to_string(dir.path().join("args.txt")).unwrap();
        let expected = format!("run\n--chip\nnRF52840_xxAA\n{}\n", dir.path().join("firmware.elf").display());
        assert_eq!(args, expected);
    }

    #[test]
    fn failure_names_board_chip_and_elf() {
        let dir = tempfile::tempdir().unwrap();
        let program = fake_probe_rs(dir.path(), 3);
        let error = run_with(program.as_os_str(), &firmware("rpi-pico", dir.path())).unwrap_err().to_string();
        assert!(error.contains("failed with status 3"), "{error}");
        assert!(error.contains("rpi-pico (chip RP2040)"), "{error}");
        assert!(error.contains("firmware.elf"), "{error}");
    }

    #[test]
    fn missing_probe_rs_gives_install_command() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-probe-rs");
        let error = format!("{:#}", run_with(missing.as_os_str(), &firmware("hifive1-revb", dir.path())).unwrap_err());
        assert!(error.contains("cargo install probe-rs-tools"), "{error}");
    }

    #[test]
    fn qemu_board_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let program = fake_probe_rs(dir.path(), 0);
        let error = run_with(program.as_os_str(), &firmware("lm3s6965evb", dir.path())).unwrap_err().to_string();
        assert!(error.contains("emulated by QEMU"), "{error}");
        assert!(!dir.path().join("args.txt").exists(), "probe-rs must not run for a QEMU board");
    }
}
