# Entry points documented in README.md. Everything a fresh machine lacks is installed by
# scripts/setup.sh, which every target calls first.

SHELL := /bin/bash
CARGO ?= cargo
DECODER_TARGETS := thumbv6m-none-eabi thumbv7m-none-eabi thumbv7em-none-eabihf riscv32imac-unknown-none-elf

.PHONY: test demo bench setup lint check-targets host-tests

setup:
	./scripts/setup.sh

## test: lints, the decoder on every target, and all host tests (models from HYPERC_MODELS_DIR)
test: setup lint check-targets host-tests

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

check-targets:
	for target in $(DECODER_TARGETS); do \
		$(CARGO) clippy -p hyperc-decoder-core --target $$target --locked -- -D warnings || exit 1; \
		$(CARGO) clippy -p hyperc-boards -p hyperc-firmware --target $$target --locked -- -D warnings || exit 1; \
	done

host-tests:
	$(CARGO) test --workspace --locked

## demo: encode the bundled example weights, inspect and decode them
demo: setup
	./scripts/demo.sh

## bench: regenerate the figures of BENCHMARKS.md
bench: setup
	./scripts/bench.sh
