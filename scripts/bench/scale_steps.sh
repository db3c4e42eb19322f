#!/usr/bin/env bash
# The steps of a distributed run, measured one task at a time on this
# machine: wall time, CPU time and peak RSS of every task, the bytes each step
# leaves in OUT/.work, and the same corpus run locally for comparison (the
# shards must be byte-identical). The figures feed docs/scale.md.
#
#   scripts/bench/scale_steps.sh [WORLD] [INPUT...]     (default: 4, ../shared/corpora)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORLD="${1:-4}"
shift || true
INPUTS=("$@")
[ ${#INPUTS[@]} -gt 0 ] || INPUTS=("$ROOT/../shared/corpora")
(cd "$ROOT" && cargo build --release -q)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/curate"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
D="$WORK/dist"

measure() { # label, command...
  local label="$1"; shift
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/t" "$@" 2>/dev/null >/dev/null
  read -r wall user sys rss < "$WORK/t"
  printf "%-12s %8.2f s wall %8.2f s cpu %8.0f MB peak RSS\n" "$label" "$wall" "$(echo "$user + $sys" | bc)" "$((rss / 1024))"
}
size_of() { du -sb "$1" 2>/dev/null | cut -f1; }

measure "local run" "$BIN" run "${INPUTS[@]}" --out "$WORK/local" -q --no-progress
"$BIN" plan "${INPUTS[@]}" --out "$D" --world "$WORLD" -q
RECORDS=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['totals']['input'])" "$WORK/local/report.json")
INPUT_BYTES=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['input_bytes'])" "$WORK/local/report.json")
echo "records: $RECORDS, input bytes: $INPUT_BYTES, world: $WORLD"
for step in process pairs; do
  for r in $(seq 0 $((WORLD - 1))); do measure "$step $r" "$BIN" "$step" "$D" --rank "$r"; done
  b=$(size_of "$D/.work/$step")
  echo "  $step leaves $b bytes ($(echo "scale=1; $b / $RECORDS" | bc) bytes per record)"
done
measure "decide" "$BIN" decide "$D"
b=$(size_of "$D/.work/decide"); echo "  decide leaves $b bytes"
echo "  band runs: $(find "$D/.work/process" -name '*.run' | wc -l) files, $(find "$D/.work/process" -name '*.run' -printf '%s\n' | awk '{s+=$1} END {print s+0}') bytes"
echo "  staged records: $(size_of "$D/.work/process") bytes in process folders"
measure "write" "$BIN" write "$D"
echo "  final shards: kept $(size_of "$D/kept"), rejected $(size_of "$D/rejected"), metrics $(size_of "$D/metrics") bytes"
same=0; diff=0
for sub in kept rejected malformed metrics dedup; do
  for f in "$WORK/local/$sub"/*; do
    if cmp -s "$f" "$D/$sub/$(basename "$f")"; then same=$((same + 1)); else diff=$((diff + 1)); fi
  done
done
echo "shards identical to the local run: $same, different: $diff"
[ "$diff" = 0 ]
