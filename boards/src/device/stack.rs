//! Peak stack use, measured by painting.
//!
//! [`paint`] fills the unused part of the stack region with a pattern; [`peak`] finds the
//! lowest word that no longer contains it. The difference to the top of the stack is the
//! deepest the stack has been since painting.

const PATTERN: u32 = 0x5AFE_C0DE;
/// Words just below the painting frame that are left alone, for the frame of `paint`
/// itself and of the functions it calls.
const MARGIN_WORDS: usize = 64;

unsafe extern "C" {
    /// Top of the stack (exclusive), from the runtime's linker script.
    static _stack_start: u32;
}

#[cfg(target_arch = "arm")]
unsafe extern "C" {
    /// Floor of the stack region: the end of static data (cortex-m-rt).
    static _stack_end: u32;
}

#[cfg(target_arch = "riscv32")]
unsafe extern "C" {
    /// Floor of the stack region: the end of static data and heap (riscv-rt).
    static __estack: u32;
}

fn floor() -> usize {
    #[cfg(target_arch = "arm")]
    let floor = &raw const _stack_end;
    #[cfg(target_arch = "riscv32")]
    let floor = &raw const __estack;
    floor as usize
}

/// Top of the stack region (its first address past the end).
pub fn top() -> usize {
    (&raw const _stack_start) as usize
}

/// Size of the stack region in bytes: from the end of static data to the top of RAM.
pub fn region_bytes() -> usize {
    top() - floor()
}

#[inline(never)]
pub(crate) fn paint() {
    let marker = 0u32;
    let here = core::hint::black_box(&marker) as *const u32 as usize;
    let end = here.saturating_sub(MARGIN_WORDS * 4) & !3;
    let mut address = (floor() + 3) & !3;
    while address < end {
        // SAFETY: the words between the end of static data and a margin below the
        // current stack frame belong to no Rust object: the stack has not grown there
        // yet and nothing else is placed there. Writing them is how painting works.
        unsafe { core::ptr::write_volatile(address as *mut u32, PATTERN) };
        address += 4;
    }
}

/// Deepest stack use since [`super::init`], in bytes.
pub fn peak() -> usize {
    let mut address = (floor() + 3) & !3;
    let top = top();
    while address < top {
        // SAFETY: the address is word-aligned and inside the stack region, which is
        // RAM, so the read cannot fault. Words below the deepest frame belong to no Rust
        // object, and the loop stops at the first word that differs from the pattern.
        let word = unsafe { core::ptr::read_volatile(address as *const u32) };
        if word != PATTERN {
            break;
        }
        address += 4;
    }
    top - address
}
