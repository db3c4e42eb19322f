#!/usr/bin/env bash
# Near-duplicate dedup throughput and memory, side by side with peers.
#
#   scripts/bench/bench_dedup.sh INPUT.jsonl [PEERS_DIR] [OUTROOT]
#
# INPUT: Alpaca-style JSONL (e.g. made by ../shared/bench/make_corpus.py).
# PEERS_DIR: the peer harness folder holding run_peers.sh (default ../shared/bench).
# Runs `curate run --stages dedup` with the peers' parameters (word 5-grams,
# 128 permutations, 16 bands x 8 rows, threshold 0.8; exact dedup off so the
# work is the same) under /usr/bin/time, with zstd output (the default) and
# with Snappy (the codec of the peers' Parquet writer), in rounds with rensa
# and datasketch (see below), then datatrove's MinHash (2 workers), the peers
# through run_peers.sh on the same file, and prints one line per tool and the
# ratios of medians (wall time and peak RSS).
#
# ALT_FEATURES (e.g. --no-default-features: the system allocator instead of
# jemalloc) adds a second build of curate, run with zstd output in the same
# rounds and reported as curate-alt, to compare two builds side by side.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
INPUT="$(cd "$(dirname "${1:?usage: bench_dedup.sh INPUT.jsonl [PEERS_DIR] [OUTROOT]}")" && pwd)/$(basename "$1")"
PEERS="${2:-$ROOT/../shared/bench}"
OUTROOT="${3:-$(mktemp -d)}"
mkdir -p "$OUTROOT"

(cd "$ROOT" && cargo build --release -q)
BIN="$OUTROOT/curate"
cp "${CARGO_TARGET_DIR:-$ROOT/target}/release/curate" "$BIN"
VARIANTS="zstd snappy"
if [ -n "${ALT_FEATURES:-}" ]; then
  # shellcheck disable=SC2086 # several flags in one variable
  (cd "$ROOT" && cargo build --release -q $ALT_FEATURES)
  cp "${CARGO_TARGET_DIR:-$ROOT/target}/release/curate" "$OUTROOT/curate-alt"
  VARIANTS="zstd snappy alt"
fi

RULES="$OUTROOT/rules"
rm -rf "$RULES"
"$BIN" init-rules "$RULES" >/dev/null
python3 - "$RULES/dedup.toml" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = re.sub(r"(?m)^permutations = .*", "permutations = 128", s)
s = re.sub(r"(?m)^bands = .*", "bands = 16", s)
s = re.sub(r"(?m)^rows = .*", "rows = 8", s)
s = re.sub(r"(?m)^(\[exact\]\n)enabled = true", r"\1enabled = false", s)
open(p, "w").write(s)
PY

# Twice: with the default output compression (zstd) and with Snappy, the
# codec the peers' Parquet writer uses (the same work on the output side).
# On a shared machine a few seconds' run moves by 15% from one minute to the
# next, so curate's runs are spread over the whole benchmark: PEER_RUNS
# rounds (default 3), each of RUNS_PER_ROUND runs of curate per codec
# (default 3) and one run of rensa and of datasketch; datatrove runs once at
# the end (its run takes minutes). Medians are kept: curate's wall time
# (with that run's CPU time) and the largest peak RSS.
PEER_RUNS="${PEER_RUNS:-3}"
RUNS_PER_ROUND="${RUNS_PER_ROUND:-3}"
rm -f "$OUTROOT/summary.txt" "$OUTROOT"/curate-*.runs
: >"$OUTROOT/curate.lines"
curate_run() {  # variant: zstd, snappy (the output codec) or alt (the ALT_FEATURES build, zstd)
  local bin="$BIN" codec="$1"
  if [ "$1" = alt ]; then bin="$OUTROOT/curate-alt" codec=zstd; fi
  rm -rf "$OUTROOT/curate-out"
  /usr/bin/time -v "$bin" run "$INPUT" --out "$OUTROOT/curate-out" --rules "$RULES" --stages dedup -q \
    --compression "$codec" 2>"$OUTROOT/curate.time"
  python3 - "$OUTROOT" <<'PY1' >>"$OUTROOT/curate-$1.runs"
import re, sys, os
t = open(os.path.join(sys.argv[1], "curate.time")).read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (.*)", t).group(1)
parts = [float(x) for x in wall.split(":")]
secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
cpu = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1)) + float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
print(secs, cpu, rss)
PY1
}
for _ in $(seq "$PEER_RUNS"); do
  for VARIANT in $VARIANTS; do
    for _ in $(seq "$RUNS_PER_ROUND"); do curate_run "$VARIANT"; done
  done
  "$PEERS/run_peers.sh" "$INPUT" "$OUTROOT" rensa datasketch >/dev/null
done
"$PEERS/run_peers.sh" "$INPUT" "$OUTROOT" dt_minhash_w2 >/dev/null
for VARIANT in $VARIANTS; do
  python3 - "$OUTROOT" "$INPUT" "$VARIANT" <<'PY2' | tee -a "$OUTROOT/curate.lines"
import json, sys, os
out, inp, codec = sys.argv[1], sys.argv[2], sys.argv[3]
runs = sorted(tuple(map(float, l.split())) for l in open(os.path.join(out, f"curate-{codec}.runs")) if l.strip())
secs, cpu, _ = runs[len(runs) // 2]
rss = max(r[2] for r in runs)
walls = ",".join(f"{r[0]:.2f}" for r in runs)
r = json.load(open(os.path.join(out, "curate-out", "report.json")))
n, k = r["totals"]["input"], r["totals"]["kept"]
mb = os.path.getsize(inp) / 1e6
print(f"peer=curate-{codec} in={n} out={k} wall_s={secs:.2f} cpu_s={cpu:.2f} recs_per_s={n/secs:.1f} mb_per_s={mb/secs:.3f} peak_rss_mb={rss:.0f} runs_wall_s={walls}")
PY2
done
cat "$OUTROOT/summary.txt"

python3 - "$OUTROOT" <<'PY'
import sys, os
out = sys.argv[1]
def parse(line):
    return dict(kv.split("=", 1) for kv in line.split())
ours = [parse(l) for l in open(os.path.join(out, "curate.lines")) if l.strip()]
peers = {}
for line in open(os.path.join(out, "summary.txt")):
    if line.strip():
        p = parse(line.strip())
        peers.setdefault(p["peer"], []).append(p)
for name, runs in peers.items():
    runs.sort(key=lambda p: float(p["wall_s"]))
    p = runs[len(runs) // 2]
    walls = ",".join(r["wall_s"] for r in runs)
    print(f"median of {len(runs)} {name}: wall_s={p['wall_s']} peak_rss_mb={p['peak_rss_mb']} (runs: {walls})")
    for o in ours:
        w = float(p["wall_s"]) / float(o["wall_s"])
        m = float(p["peak_rss_mb"]) / float(o["peak_rss_mb"])
        print(f"ratio {o['peer']} vs {name}: {w:.1f}x faster, {m:.1f}x less memory "
              f"(removed: curate {int(o['in']) - int(o['out'])}, {name} {int(p['in']) - int(p['out'])})")
PY
