#!/usr/bin/env bash
# Builds the seed corpus of every fuzz target in fuzz/corpus/<target>/ from real files:
# the digits example, decoder-core's golden container, and, when the folder exists, the
# MLPerf Tiny models and weights in ${HYPERC_MODELS_DIR:-../shared/models/mlperf-tiny}.
# Containers are encoded with the hyperc binary at $HYPERC, or with a debug build.
# fuzz/corpus is ignored by git, so nothing derived from the models is committed.
set -euo pipefail
cd "$(dirname "$0")/.."

models=${HYPERC_MODELS_DIR:-../shared/models/mlperf-tiny}
corpus=fuzz/corpus
if [[ -z ${HYPERC:-} ]]; then
    cargo build --locked -p hyperc --bin hyperc >&2
    HYPERC=${CARGO_TARGET_DIR:-target}/debug/hyperc
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for target in container_decode container_infer tflite_import weights_readers encode_roundtrip; do
    mkdir -p "$corpus/$target"
done

# Model sources: the digits example always, the MLPerf float models when present.
tflites=(examples/digits/digits.tflite)
weights=()
if [[ -d $models ]]; then
    for name in ad01_fp32 kws_ref_model_float32 pretrainedResnet vww_96_float; do
        [[ -f $models/$name.tflite ]] && tflites+=("$models/$name.tflite")
    done
    # Fully quantised and hybrid models exercise the importer's rejection paths.
    for name in ad01_int8 kws_ref_model kws_ref_model_float32_dequantized pretrainedResnet_quant vww_96_int8; do
        [[ -f $models/$name.tflite ]] && cp "$models/$name.tflite" "$corpus/tflite_import/"
    done
    for file in "$models"/weights/*.npz; do
        [[ -f $file ]] && weights+=("$file")
    done
    # float64 arrays, which the readers reject.
    [[ -f $models/calibration_samples.npz ]] && cp "$models/calibration_samples.npz" "$corpus/weights_readers/"
    for file in "$models"/inputs/*.npy "$models"/expected/*.npy; do
        [[ -f $file ]] && cp "$file" "$corpus/weights_readers/"
    done
else
    echo "fuzz-corpus: $models not found; the corpus has the repository's files only" >&2
fi

# Containers: the digits model at several bit rates, lossless and with a preset, and the
# other models at the default rate and lossless, because a debug build encodes them slowly.
for model in "${tflites[@]}"; do
    stem=$(basename "$model" .tflite)
    cp "$model" "$corpus/tflite_import/"
    modes=("--bits 4" "--lossless")
    [[ $stem == digits ]] && modes+=("--bits 1" "--bits 8" "--preset paper-unet")
    for mode in "${modes[@]}"; do
        out="$corpus/container_infer/$stem${mode// /_}.hcm"
        # shellcheck disable=SC2086 # $mode is two words on purpose.
        "$HYPERC" encode "$model" -o "$out" $mode >/dev/null
        cp "$out" "$corpus/container_decode/"
    done
done
cp decoder-core/tests/golden/codec.hcm "$corpus/container_decode/"

# Weights: the .npz files as they are, a lossless weights-only container of each, and the
# decoded digits container as an .npz written by hyperc.
for file in "${weights[@]}"; do
    cp "$file" "$corpus/weights_readers/"
    "$HYPERC" encode "$file" --lossless -o "$corpus/container_decode/$(basename "$file" .npz)_weights.hcm" >/dev/null
done
"$HYPERC" decode "$corpus/container_decode/digits--bits_4.hcm" -o "$corpus/weights_readers/digits_decoded.npz" >/dev/null
cp examples/digits/samples.npy "$corpus/weights_readers/"
# A safetensors file by hand: one F32 tensor of shape [2, 2], values 1, 2, 3, 4.
{
    header='{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}'
    printf "\\x$(printf %02x ${#header})\\x00\\x00\\x00\\x00\\x00\\x00\\x00%s" "$header"
    printf '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40'
} >"$corpus/weights_readers/hand.safetensors"

# encode_roundtrip reads its input as: mode byte, layout byte, rows byte, a 4-byte enum
# tag (0 selects raw f32 bits), then the f32 values. Real weights make the seeds.
python3 - "$corpus/encode_roundtrip" "$corpus/weights_readers"/*.npz <<'PY'
import struct, sys, zipfile
out, archives = sys.argv[1], sys.argv[2:]
count = 0
for archive in archives:
    with zipfile.ZipFile(archive) as z:
        for member in z.namelist()[:6]:
            data = z.read(member)
            if not data.startswith(b"\x93NUMPY"):
                continue
            header_len = struct.unpack("<H", data[8:10])[0] if data[6] == 1 else struct.unpack("<I", data[8:12])[0]
            start = (10 if data[6] == 1 else 12) + header_len
            if b"'<f4'" not in data[:start]:
                continue
            payload = data[start:start + 4096]
            seed = bytes([count % 11, count % 3, 7 + count % 5, 0, 0, 0, 0]) + payload
            with open(f"{out}/seed{count:03}", "wb") as f:
                f.write(seed)
            count += 1
print(f"fuzz-corpus: {count} encode_roundtrip seeds", file=sys.stderr)
PY

for target in "$corpus"/*/; do
    echo "fuzz-corpus: $(basename "$target"): $(find "$target" -type f | wc -l) files" >&2
done
