//! The model's working memory, in static RAM sized by build.rs.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::config::{ARENA_LEN, SCRATCH_LEN};

/// Every buffer an inference needs.
pub struct Buffers {
    /// Activations at the offsets the encoder planned, the input and output among them.
    pub arena: [f32; ARENA_LEN],
    /// One decoded weight row and bias (or one decoded tensor row).
    pub scratch: [f32; SCRATCH_LEN],
}

static mut BUFFERS: Buffers = Buffers { arena: [0.0; ARENA_LEN], scratch: [0.0; SCRATCH_LEN] };
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Hands out the buffers once; later calls get `None`.
pub fn take() -> Option<&'static mut Buffers> {
    // Single core, and no interrupt handler calls `take`: load then store cannot race.
    if TAKEN.load(Ordering::Acquire) {
        return None;
    }
    TAKEN.store(true, Ordering::Release);
    // SAFETY: TAKEN guarantees this mutable reference is created once, so it is the only
    // reference to BUFFERS for the rest of the program.
    unsafe { (&raw mut BUFFERS).as_mut() }
}
