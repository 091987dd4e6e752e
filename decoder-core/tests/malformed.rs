//! Malformed and hostile containers: truncation, flipped bytes, wrong header fields, and
//! payloads with a valid CRC whose records declare impossible sizes.
//!
//! The containers are assembled here from the record types with postcard and
//! `container::header_for`, so these tests do not depend on the encoder. Every case
//! must return a typed error (or decode without panicking), never panic.

use decoder_core::codebook::write_group;
use decoder_core::container::{
    header_for, HyperRecord, ModelRecord, StorageRecord, TensorRecord, CRC32, FORMAT_VERSION, HEADER_LEN, MAGIC,
};
use decoder_core::hyperfunction::Trajectory;
use decoder_core::{Container, Error, TensorData, MAX_RANK};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// Building containers.
// ---------------------------------------------------------------------------------------

/// Packs `indices` least significant bit first, `bits` bits each, bit by bit.
fn pack(indices: &[u32], bits: u8) -> Vec<u8> {
    let bits = usize::from(bits);
    let mut out = vec![0u8; (indices.len() * bits).div_ceil(8)];
    for (i, &value) in indices.iter().enumerate() {
        for b in 0..bits {
            if (value >> b) & 1 == 1 {
                let bit = i * bits + b;
                out[bit / 8] |= 1 << (bit % 8);
            }
        }
    }
    out
}

fn group_bytes(groups: &[([i16; 2], u16, &[u32])]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(centre, side, scales) in groups {
        let mut group = vec![0u8; 6 + 4 * scales.len()];
        assert!(write_group(centre, side, scales, &mut group));
        out.extend_from_slice(&group);
    }
    out
}

fn shape(dims: &[u32]) -> heapless::Vec<u32, MAX_RANK> {
    heapless::Vec::from_slice(dims).expect("test shapes have at most MAX_RANK dimensions")
}

const RAW_VALUES: [f32; 3] = [0.5, -1.25, 3.0];
const GRAPH: [u8; 2] = [0xAB, 0xCD];

/// Codeword indices of the "conv" tensor: 4 rows of 2 pairs, codebook of 17 · 2 = 34.
const CONV_INDICES: [u32; 8] = [0, 1, 16, 17, 33, 5, 20, 9];
/// Codeword indices of the "fc" tensor: 2 rows of 2 pairs, codebook of 9.
const FC_INDICES: [u32; 4] = [8, 0, 3, 7];

/// Owned byte slices of a small valid container: one raw tensor and two encoded ones.
struct Fixture {
    raw: Vec<u8>,
    conv_groups: Vec<u8>,
    conv_indices: Vec<u8>,
    fc_groups: Vec<u8>,
    fc_indices: Vec<u8>,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            raw: RAW_VALUES.iter().flat_map(|v| v.to_le_bytes()).collect(),
            conv_groups: group_bytes(&[([10, -20], 40, &[2 << 16]), ([-5, 7], 30, &[3 << 16])]),
            conv_indices: pack(&CONV_INDICES, 6),
            fc_groups: group_bytes(&[([100, 50], 16, &[]), ([-3, 0], 9, &[])]),
            fc_indices: pack(&FC_INDICES, 4),
        }
    }

    /// Returns a 4 × 3 tensor (odd rows) with two groups of two rows and one outlier ring.
    fn conv(&self) -> HyperRecord<'_> {
        HyperRecord {
            rows: 4,
            row_len: 3,
            group_rows: 2,
            scale: 0.01,
            inner: 16,
            rings: 1,
            trajectory: Trajectory::rank1_lattice(16, 5),
            index_bits: 6,
            groups: &self.conv_groups,
            indices: &self.conv_indices,
        }
    }

    /// Returns a 2 × 2 × 2 tensor viewed as 2 rows of 4, with one group per row and no rings.
    fn fc(&self) -> HyperRecord<'_> {
        HyperRecord {
            rows: 2,
            row_len: 4,
            group_rows: 1,
            scale: 0.5,
            inner: 8,
            rings: 0,
            trajectory: Trajectory::rank1_lattice(8, 3),
            index_bits: 4,
            groups: &self.fc_groups,
            indices: &self.fc_indices,
        }
    }

    fn records(&self) -> Vec<TensorRecord<'_>> {
        vec![
            TensorRecord {
                name: "bias",
                shape: shape(&[3]),
                max_abs_error: 0.0,
                rel_mse: 0.0,
                storage: StorageRecord::Raw(&self.raw),
            },
            hyper_record("conv", &[4, 3], self.conv()),
            hyper_record("fc", &[2, 2, 2], self.fc()),
        ]
    }
}

