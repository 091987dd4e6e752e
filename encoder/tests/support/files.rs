//! Weight files built by hand, byte by byte, so that tests of the readers do not depend
//! on the writers under test: `.npy` arrays, uncompressed zip archives (`.npz`) and
//! safetensors files.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

/// Returns the little-endian bytes of `values`.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Builds a version 1.0 `.npy` file in C order. See [`npy_ordered`].
pub fn npy(descr: &str, shape: &str, payload: &[u8]) -> Vec<u8> {
    npy_ordered(descr, false, shape, payload)
}

/// Builds a version 1.0 `.npy` file: magic, version, u16 header length, a header dict
/// padded with spaces to a 64-byte boundary and ended by a newline, then `payload`.
pub fn npy_ordered(descr: &str, fortran_order: bool, shape: &str, payload: &[u8]) -> Vec<u8> {
    let fortran = if fortran_order { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// Builds a safetensors file: u64 little-endian header length, the JSON header padded
/// with spaces to a multiple of 8 bytes, then the data.
pub fn safetensors(json: &str, data: &[u8]) -> Vec<u8> {
    let mut header = json.to_owned();
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zip stores it.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Builds an uncompressed zip archive of `members`, laid out as in the PKWARE APPNOTE: local
/// headers with data, the central directory, and the end-of-central-directory record.
pub fn zip(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut archive = Vec::new();
    let mut directory = Vec::new();
    for (name, data) in members {
        let offset = archive.len() as u32;
        let (crc, size, name_len) = (crc32(data), data.len() as u32, name.len() as u16);
        // Version 2.0, no flags, stored, time 00:00, date 1980-01-01.
        let common = [&20u16.to_le_bytes()[..], &0u16.to_le_bytes(), &0u16.to_le_bytes(), &0u16.to_le_bytes()];
        let sizes = [&crc.to_le_bytes()[..], &size.to_le_bytes(), &size.to_le_bytes(), &name_len.to_le_bytes()];

        archive.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common.iter().for_each(|part| archive.extend_from_slice(part));
        archive.extend_from_slice(&0x0021u16.to_le_bytes());
        sizes.iter().for_each(|part| archive.extend_from_slice(part));
        archive.extend_from_slice(&0u16.to_le_bytes());
        archive.extend_from_slice(name.as_bytes());
        archive.extend_from_slice(data);

        directory.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        directory.extend_from_slice(&20u16.to_le_bytes());
        common.iter().for_each(|part| directory.extend_from_slice(part));
        directory.extend_from_slice(&0x0021u16.to_le_bytes());
        sizes.iter().for_each(|part| directory.extend_from_slice(part));
        // Extra field and comment lengths, disk number, internal and external attributes.
        directory.extend_from_slice(&[0; 12]);
        directory.extend_from_slice(&offset.to_le_bytes());
        directory.extend_from_slice(name.as_bytes());
    }
    let directory_offset = archive.len() as u32;
    archive.extend_from_slice(&directory);
    archive.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    archive.extend_from_slice(&[0; 4]);
    archive.extend_from_slice(&(members.len() as u16).to_le_bytes());
    archive.extend_from_slice(&(members.len() as u16).to_le_bytes());
    archive.extend_from_slice(&(directory.len() as u32).to_le_bytes());
    archive.extend_from_slice(&directory_offset.to_le_bytes());
    archive.extend_from_slice(&0u16.to_le_bytes());
    archive
}
