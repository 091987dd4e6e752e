//! Tests of tensor file reading and writing: round trips, hand-built files in each format,
//! corrupt inputs, atomic replacement and the MLPerf Tiny weight archives.

use std::fs;
use std::path::{Path, PathBuf};

use half::{bf16, f16};
use hyperc::io::{
    read_array, read_npz, read_safetensors, read_weights, write_atomic, write_atomic_verified, write_npy, write_npz,
    AtomicWriteError, IoError, NamedTensor,
};

mod support;

use support::files::{f32_bytes, npy_ordered, safetensors};

// ---------------------------------------------------------------------------------------
// Helpers that build or inspect files independently of the library.
// ---------------------------------------------------------------------------------------

fn be_bytes_f32(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn le_bytes_u16(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Walks the local file headers of a zip archive whose members are stored uncompressed
/// and returns each member's name and bytes. A local header is the signature `PK\x03\x04`
/// followed by fixed fields, with the compressed size at offset 18, the name length at 26,
/// the extra-field length at 28 and the name at 30. Handles the zip64 extra field that
/// NumPy's `savez` writes when the 32-bit size fields hold 0xFFFFFFFF.
fn stored_zip_members(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([archive[at], archive[at + 1]]));
    let u32_at = |at: usize| u32::from_le_bytes([archive[at], archive[at + 1], archive[at + 2], archive[at + 3]]);
    let u64_at = |at: usize| u64::from_le_bytes(archive[at..at + 8].try_into().unwrap());

    let mut members = Vec::new();
    let mut pos = 0;
    while archive[pos..].starts_with(b"PK\x03\x04") {
        let flags = u16_at(pos + 6);
        assert_eq!(flags & 0x8, 0, "member at {pos} uses a data descriptor");
        assert_eq!(u16_at(pos + 8), 0, "member at {pos} is compressed");
        let name_len = u16_at(pos + 26);
        let extra_len = u16_at(pos + 28);
        let name = String::from_utf8(archive[pos + 30..pos + 30 + name_len].to_vec()).unwrap();
        let extra_start = pos + 30 + name_len;

        let mut size = u64::from(u32_at(pos + 18));
        if size == u64::from(u32::MAX) {
            // Zip64 extended information: id 0x0001, then the 64-bit uncompressed size and
            // the 64-bit compressed size, in that order.
            let mut at = extra_start;
            while at < extra_start + extra_len {
                let (id, len) = (u16_at(at), u16_at(at + 2));
                if id == 1 {
                    size = u64_at(at + 4 + 8);
                }
                at += 4 + len;
            }
        }
        let data_start = extra_start + extra_len;
        let data_end = data_start + usize::try_from(size).unwrap();
        members.push((name, archive[data_start..data_end].to_vec()));
        pos = data_end;
    }
    members
}

/// Returns the element count of `shape` (1 for a scalar).
fn product(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Asserts that two tensor lists have the same names, shapes and bit patterns.
fn assert_bit_identical(actual: &[NamedTensor], expected: &[NamedTensor]) {
    assert_eq!(actual.len(), expected.len(), "tensor count");
    for (a, e) in actual.iter().zip(expected) {
        assert_eq!(a.name, e.name);
        assert_eq!(a.shape, e.shape, "shape of {}", e.name);
        assert_eq!(bits(&a.data), bits(&e.data), "data of {}", e.name);
    }
}

/// Tensors covering a scalar, zero-size arrays, an odd length and a 4-D shape, with names
/// like the real MLPerf Tiny keys and special float values.
fn sample_tensors() -> Vec<NamedTensor> {
    let specials = [0.0, -0.0, 1.5, -2.0, f32::MIN_POSITIVE / 8.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
    vec![
        NamedTensor {
            name: "sequential/dense/MatMul;sequential/dense/BiasAdd".into(),
            shape: vec![2, 3, 1, 5],
            data: (0..30).map(|i| i as f32 * 0.25 - 3.0).collect(),
        },
        NamedTensor { name: "scalar".into(), shape: vec![], data: vec![42.5] },
        NamedTensor { name: "empty".into(), shape: vec![0], data: vec![] },
        NamedTensor { name: "empty/middle: 3 x 0 x 2".into(), shape: vec![3, 0, 2], data: vec![] },
        NamedTensor { name: "odd;length".into(), shape: vec![7], data: specials[..7].to_vec() },
        NamedTensor {
            name: "nan payload/größe".into(),
            shape: vec![2],
            data: vec![f32::from_bits(0x7FC0_1234), specials[7]],
        },
    ]
}

fn assert_mentions(error: &impl std::fmt::Display, needles: &[&str]) {
    let message = error.to_string();
    for needle in needles {
        assert!(message.contains(needle), "message {message:?} does not mention {needle:?}");
    }
}

fn folder_entries(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(folder).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------
// Round trips.
// ---------------------------------------------------------------------------------------

#[test]
fn npz_round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.npz");
    let tensors = sample_tensors();

    write_npz(&path, &tensors).unwrap();
    let read_back = read_npz(&path).unwrap();
    assert_bit_identical(&read_back, &tensors);

    let through_dispatch = read_weights(&path).unwrap();
    assert_bit_identical(&through_dispatch, &tensors);
}

#[test]
fn npz_layout_matches_numpy_savez() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weights.npz");
    let tensors = sample_tensors();
    write_npz(&path, &tensors).unwrap();

    // numpy.load takes each key from a stored member named `<key>.npy` whose bytes are a
    // complete .npy file; check that layout without the library's reader.
    let members = stored_zip_members(&fs::read(&path).unwrap());
    let names: Vec<&str> = members.iter().map(|(name, _)| name.as_str()).collect();
    let expected: Vec<String> = tensors.iter().map(|t| format!("{}.npy", t.name)).collect();
    assert_eq!(names, expected);
    for ((_, npy), tensor) in members.iter().zip(&tensors) {
        assert!(npy.starts_with(b"\x93NUMPY"), "member {} lacks the .npy magic", tensor.name);
        assert!(npy.ends_with(&f32_bytes(&tensor.data)), "member {} data", tensor.name);
    }
}

#[test]
fn npy_round_trip_shapes() {
    let dir = tempfile::tempdir().unwrap();
    for tensor in sample_tensors() {
        let path = dir.path().join("array.npy");
        write_npy(&path, &tensor.shape, &tensor.data).unwrap();
        let read_back = read_array(&path).unwrap();
        assert_eq!(read_back.name, "array");
        assert_eq!(read_back.shape, tensor.shape, "{}", tensor.name);
        assert_eq!(bits(&read_back.data), bits(&tensor.data), "{}", tensor.name);
    }
}

#[test]
fn npy_written_header_is_numpy_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("array.npy");
    let data: Vec<f32> = (0..30).map(|i| i as f32).collect();
    write_npy(&path, &[2, 3, 1, 5], &data).unwrap();

    let bytes = fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    assert!(header.contains("'shape': (2, 3, 1, 5)"), "{header}");
    assert!(header.ends_with('\n'));
    assert_eq!((10 + header_len) % 64, 0);
    assert_eq!(&bytes[10 + header_len..], f32_bytes(&data).as_slice());
}

#[test]
fn raw_bin_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for len in [1usize, 7, 1001] {
        let values: Vec<f32> = (0..len).map(|i| (i as f32).sin() * 1e3).collect();
        let path = dir.path().join(format!("rows_{len}.bin"));
        fs::write(&path, f32_bytes(&values)).unwrap();

        let tensor = read_array(&path).unwrap();
        assert_eq!(tensor.name, format!("rows_{len}"));
        assert_eq!(tensor.shape, vec![len]);
        assert_eq!(bits(&tensor.data), bits(&values));

        let through_dispatch = read_weights(&path).unwrap();
        assert_eq!(through_dispatch.len(), 1);
        assert_eq!(bits(&through_dispatch[0].data), bits(&values));
    }
}