fn hyper_record<'a>(name: &'a str, dims: &[u32], hyper: HyperRecord<'a>) -> TensorRecord<'a> {
    TensorRecord { name, shape: shape(dims), max_abs_error: 0.5, rel_mse: 0.01, storage: StorageRecord::Hyper(hyper) }
}

/// Serializes each record separately: the model record first, then the tensors.
fn payload_parts(tensor_count: u32, tensors: &[TensorRecord<'_>]) -> Vec<Vec<u8>> {
    let model = ModelRecord { tensor_count, graph: &GRAPH };
    let mut parts = vec![postcard::to_allocvec(&model).unwrap()];
    for tensor in tensors {
        parts.push(postcard::to_allocvec(tensor).unwrap());
    }
    parts
}

fn with_header(payload: &[u8]) -> Vec<u8> {
    let mut bytes = header_for(payload).to_vec();
    bytes.extend_from_slice(payload);
    bytes
}

fn assemble(tensor_count: u32, tensors: &[TensorRecord<'_>]) -> Vec<u8> {
    with_header(&payload_parts(tensor_count, tensors).concat())
}

fn valid_container() -> Vec<u8> {
    let fixture = Fixture::new();
    let records = fixture.records();
    assemble(records.len() as u32, &records)
}

/// Parses a container holding only `record` and returns the error, if any.
fn parse_single(record: TensorRecord<'_>) -> Result<(), Error> {
    let bytes = assemble(1, &[record]);
    Container::parse(&bytes).map(|_| ())
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

// ---------------------------------------------------------------------------------------
// Decoding everything a parsed container offers.
// ---------------------------------------------------------------------------------------

/// Decodes every tensor, row and pair of a container that parsed, and checks that the
/// different decoding paths agree with each other. Only an index past the codebook may
/// fail, because `Container::parse` has validated every length.
fn exercise(container: &Container<'_>) {
    let mut seen = 0u32;
    for tensor in container.tensors() {
        let tensor = tensor.expect("parse validated every record, so iteration must succeed");
        seen += 1;

        let mut whole = vec![0.0f32; tensor.len() as usize];
        let whole_result = tensor.decode_f32(&mut whole);
        let mut wrong = vec![0.0f32; tensor.len() as usize + 1];
        assert!(matches!(tensor.decode_f32(&mut wrong), Err(Error::BufferLength { .. })));

        match *tensor.data() {
            TensorData::Raw(bytes) => {
                whole_result.expect("a validated raw tensor decodes");
                for (value, chunk) in whole.iter().zip(bytes.chunks_exact(4)) {
                    let stored = f32::from_le_bytes(chunk.try_into().unwrap());
                    assert_eq!(value.to_bits(), stored.to_bits());
                }
            }
            TensorData::Hyper(h) => {
                let row_len = h.row_len() as usize;
                let mut all_rows_ok = true;
                for row in 0..h.rows() {
                    let mut fixed = vec![0i16; row_len];
                    let row_result = h.decode_row_i16(row, &mut fixed);
                    let mut pairs = Vec::new();
                    for pair in 0..h.pairs_per_row() {
                        pairs.push(h.pair(row, pair));
                    }
                    let first_error = pairs.iter().find_map(|p| p.err());
                    match first_error {
                        Some(error) => {
                            all_rows_ok = false;
                            let Error::IndexOutOfRange { index, codewords } = error else {
                                panic!("only an index past the codebook may fail after parsing, got {error:?}");
                            };
                            assert!(u64::from(index) >= codewords);
                            assert_eq!(codewords, h.codebook().len());
                            assert_eq!(row_result, Err(error));
                        }
                        None => {
                            row_result.expect("every pair of the row decodes, so the row does");
                            for (pair, q) in pairs.iter().enumerate() {
                                let q = q.unwrap();
                                for (k, &value) in q.iter().enumerate() {
                                    let column = 2 * pair + k;
                                    if column >= row_len {
                                        continue;
                                    }
                                    let saturated = value.clamp(i32::from(i16::MIN), i32::from(i16::MAX));
                                    assert_eq!(i32::from(fixed[column]), saturated);
                                    if whole_result.is_ok() {
                                        let decoded = whole[row as usize * row_len + column];
                                        assert_eq!(decoded.to_bits(), (value as f32 * h.scale()).to_bits());
                                    }
                                }
                            }
                        }
                    }
                }
                assert_eq!(whole_result.is_ok(), all_rows_ok);

                assert!(matches!(h.pair(h.rows(), 0), Err(Error::OutOfBounds { what: "row", .. })));
                assert!(matches!(h.pair(0, h.pairs_per_row()), Err(Error::OutOfBounds { what: "pair", .. })));
                let groups = h.rows().div_ceil(h.group_rows());
                for group in 0..groups {
                    h.group(group).expect("every group inside the validated slice parses");
                }
                assert!(matches!(h.group(groups), Err(Error::OutOfBounds { what: "group", .. })));
                let mut short = vec![0i16; row_len.saturating_sub(1)];
                assert!(matches!(h.decode_row_i16(0, &mut short), Err(Error::BufferLength { .. })));
            }
        }
    }
    assert_eq!(seen, container.tensor_count());
}

// ---------------------------------------------------------------------------------------
// The fixture itself.
// ---------------------------------------------------------------------------------------

#[test]
fn fixture_parses_and_decodes() {
    let bytes = valid_container();
    let container = Container::parse(&bytes).expect("the fixture is valid");
    assert_eq!(container.tensor_count(), 3);
    assert_eq!(container.graph(), &GRAPH);
    assert_eq!(container.size(), bytes.len());
    exercise(&container);

    let bias = container.find("bias").unwrap();
    let mut values = [0.0f32; 3];
    bias.decode_f32(&mut values).unwrap();
    assert_eq!(values, RAW_VALUES);

    // Index 0 is the group centre, and so is index N + 1 (ring 1 scales a zero offset).
    let conv = container.find("conv").unwrap();
    let TensorData::Hyper(h) = *conv.data() else { panic!("conv is stored encoded") };
    assert_eq!(h.pair(0, 0), Ok([10, -20]));
    assert_eq!(h.pair(1, 1), Ok([10, -20]));
    let mut row = [0.0f32; 3];
    conv.decode_row_f32(0, &mut row).unwrap();
    assert_eq!(row[0], 10.0 * 0.01f32);
    assert_eq!(row[1], -20.0 * 0.01f32);

    // The fc tensor's row 0 uses group 0 (centre 100, 50), row 1 group 1 (centre -3, 0).
    let fc = container.find("fc").unwrap();
    let TensorData::Hyper(h) = *fc.data() else { panic!("fc is stored encoded") };
    assert_eq!(h.pair(0, 1), Ok([100, 50]));
    assert_eq!(fc.shape(), &[2, 2, 2]);
}

// ---------------------------------------------------------------------------------------
// Truncation.
// ---------------------------------------------------------------------------------------

#[test]
fn truncation_at_every_length_is_rejected() {
    let bytes = valid_container();
    let payload_len = bytes.len() - HEADER_LEN;
    for len in 0..bytes.len() {
        let result = Container::parse(&bytes[..len]);
        if len < HEADER_LEN {
            assert_eq!(
                result.unwrap_err(),
                Error::Truncated { field: "header", needed: HEADER_LEN, available: len },
                "length {len}"
            );
        } else {
            assert_eq!(
                result.unwrap_err(),
                Error::Truncated { field: "payload", needed: payload_len, available: len - HEADER_LEN },
                "length {len}"
            );
        }
    }
}

#[test]
fn truncated_payload_with_matching_header_is_malformed() {
    let fixture = Fixture::new();
    let records = fixture.records();
    let parts = payload_parts(3, &records);
    let payload = parts.concat();
    // Record k ends at ends[k], and ends[0] is the end of the model record.
    let ends: Vec<usize> = parts
        .iter()
        .scan(0, |end, part| {
            *end += part.len();
            Some(*end)
        })
        .collect();

    for cut in 0..payload.len() {
        let bytes = with_header(&payload[..cut]);
        let expected = if cut < ends[0] {
            Error::Malformed { field: "model record", tensor: None }
        } else {
            let tensor = ends[1..].iter().position(|&end| cut < end).unwrap() as u32;
            Error::Malformed { field: "tensor record", tensor: Some(tensor) }
        };
        assert_eq!(Container::parse(&bytes).unwrap_err(), expected, "payload cut to {cut} bytes");
    }
}

// ---------------------------------------------------------------------------------------
// Single flipped bytes with the original header.
// ---------------------------------------------------------------------------------------

/// The error a container with one flipped byte must give, by the region of the byte.
fn expected_flip_error(original: &[u8], flipped: &[u8], position: usize) -> Error {
    let payload_len = original.len() - HEADER_LEN;
    match position {
        0..=3 => Error::BadMagic { found: flipped[0..4].try_into().unwrap() },
        4..=5 => {
            Error::UnsupportedVersion { found: u16::from_le_bytes([flipped[4], flipped[5]]), supported: FORMAT_VERSION }
        }
        6..=7 => Error::Invalid { field: "header flags", tensor: None, reason: "must be 0" },
        8..=11 => {
            let declared = read_u32(flipped, 8) as usize;
            if declared > payload_len {
                Error::Truncated { field: "payload", needed: declared, available: payload_len }
            } else {
                Error::LengthMismatch {
                    field: "container",
                    tensor: None,
                    expected: (HEADER_LEN + declared) as u64,
                    found: original.len() as u64,
                }
            }
        }
        12..=15 => Error::ChecksumMismatch { stored: read_u32(flipped, 12), computed: read_u32(original, 12) },
        _ => {
            Error::ChecksumMismatch { stored: read_u32(original, 12), computed: CRC32.checksum(&flipped[HEADER_LEN..]) }
        }
    }
}

#[test]
fn every_flipped_byte_gives_region_error() {
    let bytes = valid_container();
    for position in 0..bytes.len() {
        for mask in [0xFF, 0x01] {
            let mut flipped = bytes.clone();
            flipped[position] ^= mask;
            let expected = expected_flip_error(&bytes, &flipped, position);
            let error = Container::parse(&flipped).unwrap_err();
            assert_eq!(error, expected, "byte {position} xor {mask:#04x}");
            assert!(!error.to_string().is_empty());
        }
    }
}

#[test]
fn payload_flip_changes_crc() {
    // CRC-32 detects every single-byte error, so a flipped payload byte can never pass.
    let bytes = valid_container();
    for position in HEADER_LEN..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[position] ^= 0x01;
        assert_ne!(CRC32.checksum(&flipped[HEADER_LEN..]), read_u32(&bytes, 12));
    }
}

// ---------------------------------------------------------------------------------------
// Header fields.
// ---------------------------------------------------------------------------------------

#[test]
fn wrong_magic_is_rejected() {
    let mut bytes = valid_container();
    bytes[0..4].copy_from_slice(b"PK\x03\x04");
    assert_eq!(Container::parse(&bytes).unwrap_err(), Error::BadMagic { found: *b"PK\x03\x04" });
    // A short file that is not a container reports the magic, not the truncation.
    assert_eq!(Container::parse(b"GIF89a").unwrap_err(), Error::BadMagic { found: *b"GIF8" });
    assert_eq!(
        Container::parse(&MAGIC[..3]).unwrap_err(),
        Error::Truncated { field: "header", needed: HEADER_LEN, available: 3 }
    );
}

#[test]
fn wrong_version_is_rejected() {
    for version in [0u16, 2, u16::MAX] {
        let mut bytes = valid_container();
        bytes[4..6].copy_from_slice(&version.to_le_bytes());
        assert_eq!(
            Container::parse(&bytes).unwrap_err(),
            Error::UnsupportedVersion { found: version, supported: FORMAT_VERSION },
            "version {version}"
        );
    }
}

#[test]
fn nonzero_flags_are_rejected() {
    let mut bytes = valid_container();
    bytes[7] = 0x80;
    assert_eq!(
        Container::parse(&bytes).unwrap_err(),
        Error::Invalid { field: "header flags", tensor: None, reason: "must be 0" }
    );
}

#[test]
fn trailing_bytes_after_payload_are_rejected() {
    let bytes = valid_container();
    for extra in [1usize, 7] {
        let mut longer = bytes.clone();
        longer.extend(std::iter::repeat_n(0u8, extra));
        assert_eq!(
            Container::parse(&longer).unwrap_err(),
            Error::LengthMismatch {
                field: "container",
                tensor: None,
                expected: bytes.len() as u64,
                found: (bytes.len() + extra) as u64,
            }
        );
    }
}

#[test]
fn trailing_bytes_inside_payload_are_rejected() {
    let fixture = Fixture::new();
    let records = fixture.records();
    let mut payload = payload_parts(3, &records).concat();
    let records_end = payload.len();
    payload.extend_from_slice(&[0, 0, 0]);
    let bytes = with_header(&payload);
    assert_eq!(
        Container::parse(&bytes).unwrap_err(),
        Error::LengthMismatch {
            field: "payload",
            tensor: None,
            expected: records_end as u64,
            found: payload.len() as u64,
        }
    );
}

#[test]
fn tensor_count_past_records_is_rejected() {
    let fixture = Fixture::new();
    let records = fixture.records();
    let bytes = assemble(4, &records);
    assert_eq!(Container::parse(&bytes).unwrap_err(), Error::Malformed { field: "tensor record", tensor: Some(3) });
    let bytes = assemble(u32::MAX, &records);
    assert_eq!(Container::parse(&bytes).unwrap_err(), Error::Malformed { field: "tensor record", tensor: Some(3) });
}

#[test]
fn tensor_count_below_records_is_rejected() {
    let fixture = Fixture::new();
    let records = fixture.records();
    let parts = payload_parts(2, &records);
    let bytes = with_header(&parts.concat());
    let consumed: usize = parts[..3].iter().map(Vec::len).sum();
    let total: usize = parts.iter().map(Vec::len).sum();
    assert_eq!(
        Container::parse(&bytes).unwrap_err(),
        Error::LengthMismatch { field: "payload", tensor: None, expected: consumed as u64, found: total as u64 }
    );
}

// ---------------------------------------------------------------------------------------
// Valid CRC, hostile content.
// ---------------------------------------------------------------------------------------

#[test]
fn flipped_payload_with_fresh_crc_never_panics() {
    let bytes = valid_container();
    let payload = &bytes[HEADER_LEN..];
    let mut parsed = 0usize;
    for position in 0..payload.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut hostile = payload.to_vec();
            hostile[position] ^= mask;
            let container_bytes = with_header(&hostile);
            match Container::parse(&container_bytes) {
                Ok(container) => {
                    parsed += 1;
                    exercise(&container);
                }
                Err(error) => assert!(!error.to_string().is_empty()),
            }
        }
    }
    // Flips of values (centres, scales, indices) keep the structure valid, so some parse.
    assert!(parsed > 0, "no flipped payload parsed, so the decode paths were not exercised");
}

