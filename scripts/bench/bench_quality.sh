#!/usr/bin/env bash
# Throughput of the quality stage against datatrove's filter pipeline, side by
# side on the same JSONL file and machine.
#
#   scripts/bench/bench_quality.sh [INPUT.jsonl] [THREADS]
#
# INPUT defaults to the real Alpaca-style corpora concatenated by
# ../shared/bench/make_real_corpus.py (English and Chinese, ~46k records).
# Runs, one after the other:
#   curate  : `curate run INPUT --stages quality` (release build, default rules,
#             THREADS threads, default 1 to match the datatrove peer below)
#   datatrove: ../shared/bench/peers/datatrove_filter.py --workers 1
#             (GopherRepetition -> GopherQuality -> C4Quality -> Parquet)
# (the two keep different records: curate runs its default instruction-data
# rules, datatrove its web-page defaults, which drop most short answers)
# and prints both wall times (each including reading and writing Parquet) and
# the ratio datatrove / curate. The datatrove venv is the one
# ../shared/bench/run_peers.sh builds ($PEERS_VENV, default /tmp/peers-venv).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$(dirname "$HERE")")"
BENCH="${BENCH_DIR:-$ROOT/../shared/bench}"
CORPORA="${CORPORA_DIR:-$ROOT/../shared/corpora}"
VENV="${PEERS_VENV:-/tmp/peers-venv}"
WORK="${BENCH_WORK:-/tmp/curate-bench-quality}"
THREADS="${2:-1}"
mkdir -p "$WORK"
INPUT="${1:-$WORK/real.jsonl}"
if [ ! -s "$INPUT" ]; then
  python3 "$BENCH/make_real_corpus.py" "$CORPORA" "$INPUT"
fi
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
(cd "$ROOT" && cargo build --release --quiet)
CURATE="$TARGET/release/curate"
RECORDS=$(wc -l < "$INPUT")

t0=$(date +%s.%N)
"$CURATE" run "$INPUT" --stages quality --threads "$THREADS" --out "$WORK/curate" --overwrite -q
t1=$(date +%s.%N)
curate_s=$(echo "$t1 - $t0" | bc -l)
kept=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['totals']['kept'])" "$WORK/curate/report.json")

rm -rf "$WORK/datatrove"
t0=$(date +%s.%N)
"$VENV/bin/python" "$BENCH/peers/datatrove_filter.py" "$INPUT" "$WORK/datatrove" --workers 1 > "$WORK/datatrove.log" 2>&1
t1=$(date +%s.%N)
dt_s=$(echo "$t1 - $t0" | bc -l)
dt_kept=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1])).get('out', '?'))" "$WORK/datatrove/result.json" 2>/dev/null || echo "?")

printf 'input: %s (%s records)\n' "$INPUT" "$RECORDS"
printf 'curate quality (%s thread(s)): %.2f s, %.0f records/s, kept %s\n' "$THREADS" "$curate_s" "$(echo "$RECORDS / $curate_s" | bc -l)" "$kept"
printf 'datatrove filter (1 worker):  %.2f s, %.0f records/s, kept %s\n' "$dt_s" "$(echo "$RECORDS / $dt_s" | bc -l)" "$dt_kept"
printf 'ratio datatrove/curate: %.1fx\n' "$(echo "$dt_s / $curate_s" | bc -l)"
