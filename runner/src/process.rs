//! Running the program that hosts a firmware run (QEMU or probe-rs) with a time limit.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Output and exit status of a program that finished or was stopped.
#[derive(Debug, Default)]
pub struct Finished {
    /// Everything it wrote to standard output.
    pub stdout: Vec<u8>,
    /// Its standard error, when captured.
    pub stderr: String,
    /// Its exit status; `None` when it was killed after the time limit or by a signal.
    pub status: Option<i32>,
}

/// Runs `command` with standard input closed and standard output captured, killing it
/// after `timeout`. Standard error is captured when `capture_stderr` is set, otherwise it
/// goes to the terminal (probe-rs shows its flashing progress there). `install` explains
/// how to install the program, for the error when it cannot start.
pub fn run(command: &mut Command, timeout: Duration, capture_stderr: bool, install: &str) -> Result<Finished> {
    let program = command.get_program().to_string_lossy().into_owned();
    let stderr = if capture_stderr { Stdio::piped() } else { Stdio::inherit() };
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("cannot start {program}; {install}"))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).map(|_| bytes)
    });
    let errors = child.stderr.take().map(|mut stderr| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        })
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
    let stdout = reader.join().expect("reader thread").with_context(|| format!("cannot read {program}'s output"))?;
    let stderr = errors.map(|thread| thread.join().unwrap_or_default()).unwrap_or_default();
    Ok(Finished { stdout, stderr, status })
}
