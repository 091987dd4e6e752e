#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS seconds (default 60) on the seed corpus that
# scripts/fuzz-corpus.sh builds, one target at a time, and fails on any crash. Prints the
# executions each target reached. Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`). A crashing input is saved in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
targets=(container_decode container_infer tflite_import weights_readers encode_roundtrip)
logs=fuzz/target/logs
# Inputs larger than this are truncated. The digits containers (1.4–10 KB) fit whole. With
# 128 KiB the corpus filled with model-sized inputs, so the container targets ran 3 to 9
# times slower.
max_len=16384

# The targets build with nightly (sanitizers). A machine without it and without a way to
# fetch it skips the runs with a message, unless HYPERC_REQUIRE_FUZZ=1.
if ! cargo +nightly --version >/dev/null 2>&1 \
    && ! rustup toolchain install nightly --profile minimal >&2; then
    if [[ ${HYPERC_REQUIRE_FUZZ:-} == 1 ]]; then
        echo "fuzz: the nightly toolchain is missing and could not be installed" >&2
        exit 1
    fi
    echo "SKIPPED: fuzz runs: no nightly toolchain (rustup toolchain install nightly)" >&2
    exit 0
fi

cargo +nightly fuzz build >&2
scripts/fuzz-corpus.sh
mkdir -p "$logs"

failed=()
summary=()
for target in "${targets[@]}"; do
    log=$logs/$target.log
    echo "fuzz: $target for ${seconds}s" >&2
    # One rayon thread keeps the encoder's parallel loops from taking the other cores.
    status=0
    RAYON_NUM_THREADS=1 cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -max_len="$max_len" -timeout=60 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    time_s=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
    if ((status != 0)); then
        failed+=("$target")
        echo "fuzz: $target FAILED (exit $status); the last lines of $log:" >&2
        tail -n 40 "$log" >&2
    fi
    rate=$(( ${runs:-0} / ( ${time_s:-$seconds} > 0 ? ${time_s:-$seconds} : 1 ) ))
    summary+=("$(printf '%-18s %12s executions %6s s %9s exec/s' "$target" "${runs:-?}" "${time_s:-?}" "$rate")")
done

printf '%s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
    echo "fuzz: crashes in: ${failed[*]}" >&2
    exit 1
fi
