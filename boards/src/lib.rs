//! The boards hyperc firmware runs on.
//!
//! The [`BOARDS`] table describes each board's memory, the QEMU machine that emulates it
//! or the probe-rs chip that flashes it; the firmware's build script and the host runner
//! both read it. On the devices themselves (`target_os = "none"`), [`device`] holds the
//! glue the firmware needs: a cycle counter, stack painting, the defmt transport and the
//! exit call, so the firmware has no board-specific code.
#![no_std]
#![deny(missing_docs)]

#[cfg(target_os = "none")]
pub mod device;

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

impl Architecture {
    /// Returns the Rust target triple that builds for it.
    pub const fn target(self) -> &'static str {
        match self {
            Architecture::ThumbV6m => "thumbv6m-none-eabi",
            Architecture::ThumbV7m => "thumbv7m-none-eabi",
            Architecture::ThumbV7emHf => "thumbv7em-none-eabihf",
            Architecture::Riscv32imac => "riscv32imac-unknown-none-elf",
        }
    }

    /// Returns the QEMU system emulator for it.
    pub const fn qemu_binary(self) -> &'static str {
        match self {
            Architecture::Riscv32imac => "qemu-system-riscv32",
            _ => "qemu-system-arm",
        }
    }

    /// Returns true for cortex-m-rt boards and false for riscv-rt boards.
    pub const fn is_arm(self) -> bool {
        !matches!(self, Architecture::Riscv32imac)
    }
}

/// Runner of a board: an emulator or a debug probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// Emulated by this QEMU machine; logs and input files go over semihosting.
    Qemu {
        /// The `-M` machine name.
        machine: &'static str,
    },
    /// A real board flashed and run by `probe-rs run`; logs go over RTT.
    Probe {
        /// The `--chip` name.
        chip: &'static str,
    },
}

/// One board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Board {
    /// Short name used on the command line and as the firmware's cargo feature.
    pub name: &'static str,
    /// Instruction set.
    pub architecture: Architecture,
    /// Address the firmware image starts at.
    pub flash_origin: u32,
    /// Flash available to the firmware, in bytes.
    pub flash_bytes: u32,
    /// Address of RAM.
    pub ram_origin: u32,
    /// RAM size in bytes, as on the real board even where QEMU emulates more.
    pub ram_bytes: u32,
    /// Bytes of RAM the linker script reserves for the stack.
    pub stack_bytes: u32,
    /// Emulator or probe that runs the board.
    pub runner: Runner,
    /// LED the firmware lights after a successful run.
    pub status_led: StatusLed,
}

/// A GPIO output pin, named by the peripheral that drives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gpio {
    /// Pin of a Stellaris GPIO port (an Arm PL061 whose clock must be enabled first).
    /// Port 0 is port A.
    Stellaris {
        /// Port number, 0 for A to 6 for G.
        port: u8,
        /// Pin within the port, 0 to 7.
        pin: u8,
    },
    /// Bit of the LED register in the FPGA I/O block of Arm's MPS2 boards.
    Mps2FpgaIo {
        /// Bit number, 0 or 1.
        bit: u8,
    },
    /// Pin of GPIO port 0 on a Nordic nRF51 or nRF52.
    Nrf {
        /// Pin number, 0 to 31.
        pin: u8,
    },
    /// Pin of the GPIO0 block of a SiFive FE310.
    Sifive {
        /// Pin number, 0 to 31.
        pin: u8,
    },
    /// Pin of the RP2040's user bank, driven by its single-cycle I/O block.
    Rp2040 {
        /// Pin number, 0 to 29.
        pin: u8,
    },
}

/// The LED a board's firmware lights once every row has run without an error. It stays
/// dark while the model runs and after an error, so a board without a probe still shows
/// how the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusLed {
    /// Pin that drives the LED.
    pub pin: Gpio,
    /// True when the LED lights with its pin low.
    pub active_low: bool,
    /// Pin held low as the LED's return path, for an LED in a matrix (the micro:bit's).
    pub return_path: Option<Gpio>,
    /// Name or place of the LED on the board, as its documentation gives it.
    pub label: &'static str,
}

/// ELF section in which the firmware's build script records how the image was built.
/// It contains `key=value` lines: `board`, `model` (the container's absolute path on the
/// build machine), `input` (the input rows' absolute path, or empty), `model_hash` and
/// `input_hash` ([`content_hash`] in hexadecimal, empty without inputs). The section is not
/// loaded on the device; `hyperc-runner elf` reads it to run an image on its board.
pub const BUILD_INFO_SECTION: &str = ".hyperc.build";

