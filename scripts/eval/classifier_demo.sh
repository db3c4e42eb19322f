#!/usr/bin/env bash
# The trainable classifier on real labels, both uses:
#  1. task: trained on the labelled sets of scripts/eval/tag_sets.toml (their labels
#     mapped to the task vocabulary), 5-fold cross-validated.
#  2. quality: trained on records the heuristic quality rules keep vs drop
#     (scripts/eval/quality_rules/, a stricter copy of the defaults), on Alpaca-style
#     English and Chinese sets, with a held-out split.
# Data are read from the corpora folder; everything written goes to a temp folder.
#
#   scripts/eval/classifier_demo.sh [CORPORA_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
corpora="${1:-$here/../shared/corpora}"
cd "$here"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# The target folder may be shared with other checkouts: copy the binary right after building it.
# Set CURATE to use an existing binary instead of building one.
if [[ -n "${CURATE:-}" ]]; then
    cp "$CURATE" "$tmp/curate"
else
    cargo build --release --quiet
    cp "${CARGO_TARGET_DIR:-$here/target}/release/curate" "$tmp/curate"
fi
bin="$tmp/curate"

echo "== task classifier (labels of scripts/eval/tag_sets.toml, 5-fold cross-validation)"
"$bin" tag-eval scripts/eval/tag_sets.toml --corpora "$corpora" --rules rules --export "$tmp/task.jsonl" > /dev/null
"$bin" train "$tmp/task.jsonl" --label label --text prompt --folds 5 -o "$tmp/task.json"

echo
echo "== the task classifier inside the topic rules ([classifier.task], weight 6), trained on the dev half only: read the test columns"
mkdir -p "$tmp/rules"
cp -r rules/. "$tmp/rules/"
mkdir -p "$tmp/rules/models"
# Train on the dev half only, so the test half stays unseen.
grep '"split":"dev"' "$tmp/task.jsonl" > "$tmp/task_dev.jsonl"
"$bin" train "$tmp/task_dev.jsonl" --label label --text prompt --holdout 0 -o "$tmp/rules/models/task.json" > /dev/null
cat > "$tmp/rules/topics/classifier.toml" <<'TOML'
[classifier.task]
model = "models/task.json"
weight = 6.0
TOML
"$bin" tag-eval scripts/eval/tag_sets.toml --corpora "$corpora" --rules "$tmp/rules" | sed -n 1,8p

echo
echo "== quality classifier (records the heuristic rules keep vs drop, 20% held out)"
inputs=("$corpora/alpaca_5000" "$corpora/llamafactory_alpaca_en_demo" "$corpora/alpaca_chinese_carbonz0" "$corpora/llamafactory_alpaca_zh_demo")
"$bin" run "${inputs[@]}" --rules scripts/eval/quality_rules --stages quality -o "$tmp/q" -q --no-progress
# Parquet rows of kept/ and rejected/ are read back as records; rejected rows
# carry `stage`, kept rows do not (--label-missing kept).
"$bin" train "$tmp/q/kept" "$tmp/q/rejected" --label stage --label-missing kept --text prompt,response \
    --balance -o "$tmp/quality.json"

echo
echo "== the quality classifier as a filter (kind = \"classifier\") on other sets"
mkdir -p "$tmp/qrules/quality" "$tmp/qrules/models"
cp rules/formats.toml "$tmp/qrules/"
cp "$tmp/quality.json" "$tmp/qrules/models/quality.json"
cat > "$tmp/qrules/quality/classifier.toml" <<'TOML'
[low-quality]
kind = "classifier"
model = "models/quality.json"
label = "quality"
max = 0.9
TOML
"$bin" run "$corpora/gpteacher/toolformer-similarity-0.6-dataset.jsonl" "$corpora/belle_zh_seed_tasks" \
    --rules "$tmp/qrules" -o "$tmp/q2" --no-progress
