#!/usr/bin/env bash
# Mutation fuzzing of the input readers, the record path and the rules parser
# (tests/it/fuzz.rs) for SECONDS per target, on the release build. A crash
# names the target, the seed and the case, and leaves the input in
# fuzz-crashes/.
#
#   scripts/ci/fuzz.sh [SECONDS] [SEED]      (default: 60 s, seed 20261205)
set -euo pipefail
cd "$(dirname "$0")/../.."
CURATE_FUZZ_SECONDS="${1:-60}" CURATE_FUZZ_SEED="${2:-20261205}" \
  cargo test --release --test it fuzz -- --nocapture --test-threads 3 2>&1 | grep -E '^fuzz |panicked|test result'
