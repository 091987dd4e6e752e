//! Chooses the board from the cargo feature, embeds the container named by `HYPERC_MODEL`
//! (and the inputs named by `HYPERC_INPUT`), sizes the static buffers from the container,
//! checks that they fit the board's RAM, and writes the board's `memory.x`.
//!
//! Environment:
//! - `HYPERC_MODEL`: the `.hcm` container to embed (required).
//! - `HYPERC_INPUT`: input rows as raw little-endian f32 values (optional).
//! - `HYPERC_INPUT_SOURCE`: `flash` or `host`; by default inputs go in flash when they
//!   fit and are read from the host over semihosting (QEMU boards only) when they do not.
//! - `HYPERC_DECODE_ONLY=1`: decode every tensor instead of running the graph, to measure
//!   decoding alone.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::exit;

use boards::{content_hash, Board, Runner, BUILD_INFO_SECTION, PROBE_RS_CHIP_SECTION};
use decoder_core::{Container, Model};

/// Flash kept free for the firmware's code when deciding where inputs go.
const CODE_RESERVE: usize = 96 * 1024;

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    exit(1)
}

fn board() -> &'static Board {
    let chosen: Vec<&Board> = boards::BOARDS
        .iter()
        .filter(|b| env::var_os(format!("CARGO_FEATURE_{}", b.name.to_uppercase().replace('-', "_"))).is_some())
        .collect();
    let names = boards::names().collect::<Vec<_>>().join(", ");
    match chosen[..] {
        [board] => board,
        [] => fail(&format!("choose a board with exactly one cargo feature: {names}")),
        _ => fail("more than one board feature is enabled; choose exactly one"),
    }
}

/// The work a container gives the firmware.
enum Plan {
    /// Run the graph: buffer sizes in f32 values.
    Infer { arena: usize, scratch: usize, input: usize },
    /// Weights only (codec golden vectors): decode every tensor row by row.
    Decode { row: usize },
    /// The container does not parse; the firmware reports this at run time.
    Invalid(String),
}

