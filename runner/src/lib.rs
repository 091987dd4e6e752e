//! Runs hyperc firmware on a board and reads back what it reports.
//!
//! [`build`] compiles the firmware (the `firmware/` workspace) for a board with a model
//! container and input rows embedded; [`qemu::run`] runs the result in QEMU and
//! [`log::Report`] is what the device logged, decoded from its defmt frames with the
//! firmware's ELF file. [`probe::run`] hands real boards to `probe-rs run`.

pub mod bench;
pub mod build;
pub mod image;
pub mod led;
pub mod log;
pub mod prediction;
pub mod probe;
pub mod process;
pub mod qemu;

pub use build::{build, BuildRequest, Firmware, InputSource};
pub use log::{Report, Row};

use std::path::PathBuf;

/// Root of the repository (the parent of this crate's directory).
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Looks up a board by name, with the list of valid names in the error.
pub fn board(name: &str) -> anyhow::Result<&'static boards::Board> {
    boards::find(name).ok_or_else(|| {
        anyhow::anyhow!("unknown board {name:?}; choose one of: {}", boards::names().collect::<Vec<_>>().join(", "))
    })
}