#[test]
fn raw_bin_bad_length_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.bin");
    fs::write(&path, [0u8; 10]).unwrap();
    let error = read_array(&path).unwrap_err();
    assert!(matches!(error, IoError::RawLength { len: 10, .. }), "{error:?}");
    assert_mentions(&error, &[&path.display().to_string(), "multiple of 4"]);
}

// ---------------------------------------------------------------------------------------
// float16 and bfloat16.
// ---------------------------------------------------------------------------------------

#[test]
fn f16_every_bit_pattern_matches_half() {
    let dir = tempfile::tempdir().unwrap();
    let patterns: Vec<u16> = (0..=u16::MAX).collect();
    let expected: Vec<f32> = patterns.iter().map(|&b| f16::from_bits(b).to_f32()).collect();

    let little = dir.path().join("little.npy");
    fs::write(&little, npy_ordered("<f2", false, "(65536,)", &le_bytes_u16(&patterns))).unwrap();
    let big = dir.path().join("big.npy");
    let big_payload: Vec<u8> = patterns.iter().flat_map(|b| b.to_be_bytes()).collect();
    fs::write(&big, npy_ordered(">f2", false, "(65536,)", &big_payload)).unwrap();

    for path in [&little, &big] {
        let tensor = read_array(path).unwrap();
        assert_eq!(tensor.shape, vec![65536]);
        // Bit comparison also covers NaN payloads and signed zeros.
        assert_eq!(bits(&tensor.data), bits(&expected), "{}", path.display());
    }
}

