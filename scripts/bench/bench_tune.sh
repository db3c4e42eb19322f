#!/usr/bin/env bash
# How long `curate tune` takes on a run of N generated records (default 1,000,000):
# generates the corpus with ../shared/bench/make_corpus.py (cached in $BENCH_DIR),
# runs `curate run` once (release build), then times `tune --set` and `tune --sweep`.
#
#   scripts/bench/bench_tune.sh [RECORDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-1000000}"
WORK="${BENCH_DIR:-/tmp/curate-bench}"
mkdir -p "$WORK"
CORPUS="$WORK/synth_${N}rec.jsonl"
[ -s "$CORPUS" ] || python3 ../shared/bench/make_corpus.py --out "$CORPUS" --records "$N" --seed 7 >&2
cargo build --release -q
BIN="${CARGO_TARGET_DIR:-target}/release/curate"
OUT="$WORK/tune-run-$N"
[ -f "$OUT/_SUCCESS" ] || "$BIN" run "$CORPUS" --out "$OUT" --overwrite -q --no-progress
/usr/bin/time -f "tune --set: wall_s=%e peak_rss_kb=%M" "$BIN" tune "$OUT" --set quality/response-too-long.max=2000 --examples 3
/usr/bin/time -f "tune --sweep (10 values): wall_s=%e peak_rss_kb=%M" "$BIN" tune "$OUT" --sweep quality/response-too-long=1000..10000:1000