proptest! {
    #[test]
    fn random_payload_edits_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let bytes = valid_container();
        let mut hostile = bytes[HEADER_LEN..].to_vec();
        for (position, value) in &edits {
            let at = position.index(hostile.len());
            hostile[at] = *value;
        }
        let container_bytes = with_header(&hostile);
        if let Ok(container) = Container::parse(&container_bytes) {
            exercise(&container);
        }
    }
}

#[test]
fn hostile_groups_decode_with_saturation() {
    // Extreme centres, sides and ring scales must saturate instead of overflowing.
    let groups = group_bytes(&[([i16::MAX, i16::MIN], u16::MAX, &[u32::MAX]), ([i16::MIN, i16::MAX], u16::MAX, &[0])]);
    let indices = pack(&[33, 17, 16, 1, 0, 32, 33, 33], 6);
    let fixture = Fixture::new();
    let hyper = HyperRecord { groups: &groups, indices: &indices, ..fixture.conv() };
    let bytes = assemble(1, &[hyper_record("conv", &[4, 3], hyper)]);
    let container = Container::parse(&bytes).unwrap();
    exercise(&container);
}

// ---------------------------------------------------------------------------------------
// Valid CRC, impossible sizes: each gives its own typed error.
// ---------------------------------------------------------------------------------------

