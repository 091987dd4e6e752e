//! NumPy `.npz` archives: zip files whose members are `.npy` arrays named `<key>.npy`.
//!
//! `numpy.load` strips the `.npy` suffix from each member name to get the key (`NpzFile` in
//! NumPy 2.x `numpy/lib/_npyio_impl.py`), so a key may contain any characters, including
//! `/`, `;`, `:` and spaces.

use std::collections::HashSet;
use std::io::{BufReader, Cursor, Read, Seek, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::npy::{decode_npy, encode_npy};
use super::{check_value_count, open_input, write_atomic, IoError, NamedTensor};

/// Suffix of every array member of an `.npz` archive.
const MEMBER_SUFFIX: &str = ".npy";

/// Returns true when `bytes` starts with a zip local file header or, for an archive with
/// no members, the end-of-central-directory record.
pub(crate) fn has_zip_signature(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Reads every array of an `.npz` archive, in archive order. Directory entries are skipped
/// and any other member that is not `<key>.npy` is an error.
pub fn read_npz(path: &Path) -> Result<Vec<NamedTensor>, IoError> {
    let (file, _) = open_input(path)?;
    read_npz_from(BufReader::new(file), path)
}

/// Reads every array of an `.npz` archive held in memory, as [`read_npz`] does for a file.
/// `path` only labels errors.
pub fn read_npz_bytes(bytes: &[u8], path: &Path) -> Result<Vec<NamedTensor>, IoError> {
    read_npz_from(Cursor::new(bytes), path)
}

fn read_npz_from(reader: impl Read + Seek, path: &Path) -> Result<Vec<NamedTensor>, IoError> {
    let invalid = |detail: String| IoError::InvalidNpz { path: path.to_path_buf(), detail };

    let mut archive = ZipArchive::new(reader).map_err(|e| {
        invalid(format!("cannot read the zip directory ({e}); the file is truncated or not a zip archive"))
    })?;

    let mut tensors = Vec::with_capacity(archive.len());
    let mut seen = HashSet::new();
    for index in 0..archive.len() {
        let mut member =
            archive.by_index(index).map_err(|e| invalid(format!("cannot open member number {index}: {e}")))?;
        if member.is_dir() {
            continue;
        }
        let member_name = member.name().to_owned();
        let Some(key) = member_name.strip_suffix(MEMBER_SUFFIX) else {
            return Err(invalid(format!(
                "member `{member_name}` is not an array because its name does not end in .npy"
            )));
        };
        if !seen.insert(key.to_owned()) {
            return Err(IoError::DuplicateName { path: path.to_path_buf(), tensor: key.to_owned() });
        }

        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes).map_err(|e| invalid(format!("cannot read member `{member_name}`: {e}")))?;
        let (shape, data) = decode_npy(&bytes, path, key)?;
        tensors.push(NamedTensor { name: key.to_owned(), shape, data });
    }
    Ok(tensors)
}

/// Writes tensors as an uncompressed `.npz` archive (the layout of `numpy.savez`), one
/// member `<name>.npy` per tensor in the given order, replacing `path` atomically.
///
/// Rejects duplicate names and tensors whose data does not fill their shape before
/// anything is written.
pub fn write_npz(path: &Path, tensors: &[NamedTensor]) -> Result<(), IoError> {
    let mut seen = HashSet::new();
    for tensor in tensors {
        check_value_count(path, &tensor.name, &tensor.shape, &tensor.data)?;
        if !seen.insert(tensor.name.as_str()) {
            return Err(IoError::DuplicateName { path: path.to_path_buf(), tensor: tensor.name.clone() });
        }
    }

    let archive = build_archive(tensors).map_err(|e| IoError::io(path, "build the .npz archive in memory", e))?;
    write_atomic(path, &archive)
}

fn build_archive(tensors: &[NamedTensor]) -> std::io::Result<Vec<u8>> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for tensor in tensors {
        let npy = encode_npy(&tensor.shape, &tensor.data);
        // Members of 4 GiB or more need zip64 extensions, which must be requested up front.
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(npy.len() as u64 >= u64::from(u32::MAX));
        writer.start_file(format!("{}{MEMBER_SUFFIX}", tensor.name), options)?;
        writer.write_all(&npy)?;
    }
    Ok(writer.finish()?.into_inner())
}
