//! Compiling the firmware for one board, model and set of inputs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use boards::Board;

/// Source of the firmware's input rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputSource {
    /// Flash when they fit, else the host (QEMU boards only); build.rs decides.
    #[default]
    Auto,
    /// Embedded in flash.
    Flash,
    /// Read from the host over semihosting.
    Host,
}

/// Firmware build settings.
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// The board.
    pub board: &'static Board,
    /// The `.hcm` container to embed.
    pub model: &'a Path,
    /// Input rows, row after row; empty for a weights-only container.
    pub inputs: &'a [f32],
    /// Source of the input rows.
    pub input_source: InputSource,
    /// Decode every tensor instead of running the graph (to measure decoding alone).
    pub decode_only: bool,
}

/// A built firmware image.
#[derive(Debug, Clone)]
pub struct Firmware {
    /// The board it was built for.
    pub board: &'static Board,
    /// The ELF file, a private copy that later builds do not overwrite.
    pub elf: PathBuf,
}

/// Serialises builds within this process; the file lock below covers other processes.
static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// Directory for firmware builds and the runner's files: `target/firmware` at the root.
pub fn work_dir() -> PathBuf {
    crate::repo_root().join("target").join("firmware")
}

/// Builds the firmware for `request` (release profile) and returns a copy of the ELF.
pub fn build(request: &BuildRequest<'_>) -> Result<Firmware> {
    let board = request.board;
    let work = work_dir();
    fs::create_dir_all(&work).with_context(|| format!("{}: cannot create the build directory", work.display()))?;
    let model = fs::canonicalize(request.model)
        .with_context(|| format!("{}: cannot read the model container", request.model.display()))?;
    check_ram(board, &model, request.decode_only)?;

    let _guard = BUILD_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let lock_path = work.join("build.lock");
    let lock = fs::File::create(&lock_path).with_context(|| format!("{}: cannot create", lock_path.display()))?;
    lock.lock().with_context(|| format!("{}: cannot lock", lock_path.display()))?;

    let inputs = if request.inputs.is_empty() {
        None
    } else {
        let bytes: Vec<u8> = request.inputs.iter().flat_map(|v| v.to_le_bytes()).collect();
        // Named by content, so rebuilding with the same inputs does not rerun build.rs,
        // and a file the firmware reads over semihosting stays in place after the build.
        let path = work.join(format!("inputs-{:016x}.bin", boards::content_hash(&bytes)));
        if fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            fs::write(&path, &bytes).with_context(|| format!("{}: cannot write the inputs", path.display()))?;
        }
        Some(path)
    };

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = crate::repo_root().join("firmware").join("Cargo.toml");
    let target = board.architecture.target();
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--locked", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .args(["--target", target, "--features", board.name])
        .env("CARGO_TARGET_DIR", work.join("target"))
        .env("HYPERC_MODEL", &model)
        .env("DEFMT_LOG", "info")
        .env("HYPERC_DECODE_ONLY", if request.decode_only { "1" } else { "0" })
        .env(
            "HYPERC_INPUT_SOURCE",
            match request.input_source {
                InputSource::Auto => "",
                InputSource::Flash => "flash",
                InputSource::Host => "host",
            },
        );
    for inherited in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS", "CARGO_BUILD_TARGET"] {
        command.env_remove(inherited);
    }
    match &inputs {
        Some(path) => command.env("HYPERC_INPUT", path),
        None => command.env_remove("HYPERC_INPUT"),
    };
    let output = command.output().with_context(|| "cannot start cargo to build the firmware")?;
    let messages = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("building the firmware for {} with {} failed:\n{}", board.name, model.display(), messages.trim_end());
    }
    // Build script warnings (an invalid container, say) are worth passing on.
    for line in messages.lines().filter(|l| l.starts_with("warning: hyperc-firmware")) {
        eprintln!("{line}");
    }

    let built = work.join("target").join(target).join("release").join("hyperc-firmware");
    let copy = work.join(format!("{}-{:016x}.elf", board.name, boards::content_hash(&fs::read(&built)?)));
    fs::copy(&built, &copy).with_context(|| format!("{}: cannot copy the firmware", copy.display()))?;
    Ok(Firmware { board, elf: copy })
}

/// Fails with the firmware build script's message when the model's buffers do not fit the
/// board's RAM. Checking before cargo starts keeps cargo's output out of the message.
/// Containers that do not parse are left to the build, which embeds them for the firmware
/// to report.
fn check_ram(board: &'static Board, model: &Path, decode_only: bool) -> Result<()> {
    if decode_only {
        return Ok(());
    }
    let bytes = fs::read(model).with_context(|| format!("{}: cannot read the model container", model.display()))?;
    // The same containers as the build script's: a graph that validates, with an input.
    let parsed = decoder_core::Model::parse(&bytes).and_then(|m| m.input_len().map(|_| m));
    if let Ok(parsed) = parsed {
        if let Err(shortfall) = board.check_ram(parsed.arena_len(), parsed.scratch_len()) {
            bail!("{}: {shortfall}", model.display());
        }
    }
    Ok(())
}
