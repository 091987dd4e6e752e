//! Running firmware in QEMU: semihosting carries the defmt log and the exit status.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use boards::Runner;

use crate::{led, process, Firmware, Report};

/// Builds the QEMU command line for `firmware`. `-icount shift=0` makes the emulated clock
/// advance one nanosecond per instruction, so cycle counts repeat exactly. With
/// `trace_log`, QEMU writes the trace event of the board's status LED
/// ([`led::trace_event`]) to that file.
pub fn command(firmware: &Firmware, trace_log: Option<&Path>) -> Result<Command> {
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
    if let (Some(log), Some(event)) = (trace_log, led::trace_event(board.status_led.pin)) {
        command.arg("-trace").arg(format!("enable={event}")).arg("-D").arg(log);
    }
    Ok(command)
}

/// Runs `firmware` in QEMU, killing it after `timeout`, and decodes what it logged. The
/// report's `status_led` is `Some(true)` when the firmware left its board's LED lit, and
/// `None` when QEMU's trace does not show the LED.
pub fn run(firmware: &Firmware, timeout: Duration) -> Result<Report> {
    let trace_dir = tempfile::tempdir().context("failed to create a temporary folder for QEMU's trace")?;
    let trace_log = trace_dir.path().join("trace.log");
    let mut command = command(firmware, Some(&trace_log))?;
    let finished = process::run(&mut command, timeout, true, "install QEMU (make setup does)")?;
    let elf = std::fs::read(&firmware.elf).with_context(|| format!("{}: cannot read", firmware.elf.display()))?;
    let mut report = Report::decode(&elf, &finished.stdout, finished.status)?;
    for line in finished.stderr.lines().filter(|l| !l.trim().is_empty() && !is_benign(l)) {
        report.errors.push(format!("qemu: {line}"));
    }
    // A missing log leaves the LED unknown, as a log without the LED's event does.
    let trace = std::fs::read_to_string(&trace_log).unwrap_or_default();
    report.status_led = led::traced_state(&firmware.board.status_led, &trace);
    Ok(report)
}

/// Returns true when the QEMU emulators of every board run, for a test called `test`.
/// Without them the test prints `SKIPPED` and should return, unless the environment sets
/// `HYPERC_REQUIRE_QEMU=1` (as `make test` and CI do): then this panics.
pub fn require_installed(test: &str) -> bool {
    let found = ["qemu-system-arm", "qemu-system-riscv32"]
        .iter()
        .all(|qemu| Command::new(qemu).arg("--version").output().is_ok_and(|o| o.status.success()));
    if !found {
        assert!(
            std::env::var("HYPERC_REQUIRE_QEMU").as_deref() != Ok("1"),
            "{test}: QEMU is required (HYPERC_REQUIRE_QEMU=1) but qemu-system-arm or qemu-system-riscv32 is missing; \
             run `make setup`"
        );
        eprintln!("SKIPPED: {test}: qemu-system-arm or qemu-system-riscv32 not found (`make setup` installs them)");
    }
    found
}

/// Returns true for QEMU messages unrelated to the firmware.
fn is_benign(line: &str) -> bool {
    // The Stellaris timers print this when the firmware leaves them unconfigured. A QEMU
    // that lacks the LED's trace event warns about the `-trace` option.
    line.contains("Timer with period zero") || line.contains("-trace enable=")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_trace_event_is_benign() {
        let warning = "qemu-system-arm: -trace enable=pl061_write: warning: trace event 'pl061_write' does not exist";
        assert!(is_benign(warning));
        assert!(is_benign("Timer with period zero, disabling"));
        assert!(!is_benign("qemu-system-arm: cannot open kernel"));
    }
}
