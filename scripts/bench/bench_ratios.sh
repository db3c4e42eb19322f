#!/usr/bin/env bash
# Every speed figure of the README's Performance table in one run on one
# file, as MB/s and as a ratio to rensa's MinHash LSH alone (machines here
# differ by two to three times in absolute speed; ratios measured together
# do not):
#
#   scripts/bench/bench_ratios.sh [FILE.jsonl] [ROUNDS]
#
# FILE defaults to the real mix (../shared/bench/make_real_corpus.py over
# ../shared/corpora, 10.6 MB, English and Chinese), cached in $BENCH_DIR
# (default /tmp/curate-bench). Rows:
#   - the floors: reading and splitting lines; parsing each into a JSON value
#     (examples/parse_floor.rs, 2 threads);
#   - curate with the repair stage only (reading, parsing, mapping, Parquet:
#     the pipeline without its per-record stages), 2 threads;
#   - curate default, 1 and 2 threads; each default stage alone, 2 threads;
#   - the peers of ../shared/bench (rensa MinHash LSH; datatrove Gopher + C4
#     filters and datatrove MinHash, 2 workers), through its run_peers.sh
#     (which installs them in a venv the first time).
# Each curate row is the median wall time of ROUNDS runs (default 3).
# PEERS (default "rensa dt_filter_w2 dt_minhash_w2") names the peers run: on
# the 200 MB synthetic file datatrove takes about ten minutes a row, so
# `PEERS=rensa` keeps the ratios and leaves its rows out.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK="${BENCH_DIR:-/tmp/curate-bench}"
mkdir -p "$WORK"
FILE="${1:-$WORK/real.jsonl}"
ROUNDS="${2:-3}"
if [ ! -s "$FILE" ]; then
  python3 ../shared/bench/make_real_corpus.py ../shared/corpora "$FILE" >&2
fi
cargo build --release -q --example parse_floor
cargo build --release -q
BIN="${CARGO_TARGET_DIR:-target}/release/curate"
FLOOR="${CARGO_TARGET_DIR:-target}/release/examples/parse_floor"
BYTES=$(stat -c %s "$FILE")
RESULTS="$WORK/ratios.tsv"
: > "$RESULTS"

median_wall() {  # command...: the median wall seconds of ROUNDS runs
  local times=()
  for _ in $(seq "$ROUNDS"); do
    local s e
    s=$(date +%s.%N)
    "$@" > /dev/null 2>&1
    e=$(date +%s.%N)
    times+=("$(awk -v s="$s" -v e="$e" 'BEGIN {print e - s}')")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

row() {  # name seconds
  printf '%s\t%s\n' "$1" "$2" >> "$RESULTS"
}

floors=$(RAYON_NUM_THREADS=2 "$FLOOR" "$FILE")
row "read and split lines" "$(sed -E 's/.*read_split_s=([0-9.]+).*/\1/' <<< "$floors")"
row "parse into JSON values, 2 threads" "$(sed -E 's/.*parse_s=([0-9.]+).*/\1/' <<< "$floors")"
curate() {  # threads stages
  "$BIN" run "$FILE" --out "$WORK/ratio-out" --overwrite -q --no-progress -j "$1" --stages "$2"
}
row "curate, repair stage only, 2 threads" "$(median_wall curate 2 repair)"
row "curate default, 1 thread" "$(median_wall curate 1 default)"
row "curate default, 2 threads" "$(median_wall curate 2 default)"
for s in quality sensitive tag dedup; do
  row "curate $s alone, 2 threads" "$(median_wall curate 2 "$s")"
done

read -r -a peer_names <<< "${PEERS:-rensa dt_filter_w2 dt_minhash_w2}"
peers=$(bash ../shared/bench/run_peers.sh "$FILE" "$WORK/peers" "${peer_names[@]}" 2>/dev/null || true)
peer_row() {  # name peer-name
  local w
  w=$(grep -E "^peer=$2 " <<< "$peers" | sed -E 's/.*wall_s=([0-9.]+).*/\1/' || true)
  [ -n "$w" ] && row "$1" "$w"
}
peer_row "rensa MinHash LSH alone" rensa_rminhash_lsh
peer_row "datatrove Gopher + C4 filters, 2 workers" datatrove_filter_w2
peer_row "datatrove MinHash, 2 workers" datatrove_minhash_w2

python3 - "$RESULTS" "$BYTES" "$FILE" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
mb = int(sys.argv[2]) / 1e6
rensa = next((float(s) for n, s in rows if n.startswith("rensa")), None)
print(f"{sys.argv[3]}: {mb:.1f} MB")
print(f"| run | wall s | MB/s | x rensa |")
print(f"|---|---:|---:|---:|")
for name, s in rows:
    s = float(s)
    ratio = f"{rensa / s:.2f}" if rensa else "-"
    print(f"| {name} | {s:.2f} | {mb / s:.1f} | {ratio} |")
PY
