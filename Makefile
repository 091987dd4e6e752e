# Entry points documented in README.md. Everything a fresh machine lacks is installed by
# scripts/setup.sh, which every target calls first.

SHELL := /bin/bash
CARGO ?= cargo
DECODER_TARGETS := thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabihf riscv32imac-unknown-none-elf
# Board name and its Rust target, for linting the firmware once per board.
FIRMWARE_BOARDS := lm3s6965evb:thumbv7m-none-eabi mps2-an386:thumbv7em-none-eabihf \
	microbit:thumbv6m-none-eabi sifive_e:riscv32imac-unknown-none-elf \
	nrf52840-dk:thumbv7em-none-eabihf rpi-pico:thumbv6m-none-eabi hifive1-revb:riscv32imac-unknown-none-elf
FIRMWARE := --manifest-path firmware/Cargo.toml
# The fuzz targets are their own workspace. Linting them with stable clippy in the main
# target folder reuses the dependencies the workspace lint has just checked.
FUZZ := --manifest-path fuzz/Cargo.toml
# Any valid container lets the firmware's build script run during linting.
LINT_MODEL := $(CURDIR)/decoder-core/tests/golden/codec.hcm

MODEL ?= examples/digits/digits.tflite
INPUT ?= examples/digits/samples.npy
LABELS ?= $(if $(filter examples/digits/digits.tflite,$(MODEL)),examples/digits/labels.txt,)
BOARD ?= lm3s6965evb

.PHONY: test demo bench setup lint check-targets host-tests fuzz-smoke

setup:
	./scripts/setup.sh

## test: lints, the decoder and firmware on every target, host and QEMU tests, fuzzing
test: setup lint check-targets host-tests fuzz-smoke

lint:
	$(CARGO) fmt --all --check
	$(CARGO) fmt $(FIRMWARE) --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) fmt $(FUZZ) --check
	$(CARGO) clippy $(FUZZ) --all-targets --locked --target-dir target -- -D warnings

check-targets:
	for target in $(DECODER_TARGETS); do \
		$(CARGO) clippy -p hyperc-decoder-core -p hyperc-boards --target $$target --locked -- -D warnings || exit 1; \
	done
	for pair in $(FIRMWARE_BOARDS); do \
		HYPERC_MODEL=$(LINT_MODEL) $(CARGO) clippy $(FIRMWARE) --release --locked \
			--features $${pair%%:*} --target $${pair##*:} -- -D warnings || exit 1; \
	done

host-tests:
	HYPERC_REQUIRE_QEMU=1 $(CARGO) test --workspace --locked

## fuzz-smoke: every cargo-fuzz target for FUZZ_SECONDS on the seed corpus
FUZZ_SECONDS ?= 60
fuzz-smoke:
	./scripts/fuzz.sh $(FUZZ_SECONDS)

## demo: encode MODEL, run it on BOARD (QEMU or probe-rs) with INPUT, print predictions
demo: setup
	MODEL="$(MODEL)" INPUT="$(INPUT)" LABELS="$(LABELS)" BOARD="$(BOARD)" ./scripts/demo.sh

## bench: regenerate the figures of BENCHMARKS.md (BENCH_PARTS: some of settings quality entropy speed device)
bench: setup
	BENCH_PARTS="$(BENCH_PARTS)" ./scripts/bench.sh
