//! Flash and RAM taken by a firmware image, read from its ELF sections.

use anyhow::{Context, Result};
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