fn invalid(field: &'static str) -> impl Fn(Error) -> bool {
    move |error| matches!(error, Error::Invalid { field: f, tensor: Some(0), .. } if f == field)
}

#[test]
fn rows_times_row_len_must_match_shape() {
    let fixture = Fixture::new();
    let error = parse_single(hyper_record("conv", &[4, 4], fixture.conv())).unwrap_err();
    assert!(invalid("rows")(error), "{error:?}");
    // Same value count, but rows is not the first dimension.
    let error = parse_single(hyper_record("conv", &[3, 4], fixture.conv())).unwrap_err();
    assert!(invalid("rows")(error), "{error:?}");
    let error = parse_single(hyper_record("conv", &[12], fixture.conv())).unwrap_err();
    assert!(invalid("rows")(error), "{error:?}");
}

#[test]
fn zero_rows_or_columns_rejected() {
    let fixture = Fixture::new();
    let empty: &[u8] = &[];
    let zero_rows = HyperRecord { rows: 0, group_rows: 1, groups: empty, indices: empty, ..fixture.conv() };
    let error = parse_single(hyper_record("conv", &[0, 3], zero_rows)).unwrap_err();
    assert!(invalid("rows")(error), "{error:?}");
    let zero_columns = HyperRecord { row_len: 0, indices: empty, ..fixture.conv() };
    let error = parse_single(hyper_record("conv", &[4, 0], zero_columns)).unwrap_err();
    assert!(invalid("rows")(error), "{error:?}");
}