#[test]
fn f16_known_values_exact() {
    let two_pow_minus_24 = 2f64.powi(-24) as f32;
    let cases: [(u16, f32); 8] = [
        (0x3E00, 1.5),
        (0xC000, -2.0),
        (0x7BFF, 65504.0),
        (0x0001, two_pow_minus_24),          // smallest subnormal
        (0x03FF, 1023.0 * two_pow_minus_24), // largest subnormal
        (0x0400, 2f64.powi(-14) as f32),     // smallest normal
        (0x8000, -0.0),
        (0x7C00, f32::INFINITY),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known.npy");
    let patterns: Vec<u16> = cases.iter().map(|&(b, _)| b).collect();
    fs::write(&path, npy_ordered("<f2", false, "(8,)", &le_bytes_u16(&patterns))).unwrap();

    let tensor = read_array(&path).unwrap();
    for (value, (pattern, exact)) in tensor.data.iter().zip(cases) {
        assert_eq!(value.to_bits(), exact.to_bits(), "f16 {pattern:#06x}");
    }
}

#[test]
fn bf16_every_bit_pattern_matches_half() {
    let patterns: Vec<u16> = (0..=u16::MAX).collect();
    let json = r#"{"all":{"dtype":"BF16","shape":[256,256],"data_offsets":[0,131072]}}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("all.safetensors");
    fs::write(&path, safetensors(json, &le_bytes_u16(&patterns))).unwrap();

    let tensors = read_safetensors(&path).unwrap();
    assert_eq!(tensors.len(), 1);
    assert_eq!(tensors[0].shape, vec![256, 256]);
    for (&pattern, value) in patterns.iter().zip(&tensors[0].data) {
        assert_eq!(value.to_bits(), bf16::from_bits(pattern).to_f32().to_bits(), "bf16 {pattern:#06x}");

        // bfloat16 is the upper half of an IEEE binary32 value. The one exception is a
        // signaling NaN, which `half` returns quieted.
        let widened = f32::from_bits(u32::from(pattern) << 16);
        if widened.is_nan() {
            assert!(value.is_nan(), "bf16 {pattern:#06x}");
        } else {
            assert_eq!(value.to_bits(), widened.to_bits(), "bf16 {pattern:#06x}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Hand-built safetensors.
// ---------------------------------------------------------------------------------------

const F32_VALUES: [f32; 4] = [1.0, -2.5, 3.25, 1e-3];
const F16_BITS: [u16; 3] = [0x3E00, 0xC000, 0x7BFF]; // 1.5, -2.0, 65504
const BF16_BITS: [u16; 2] = [0x3FC0, 0x0001]; // 1.5, 2^-133

fn float_safetensors_data() -> Vec<u8> {
    let mut data = f32_bytes(&F32_VALUES);
    data.extend(le_bytes_u16(&F16_BITS));
    data.extend(le_bytes_u16(&BF16_BITS));
    data
}

#[test]
fn safetensors_float_types_read() {
    // Keys are listed out of data order; tensors must come back in data order.
    let json = r#"{"__metadata__":{"format":"pt"},
        "b bf16":{"dtype":"BF16","shape":[2],"data_offsets":[22,26]},
        "w/f32":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},
        "w;f16":{"dtype":"F16","shape":[3],"data_offsets":[16,22]}}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    fs::write(&path, safetensors(json, &float_safetensors_data())).unwrap();

    let tensors = read_safetensors(&path).unwrap();
    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["w/f32", "w;f16", "b bf16"]);

    assert_eq!(tensors[0].shape, vec![2, 2]);
    assert_eq!(bits(&tensors[0].data), bits(&F32_VALUES));
    assert_eq!(tensors[1].shape, vec![3]);
    assert_eq!(tensors[1].data, vec![1.5, -2.0, 65504.0]);
    assert_eq!(tensors[2].shape, vec![2]);
    assert_eq!(tensors[2].data, vec![1.5, 2f64.powi(-133) as f32]);

    let through_dispatch = read_weights(&path).unwrap();
    assert_bit_identical(&through_dispatch, &tensors);
}

#[test]
fn safetensors_i64_tensor_rejected() {
    let json = r#"{"w/f32":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},
        "w;f16":{"dtype":"F16","shape":[3],"data_offsets":[16,22]},
        "b bf16":{"dtype":"BF16","shape":[2],"data_offsets":[22,26]},
        "global_step":{"dtype":"I64","shape":[1],"data_offsets":[26,34]}}"#;
    let mut data = float_safetensors_data();
    data.extend(7i64.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    fs::write(&path, safetensors(json, &data)).unwrap();

    let error = read_safetensors(&path).unwrap_err();
    match &error {
        IoError::UnsupportedDtype { tensor, dtype, .. } => {
            assert_eq!(tensor, "global_step");
            assert_eq!(dtype, "I64");
        }
        other => panic!("expected UnsupportedDtype, got {other:?}"),
    }
    assert_mentions(&error, &[&path.display().to_string(), "global_step", "I64", "float32", "bfloat16"]);
}

#[test]
fn safetensors_inconsistent_header_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    let cases = [
        // Byte range shorter than the shape requires.
        safetensors(r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, &[0; 12]),
        // Data missing at the end of the file.
        safetensors(r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, &[0; 8]),
        // Shape whose element count overflows.
        safetensors(r#"{"w":{"dtype":"F32","shape":[18446744073709551615,2],"data_offsets":[0,16]}}"#, &[0; 16]),
        // Header length beyond the end of the file.
        {
            let mut bytes = 1000u64.to_le_bytes().to_vec();
            bytes.extend_from_slice(b"{}");
            bytes
        },
    ];
    for (index, bytes) in cases.iter().enumerate() {
        fs::write(&path, bytes).unwrap();
        let error = read_safetensors(&path).unwrap_err();
        assert!(matches!(error, IoError::InvalidSafetensors { .. }), "case {index}: {error:?}");
        assert_mentions(&error, &[&path.display().to_string()]);
    }
}

// ---------------------------------------------------------------------------------------
// Hand-built .npy files.
// ---------------------------------------------------------------------------------------

#[test]
fn npy_little_endian_f32() {
    let values = [1.0f32, -2.0, 0.5, 1e-30, 3.0e30, -0.0];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("le.npy");
    fs::write(&path, npy_ordered("<f4", false, "(2, 3)", &f32_bytes(&values))).unwrap();
    let tensor = read_array(&path).unwrap();
    assert_eq!(tensor.shape, vec![2, 3]);
    assert_eq!(bits(&tensor.data), bits(&values));
}

#[test]
fn npy_big_endian_f32() {
    let values = [1.0f32, -2.0, 0.5, 1e-30, 3.0e30, f32::from_bits(0x0012_3456)];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("be.npy");
    fs::write(&path, npy_ordered(">f4", false, "(3, 2)", &be_bytes_f32(&values))).unwrap();
    let tensor = read_array(&path).unwrap();
    assert_eq!(tensor.shape, vec![3, 2]);
    assert_eq!(bits(&tensor.data), bits(&values));
}

#[test]
fn npy_little_endian_f16() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("half.npy");
    fs::write(&path, npy_ordered("<f2", false, "(3,)", &le_bytes_u16(&F16_BITS))).unwrap();
    let tensor = read_array(&path).unwrap();
    assert_eq!(tensor.shape, vec![3]);
    assert_eq!(tensor.data, vec![1.5, -2.0, 65504.0]);
}

#[test]
fn npy_fortran_order_converted() {
    // value(i, j, k) = 100 i + 10 j + k for shape (2, 3, 4), stored column-major: the
    // first index varies fastest.
    let value = |i: usize, j: usize, k: usize| (100 * i + 10 * j + k) as f32;
    let mut fortran = Vec::new();
    for k in 0..4 {
        for j in 0..3 {
            for i in 0..2 {
                fortran.push(value(i, j, k));
            }
        }
    }
    let mut c_order = Vec::new();
    for i in 0..2 {
        for j in 0..3 {
            for k in 0..4 {
                c_order.push(value(i, j, k));
            }
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fortran.npy");
    fs::write(&path, npy_ordered("<f4", true, "(2, 3, 4)", &f32_bytes(&fortran))).unwrap();
    let tensor = read_array(&path).unwrap();
    assert_eq!(tensor.shape, vec![2, 3, 4]);
    assert_eq!(tensor.data, c_order);
}

#[test]
fn npy_f64_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doubles.npy");
    let payload: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    fs::write(&path, npy_ordered("<f8", false, "(2,)", &payload)).unwrap();

    let error = read_array(&path).unwrap_err();
    assert!(matches!(error, IoError::UnsupportedDtype { .. }), "{error:?}");
    assert_mentions(&error, &[&path.display().to_string(), "`doubles`", "<f8", "float64", "float32"]);
}

#[test]
fn npy_other_dtypes_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.npy");
    let cases = [("<i8", "int64", 16usize), ("|b1", "bool", 2), ("<c8", "complex64", 16), ("|O", "object", 16)];
    for (descr, name, payload_len) in cases {
        fs::write(&path, npy_ordered(descr, false, "(2,)", &vec![0; payload_len])).unwrap();
        let error = read_array(&path).unwrap_err();
        assert!(matches!(error, IoError::UnsupportedDtype { .. }), "{descr}: {error:?}");
        assert_mentions(&error, &[descr, name]);
    }
}

#[test]
fn npy_scalar_and_zero_size() {
    let dir = tempfile::tempdir().unwrap();
    let scalar = dir.path().join("scalar.npy");
    fs::write(&scalar, npy_ordered("<f4", false, "()", &7.25f32.to_le_bytes())).unwrap();
    let tensor = read_array(&scalar).unwrap();
    assert_eq!(tensor.shape, Vec::<usize>::new());
    assert_eq!(tensor.data, vec![7.25]);

    let empty = dir.path().join("empty.npy");
    fs::write(&empty, npy_ordered("<f4", false, "(4, 0)", &[])).unwrap();
    let tensor = read_array(&empty).unwrap();
    assert_eq!(tensor.shape, vec![4, 0]);
    assert!(tensor.data.is_empty());
}

// ---------------------------------------------------------------------------------------
// Corrupt inputs.
// ---------------------------------------------------------------------------------------

type Reader = fn(&Path) -> Result<Vec<NamedTensor>, IoError>;

fn all_readers() -> [(&'static str, Reader); 4] {
    [
        ("read_weights", read_weights),
        ("read_npz", read_npz),
        ("read_safetensors", read_safetensors),
        ("read_array", |path| read_array(path).map(|t| vec![t])),
    ]
}

#[test]
fn missing_file_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.npz");
    for (reader_name, reader) in all_readers() {
        let error = reader(&path).unwrap_err();
        assert!(matches!(error, IoError::NotFound { .. }), "{reader_name}: {error:?}");
        assert_mentions(&error, &[&path.display().to_string(), "not found"]);
    }
}

#[test]
fn directory_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("folder.npy");
    fs::create_dir(&path).unwrap();
    for (reader_name, reader) in all_readers() {
        let error = reader(&path).unwrap_err();
        assert!(matches!(error, IoError::IsDirectory { .. }), "{reader_name}: {error:?}");
        assert_mentions(&error, &[&path.display().to_string(), "directory"]);
    }
}

