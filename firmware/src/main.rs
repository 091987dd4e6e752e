//! Runs the model container embedded at build time on every input row and logs each
//! output with defmt, then exits with status 0, or 1 if the container is rejected. The
//! board's status LED lights before a successful exit and stays dark otherwise.
//!
//! The log is read by the host runner (`hyperc-runner`), which decodes the defmt frames
//! with this ELF file. Lines printed with `println!` form the protocol:
//! - `hyperc board=.. container=.. arena=.. scratch=.. stack_region=.. rows=..`
//! - `calibration instructions=<n> cycles=<c>`: a loop of known length, timed
//! - `row=<i> cycles=<n> top1=<k> values=<n>`, then `out=<offset> bits=[..]` lines: one
//!   inference, outputs as f32 bit patterns
//! - `tensor=<i> values=<n> crc=<c> cycles=<d>`: one decoded tensor (weights-only
//!   containers, or decode-only builds); `d` counts the decoding calls alone
//! - `done cycles=<total> peak_stack=<bytes>`
#![no_std]
#![no_main]

mod buffers;
mod config;
mod decode;
mod infer;

use decoder_core::Container;

#[cfg_attr(target_arch = "arm", cortex_m_rt::entry)]
#[cfg_attr(target_arch = "riscv32", riscv_rt::entry)]
fn main() -> ! {
    boards::device::init();
    // SAFETY: STATUS_LED is the LED of the board this image is built for, and nothing
    // else in the firmware uses GPIO, resets or clock gating.
    let mut led = unsafe { boards::device::led::status_led(&config::STATUS_LED) };
    let status = match run() {
        Ok(()) => {
            let Ok(()) = led.on();
            0
        }
        Err(error) => {
            defmt::error!("model container rejected: {}", error);
            1
        }
    };
    boards::device::exit(status)
}

#[inline(never)]
fn run() -> Result<(), decoder_core::Error> {
    let Some(buffers) = buffers::take() else {
        defmt::error!("buffers taken twice");
        boards::device::exit(1)
    };
    defmt::println!(
        "hyperc board={=str} container={=usize} arena={=usize} scratch={=usize} stack_region={=usize} rows={=usize}",
        config::BOARD,
        config::CONTAINER.len(),
        4 * config::ARENA_LEN,
        4 * config::SCRATCH_LEN,
        boards::device::stack::region_bytes(),
        config::ROWS
    );
    let (instructions, cycles) = boards::device::cycles::calibrate();
    defmt::println!("calibration instructions={=u64} cycles={=u64}", instructions, cycles);
    let container = Container::parse(config::CONTAINER)?;
    let start = boards::device::cycles::now();
    if container.graph().is_empty() || config::DECODE_ONLY {
        decode::all(&container, &mut buffers.scratch)?;
    } else {
        infer::all(container, buffers)?;
    }
    let cycles = boards::device::cycles::now() - start;
    defmt::println!("done cycles={=u64} peak_stack={=usize}", cycles, boards::device::stack::peak());
    Ok(())
}