#[test]
fn group_rows_zero_or_past_rows_rejected() {
    let fixture = Fixture::new();
    for group_rows in [0, 5, u32::MAX] {
        let hyper = HyperRecord { group_rows, ..fixture.conv() };
        let error = parse_single(hyper_record("conv", &[4, 3], hyper)).unwrap_err();
        assert!(invalid("group_rows")(error), "group_rows {group_rows}: {error:?}");
    }
}

#[test]
fn index_bits_out_of_range_rejected() {
    let fixture = Fixture::new();
    for index_bits in [0u8, 25, u8::MAX] {
        let hyper = HyperRecord { index_bits, ..fixture.conv() };
        let error = parse_single(hyper_record("conv", &[4, 3], hyper)).unwrap_err();
        assert!(invalid("index_bits")(error), "index_bits {index_bits}: {error:?}");
    }
}

#[test]
fn bad_scale_rejected() {
    let fixture = Fixture::new();
    for scale in [f32::NAN, 0.0, -0.0, -0.01, f32::INFINITY, f32::NEG_INFINITY] {
        let hyper = HyperRecord { scale, ..fixture.conv() };
        let error = parse_single(hyper_record("conv", &[4, 3], hyper)).unwrap_err();
        assert!(invalid("scale")(error), "scale {scale}: {error:?}");
    }
}