#[test]
fn empty_file_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["empty.npz", "empty.npy", "empty.safetensors", "empty.bin"] {
        let path = dir.path().join(name);
        fs::write(&path, []).unwrap();
        for (reader_name, reader) in all_readers() {
            let error = reader(&path).unwrap_err();
            assert!(matches!(error, IoError::Empty { .. }), "{reader_name} on {name}: {error:?}");
            assert_mentions(&error, &[&path.display().to_string(), "empty"]);
        }
    }
}

#[test]
fn truncated_npz_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.npz");
    write_npz(&whole, &sample_tensors()).unwrap();
    let bytes = fs::read(&whole).unwrap();

    let path = dir.path().join("truncated.npz");
    for cut in [bytes.len() - 1, bytes.len() / 2, 30, 4] {
        fs::write(&path, &bytes[..cut]).unwrap();
        let error = read_npz(&path).unwrap_err();
        assert!(matches!(error, IoError::InvalidNpz { .. }), "cut at {cut}: {error:?}");
        assert_mentions(&error, &[&path.display().to_string()]);

        let error = read_weights(&path).unwrap_err();
        assert!(matches!(error, IoError::InvalidNpz { .. }), "read_weights, cut at {cut}: {error:?}");
    }
}

#[test]
fn zip_of_garbage_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.npz");

    // A valid zip archive whose member is not an .npy file.
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    writer.start_file("layer/kernel.npy", options).unwrap();
    std::io::Write::write_all(&mut writer, b"this is not a NumPy array").unwrap();
    fs::write(&path, writer.finish().unwrap().into_inner()).unwrap();
    let error = read_npz(&path).unwrap_err();
    assert!(matches!(error, IoError::InvalidNpy { .. }), "{error:?}");
    assert_mentions(&error, &[&path.display().to_string(), "`layer/kernel`", "magic"]);

    // A member that is not named `<key>.npy`.
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer.start_file("notes.txt", options).unwrap();
    std::io::Write::write_all(&mut writer, b"hello").unwrap();
    fs::write(&path, writer.finish().unwrap().into_inner()).unwrap();
    let error = read_npz(&path).unwrap_err();
    assert!(matches!(error, IoError::InvalidNpz { .. }), "{error:?}");
    assert_mentions(&error, &["notes.txt"]);

    // Bytes that are no zip archive at all.
    fs::write(&path, b"PK\x03\x04 followed by nothing sensible at all").unwrap();
    let error = read_npz(&path).unwrap_err();
    assert!(matches!(error, IoError::InvalidNpz { .. }), "{error:?}");
}

