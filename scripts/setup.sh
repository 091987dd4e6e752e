#!/usr/bin/env bash
# Installs what `make test` and `make demo` need on a fresh machine: the pinned Rust
# toolchain with its cross targets (from rust-toolchain.toml) and QEMU. Safe to run
# repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v rustup >/dev/null; then
    echo "setup: rustup not found; install Rust from https://rustup.rs first" >&2
    exit 1
fi
# `rustup show` installs the toolchain, components and targets named in rust-toolchain.toml.
rustup show active-toolchain >/dev/null 2>&1 || rustup show >/dev/null
toolchain=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
missing=()
installed=$(rustup target list --installed --toolchain "$toolchain")
for target in thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabihf riscv32imac-unknown-none-elf; do
    grep -qx "$target" <<<"$installed" || missing+=("$target")
done
if ((${#missing[@]})); then
    rustup target add --toolchain "$toolchain" "${missing[@]}"
fi
for component in clippy rustfmt; do
    rustup component list --installed --toolchain "$toolchain" | grep -q "^$component" \
        || rustup component add --toolchain "$toolchain" "$component"
done

# QEMU for the device tests and the demo. Debian's qemu-system-arm and qemu-system-misc
# conflict when installed in one command with recommended packages, so they are
# installed one after the other, the second without recommendations.
if ! command -v qemu-system-arm >/dev/null || ! command -v qemu-system-riscv32 >/dev/null; then
    if ! command -v apt-get >/dev/null; then
        echo "setup: install QEMU (qemu-system-arm and qemu-system-riscv32) with your package manager" >&2
        exit 1
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    command -v qemu-system-arm >/dev/null || $sudo apt-get install -y -qq qemu-system-arm
    command -v qemu-system-riscv32 >/dev/null \
        || $sudo apt-get install -y -qq --no-install-recommends qemu-system-misc
fi

# cargo-fuzz for the short fuzz runs of `make test`; the fuzz targets build with nightly.
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
