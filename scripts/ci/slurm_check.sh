#!/usr/bin/env bash
# End-to-end check of `curate slurm` and `curate status` on a real
# single-node Slurm cluster (munged + slurmctld + slurmd, started with
# ../shared/slurm/start-single-node-slurm.sh; needs root and Debian packages,
# which it installs). On a real corpus (English and Chinese, five record
# shapes, malformed lines; every stage that drops records drops some):
#
#   (a) `curate slurm --world 3 --wait` gives the same files, byte for byte,
#       as `curate run` (kept/, rejected/, malformed/, metrics/,
#       dedup/clusters.parquet) and `curate status` says complete;
#   (b) an input removed after planning: the `process` task owning it fails,
#       `curate status` names it with its error and exits 1, and the later
#       steps never start (cancelled by their dependency);
#   (c) an input that is a FIFO no one writes to: its `process` task hangs
#       and is cancelled once the others are done; `curate status` shows it
#       missing; with the input back, `curate slurm --resume --wait` submits
#       that rank alone, leaves the other ranks' markers untouched and ends
#       with the same files as the local run. (The FIFO is there when the run
#       is planned, as an input of 0 bytes: a task checks its inputs' sizes
#       against the plan first, so a FIFO put there later fails at once.)
#
# Prints `ok - …` / `FAIL - …` lines; exits non-zero on any failure. Stops
# the cluster at the end, unless it was running before.
#
#   scripts/ci/slurm_check.sh [CURATE]   (default: ${CARGO_TARGET_DIR:-target}/debug/curate)
#   CURATE_SHARED   the shared folder with corpora/ and slurm/ (default: ../shared)
#   KEEP=1          keep the work folder
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CURATE="$(realpath "${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/curate}")"
SHARED="$(realpath "${CURATE_SHARED:-$ROOT/../shared}")"
CORPORA="$SHARED/corpora"
SLURM_SCRIPTS="$SHARED/slurm"
SN_DIR="${SLURM_SN_DIR:-/var/tmp/slurm-single-node}"
T0=$(date +%s)