#[test]
fn npy_short_data_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.npy");
    fs::write(&path, npy_ordered("<f4", false, "(10, 10)", &f32_bytes(&[1.0; 99]))).unwrap();

    let error = read_array(&path).unwrap_err();
    match &error {
        IoError::DataSize { expected, found, shape, .. } => {
            assert_eq!(*expected, 400);
            assert_eq!(*found, 396);
            assert_eq!(shape, &vec![10, 10]);
        }
        other => panic!("expected DataSize, got {other:?}"),
    }
    assert_mentions(&error, &[&path.display().to_string(), "`short`", "truncated"]);
}

#[test]
fn npy_trailing_data_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.npy");
    fs::write(&path, npy_ordered("<f4", false, "(2,)", &f32_bytes(&[1.0; 3]))).unwrap();
    let error = read_array(&path).unwrap_err();
    assert!(matches!(error, IoError::DataSize { expected: 8, found: 12, .. }), "{error:?}");
}

#[test]
fn npy_overflowing_shape_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.npy");
    let shape = format!("({}, {})", u64::MAX / 2, 3);
    fs::write(&path, npy_ordered("<f4", false, &shape, &[0; 16])).unwrap();
    let error = read_array(&path).unwrap_err();
    assert!(matches!(error, IoError::ShapeOverflow { .. }), "{error:?}");
    assert_mentions(&error, &[&path.display().to_string(), "`huge`"]);

    // Bytes overflow although the element count fits.
    let shape = format!("({},)", usize::MAX / 2);
    fs::write(&path, npy_ordered("<f4", false, &shape, &[0; 16])).unwrap();
    let error = read_array(&path).unwrap_err();
    assert!(matches!(error, IoError::ShapeOverflow { .. }), "{error:?}");
}

