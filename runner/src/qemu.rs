//! Running firmware in QEMU: semihosting carries the defmt log and the exit status.

use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use boards::Runner;

use crate::{process, Firmware, Report};

/// Builds the QEMU command line for `firmware`. `-icount shift=0` makes the emulated clock
/// advance one nanosecond per instruction, so cycle counts repeat exactly.
pub fn command(firmware: &Firmware) -> Result<Command> {
    let board = firmware.board;
    let Runner::Qemu { machine } = board.runner else {
        bail!("{} is a real board; run it with probe-rs", board.name);
    };
    let mut command = Command::new(board.architecture.qemu_binary());
    command.args(["-M", machine, "-display", "none", "-monitor", "none", "-serial", "none", "-icount", "shift=0"]);
    command.args(["-semihosting-config", "enable=on,target=native"]);
    if !board.architecture.is_arm() {
        command.args(["-bios", "none"]);
    }
    command.arg("-kernel").arg(&firmware.elf);
    Ok(command)
}

/// Runs `firmware` in QEMU, killing it after `timeout`, and decodes what it logged.
pub fn run(firmware: &Firmware, timeout: Duration) -> Result<Report> {
    let finished = process::run(&mut command(firmware)?, timeout, true, "install QEMU (make setup does)")?;
    let elf = std::fs::read(&firmware.elf).with_context(|| format!("{}: cannot read", firmware.elf.display()))?;
    let mut report = Report::decode(&elf, &finished.stdout, finished.status)?;
    for line in finished.stderr.lines().filter(|l| !l.trim().is_empty() && !is_benign(l)) {
        report.errors.push(format!("qemu: {line}"));
    }
    Ok(report)
}

/// Returns true for QEMU messages unrelated to the firmware.
fn is_benign(line: &str) -> bool {
    // The Stellaris timers print this when the firmware leaves them unconfigured.
    line.contains("Timer with period zero")
}