/// 64-bit FNV-1a hash of `bytes`. The build record keeps the hash of the model and of
/// the inputs, so a reader can tell whether the files at the recorded paths changed.
pub fn content_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// ELF section from which probe-rs 0.32 and later read the chip to flash, so that
/// `probe-rs run <elf>` needs no `--chip`. Written for boards flashed with probe-rs.
pub const PROBE_RS_CHIP_SECTION: &str = ".probe-rs.chip";

/// RAM used by statics other than a model's buffers: the defmt logger, counters and the
/// runtime's own data.
pub const STATIC_RESERVE_BYTES: u64 = 1024;

/// The RAM a model needs on a board, by part, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamNeed {
    /// The engine's arena, which also contains the input and output.
    pub arena: u64,
    /// The engine's scratch buffer.
    pub scratch: u64,
    /// Other statics ([`STATIC_RESERVE_BYTES`]).
    pub statics: u64,
    /// The stack the linker script reserves.
    pub stack: u64,
}

impl RamNeed {
    /// Returns the sum of the parts.
    pub const fn total(&self) -> u64 {
        self.arena + self.scratch + self.statics + self.stack
    }
}

/// A model too big for a board's RAM. Its `Display` gives the shortfall and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamShortfall {
    /// The model's need.
    pub need: RamNeed,
    /// The board's name.
    pub board: &'static str,
    /// The board's RAM in bytes.
    pub ram_bytes: u32,
}

impl core::fmt::Display for RamShortfall {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let need = &self.need;
        write!(
            f,
            "the model needs {} bytes of RAM (arena {}, scratch {}, other statics {}, stack {}) but {} has {} \
             bytes; choose a board with more RAM",
            need.total(),
            need.arena,
            need.scratch,
            need.statics,
            need.stack,
            self.board,
            self.ram_bytes
        )
    }
}

impl Board {
    /// Returns true when QEMU emulates the board.
    pub const fn is_qemu(&self) -> bool {
        matches!(self.runner, Runner::Qemu { .. })
    }

    /// Returns the RAM a model whose arena and scratch hold `arena` and `scratch` f32
    /// values needs on this board.
    pub const fn ram_need(&self, arena: usize, scratch: usize) -> RamNeed {
        RamNeed {
            arena: 4 * arena as u64,
            scratch: 4 * scratch as u64,
            statics: STATIC_RESERVE_BYTES,
            stack: self.stack_bytes as u64,
        }
    }

    /// Checks that a model with `arena` and `scratch` f32 values fits this board's RAM.
    pub fn check_ram(&'static self, arena: usize, scratch: usize) -> Result<RamNeed, RamShortfall> {
        let need = self.ram_need(arena, scratch);
        if need.total() > u64::from(self.ram_bytes) {
            return Err(RamShortfall { need, board: self.name, ram_bytes: self.ram_bytes });
        }
        Ok(need)
    }

    /// Writes the `memory.x` linker script for this board's runtime into `out`.
    ///
    /// Returns the script, or `None` if `out` is too small (1024 bytes suffice for
    /// every board in [`BOARDS`]).
    pub fn memory_x<'a>(&self, out: &'a mut [u8]) -> Option<&'a str> {
        let mut w = Writer { buf: out, len: 0 };
        let (flash, ram) = (self.flash_origin, self.ram_origin);
        if self.name == "rpi-pico" {
            // The boot ROM copies the first 256 bytes of flash (boot2) and runs them; the
            // vector table follows.
            w.push_fmt(format_args!(
                "MEMORY {{\n  BOOT2 : ORIGIN = {flash:#x}, LENGTH = 0x100\n  FLASH : ORIGIN = {:#x}, LENGTH = {}\n  RAM : ORIGIN = {ram:#x}, LENGTH = {}\n}}\n",
                flash + 0x100,
                self.flash_bytes - 0x100,
                self.ram_bytes
            ))?;
            w.push_fmt(format_args!(
                "SECTIONS {{\n  .boot2 ORIGIN(BOOT2) : {{ KEEP(*(.boot2)); }} > BOOT2\n}} INSERT BEFORE .text;\n"
            ))?;
        } else {
            w.push_fmt(format_args!(
                "MEMORY {{\n  FLASH : ORIGIN = {flash:#x}, LENGTH = {}\n  RAM : ORIGIN = {ram:#x}, LENGTH = {}\n}}\n",
                self.flash_bytes, self.ram_bytes
            ))?;
        }
        if self.architecture.is_arm() {
            // cortex-m-rt puts the stack at the top of RAM; `_stack_end` marks its floor.
            w.push_fmt(format_args!("_hyperc_stack_bytes = {};\n", self.stack_bytes))?;
            w.push_fmt(format_args!(
                "ASSERT(_stack_start - _stack_end >= _hyperc_stack_bytes, \"hyperc: static data leaves less than the reserved stack in RAM\");\n"
            ))?;
        } else {
            w.push_fmt(format_args!(
                "REGION_ALIAS(\"REGION_TEXT\", FLASH);\nREGION_ALIAS(\"REGION_RODATA\", FLASH);\nREGION_ALIAS(\"REGION_DATA\", RAM);\nREGION_ALIAS(\"REGION_BSS\", RAM);\nREGION_ALIAS(\"REGION_HEAP\", RAM);\nREGION_ALIAS(\"REGION_STACK\", RAM);\n_hyperc_stack_bytes = {};\n",
                self.stack_bytes
            ))?;
            w.push_fmt(format_args!(
                "ASSERT(_stack_start - __estack >= _hyperc_stack_bytes, \"hyperc: static data leaves less than the reserved stack in RAM\");\n"
            ))?;
        }
        let len = w.len;
        core::str::from_utf8(&out[..len]).ok()
    }
}

struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Writer<'_> {
    fn push_fmt(&mut self, args: core::fmt::Arguments<'_>) -> Option<()> {
        core::fmt::write(self, args).ok()
    }
}

impl core::fmt::Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(core::fmt::Error)?;
        self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

const KIB: u32 = 1024;

/// The boards hyperc targets.
pub const BOARDS: &[Board] = &[
    Board {
        name: "lm3s6965evb",
        architecture: Architecture::ThumbV7m,
        flash_origin: 0x0000_0000,
        flash_bytes: 256 * KIB,
        ram_origin: 0x2000_0000,
        ram_bytes: 64 * KIB,
        stack_bytes: 4 * KIB,
        runner: Runner::Qemu { machine: "lm3s6965evb" },
        status_led: StatusLed {
            pin: Gpio::Stellaris { port: 5, pin: 0 },
            active_low: false,
            return_path: None,
            label: "user LED, PF0",
        },
    },
    Board {
        name: "mps2-an386",
        architecture: Architecture::ThumbV7emHf,
        flash_origin: 0x0000_0000,
        flash_bytes: 4096 * KIB,
        ram_origin: 0x2000_0000,
        ram_bytes: 4096 * KIB,
        stack_bytes: 16 * KIB,
        runner: Runner::Qemu { machine: "mps2-an386" },
        status_led: StatusLed {
            pin: Gpio::Mps2FpgaIo { bit: 0 },
            active_low: false,
            return_path: None,
            label: "user LED 0",
        },
    },
    Board {
        name: "microbit",
        architecture: Architecture::ThumbV6m,
        flash_origin: 0x0000_0000,
        flash_bytes: 256 * KIB,
        ram_origin: 0x2000_0000,
        ram_bytes: 16 * KIB,
        stack_bytes: 4 * KIB,
        runner: Runner::Qemu { machine: "microbit" },
        status_led: StatusLed {
            pin: Gpio::Nrf { pin: 13 },
            active_low: false,
            return_path: Some(Gpio::Nrf { pin: 4 }),
            label: "matrix row 1, column 1",
        },
    },
    Board {
        name: "sifive_e",
        architecture: Architecture::Riscv32imac,
        flash_origin: 0x2040_0000,
        flash_bytes: 4096 * KIB,
        ram_origin: 0x8000_0000,
        ram_bytes: 16 * KIB,
        stack_bytes: 4 * KIB,
        runner: Runner::Qemu { machine: "sifive_e" },
        status_led: StatusLed {
            pin: Gpio::Sifive { pin: 19 },
            active_low: true,
            return_path: None,
            label: "green, GPIO 19",
        },
    },
    Board {
        name: "nrf52840-dk",
        architecture: Architecture::ThumbV7emHf,
        flash_origin: 0x0000_0000,
        flash_bytes: 1024 * KIB,
        ram_origin: 0x2000_0000,
        ram_bytes: 256 * KIB,
        stack_bytes: 16 * KIB,
        runner: Runner::Probe { chip: "nRF52840_xxAA" },
        status_led: StatusLed { pin: Gpio::Nrf { pin: 13 }, active_low: true, return_path: None, label: "LED1, P0.13" },
    },
    Board {
        name: "rpi-pico",
        architecture: Architecture::ThumbV6m,
        flash_origin: 0x1000_0000,
        flash_bytes: 2048 * KIB,
        ram_origin: 0x2000_0000,
        ram_bytes: 256 * KIB,
        stack_bytes: 16 * KIB,
        runner: Runner::Probe { chip: "RP2040" },
        status_led: StatusLed {
            pin: Gpio::Rp2040 { pin: 25 },
            active_low: false,
            return_path: None,
            label: "green, GPIO 25",
        },
    },
    Board {
        name: "hifive1-revb",
        architecture: Architecture::Riscv32imac,
        // The first 64 KiB of flash hold SiFive's bootloader, which jumps here.
        flash_origin: 0x2001_0000,
        flash_bytes: 4032 * KIB,
        ram_origin: 0x8000_0000,
        ram_bytes: 16 * KIB,
        stack_bytes: 4 * KIB,
        runner: Runner::Probe { chip: "fe310-g002" },
        status_led: StatusLed {
            pin: Gpio::Sifive { pin: 19 },
            active_low: true,
            return_path: None,
            label: "green, GPIO 19",
        },
    },
];

