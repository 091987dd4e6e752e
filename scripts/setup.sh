#!/usr/bin/env bash
# Installs what `make test` and `make demo` need on a fresh machine: the pinned Rust
# toolchain with its cross targets (from rust-toolchain.toml). Safe to run repeatedly.
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