#[test]
fn sixteen_rings_rejected() {
    let fixture = Fixture::new();
    // Sixteen rings with group bytes sized for them, so only the ring count is wrong.
    let scales = [1u32 << 16; 16];
    let groups = group_bytes(&[([0, 0], 10, &scales), ([0, 0], 10, &scales)]);
    let hyper = HyperRecord { rings: 16, groups: &groups, ..fixture.conv() };
    let error = parse_single(hyper_record("conv", &[4, 3], hyper)).unwrap_err();
    assert!(invalid("rings")(error), "{error:?}");
}

#[test]
fn groups_one_byte_off_rejected() {
    let fixture = Fixture::new();
    let expected = fixture.conv_groups.len() as u64;
    let short = &fixture.conv_groups[..fixture.conv_groups.len() - 1];
    let mut long = fixture.conv_groups.clone();
    long.push(0);
    for groups in [short, long.as_slice()] {
        let hyper = HyperRecord { groups, ..fixture.conv() };
        assert_eq!(
            parse_single(hyper_record("conv", &[4, 3], hyper)).unwrap_err(),
            Error::LengthMismatch { field: "groups", tensor: Some(0), expected, found: groups.len() as u64 }
        );
    }
}

#[test]
fn indices_one_byte_off_rejected() {
    let fixture = Fixture::new();
    // 8 pairs of 6 bits are 48 bits, exactly 6 bytes.
    let expected = 6u64;
    assert_eq!(fixture.conv_indices.len() as u64, expected);
    let short = &fixture.conv_indices[..5];
    let mut long = fixture.conv_indices.clone();
    long.push(0);
    for indices in [short, long.as_slice()] {
        let hyper = HyperRecord { indices, ..fixture.conv() };
        assert_eq!(
            parse_single(hyper_record("conv", &[4, 3], hyper)).unwrap_err(),
            Error::LengthMismatch { field: "indices", tensor: Some(0), expected, found: indices.len() as u64 }
        );
    }
}

/// A tensor record with an unbounded shape, serialized exactly like [`TensorRecord`]
/// (postcard writes a `heapless::Vec` and a `Vec` the same way).
#[derive(serde::Serialize)]
struct WideTensorRecord<'a> {
    name: &'a str,
    shape: Vec<u32>,
    max_abs_error: f32,
    rel_mse: f32,
    storage: StorageRecord<'a>,
}

