#!/usr/bin/env bash
# `make demo`: encode a model, build the firmware for a board with the model and inputs
# inside, run it (QEMU, or probe-rs for a real board) and print the device's predictions
# beside the host's and the true labels, with flash, RAM and compression figures.
#
# MODEL (.tflite to encode, or an .hcm container), INPUT (.npy or raw f32 .bin rows),
# LABELS (optional, one integer per line) and BOARD come from the Makefile.
set -euo pipefail
cd "$(dirname "$0")/.."

model=${MODEL:-examples/digits/digits.tflite}
input=${INPUT:-examples/digits/samples.npy}
labels=${LABELS:-}
board=${BOARD:-lm3s6965evb}
for file in "$model" "$input" ${labels:+"$labels"}; do
    if [[ ! -f $file ]]; then
        echo "demo: $file not found; pass MODEL=..., INPUT=... (and LABELS=...) to make demo" >&2
        exit 1
    fi
done

echo "== building hyperc and the runner (the first build takes several minutes)"
cargo build --locked --quiet -p hyperc -p hyperc-runner
hyperc=target/debug/hyperc
runner=target/debug/hyperc-runner

case "$model" in
    *.hcm) container=$model ;;
    *)
        out=target/demo
        mkdir -p "$out"
        container="$out/$(basename "${model%.*}").hcm"
        echo "== hyperc encode $model"
        "$hyperc" encode "$model" -o "$container"
        echo
        ;;
esac
echo "== hyperc inspect $container"
"$hyperc" inspect "$container" | tail -n 2
echo
echo "== on $board"
"$runner" run --board "$board" "$container" "$input" ${labels:+--labels "$labels"}
