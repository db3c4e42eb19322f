#!/usr/bin/env bash
# Dedup at scale with bounded memory: N generated records (default 10 million),
# `curate run --stages dedup` under /usr/bin/time -v with a 1 GiB dedup budget
# (`memory-mb = 1024` in rules/dedup.toml); prints the summary, the spill
# counters and the peak RSS.
#
#   scripts/bench/scale_10m.sh [N] [WORKDIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
N="${1:-10000000}"
WORK="${2:-$(mktemp -d)}"
mkdir -p "$WORK"
(cd "$ROOT" && cargo build --release -q && cargo build --release -q --example gen_records)
T="${CARGO_TARGET_DIR:-$ROOT/target}/release"
cp "$T/curate" "$T/examples/gen_records" "$WORK/"
"$WORK/gen_records" "$N" > "$WORK/records.jsonl"
rm -rf "$WORK/rules" && "$WORK/curate" init-rules "$WORK/rules" >/dev/null
grep -n '^memory-mb' "$WORK/rules/dedup.toml"
/usr/bin/time -v "$WORK/curate" run "$WORK/records.jsonl" --out "$WORK/out" --rules "$WORK/rules" \
  --stages dedup --no-progress --overwrite 2> "$WORK/time.txt"
grep -E "Elapsed|Maximum resident" "$WORK/time.txt"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); s=r['stages'][-1]; print(r['totals']); print(s['dropped_per_rule']); print(s['counts'])" "$WORK/out/report.json"
