//! Glue between the firmware and the chip it runs on.
//!
//! Everything here except the [`led`] pins is the same on every board of an
//! architecture: the firmware calls [`init`] once, then uses the [`cycles`] counter,
//! [`stack`] painting, the board's status [`led`] and [`exit`].
//! defmt frames leave the chip over semihosting (feature `semihosting-log`, for QEMU)
//! or RTT (feature `rtt-log`, for `probe-rs run`).

pub mod cycles;
pub mod led;
#[cfg(feature = "semihosting-log")]
mod log;
pub mod stack;

#[cfg(feature = "rtt-log")]
use defmt_rtt as _;

/// The RP2040 boot ROM loads these 256 bytes first; they set up the flash for execute in
/// place and jump to the vector table.
#[cfg(feature = "rp2040")]
#[unsafe(link_section = ".boot2")]
#[used]
pub static BOOT2: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

/// Starts the cycle counter and paints the free stack; call once, first thing in `main`.
pub fn init() {
    cycles::start();
    stack::paint();
}

/// Ends the program with `status` (0 for success). Under QEMU and `probe-rs run` this
/// is the semihosting exit call, which ends the emulator or the probe session with the
/// status.
pub fn exit(status: i32) -> ! {
    defmt::flush();
    semihosting::process::exit(status)
}

/// Reads a file on the host through semihosting, for inputs too large for flash.
pub use semihosting::fs::File as HostFile;
/// Semihosting's read trait, implemented by [`HostFile`].
pub use semihosting::io::Read as HostRead;

#[defmt::panic_handler]
fn defmt_panic() -> ! {
    exit(101)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    if let Some(location) = info.location() {
        defmt::error!("panic at {=str}:{=u32}", location.file(), location.line());
    } else {
        defmt::error!("panic");
    }
    exit(101)
}

#[cfg(target_arch = "arm")]
#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    defmt::error!("hard fault at pc {=u32:#010x}", frame.pc());
    exit(102)
}
