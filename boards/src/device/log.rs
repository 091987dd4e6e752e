//! A defmt transport over semihosting: frames are written to the host's standard output
//! (QEMU sends them to the chardev named in `-semihosting-config`), where the runner
//! decodes them with the firmware's ELF file.

use core::cell::RefCell;

use critical_section::{CriticalSection, Mutex, RestoreState};
use semihosting::io::{Stdout, Write};

/// Frames are collected here and written in one semihosting call per frame or per
/// full buffer: each call stops the emulated CPU, so fewer is faster.
const BUFFER_BYTES: usize = 256;

struct State {
    encoder: defmt::Encoder,
    out: Output,
}

/// Encoded bytes waiting to be written to the host.
struct Output {
    stdout: Option<Stdout>,
    buffer: [u8; BUFFER_BYTES],
    len: usize,
}

impl Output {
    fn push(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if self.len == BUFFER_BYTES {
                self.drain();
            }
            self.buffer[self.len] = byte;
            self.len += 1;
        }
    }

    fn drain(&mut self) {
        if self.stdout.is_none() {
            self.stdout = semihosting::io::stdout().ok();
        }
        if let Some(stdout) = self.stdout.as_mut() {
            // A host that refuses the write loses the log, not the inference.
            let _ = stdout.write_all(&self.buffer[..self.len]);
        }
        self.len = 0;
    }
}

static STATE: Mutex<RefCell<State>> = Mutex::new(RefCell::new(State {
    encoder: defmt::Encoder::new(),
    out: Output { stdout: None, buffer: [0; BUFFER_BYTES], len: 0 },
}));

/// Interrupt state saved by `acquire`, restored by `release`. Only touched inside the
/// critical section that `acquire` opens.
static RESTORE: Mutex<core::cell::Cell<Option<RestoreState>>> = Mutex::new(core::cell::Cell::new(None));

fn with_state(f: impl FnOnce(&mut State)) {
    // SAFETY: only called between `acquire` and `release`, which hold the critical
    // section open, so no other code runs on this single-core chip meanwhile.
    let cs = unsafe { CriticalSection::new() };
    f(&mut STATE.borrow_ref_mut(cs));
}

#[defmt::global_logger]
struct SemihostingLogger;

// SAFETY: `acquire` opens a critical section that `release` closes, so frames never
// interleave; defmt calls `write` and `flush` only between the two.
unsafe impl defmt::Logger for SemihostingLogger {
    fn acquire() {
        // SAFETY: paired with the `release` in `Logger::release`; defmt never nests
        // acquire calls on one core.
        let restore = unsafe { critical_section::acquire() };
        // SAFETY: inside the critical section just opened.
        let cs = unsafe { CriticalSection::new() };
        RESTORE.borrow(cs).set(Some(restore));
        with_state(|state| {
            let State { encoder, out } = state;
            encoder.start_frame(|bytes| out.push(bytes));
        });
    }

    unsafe fn flush() {
        with_state(|state| state.out.drain());
    }

    unsafe fn release() {
        with_state(|state| {
            let State { encoder, out } = state;
            encoder.end_frame(|bytes| out.push(bytes));
            out.drain();
        });
        // SAFETY: still inside the critical section `acquire` opened.
        let cs = unsafe { CriticalSection::new() };
        if let Some(restore) = RESTORE.borrow(cs).take() {
            // SAFETY: `restore` came from the matching `acquire`.
            unsafe { critical_section::release(restore) };
        }
    }

    unsafe fn write(bytes: &[u8]) {
        with_state(|state| {
            let State { encoder, out } = state;
            encoder.write(bytes, |bytes| out.push(bytes));
        });
    }
}
