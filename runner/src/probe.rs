//! Real boards: flashing and running with `probe-rs run`, which prints the defmt log
//! it reads over RTT and ends with the firmware's semihosting exit status.

use std::process::Command;

use anyhow::{bail, Context, Result};
use boards::Runner;

use crate::Firmware;

/// Flashes `firmware` and streams its log to the terminal; returns the exit status.
pub fn run(firmware: &Firmware) -> Result<i32> {
    let Runner::Probe { chip } = firmware.board.runner else {
        bail!("{} is emulated by QEMU; it needs no probe", firmware.board.name);
    };
    let status = Command::new("probe-rs")
        .args(["run", "--chip", chip])
        .arg(&firmware.elf)
        .status()
        .context("cannot start probe-rs; install it with `cargo install probe-rs-tools --locked`")?;
    Ok(status.code().unwrap_or(1))
}