#[test]
fn npy_truncated_header_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.npy");
    let whole = npy_ordered("<f4", false, "(2,)", &f32_bytes(&[1.0, 2.0]));
    for cut in [3, 7, 9, 40] {
        fs::write(&path, &whole[..cut]).unwrap();
        let error = read_array(&path).unwrap_err();
        assert!(matches!(error, IoError::InvalidNpy { .. }), "cut at {cut}: {error:?}");
        assert_mentions(&error, &[&path.display().to_string()]);
    }
}

#[test]
fn npy_malformed_header_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.npy");
    let mut bytes = npy_ordered("<f4", false, "(2,)", &f32_bytes(&[1.0, 2.0]));
    let header_text = b"{'descr': '<f4', 'shape': (2,)}";
    bytes[10..10 + header_text.len()].copy_from_slice(header_text);
    bytes[10 + header_text.len()] = b' ';
    // The original header is longer, so overwrite the rest of the dict with spaces.
    let newline = bytes.iter().position(|&b| b == b'\n').unwrap();
    for byte in &mut bytes[10 + header_text.len()..newline] {
        *byte = b' ';
    }
    fs::write(&path, &bytes).unwrap();
    let error = read_array(&path).unwrap_err();
    assert!(matches!(error, IoError::InvalidNpy { .. }), "{error:?}");
    assert_mentions(&error, &["fortran_order"]);

    let mut bytes = npy_ordered("<f4", false, "(2,)", &f32_bytes(&[1.0, 2.0]));
    bytes[6] = 9;
    fs::write(&path, &bytes).unwrap();
    let error = read_array(&path).unwrap_err();
    assert_mentions(&error, &["version 9.0"]);
}

#[test]
fn unknown_format_lists_supported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.onnx");
    fs::write(&path, b"\x08\x07\x12\x07pytorch garbage").unwrap();
    let error = read_weights(&path).unwrap_err();
    assert!(matches!(error, IoError::UnsupportedFormat { .. }), "{error:?}");
    assert_mentions(&error, &[&path.display().to_string(), ".npz", ".safetensors", ".npy", ".bin"]);

    let error = read_array(&path).unwrap_err();
    assert!(matches!(error, IoError::UnsupportedFormat { .. }), "{error:?}");
}