fn parse_wide(dims: &[u32], raw: &[u8]) -> Result<(), Error> {
    let model = ModelRecord { tensor_count: 1, graph: &[] };
    let record = WideTensorRecord {
        name: "wide",
        shape: dims.to_vec(),
        max_abs_error: 0.0,
        rel_mse: 0.0,
        storage: StorageRecord::Raw(raw),
    };
    let mut payload = postcard::to_allocvec(&model).unwrap();
    payload.extend(postcard::to_allocvec(&record).unwrap());
    let bytes = with_header(&payload);
    Container::parse(&bytes).map(|_| ())
}

#[test]
fn seven_dimensions_rejected() {
    let raw = [0u8; 4];
    // The mirror struct is only trustworthy if six dimensions still parse.
    assert_eq!(parse_wide(&[1; 6], &raw), Ok(()));
    assert_eq!(parse_wide(&[1; 7], &raw), Err(Error::Malformed { field: "tensor record", tensor: Some(0) }));
}

#[test]
fn shape_product_overflow_rejected() {
    let error = parse_wide(&[65_536, 65_536], &[]).unwrap_err();
    assert!(invalid("shape")(error), "{error:?}");
    let error = parse_wide(&[u32::MAX, u32::MAX, u32::MAX, u32::MAX, u32::MAX, 2], &[]).unwrap_err();
    assert!(invalid("shape")(error), "{error:?}");
    // 2^32 - 1 values is the largest count allowed; it fails only on the data length.
    assert_eq!(
        parse_wide(&[u32::MAX], &[]).unwrap_err(),
        Error::LengthMismatch { field: "raw data", tensor: Some(0), expected: 4 * u64::from(u32::MAX), found: 0 }
    );
}

#[test]
fn raw_data_wrong_length_rejected() {
    let raw = [0u8; 13];
    for len in [0usize, 11, 13] {
        let record = TensorRecord {
            name: "bias",
            shape: shape(&[3]),
            max_abs_error: 0.0,
            rel_mse: 0.0,
            storage: StorageRecord::Raw(&raw[..len]),
        };
        assert_eq!(
            parse_single(record).unwrap_err(),
            Error::LengthMismatch { field: "raw data", tensor: Some(0), expected: 12, found: len as u64 }
        );
    }
}

#[test]
fn bad_max_abs_error_rejected() {
    let fixture = Fixture::new();
    for max_abs_error in [f32::NAN, -1.0, f32::INFINITY] {
        let record = TensorRecord { max_abs_error, ..hyper_record("conv", &[4, 3], fixture.conv()) };
        let error = parse_single(record).unwrap_err();
        assert!(invalid("max_abs_error")(error), "{max_abs_error}: {error:?}");
    }
}

#[test]
fn invalid_utf8_name_rejected() {
    let fixture = Fixture::new();
    let records = fixture.records();
    let mut payload = payload_parts(3, &records).concat();
    let at = payload.windows(4).position(|w| w == b"bias").unwrap();
    payload[at] = 0xFF;
    let bytes = with_header(&payload);
    assert_eq!(Container::parse(&bytes).unwrap_err(), Error::Malformed { field: "tensor record", tensor: Some(0) });
}

#[test]
fn index_past_codebook_fails_on_decode() {
    let fixture = Fixture::new();
    // The fc codebook has 8 + 1 codewords; 4-bit indices can hold up to 15.
    let indices = pack(&[8, 0, 3, 15], 4);
    let hyper = HyperRecord { indices: &indices, ..fixture.fc() };
    let bytes = assemble(1, &[hyper_record("fc", &[2, 2, 2], hyper)]);
    let container = Container::parse(&bytes).expect("an index past the codebook is found only when decoding");
    let tensor = container.tensor(0).unwrap();
    let TensorData::Hyper(h) = *tensor.data() else { panic!("fc is stored encoded") };
    let expected = Error::IndexOutOfRange { index: 15, codewords: 9 };

    let mut whole = [0.0f32; 8];
    assert_eq!(tensor.decode_f32(&mut whole), Err(expected));
    let mut row = [0i16; 4];
    assert_eq!(h.decode_row_i16(1, &mut row), Err(expected));
    assert_eq!(h.pair(1, 1), Err(expected));
    // Row 0 holds only valid indices and still decodes.
    assert_eq!(h.decode_row_i16(0, &mut row), Ok(()));
    assert_eq!(h.pair(1, 0), Ok([-3 + offset(h.codebook(), 9, 3)[0], offset(h.codebook(), 9, 3)[1]]));
    exercise(&container);
}

