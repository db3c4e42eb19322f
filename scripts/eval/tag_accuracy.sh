#!/usr/bin/env bash
# Task accuracy of the built-in topic rules on the labelled sets of
# scripts/eval/tag_sets.toml (label-to-task table and rationale: docs/tagging.md).
# Prints per-set accuracy on the dev and test halves and a confusion matrix.
#
#   scripts/eval/tag_accuracy.sh [CORPORA_DIR] [extra tag-eval flags, e.g. --show-errors 20]
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
corpora="${1:-$here/../shared/corpora}"
shift || true
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
"$tmp/curate" tag-eval scripts/eval/tag_sets.toml --corpora "$corpora" --rules rules "$@"