#[test]
fn dispatch_uses_content_before_extension() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = sample_tensors();

    let npz = dir.path().join("weights.data");
    write_npz(&npz, &tensors).unwrap();
    assert_bit_identical(&read_weights(&npz).unwrap(), &tensors);

    let safetensors_path = dir.path().join("weights");
    let json = r#"{"w/f32":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
    fs::write(&safetensors_path, safetensors(json, &f32_bytes(&F32_VALUES))).unwrap();
    let read_back = read_weights(&safetensors_path).unwrap();
    assert_eq!(read_back.len(), 1);
    assert_eq!(read_back[0].name, "w/f32");

    let npy = dir.path().join("single.array");
    fs::write(&npy, npy_ordered("<f4", false, "(4,)", &f32_bytes(&F32_VALUES))).unwrap();
    let read_back = read_weights(&npy).unwrap();
    assert_eq!(read_back.len(), 1);
    assert_eq!(read_back[0].name, "single");
    assert_eq!(bits(&read_back[0].data), bits(&F32_VALUES));
}

#[test]
fn write_npz_rejects_bad_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.npz");

    let mismatched = [NamedTensor { name: "a/b".into(), shape: vec![2, 3], data: vec![0.0; 5] }];
    let error = write_npz(&path, &mismatched).unwrap_err();
    assert!(matches!(error, IoError::ValueCount { values: 5, expected: 6, .. }), "{error:?}");
    assert_mentions(&error, &[&path.display().to_string(), "`a/b`"]);

    let duplicated = [
        NamedTensor { name: "same".into(), shape: vec![1], data: vec![1.0] },
        NamedTensor { name: "same".into(), shape: vec![1], data: vec![2.0] },
    ];
    let error = write_npz(&path, &duplicated).unwrap_err();
    assert!(matches!(error, IoError::DuplicateName { .. }), "{error:?}");

    let overflowing = [NamedTensor { name: "big".into(), shape: vec![usize::MAX, 2], data: vec![] }];
    let error = write_npz(&path, &overflowing).unwrap_err();
    assert!(matches!(error, IoError::ShapeOverflow { .. }), "{error:?}");

    let error = write_npy(&path, &[3], &[1.0]).unwrap_err();
    assert!(matches!(error, IoError::ValueCount { .. }), "{error:?}");

    assert!(folder_entries(dir.path()).is_empty(), "{:?}", folder_entries(dir.path()));
}

// ---------------------------------------------------------------------------------------
// Atomic writes.
// ---------------------------------------------------------------------------------------

#[test]
fn atomic_verifier_failure_keeps_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.hcm");
    let old = b"old contents that must survive".to_vec();
    fs::write(&path, &old).unwrap();

    let mut seen_path = PathBuf::new();
    let result = write_atomic_verified(&path, b"new contents", |temp: &Path| {
        seen_path = temp.to_path_buf();
        assert_eq!(fs::read(temp).unwrap(), b"new contents");
        Err("decoded weights differ")
    });

    match result {
        Err(AtomicWriteError::Verification { path: error_path, error }) => {
            assert_eq!(error_path, path);
            assert_eq!(error, "decoded weights differ");
        }
        other => panic!("expected a verification error, got {other:?}"),
    }
    assert_eq!(seen_path.parent(), Some(dir.path()), "temporary file not beside the destination");
    assert_eq!(fs::read(&path).unwrap(), old);
    assert_eq!(folder_entries(dir.path()), vec!["model.hcm".to_owned()]);
}

#[test]
fn atomic_verifier_success_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.hcm");
    fs::write(&path, b"old").unwrap();

    let result = write_atomic_verified(&path, b"new contents", |temp: &Path| {
        if fs::read(temp).unwrap() == b"new contents" {
            Ok(())
        } else {
            Err("temporary file has the wrong contents")
        }
    });
    result.unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"new contents");
    assert_eq!(folder_entries(dir.path()), vec!["model.hcm".to_owned()]);
}

#[test]
fn atomic_write_creates_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.bin");
    write_atomic(&path, &[1, 2, 3]).unwrap();
    assert_eq!(fs::read(&path).unwrap(), [1, 2, 3]);
    assert_eq!(folder_entries(dir.path()), vec!["fresh.bin".to_owned()]);
}

#[cfg(unix)]
#[test]
fn atomic_write_keeps_permissions() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.npz");
    fs::write(&path, b"old").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    write_atomic(&path, b"new").unwrap();
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
}

#[test]
fn atomic_write_missing_folder_names_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/folder/model.npz");
    let error = write_atomic(&path, b"data").unwrap_err();
    assert!(matches!(error, IoError::Io { .. }), "{error:?}");
    assert_mentions(&error, &[&path.display().to_string(), "folder exists"]);

    let error = write_npz(&path, &sample_tensors()).unwrap_err();
    assert_mentions(&error, &[&path.display().to_string()]);
}

