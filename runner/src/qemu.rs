//! Running firmware in QEMU: semihosting carries the defmt log and the exit status.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use boards::Runner;

use crate::{Firmware, Report};

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
    let mut command = command(firmware)?;
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {program}; install QEMU (make setup does)"))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).map(|_| bytes)
    });
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status.code();
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let bytes = reader.join().expect("reader thread").context("cannot read QEMU's output")?;
    let stderr = errors.join().unwrap_or_default();
    let elf = std::fs::read(&firmware.elf).with_context(|| format!("{}: cannot read", firmware.elf.display()))?;
    let mut report = Report::decode(&elf, &bytes, status)?;
    for line in stderr.lines().filter(|l| !l.trim().is_empty() && !is_benign(l)) {
        report.errors.push(format!("qemu: {line}"));
    }
    Ok(report)
}

/// Returns true for QEMU messages unrelated to the firmware.
fn is_benign(line: &str) -> bool {
    // The Stellaris timers print this when the firmware leaves them unconfigured.
    line.contains("Timer with period zero")
}