/// Offset of inner codeword `index` (1-based trajectory point `index - 1`) in a square of
/// side `side`, computed from the Q0.32 point in f64: `floor(h · side) − floor(side / 2)`.
fn offset(codebook: &decoder_core::codebook::Codebook, side: u16, index: u32) -> [i32; 2] {
    let point = codebook.trajectory.point(index - 1);
    let side = f64::from(side);
    let half = (side / 2.0).floor();
    let coordinate = |fraction: u32| ((f64::from(fraction) / 4_294_967_296.0 * side).floor() - half) as i32;
    [coordinate(point[0]), coordinate(point[1])]
}

#[test]
fn tensor_index_past_count_is_out_of_bounds() {
    let bytes = valid_container();
    let container = Container::parse(&bytes).unwrap();
    assert_eq!(container.tensor(3).unwrap_err(), Error::OutOfBounds { what: "tensor", requested: 3, available: 3 });
    assert!(container.find("missing").is_none());
}

#[test]
fn graph_value_with_overflowing_size_is_rejected() {
    use decoder_core::graph::{Graph, GraphRecord, Value, VALUE_ENTRY_LEN};

    // 65536^4 = 2^64 elements, which overflows usize on every target.
    let huge = Value { offset: 0, rank: 4, dims: [65_536; 4] };
    let small = Value { offset: 0, rank: 1, dims: [4, 1, 1, 1] };
    let mut values = small.to_bytes().to_vec();
    values.extend_from_slice(&huge.to_bytes());
    assert_eq!(values.len(), 2 * VALUE_ENTRY_LEN);
    let record = GraphRecord {
        arena_len: 16,
        row_scratch_len: 0,
        bias_scratch_len: 0,
        input: 0,
        output: 1,
        values: &values,
        op_count: 0,
        ops: &[],
    };
    let bytes = postcard::to_allocvec(&record).unwrap();

    assert_eq!(huge.len(), usize::MAX);
    let error = Graph::parse(&bytes).unwrap_err();
    assert_eq!(error, Error::Invalid { field: "graph value", tensor: None, reason: "lies outside the arena" });
}

/// Serializes a graph record with one value of `len` elements at offset 0 and the given sizes.
fn one_value_graph(len: u32, arena_len: u32, row_scratch_len: u32, bias_scratch_len: u32) -> Vec<u8> {
    use decoder_core::graph::{GraphRecord, Value};

    let value = Value { offset: 0, rank: 1, dims: [len, 1, 1, 1] };
    let values = value.to_bytes().to_vec();
    let record = GraphRecord {
        arena_len,
        row_scratch_len,
        bias_scratch_len,
        input: 0,
        output: 0,
        values: &values,
        op_count: 0,
        ops: &[],
    };
    postcard::to_allocvec(&record).unwrap()
}

#[test]
fn arena_larger_than_its_values_is_rejected() {
    use decoder_core::graph::Graph;

    assert!(Graph::parse(&one_value_graph(4, 4, 0, 0)).is_ok());
    let error = Graph::parse(&one_value_graph(4, 1 << 30, 0, 0)).unwrap_err();
    assert_eq!(
        error,
        Error::Invalid { field: "graph arena", tensor: None, reason: "is larger than the values it holds" }
    );
}

#[test]
fn scratch_larger_than_any_tensor_is_rejected() {
    let fixture = Fixture::new();
    let records = fixture.records();
    let largest = records.iter().map(|r| r.shape.iter().product::<u32>()).max().unwrap();
    let model = |row: u32, bias: u32| {
        let graph = one_value_graph(4, 4, row, bias);
        let mut payload =
            postcard::to_allocvec(&ModelRecord { tensor_count: records.len() as u32, graph: &graph }).unwrap();
        for record in &records {
            payload.extend(postcard::to_allocvec(record).unwrap());
        }
        with_header(&payload)
    };

    assert!(decoder_core::Model::parse(&model(largest, largest)).is_ok());
    let expected =
        Error::Invalid { field: "graph scratch", tensor: None, reason: "is larger than any tensor of the container" };
    assert_eq!(decoder_core::Model::parse(&model(largest + 1, 0)).unwrap_err(), expected);
    assert_eq!(decoder_core::Model::parse(&model(0, u32::MAX)).unwrap_err(), expected);
}