fn plan(bytes: &[u8], decode_only: bool) -> Plan {
    let container = match Container::parse(bytes) {
        Ok(c) => c,
        Err(e) => return Plan::Invalid(e.to_string()),
    };
    if container.graph().is_empty() || decode_only {
        let mut row = 0;
        for tensor in container.tensors() {
            match tensor {
                Ok(t) => row = row.max(t.row_len() as usize),
                Err(e) => return Plan::Invalid(e.to_string()),
            }
        }
        return Plan::Decode { row };
    }
    match Model::new(container).and_then(|m| Ok((m, m.input_len()?))) {
        Ok((model, input)) => Plan::Infer { arena: model.arena_len(), scratch: model.scratch_len(), input },
        Err(e) => Plan::Invalid(e.to_string()),
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=HYPERC_MODEL");
    println!("cargo:rerun-if-env-changed=HYPERC_INPUT");
    println!("cargo:rerun-if-env-changed=HYPERC_INPUT_SOURCE");
    println!("cargo:rerun-if-env-changed=HYPERC_DECODE_ONLY");
    let decode_only = env::var("HYPERC_DECODE_ONLY").is_ok_and(|v| v == "1");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let board = board();
    let target = env::var("TARGET").unwrap_or_default();
    if target != board.architecture.target() {
        fail(&format!("board {} needs --target {}, not {target}", board.name, board.architecture.target()));
    }

    let model_path = match env::var_os("HYPERC_MODEL") {
        Some(p) => PathBuf::from(p),
        None => fail("set HYPERC_MODEL to the .hcm container to embed (`hyperc encode` writes one)"),
    };
    println!("cargo:rerun-if-changed={}", model_path.display());
    let model = fs::read(&model_path)
        .unwrap_or_else(|e| fail(&format!("{}: cannot read the model container: {e}", model_path.display())));
    let plan = plan(&model, decode_only);
    if let Plan::Invalid(reason) = &plan {
        println!(
            "cargo:warning={}: invalid container ({reason}); the firmware will report it and exit with status 1",
            model_path.display()
        );
    }
    // The input length in f32 values, or why the firmware takes no input rows.
    let (arena, scratch, input) = match plan {
        Plan::Infer { arena, scratch, input } => (arena, scratch, Ok(input)),
        Plan::Decode { row } => {
            (0, row, Err("the firmware only decodes the tensors (weights only or HYPERC_DECODE_ONLY=1)"))
        }
        Plan::Invalid(_) => (0, 0, Err("the container is invalid, so the firmware only reports why")),
    };

    let mut config = String::new();
    let embedded = out.join("model.hcm");
    fs::write(&embedded, &model).unwrap_or_else(|e| fail(&format!("{}: {e}", embedded.display())));
    writeln!(config, "pub const BOARD: &str = {:?};", board.name).unwrap();
    let index = boards::BOARDS.iter().position(|b| b.name == board.name).expect("the board comes from BOARDS");
    writeln!(config, "pub const STATUS_LED: boards::StatusLed = boards::BOARDS[{index}].status_led;").unwrap();
    writeln!(config, "pub const DECODE_ONLY: bool = {decode_only};").unwrap();
    writeln!(config, "pub static CONTAINER: &[u8] = include_bytes!({:?});", embedded.display().to_string()).unwrap();
    writeln!(config, "pub const ARENA_LEN: usize = {arena};").unwrap();
    writeln!(config, "pub const SCRATCH_LEN: usize = {scratch};").unwrap();
    let (rows, input_file) = inputs(board, &model, input, &out, &mut config);
    writeln!(config, "pub const ROWS: usize = {rows};").unwrap();
    config.push_str(&build_info_sections(board, (&model_path, &model), input_file));
    fs::write(out.join("config.rs"), config).unwrap_or_else(|e| fail(&format!("config.rs: {e}")));

    check_ram(board, &model_path, arena, scratch);

    let mut memory = [0u8; 1024];
    let memory = board.memory_x(&mut memory).expect("1024 bytes hold every board's memory.x");
    fs::write(out.join("memory.x"), memory).unwrap_or_else(|e| fail(&format!("memory.x: {e}")));
    println!("cargo:rustc-link-search={}", out.display());
    if !board.architecture.is_arm() {
        // riscv-rt's link.x does not include memory.x itself.
        println!("cargo:rustc-link-arg-bins=-Tmemory.x");
    }
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    if board.architecture.is_arm() {
        println!("cargo:rustc-link-arg-bins=--nmagic");
    }
}

/// The input file named by `HYPERC_INPUT` and the [`content_hash`] of its bytes.
struct InputFile {
    path: PathBuf,
    hash: u64,
}

/// Writes the `INPUTS` constant and returns the number of input rows and the input file.
fn inputs(
    board: &Board,
    model: &[u8],
    input_len: Result<usize, &str>,
    out: &Path,
    config: &mut String,
) -> (usize, Option<InputFile>) {
    let no_inputs = |config: &mut String| {
        writeln!(config, "pub const INPUTS: Inputs = Inputs::None;").unwrap();
        (0, None)
    };
    let Some(path) = env::var_os("HYPERC_INPUT").map(PathBuf::from) else {
        return no_inputs(config);
    };
    let input_len = match input_len {
        Ok(len) => len,
        Err(reason) => {
            println!("cargo:warning={}: not embedded, because {reason}", path.display());
            return no_inputs(config);
        }
    };
    println!("cargo:rerun-if-changed={}", path.display());
    let file = fs::read(&path).unwrap_or_else(|e| fail(&format!("{}: cannot read the inputs: {e}", path.display())));
    let bytes = npy_data(&file).unwrap_or_else(|reason| fail(&format!("{}: {reason}", path.display())));
    let row_bytes = input_len * 4;
    if row_bytes == 0 || bytes.is_empty() || !bytes.len().is_multiple_of(row_bytes) {
        fail(&format!(
            "{}: {} bytes of values are not rows of the model's input ({input_len} f32 values, {row_bytes} bytes); pass a float32 .npy file or raw little-endian f32, row after row",
            path.display(),
            bytes.len()
        ));
    }
    let rows = bytes.len() / row_bytes;
    let fits = model.len() + bytes.len() + CODE_RESERVE <= board.flash_bytes as usize;
    let source = env::var("HYPERC_INPUT_SOURCE").unwrap_or_default();
    let from_host = match source.as_str() {
        "host" => true,
        "flash" => false,
        "" => !fits,
        other => fail(&format!("HYPERC_INPUT_SOURCE is {other:?}; use `flash` or `host`")),
    };
    if from_host {
        if !board.is_qemu() {
            fail(&format!(
                "{}: {} bytes of inputs and the {}-byte model do not fit the {} KiB flash of {}, and only QEMU boards can read inputs from the host; pass fewer rows",
                path.display(),
                bytes.len(),
                model.len(),
                board.flash_bytes / 1024,
                board.name
            ));
        }
        // The firmware reads raw values: a .npy file's data goes to a file of its own.
        let raw = if bytes.len() == file.len() {
            fs::canonicalize(&path).unwrap_or_else(|_| path.clone())
        } else {
            let copy = out.join("host-inputs.bin");
            fs::write(&copy, bytes).unwrap_or_else(|e| fail(&format!("{}: {e}", copy.display())));
            copy
        };
        writeln!(config, "pub const INPUTS: Inputs = Inputs::Host(c{:?});", raw.display().to_string()).unwrap();
    } else {
        let embedded = out.join("inputs.bin");
        fs::write(&embedded, bytes).unwrap_or_else(|e| fail(&format!("{}: {e}", embedded.display())));
        writeln!(
            config,
            "pub const INPUTS: Inputs = Inputs::Flash(include_bytes!({:?}));",
            embedded.display().to_string()
        )
        .unwrap();
    }
    let hash = content_hash(&file);
    (rows, Some(InputFile { path, hash }))
}

/// Returns the values of `file`: the data of a NumPy `.npy` file of little-endian float32
/// in C order, or the whole file when it is not a `.npy` file (raw little-endian f32).
/// The encoder's full `.npy` reader is not used because a build script of the firmware
/// cannot depend on the encoder crate and its host-only dependencies.
fn npy_data(file: &[u8]) -> Result<&[u8], String> {
    let Some(rest) = file.strip_prefix(b"\x93NUMPY") else { return Ok(file) };
    let (header_len, header_start) = match rest {
        [1, _, a, b, ..] => (usize::from(u16::from_le_bytes([*a, *b])), 10),
        [2 | 3, _, a, b, c, d, ..] => (u32::from_le_bytes([*a, *b, *c, *d]) as usize, 12),
        _ => return Err("unsupported .npy version; save it again with numpy.save".into()),
    };
    let header = file
        .get(header_start..header_start + header_len)
        .ok_or("the .npy header is cut short; the file is truncated")?;
    let header = String::from_utf8_lossy(header);
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    if !compact.contains("'descr':'<f4'") {
        return Err(format!(
            "the .npy values must be little-endian float32 ('<f4'), its header says {}; convert them with .astype('<f4')",
            header.trim()
        ));
    }
    if !compact.contains("'fortran_order':False") {
        return Err("the .npy array is in Fortran order; save it in C order".into());
    }
    Ok(&file[header_start + header_len..])
}

/// Returns a `global_asm!` that adds the build record of [`BUILD_INFO_SECTION`] to the
/// image and, for a probe-rs board, its chip in [`PROBE_RS_CHIP_SECTION`]. Both sections
/// have no `a` flag, so the linker keeps them out of the device's memory.
fn build_info_sections(board: &Board, (model_path, model): (&Path, &[u8]), input: Option<InputFile>) -> String {
    let absolute = |path: &Path| fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()).display().to_string();
    let (input, input_hash) = match input {
        Some(file) => (absolute(&file.path), format!("{:016x}", file.hash)),
        None => (String::new(), String::new()),
    };
    let info = format!(
        "board={}\nmodel={}\nmodel_hash={:016x}\ninput={input}\ninput_hash={input_hash}\n",
        board.name,
        absolute(model_path),
        content_hash(model)
    );
    let mut sections = vec![(BUILD_INFO_SECTION, info)];
    if let Runner::Probe { chip } = board.runner {
        sections.push((PROBE_RS_CHIP_SECTION, chip.to_string()));
    }
    let mut asm = String::from("core::arch::global_asm!(\n");
    for (name, text) in sections {
        // Bytes rather than a string directive, because a path may contain quotes or
        // backslashes.
        let bytes: Vec<String> = text.bytes().map(|b| b.to_string()).collect();
        writeln!(asm, "    \".pushsection {name},\\\"\\\",%progbits\",").unwrap();
        writeln!(asm, "    \".byte {}\",", bytes.join(",")).unwrap();
        writeln!(asm, "    \".popsection\",").unwrap();
    }
    asm.push_str(");\n");
    asm
}

/// Fails the build when the model's buffers and the stack reserve exceed the board's RAM.
/// The input and output live in the arena, so the arena and scratch are all the model needs.
fn check_ram(board: &'static Board, model_path: &Path, arena: usize, scratch: usize) {
    if let Err(shortfall) = board.check_ram(arena, scratch) {
        fail(&format!("{}: {shortfall}", model_path.display()));
    }
}
