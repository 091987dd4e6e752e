//! Facts about a firmware image read from its ELF sections: the flash and RAM it takes,
//! and its build record.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use boards::Board;
use object::{Object, ObjectSection, SectionKind};

/// Bytes of flash and of static RAM an image uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Code, read-only data (the container among it) and initial values of data.
    pub flash_bytes: u64,
    /// Data and zero-initialised data (the model's buffers among it).
    pub static_ram_bytes: u64,
}

/// Reads the footprint of the ELF file `bytes`.
pub fn footprint(bytes: &[u8]) -> Result<Footprint> {
    let file = object::File::parse(bytes).context("not an ELF file")?;
    let mut flash = 0;
    let mut ram = 0;
    for section in file.sections() {
        let name = section.name().unwrap_or("");
        if name.starts_with(".defmt") || name == ".stack" || name == ".heap" {
            continue; // defmt's table is read by the host only; riscv-rt's stack and heap
                      // sections only mark free RAM.
        }
        match section.kind() {
            SectionKind::Text | SectionKind::ReadOnlyData | SectionKind::ReadOnlyString => flash += section.size(),
            SectionKind::Data => {
                flash += section.size();
                ram += section.size();
            }
            SectionKind::UninitializedData => ram += section.size(),
            _ => {}
        }
    }
    Ok(Footprint { flash_bytes: flash, static_ram_bytes: ram })
}

/// Lowest address of the image's code and read-only data: where it expects flash to start.
pub fn lowest_flash_address(bytes: &[u8]) -> Result<u64> {
    let file = object::File::parse(bytes).context("not an ELF file")?;
    file.sections()
        .filter(|s| s.size() > 0 && matches!(s.kind(), SectionKind::Text | SectionKind::ReadOnlyData))
        .map(|s| s.address())
        .min()
        .context("the image has no code")
}

/// Address and size of the section called `name`, if the image has it.
pub fn section(bytes: &[u8], name: &str) -> Result<Option<(u64, u64)>> {
    let file = object::File::parse(bytes).context("not an ELF file")?;
    Ok(file.section_by_name(name).map(|s| (s.address(), s.size())))
}

/// Returns the contents of the section called `name`, if the image has it.
pub fn section_data(bytes: &[u8], name: &str) -> Result<Option<Vec<u8>>> {
    let file = object::File::parse(bytes).context("not an ELF file")?;
    file.section_by_name(name).map(|s| s.data().map(<[u8]>::to_vec).context("cannot read the section")).transpose()
}

/// The build record of an image, as the firmware's build script wrote it in
/// [`boards::BUILD_INFO_SECTION`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// The board it was built for.
    pub board: &'static Board,
    /// The container embedded, as a path on the machine that built the image, and the
    /// [`boards::content_hash`] of its bytes then.
    pub model: (PathBuf, u64),
    /// The input rows embedded or read from the host, if any, and their hash.
    pub input: Option<(PathBuf, u64)>,
}

impl BuildInfo {
    /// Reads the file at `recorded`'s path if its content is still what the image was
    /// built with; otherwise returns the reason it is not.
    pub fn read_unchanged(recorded: &(PathBuf, u64)) -> std::result::Result<Vec<u8>, String> {
        let (path, hash) = recorded;
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if boards::content_hash(&bytes) == *hash {
            Ok(bytes)
        } else {
            Err(format!("{} changed since the image was built", path.display()))
        }
    }
}

/// Reads the build record of the ELF file `bytes`. `name` is the file's path, for errors.
pub fn build_info(bytes: &[u8], name: &Path) -> Result<BuildInfo> {
    let file = object::File::parse(bytes).with_context(|| format!("{}: not an ELF file", name.display()))?;
    let section = file.section_by_name(boards::BUILD_INFO_SECTION).with_context(|| {
        format!(
            "{}: no {} section; this is not a hyperc firmware image, or it was built before the section existed \
             (rebuild it in firmware/)",
            name.display(),
            boards::BUILD_INFO_SECTION
        )
    })?;
    let data = section.data().with_context(|| format!("{}: cannot read the build record", name.display()))?;
    let text = std::str::from_utf8(data)
        .with_context(|| format!("{}: the build record is not UTF-8; rebuild the image", name.display()))?;
    let field = |key: &str| text.lines().find_map(|line| line.strip_prefix(key)?.strip_prefix('='));
    let board_name = field("board")
        .with_context(|| format!("{}: the build record names no board; rebuild the image", name.display()))?;
    let board = crate::board(board_name).with_context(|| format!("{}: built for an unknown board", name.display()))?;
    let file = |key: &str| -> Result<Option<(PathBuf, u64)>> {
        let Some(path) = field(key).filter(|p| !p.is_empty()) else { return Ok(None) };
        let hash = field(&format!("{key}_hash")).and_then(|h| u64::from_str_radix(h, 16).ok()).with_context(|| {
            format!("{}: the build record has no valid {key}_hash; rebuild the image", name.display())
        })?;
        Ok(Some((PathBuf::from(path), hash)))
    };
    let model = file("model")?
        .with_context(|| format!("{}: the build record names no model; rebuild the image", name.display()))?;
    let input = file("input")?;
    Ok(BuildInfo { board, model, input })
}