#[test]
fn atomic_write_over_directory_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taken");
    fs::create_dir(&path).unwrap();
    let error = write_atomic(&path, b"data").unwrap_err();
    assert!(matches!(error, IoError::IsDirectory { .. }), "{error:?}");
    assert!(path.is_dir());
    assert_eq!(folder_entries(dir.path()), vec!["taken".to_owned()]);
}

// ---------------------------------------------------------------------------------------
// MLPerf Tiny weight archives.
// ---------------------------------------------------------------------------------------

/// Weight archives and the prefix that every tensor name starts with.
const MODEL_ARCHIVES: [(&str, &str); 4] = [
    ("weights/ad01_fp32.npz", "functional_1/"),
    ("weights/kws_ref_model_float32.npz", "functional_1/"),
    ("weights/pretrainedResnet.npz", "model/"),
    ("weights/vww_96_float.npz", "model/"),
];

#[test]
fn model_archives_read_and_round_trip() {
    for (relative, prefix) in MODEL_ARCHIVES {
        let Some(path) = hyperc::require_model_file("model_archives_read_and_round_trip", relative) else {
            continue;
        };
        let tensors = read_npz(&path).unwrap();
        assert!(!tensors.is_empty(), "{relative} has no tensors");

        // Names and payloads agree with a direct walk of the stored zip members.
        let members = stored_zip_members(&fs::read(&path).unwrap());
        assert_eq!(members.len(), tensors.len(), "{relative}");
        for ((member_name, npy), tensor) in members.iter().zip(&tensors) {
            assert_eq!(member_name, &format!("{}.npy", tensor.name), "{relative}");
            assert!(npy.ends_with(&f32_bytes(&tensor.data)), "{relative}: payload of {}", tensor.name);
        }

        for tensor in &tensors {
            assert_eq!(tensor.data.len(), product(&tensor.shape), "{relative}: {}", tensor.name);
            assert!(!tensor.data.is_empty(), "{relative}: {} is empty", tensor.name);
            assert!(tensor.data.iter().all(|v| v.is_finite()), "{relative}: {} has non-finite values", tensor.name);
            assert!(tensor.name.starts_with(prefix), "{relative}: {}", tensor.name);
        }

        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("copy.npz");
        write_npz(&copy, &tensors).unwrap();
        assert_bit_identical(&read_npz(&copy).unwrap(), &tensors);
        assert_bit_identical(&read_weights(&path).unwrap(), &tensors);
    }
}

#[test]
fn model_archive_names_keep_separators() {
    // Fused TFLite tensors are named by every op they merge, joined with ';'.
    for relative in ["weights/kws_ref_model_float32.npz", "weights/pretrainedResnet.npz", "weights/vww_96_float.npz"] {
        let Some(path) = hyperc::require_model_file("model_archive_names_keep_separators", relative) else {
            continue;
        };
        let tensors = read_npz(&path).unwrap();
        assert!(tensors.iter().any(|t| t.name.contains(';')), "{relative}: no fused name");
        for tensor in &tensors {
            for op in tensor.name.split(';') {
                assert!(op.contains('/'), "{relative}: op {op:?} in {} has no scope", tensor.name);
            }
        }
    }
}

#[test]
fn ad01_first_dense_layer_shape() {
    let Some(path) = hyperc::require_model_file("ad01_first_dense_layer_shape", "weights/ad01_fp32.npz") else {
        return;
    };
    let tensors = read_npz(&path).unwrap();
    // The AD01 autoencoder maps 640 input features to 128 units in its first layer.
    let first = &tensors[0];
    assert_eq!(first.name, "functional_1/dense/MatMul");
    assert_eq!(product(&first.shape), 640 * 128);
    assert!(first.shape.contains(&640), "{:?}", first.shape);
    assert!(first.shape.contains(&128), "{:?}", first.shape);
    let bias = &tensors[1];
    assert_eq!(bias.name, "functional_1/dense/BiasAdd/ReadVariableOp/resource");
    assert_eq!(bias.shape, vec![128]);
}

#[test]
fn ad01_rows_input_shape() {
    let Some(path) = hyperc::require_model_file("ad01_rows_input_shape", "inputs/ad01_rows.npy") else {
        return;
    };
    let tensor = read_array(&path).unwrap();
    assert_eq!(tensor.name, "ad01_rows");
    assert_eq!(tensor.shape, vec![40, 640]);
    assert_eq!(tensor.data.len(), 40 * 640);
    assert!(tensor.data.iter().all(|v| v.is_finite()));
}
