#!/usr/bin/env bash
# Throughput and peak memory of `curate run` on a generated JSONL corpus of
# SIZE_MB megabytes (default 1074, i.e. ≥ 1 GiB), with 1 and 2 worker threads.
#
#   scripts/bench/bench_throughput.sh [SIZE_MB] [STAGES] [RULES_DIR] [THREADS...]
#
# STAGES defaults to `quality`, RULES_DIR to scripts/bench/simple_rules (only the
# simple filters); pass `default` for the built-in rules. THREADS default: 1 2.
#
# The corpus comes from ../shared/bench/make_corpus.py (deterministic, seed 42)
# and is cached in $BENCH_DIR (default /tmp/curate-bench). Prints one line per
# run: wall seconds, MB/s, MB per CPU-second (= MB/s per core) and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE="${1:-1074}"
STAGES="${2:-quality}"
RULES="${3:-scripts/bench/simple_rules}"
shift $(( $# < 3 ? $# : 3 )) || true
THREAD_LIST=("$@")
[ ${#THREAD_LIST[@]} -eq 0 ] && THREAD_LIST=(1 2)
RULES_ARGS=()
[ "$RULES" != "default" ] && RULES_ARGS=(--rules "$RULES")
WORK="${BENCH_DIR:-/tmp/curate-bench}"
mkdir -p "$WORK"
CORPUS="$WORK/synth${SIZE}.jsonl"
if [ ! -s "$CORPUS" ]; then
  python3 ../shared/bench/make_corpus.py --out "$CORPUS" --size-mb "$SIZE" --seed 42 >&2
fi
cargo build --release -q
BIN="${CARGO_TARGET_DIR:-target}/release/curate"
BYTES=$(stat -c %s "$CORPUS")
for t in "${THREAD_LIST[@]}"; do
  OUT="$WORK/out-t$t"
  /usr/bin/time -v "$BIN" run "$CORPUS" --out "$OUT" --overwrite --stages "$STAGES" "${RULES_ARGS[@]}" \
    --threads "$t" -q --no-progress 2> "$WORK/time-t$t.txt"
  python3 - "$WORK/time-t$t.txt" "$BYTES" "$t" "$STAGES" "$OUT/report.json" "$RULES" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
def grab(pat):
    return re.search(pat, text).group(1)
wall = grab(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)")
parts = [float(p) for p in wall.split(":")]
wall_s = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
cpu = float(grab(r"User time \(seconds\): (\S+)")) + float(grab(r"System time \(seconds\): (\S+)"))
rss_mb = int(grab(r"Maximum resident set size \(kbytes\): (\d+)")) / 1024
mb = int(sys.argv[2]) / 1e6
rep = json.load(open(sys.argv[5]))
t = rep["totals"]
print(f"curate stages={sys.argv[4]} rules={sys.argv[6]} threads={sys.argv[3]} records={t['input']} kept={t['kept']} "
      f"mb={mb:.0f} wall_s={wall_s:.1f} mb_per_s={mb / wall_s:.1f} mb_per_cpu_s={mb / cpu:.1f} "
      f"peak_rss_mb={rss_mb:.0f}")
PY
done
