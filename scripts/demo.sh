#!/usr/bin/env bash
# `make demo`: encode a real model, show what the device needs, and compare the
# compressed model with the original on real inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

models=${HYPERC_MODELS_DIR:-../shared/models/mlperf-tiny}
model=${MODEL:-$models/pretrainedResnet.tflite}
input=${INPUT:-$models/inputs/resnet8_crops.npy}
for file in "$model" "$input"; do
    if [[ ! -f $file ]]; then
        echo "demo: $file not found; set HYPERC_MODELS_DIR to the MLPerf Tiny models folder, or MODEL and INPUT" >&2
        exit 1
    fi
done

cargo build --release --locked -p hyperc
hyperc=target/release/hyperc
out=target/demo
mkdir -p "$out"
container="$out/$(basename "${model%.tflite}").hcm"

echo "== encode $model"
"$hyperc" encode "$model" -o "$container"
echo
echo "== inspect"
"$hyperc" inspect "$container" | tail -n 4
echo
echo "== compare with the original model (tract) on $input"
"$hyperc" compare "$model" "$container" --input "$input"
