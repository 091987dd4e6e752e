#!/usr/bin/env bash
# `make bench`: regenerates the measured tables of BENCHMARKS.md, between its
# `<!-- begin: NAME -->` and `<!-- end: NAME -->` markers, and the date and machine line:
# - settings: the four MLPerf Tiny float models encoded at several settings and compared
#   with the original model (tract) on the real inputs;
# - quality: hyperc against int8, int4, k-means palettes, the reference scheme and the
#   Shannon bound (hyperc-bench quality), with the plots in docs/bench/;
# - entropy: the bits hyperc's indices would take under variable-length codes
#   (hyperc-bench entropy);
# - speed: encoder throughput and peak memory (hyperc-bench speed);
# - device: the cost of decoding on the QEMU boards (hyperc-runner bench).
# The prose around the tables is written by hand; reread it when a figure moves.
# BENCH_PARTS selects sections, for example `make bench BENCH_PARTS=speed` after a change
# that moves only encoder speed. The default is all five.
set -euo pipefail
cd "$(dirname "$0")/.."

parts=${BENCH_PARTS:-settings quality entropy speed device}
for part in $parts; do
    case $part in
    settings | quality | entropy | speed | device) ;;
    *)
        echo "bench: unknown section '$part' in BENCH_PARTS; use settings, quality, entropy, speed or device" >&2
        exit 2
        ;;
    esac
done
selected() { [[ " $parts " == *" $1 "* ]]; }

models=${HYPERC_MODELS_DIR:-../shared/models/mlperf-tiny}
if [[ ! -d $models ]]; then
    echo "bench: $models not found; set HYPERC_MODELS_DIR to the MLPerf Tiny models folder" >&2
    exit 1
fi
cargo build --release --locked -p hyperc -p hyperc-runner -p hyperc-bench >&2
hyperc=target/release/hyperc
out=target/bench
mkdir -p "$out"

settings_table() {
# model file, reference model for tract (the hybrid keyword-spotting model runs as its
# dequantised twin), inputs
cases=(
    "ad01_fp32 ad01_fp32 ad01_rows"
    "pretrainedResnet pretrainedResnet resnet8_crops"
    "kws_ref_model_float32 kws_ref_model_float32_dequantized kws_mfcc"
    "vww_96_float vww_96_float vww_crops"
)
settings=("--bits 4" "--bits 5" "--bits 6" "--preset paper-unet" "--preset paper-mobilenet")

echo "| model | setting | .tflite bytes | .hcm bytes | bits/weight | mean rel. MSE | arena bytes | fidelity |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
for case in "${cases[@]}"; do
    read -r model reference inputs <<<"$case"
    for setting in "${settings[@]}"; do
        container="$out/$model.$(tr -d ' -' <<<"$setting").hcm"
        # shellcheck disable=SC2086
        "$hyperc" encode "$models/$model.tflite" -o "$container" $setting >/dev/null
        "$hyperc" inspect "$container" --json >"$container.inspect.json"
        "$hyperc" compare "$models/$reference.tflite" "$container" --input "$models/inputs/$inputs.npy" --json \
            >"$container.compare.json"
        python3 - "$model" "$setting" "$container.inspect.json" "$container.compare.json" <<'PY'
import json, sys
model, setting, inspect_path, compare_path = sys.argv[1:]
inspect = json.load(open(inspect_path))
compare = json.load(open(compare_path))
if compare["top1_agreement"] is not None:
    fidelity = f"top-1 agreement {100 * compare['top1_agreement']:.1f}%, cosine {compare['mean_cosine']:.4f}"
else:
    fidelity = f"anomaly-score error {compare['anomaly_score_rel_error']:.4f}, cosine {compare['mean_cosine']:.4f}"
print(f"| {model} | `{setting}` | {compare['tflite_bytes']} | {inspect['container_bytes']} | "
      f"{inspect['bits_per_weight']:.2f} | {inspect['mean_rel_mse']:.2e} | {inspect['graph']['arena_bytes']} | {fidelity} |")
PY
    done
done
}

if selected settings; then
    echo "bench: settings table" >&2
    settings_table >"$out/settings.md"
fi
if selected quality; then
    echo "bench: quality against the baselines" >&2
    target/release/hyperc-bench quality --out "$out" --plots docs/bench
fi
if selected entropy; then
    echo "bench: indices under variable-length codes" >&2
    target/release/hyperc-bench entropy --out "$out"
fi
if selected speed; then
    echo "bench: encoder speed" >&2
    target/release/hyperc-bench speed --out "$out"
fi
if selected device; then
    echo "bench: decoder cost on the QEMU boards" >&2
    target/release/hyperc-runner bench --rows 2 >"$out/device.md"
fi

python3 - "$out" $parts <<'PY'
import datetime, os, pathlib, re, sys
out = pathlib.Path(sys.argv[1])
doc = pathlib.Path("BENCHMARKS.md")
text = doc.read_text()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
ram = round(int(open("/proc/meminfo").readline().split()[1]) / 2**20)
machine = f"Measured on {datetime.date.today()} on {cpu}, {os.cpu_count()} cores, {ram} GiB, Linux."
for part in sys.argv[2:]:
    table = (out / f"{part}.md").read_text().strip()
    # The harness's own title and date give way to this page's, and each section states
    # its own date and machine, because `BENCH_PARTS` can regenerate one section alone.
    table = re.sub(r"\A# .*\n+(Measured on [^\n]*\n+)?", "", table)
    pattern = re.compile(rf"(<!-- begin: {part} -->\n).*?(<!-- end: {part} -->)", re.S)
    if not pattern.search(text):
        sys.exit(f"bench: BENCHMARKS.md has no '{part}' markers")
    text = pattern.sub(lambda m: m.group(1) + machine + "\n\n" + table + "\n" + m.group(2), text)
doc.write_text(text)
print(f"bench: BENCHMARKS.md updated: {' '.join(sys.argv[2:])} ({machine})", file=sys.stderr)
PY
