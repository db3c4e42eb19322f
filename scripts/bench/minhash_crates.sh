#!/usr/bin/env bash
# MinHash LSH crates against our own signatures and band keys, at equal
# parameters, on a real corpus (docs/dedup.md, "Choice of MinHash library").
#
#   scripts/bench/minhash_crates.sh [PRESET] [INPUT...]
#
# PRESET: default (rules/dedup.toml: 126 permutations, 21 x 6 bands) or peers
# (128 permutations, 16 x 8, as scripts/bench/bench_dedup.sh gives rensa and
# datasketch); default: default. INPUT: corpora to read (default: gpteacher and
# alpaca_5000 from ../shared/corpora, the set examples/near_accuracy.rs uses).
# Prints one Markdown table row per library; see benches/minhash_crates/src/main.rs for
# what each column measures. Run it on an otherwise idle machine: the
# throughput columns are wall-clock figures.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PRESET="${1:-default}"
shift || true
if [ $# -eq 0 ]; then
  set -- "$ROOT/../shared/corpora/gpteacher" "$ROOT/../shared/corpora/alpaca_5000"
fi
cd "$ROOT"
cargo build --release -q --manifest-path benches/minhash_crates/Cargo.toml
"${CARGO_TARGET_DIR:-$ROOT/benches/minhash_crates/target}/release/minhash-crates" --preset "$PRESET" "$@"