pass=0; fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "FAIL - $1"; fail=$((fail + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
die() { echo "FAIL - $1"; echo "0 passed, 1 failed"; exit 1; }

[ -x "$CURATE" ] || die "no curate binary at $CURATE (build it, or pass its path)"
[ "$(id -u)" = 0 ] || die "must run as root (the single-node cluster runs its daemons as root)"
[ -d "$CORPORA" ] && [ -d "$SLURM_SCRIPTS" ] || die "no $CORPORA or $SLURM_SCRIPTS"
# The cluster scripts use ps; a minimal Debian image lacks it.
if ! command -v ps >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -q procps || { apt-get update -q && apt-get install -y -q procps; }; } >/dev/null 2>&1 \
    || die "cannot install procps"
fi

WORK="$(mktemp -d /tmp/curate-slurm-check.XXXXXX)"
chmod 755 "$WORK"
was_running=0
if [ -s "$SN_DIR/run/slurmctld.pid" ] && ps -p "$(cat "$SN_DIR/run/slurmctld.pid")" >/dev/null 2>&1; then
  was_running=1
fi

# Every job id submitted here, from the runs' slurm.json files.
our_jobs() {
  cat "$WORK"/*/.work/slurm/slurm.json 2>/dev/null | grep -o '"job_id": "[0-9]*"' | grep -o '[0-9]*' | sort -u
}
cleanup() {
  local jobs
  jobs=$(our_jobs | tr '\n' ' ')
  [ -n "$jobs" ] && command -v scancel >/dev/null && scancel $jobs 2>/dev/null
  if [ "$was_running" = 0 ]; then bash "$SLURM_SCRIPTS/stop.sh" >/dev/null 2>&1; fi
  if [ "${KEEP:-0}" = 1 ] || [ "$fail" != 0 ]; then echo "# work folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

bash "$SLURM_SCRIPTS/start-single-node-slurm.sh" >"$WORK/slurm-start.log" 2>&1 \
  || { cat "$WORK/slurm-start.log"; die "the single-node cluster did not start"; }
ok "single-node Slurm cluster up ($(sinfo -h -o '%P %T %c CPUs' | head -1))"

# ------------------------------------------------------------------ corpus
# ~4,000 records: Alpaca (English, Chinese), ShareGPT (with tool calls),
# OpenAI messages, pCLUE (a declared format), lines that are not valid
# records and an empty file (`pending.jsonl`, a delivery still to come).
# File sizes put at least one file on each process task (3, 4 or 5 of them).
make_corpus() {
  mkdir -p "$1"
  cp "$CORPORA/llamafactory_alpaca_en_demo/alpaca_en_demo.jsonl" \
     "$CORPORA/llamafactory_alpaca_zh_demo/alpaca_zh_demo.jsonl" \
     "$CORPORA/fastchat_dummy_conversation/dummy_conversation.jsonl" \
     "$CORPORA/glaive_toolcall_demo/glaive_toolcall_zh_demo.jsonl" \
     "$CORPORA/llamafactory_v1_sft_demo/v1_sft_demo.jsonl" \
     "$CORPORA/pclue/pCLUE_train_9.jsonl" \
     "$ROOT/fixtures/broken/bad_lines.jsonl" "$ROOT/fixtures/sensitive/records.jsonl" "$1/"
  : >"$1/pending.jsonl"
}
cd "$WORK"
make_corpus corpus
# Paths are given relative to $WORK, as a user would: tasks must run there.
SUBMIT=(--threads 1 --cpus-per-task 1 --mem 1G --time 10 --curate "$CURATE" --poll 1)

"$CURATE" run corpus --out local -q --no-progress >local.log 2>&1 \
  || { cat local.log; die "curate run failed"; }
drops=$(python3 - local/report.json <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
d = {s["name"]: s["dropped"] for s in r["stages"]}
print(" ".join(f"{k}={v}" for k, v in d.items()), "malformed=%d" % r["totals"]["malformed"])
EOF
)
input=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["input"])' local/report.json)
every_stage_drops() {
  local k
  for k in quality sensitive dedup malformed; do grep -qE "(^| )$k=[1-9]" <<<"$drops" || return 1; done
}
check "local run: $input records; drops: $drops" every_stage_drops

# same_outputs A B: every file of the results is in both and byte-identical.
same_outputs() {
  local a=$1 b=$2 d f
  for d in kept rejected malformed metrics dedup; do
    if ! diff <(cd "$a" && find "$d" -type f 2>/dev/null | sort) <(cd "$b" && find "$d" -type f 2>/dev/null | sort) >/dev/null; then
      echo "  $d/: different files in $a and $b" >&2; return 1
    fi
    for f in $(cd "$a" && find "$d" -type f 2>/dev/null | sort); do
      cmp -s "$a/$f" "$b/$f" || { echo "  $f differs" >&2; return 1; }
    done
  done
  [ -n "$(ls "$a/kept")" ]
}
# wait_for SECONDS CONDITION...: polls until CONDITION holds.
wait_for() {
  local end=$(($(date +%s) + $1)); shift
  until "$@"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.5; done
}
no_jobs_left() { [ -z "$(squeue -h -o %F | grep -xF -f <(our_jobs))" ]; }
markers() { ls "$1"/.work/"$2"/_DONE.* 2>/dev/null | wc -l; }
job_of() { # OUT STEP: the step's job id in the last submission
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1]+"/.work/slurm/slurm.json"))["submissions"][-1]
print(next(j["job_id"] for j in s if j["step"]==sys.argv[2]))' "$1" "$2"
}

# ------------------------------------------------------------------ (a)
echo "# (a) the same run on Slurm, 3 tasks ($(($(date +%s) - T0)) s)"
timeout 150 "$CURATE" slurm corpus --out a --world 3 "${SUBMIT[@]}" --wait >a.log 2>&1
rc=$?
check "(a) curate slurm --wait exits 0 (rc=$rc)" test "$rc" = 0
[ "$rc" = 0 ] || cat a.log
check "(a) 3 process tasks ran and left their markers" test "$(markers a process)" = 3
check "(a) kept/ rejected/ malformed/ metrics/ dedup/ byte-identical to the local run" same_outputs local a
"$CURATE" status a >a.status 2>&1
rc=$?
says_complete() { [ "$1" = 0 ] && head -1 "$2" | grep -q ': complete$'; }
check "(a) curate status: complete, exit 0 (rc=$rc)" says_complete "$rc" a.status

# ------------------------------------------------------------------ (b)
echo "# (b) an input removed after planning ($(($(date +%s) - T0)) s)"
make_corpus corpus_b
"$CURATE" slurm corpus_b --out b --world 4 "${SUBMIT[@]}" --dry-run >b.plan.log 2>&1 \
  || { cat b.plan.log; die "(b) planning failed"; }
rm corpus_b/glaive_toolcall_zh_demo.jsonl
timeout 120 "$CURATE" slurm --resume b --wait --poll 1 >b.log 2>&1
rc=$?
check "(b) curate slurm --wait exits non-zero (rc=$rc)" test "$rc" != 0
"$CURATE" status b >b.status 2>&1
rc=$?
check "(b) curate status exits 1 (rc=$rc)" test "$rc" = 1
failed_line=$(sed -n '/^failed:/,/^[a-z]/p' b.status | grep -E '^  process rank [0-9]+' | sed 's/^ *//' || true)
one_failure_naming_the_file() {
  [ "$(grep -c . <<<"$failed_line")" = 1 ] && grep -q 'glaive_toolcall_zh_demo.jsonl' <<<"$failed_line"
}
check "(b) status names the failed task with its error: $failed_line" one_failure_naming_the_file
check "(b) the other 3 process tasks are done" test "$(markers b process)" = 3
no_later_markers() { [ -z "$(ls b/.work/pairs b/.work/decide b/.work/write 2>/dev/null)" ] && [ ! -e b/_SUCCESS ]; }
check "(b) no pairs/decide/write marker, no _SUCCESS" no_later_markers
no_later_logs() { ! ls b/.work/slurm/logs/{pairs,decide,write}-*.log >/dev/null 2>&1; }
check "(b) pairs/decide/write never started (no task logs)" no_later_logs
check "(b) no job of the chain is left in the queue" no_jobs_left
if [ -r "$SN_DIR/log/slurmctld.log" ]; then
  pairs_job=$(job_of b pairs)
  check "(b) slurmctld cancelled the dependent jobs (pairs: job $pairs_job)" \
    grep -q "cancelling JobId=${pairs_job}_" "$SN_DIR/log/slurmctld.log"
fi

# ------------------------------------------------------------------ (c)
echo "# (c) a hanging task, cancelled, then resumed ($(($(date +%s) - T0)) s)"
# Planned from another folder holding its own corpus/: the same relative
# input paths, so the same `source_file` values as the local run.
# Opening a FIFO that no one writes to blocks for ever.
mkdir c.cwd
make_corpus c.cwd/corpus
rm c.cwd/corpus/pending.jsonl
mkfifo c.cwd/corpus/pending.jsonl
(cd c.cwd && "$CURATE" slurm corpus --out ../c --world 5 "${SUBMIT[@]}") >c.submit.log 2>&1 \
  || { cat c.submit.log; die "(c) submission failed"; }
process_job=$(job_of c process)
four_done() { [ "$(markers c process)" = 4 ]; }
wait_for 60 four_done
check "(c) 4 of 5 process tasks done, one hanging" four_done
hung=""
for r in 0 1 2 3 4; do [ -e "c/.work/process/_DONE.$r" ] || hung=$r; done
# With more tasks than CPUs it may still wait for one: it starts once the
# others are done, and then hangs on the FIFO.
hung_running() { squeue -h -t RUNNING -o %i | grep -qx "${process_job}_${hung}"; }
wait_for 30 hung_running
check "(c) process rank $hung is still running (job ${process_job}_${hung})" hung_running
scancel "${process_job}_${hung}"
wait_for 30 no_jobs_left
check "(c) after scancel, the chain left the queue" no_jobs_left
"$CURATE" status c >c.status 2>&1
rc=$?
shows_missing() { [ "$rc" = 1 ] && grep -qx "  process rank $hung" c.status && ! grep -q '^failed:' c.status; }
check "(c) curate status exits 1 and shows rank $hung missing" shows_missing
before=$(cd c/.work/process && for f in _DONE.*; do echo "$f $(stat -c %y "$f") $(md5sum <"$f")"; done)
rm c.cwd/corpus/pending.jsonl
: >c.cwd/corpus/pending.jsonl
timeout 150 "$CURATE" slurm --resume c --wait --poll 1 >c.log 2>&1
rc=$?
check "(c) curate slurm --resume --wait exits 0 (rc=$rc)" test "$rc" = 0
[ "$rc" = 0 ] || cat c.log
only_hung_resubmitted() {
  grep -qx "process: job [0-9]*, rank $hung of 5" c.log && grep -qx "#SBATCH --array=$hung" c/.work/slurm/process.sbatch
}
check "(c) only rank $hung of process was submitted again" only_hung_resubmitted
after=$(cd c/.work/process && for f in _DONE.*; do [ "$f" = "_DONE.$hung" ] || echo "$f $(stat -c %y "$f") $(md5sum <"$f")"; done)
check "(c) the other ranks' markers are unchanged (content and mtime)" test "$before" = "$after"
check "(c) kept/ rejected/ malformed/ metrics/ dedup/ byte-identical to the local run" same_outputs local c
"$CURATE" status c >c.status 2>&1
check "(c) curate status: complete" test "$?" = 0

echo "$pass passed, $fail failed ($(($(date +%s) - T0)) s)"
[ "$fail" = 0 ]
