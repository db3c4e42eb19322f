#!/usr/bin/env bash
# Throughput of the `sensitive` stage, in MB of input per second per core.
#
# Builds the release binary, runs `curate run --stages sensitive` on one thread
# over the inputs (default: ../shared/corpora) and divides the input bytes by
# the CPU seconds the report gives for the stage (summed over threads, so the
# figure is per core). The whole run's wall-clock rate is printed too. The
# stage's time is measured per record with a monotonic clock, so a loaded
# machine inflates it: the run is repeated RUNS times (default 3) and the best
# is reported.
#
# Usage: [RUNS=3] scripts/bench/bench_sensitive.sh [INPUT...]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
inputs=("$@")
if [ ${#inputs[@]} -eq 0 ]; then
  inputs=("$root/../shared/corpora")
fi
(cd "$root" && cargo build --release --quiet)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
runs="${RUNS:-3}"
for i in $(seq 1 "$runs"); do
  "$target/release/curate" run "${inputs[@]}" --out "$out/run$i" --stages sensitive -j 1 -q --no-progress
done
python3 - "$out"/run*/report.json <<'PY'
import json, sys
reports = [json.load(open(p)) for p in sys.argv[1:]]
def stage(r):
    return next(s for s in r["stages"] if s["name"] == "sensitive")
r = min(reports, key=lambda r: stage(r)["cpu_seconds"])
s = stage(r)
print(f"best of {len(reports)} runs")
mb = r["input_bytes"] / 1e6
print(f"input: {r['totals']['input']} records, {mb:.1f} MB")
print(f"sensitive stage: {s['cpu_seconds']:.2f} CPU s -> {mb / s['cpu_seconds']:.1f} MB/s per core "
      f"({r['totals']['input'] / s['cpu_seconds']:.0f} records/s per core)")
print(f"whole run, 1 thread: {r['seconds']:.2f} s wall -> {mb / r['seconds']:.1f} MB/s")
top = sorted(((k, v) for k, v in s.get("counts", {}).items()), key=lambda kv: -kv[1])
print("counts: " + ", ".join(f"{k}={v}" for k, v in top))
PY
