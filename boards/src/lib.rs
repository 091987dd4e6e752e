//! Descriptions of the boards hyperc firmware runs on: memory sizes, the QEMU machine
//! that emulates them and the probe-rs chip name that flashes them.
#![no_std]
#![deny(missing_docs)]

/// Instruction set family of a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// ARMv6-M (Cortex-M0, M0+).
    ThumbV6m,
    /// ARMv7-M (Cortex-M3).
    ThumbV7m,
    /// ARMv7E-M with a single-precision FPU (Cortex-M4F).
    ThumbV7emHf,
    /// RV32IMAC.
    Riscv32imac,
}

/// One board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Board {
    /// Short name used on the command line.
    pub name: &'static str,
    /// Instruction set.
    pub architecture: Architecture,
    /// Flash size in bytes.
    pub flash_bytes: u32,
    /// RAM size in bytes, as on the real board.
    pub ram_bytes: u32,
    /// QEMU machine that emulates it, if any.
    pub qemu_machine: Option<&'static str>,
    /// probe-rs chip name, for real boards.
    pub probe_rs_chip: Option<&'static str>,
}

/// The boards hyperc targets.
pub const BOARDS: &[Board] = &[
    Board {
        name: "lm3s6965evb",
        architecture: Architecture::ThumbV7m,
        flash_bytes: 256 * 1024,
        ram_bytes: 64 * 1024,
        qemu_machine: Some("lm3s6965evb"),
        probe_rs_chip: None,
    },
    Board {
        name: "mps2-an386",
        architecture: Architecture::ThumbV7emHf,
        flash_bytes: 4 * 1024 * 1024,
        ram_bytes: 4 * 1024 * 1024,
        qemu_machine: Some("mps2-an386"),
        probe_rs_chip: None,
    },
    Board {
        name: "microbit",
        architecture: Architecture::ThumbV6m,
        flash_bytes: 256 * 1024,
        ram_bytes: 16 * 1024,
        qemu_machine: Some("microbit"),
        probe_rs_chip: None,
    },
    Board {
        name: "sifive_e",
        architecture: Architecture::Riscv32imac,
        flash_bytes: 4 * 1024 * 1024,
        ram_bytes: 16 * 1024,
        qemu_machine: Some("sifive_e"),
        probe_rs_chip: None,
    },
    Board {
        name: "nrf52840-dk",
        architecture: Architecture::ThumbV7emHf,
        flash_bytes: 1024 * 1024,
        ram_bytes: 256 * 1024,
        qemu_machine: None,
        probe_rs_chip: Some("nRF52840_xxAA"),
    },
    Board {
        name: "rpi-pico",
        architecture: Architecture::ThumbV6m,
        flash_bytes: 2 * 1024 * 1024,
        ram_bytes: 264 * 1024,
        qemu_machine: None,
        probe_rs_chip: Some("RP2040"),
    },
    Board {
        name: "hifive1-revb",
        architecture: Architecture::Riscv32imac,
        flash_bytes: 4 * 1024 * 1024,
        ram_bytes: 16 * 1024,
        qemu_machine: None,
        probe_rs_chip: Some("fe310-g002"),
    },
];

/// Returns the board called `name`.
pub fn find(name: &str) -> Option<&'static Board> {
    BOARDS.iter().find(|b| b.name == name)
}
