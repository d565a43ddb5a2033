#!/usr/bin/env bash
# Runs the Python client's tests against the real `chronorag serve` binary.
# Creates (or reuses) clients/python/.venv, installs the package editable with its test extras,
# and runs pytest. The binary comes from $CHRONORAG_BIN, default the debug build in cargo's target
# folder ($CARGO_TARGET_DIR, else <repo>/target; build it first with `cargo build`). Extra
# arguments go to pytest. `--prepare` only sets up the virtualenv (no binary needed): the
# repository's test command runs it in the background while cargo builds.
# Usage: clients/python/run-tests.sh [--prepare | pytest args...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

prepare_only=false
if [[ "${1:-}" == "--prepare" ]]; then
    prepare_only=true
    shift
fi

export CHRONORAG_BIN="${CHRONORAG_BIN:-${CARGO_TARGET_DIR:-$repo/target}/debug/chronorag}"
if ! $prepare_only && [[ ! -x "$CHRONORAG_BIN" ]]; then
    echo "run-tests.sh: no chronorag binary at $CHRONORAG_BIN; run \`cargo build\` or set CHRONORAG_BIN" >&2
    exit 1
fi

if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
fi

# Reinstall only when the package metadata changed (the install is editable: sources are live).
stamp="$venv/.chronorag-installed"
want="$(cat "$here/pyproject.toml" "$here/src/chronorag/_version.py" | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$here[test]"
    echo "$want" > "$stamp"
fi
if $prepare_only; then
    echo "run-tests.sh: virtualenv ready at $venv"
    exit 0
fi

cd "$here"
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
