//! A free-running 64-bit cycle counter.
//!
//! Cortex-M: SysTick at the core clock, with its 24-bit wraps counted in the SysTick
//! exception (the Cortex-M0 has no DWT cycle counter, and QEMU emulates none).
//! RISC-V: the `mcycle` CSR. Under QEMU with `-icount`, both advance with the number of
//! executed instructions, so counts repeat exactly from run to run.

#[cfg(target_arch = "arm")]
mod imp {
    use core::sync::atomic::{AtomicU32, Ordering};

    use cortex_m::peripheral::syst::SystClkSource;
    use cortex_m::peripheral::SYST;

    const RELOAD: u32 = 0x00FF_FFFF;
    static WRAPS: AtomicU32 = AtomicU32::new(0);

    pub fn start() {
        // SAFETY: `init` calls this once, before anything else touches SysTick. The
        // firmware never takes the cortex-m `Peripherals` singleton, so this is the only
        // handle to SYST.
        let mut syst = unsafe { cortex_m::Peripherals::steal() }.SYST;
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
    }

    pub fn now() -> u64 {
        loop {
            let before = WRAPS.load(Ordering::Acquire);
            let current = SYST::get_current();
            if WRAPS.load(Ordering::Acquire) == before {
                return (u64::from(before) << 24) | u64::from(RELOAD - current);
            }
        }
    }

    /// 16 `nop`s, a decrement and a branch: 18 instructions per pass.
    pub fn spin(passes: u32) {
        // SAFETY: the loop only counts a scratch register down to zero; it touches no
        // memory and no flags the compiler relies on (`subs` sets flags, hence no
        // `preserves_flags`).
        unsafe {
            core::arch::asm!(
                "2:",
                ".rept 16",
                "nop",
                ".endr",
                "subs {0}, {0}, #1",
                "bne 2b",
                inout(reg) passes => _,
                options(nomem, nostack),
            );
        }
    }

    #[cortex_m_rt::exception]
    fn SysTick() {
        // Only this handler writes WRAPS, and it cannot preempt itself.
        WRAPS.store(WRAPS.load(Ordering::Relaxed).wrapping_add(1), Ordering::Release);
    }
}

#[cfg(target_arch = "riscv32")]
mod imp {
    pub fn start() {}

    pub fn now() -> u64 {
        riscv::register::mcycle::read64()
    }

    /// 16 `nop`s, a decrement and a branch: 18 instructions per pass.
    pub fn spin(passes: u32) {
        // SAFETY: the loop only counts a scratch register down to zero; it touches no
        // memory and changes nothing else.
        unsafe {
            core::arch::asm!(
                "2:",
                ".rept 16",
                "nop",
                ".endr",
                "addi {0}, {0}, -1",
                "bnez {0}, 2b",
                inout(reg) passes => _,
                options(nomem, nostack, preserves_flags),
            );
        }
    }
}

/// Instructions executed by one pass of [`calibrate`]'s loop.
const LOOP_INSTRUCTIONS: u64 = 18;
/// Passes of the loop.
const LOOP_PASSES: u32 = 50_000;

/// Runs a loop of exactly `18 × 50,000` instructions and returns that count with the
/// cycles it took. Under QEMU `-icount` their ratio converts cycles of the emulated
/// clock into executed instructions; on a real chip it is the cycles per instruction of
/// this loop.
pub fn calibrate() -> (u64, u64) {
    let start = now();
    imp::spin(LOOP_PASSES);
    let cycles = now() - start;
    (LOOP_INSTRUCTIONS * u64::from(LOOP_PASSES), cycles)
}

/// Starts the counter (called by [`super::init`]).
pub(crate) fn start() {
    imp::start()
}

/// Cycles since [`super::init`] on Cortex-M, since reset on RISC-V.
pub fn now() -> u64 {
    imp::now()
}