/// Returns the board called `name`.
pub fn find(name: &str) -> Option<&'static Board> {
    BOARDS.iter().find(|b| b.name == name)
}

/// Names of all boards, for messages.
pub fn names() -> impl Iterator<Item = &'static str> {
    BOARDS.iter().map(|b| b.name)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::string::ToString;

    use super::*;

    #[test]
    fn ram_need_adds_buffers_statics_and_stack() {
        let microbit = BOARDS.iter().find(|b| b.name == "microbit").unwrap();
        let need = microbit.ram_need(1000, 24);
        assert_eq!(need, RamNeed { arena: 4000, scratch: 96, statics: STATIC_RESERVE_BYTES, stack: 4096 });
        assert_eq!(need.total(), 4000 + 96 + 1024 + 4096);
    }

    #[test]
    fn check_ram_at_the_limit() {
        let microbit = BOARDS.iter().find(|b| b.name == "microbit").unwrap();
        // 16384 bytes of RAM: 1024 statics and 4096 stack leave 11264 bytes, 2816 f32 values.
        assert!(microbit.check_ram(2816, 0).is_ok());
        let shortfall = microbit.check_ram(2816, 1).unwrap_err();
        assert_eq!(shortfall.need.total(), 16388);
        let message = shortfall.to_string();
        assert!(message.contains("needs 16388 bytes"), "{message}");
        assert!(message.contains("(arena 11264, scratch 4, other statics 1024, stack 4096)"), "{message}");
        assert!(message.contains("microbit has 16384 bytes"), "{message}");
    }

    #[test]
    fn names_are_unique_and_found() {
        for (i, board) in BOARDS.iter().enumerate() {
            assert_eq!(find(board.name), Some(board));
            assert!(BOARDS[..i].iter().all(|b| b.name != board.name), "{} listed twice", board.name);
        }
        assert_eq!(find("no-such-board"), None);
    }

    #[test]
    fn memory_fits_the_stack_and_is_aligned() {
        for board in BOARDS {
            assert!(board.stack_bytes < board.ram_bytes, "{}", board.name);
            assert_eq!(board.ram_origin % 8, 0, "{}", board.name);
            assert_eq!(board.flash_origin % 256, 0, "{}", board.name);
        }
    }

    #[test]
    fn status_leds_name_existing_pins() {
        let exists = |gpio: Gpio| match gpio {
            Gpio::Stellaris { port, pin } => port <= 6 && pin <= 7,
            Gpio::Mps2FpgaIo { bit } => bit <= 1,
            Gpio::Nrf { pin } | Gpio::Sifive { pin } => pin <= 31,
            Gpio::Rp2040 { pin } => pin <= 29,
        };
        for board in BOARDS {
            let led = board.status_led;
            assert!(exists(led.pin), "{}: {:?}", board.name, led.pin);
            assert!(led.return_path.is_none_or(exists), "{}: {:?}", board.name, led.return_path);
            assert_ne!(led.return_path, Some(led.pin), "{}: the LED's pin is its own return path", board.name);
            assert!(!led.label.is_empty(), "{}", board.name);
        }
    }

    #[test]
    fn memory_x_names_the_regions_each_runtime_needs() {
        let mut buf = [0u8; 1024];
        let pico = find("rpi-pico").unwrap().memory_x(&mut buf).unwrap();
        assert!(pico.contains("BOOT2 : ORIGIN = 0x10000000, LENGTH = 0x100"), "{pico}");
        assert!(pico.contains("FLASH : ORIGIN = 0x10000100, LENGTH = 2096896"), "{pico}");
        let mut buf = [0u8; 1024];
        let sifive = find("sifive_e").unwrap().memory_x(&mut buf).unwrap();
        assert!(sifive.contains("REGION_ALIAS(\"REGION_STACK\", RAM)"), "{sifive}");
        assert!(sifive.contains("RAM : ORIGIN = 0x80000000, LENGTH = 16384"), "{sifive}");
        let mut small = [0u8; 16];
        assert_eq!(find("microbit").unwrap().memory_x(&mut small), None);
    }
}
