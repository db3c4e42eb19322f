#!/usr/bin/env python3
"""How right a run's rule drops are, by the labels of fixtures/judged/: per
quality and sensitive rule, its drops in the run, how many of them are
labelled (in any of the label files) and how many of those are labelled
`drop`; then all drops together, and the estimate that weights each rule's
labelled precision by its number of drops.

Usage:
  curate run $(ls -d ../shared/corpora/*/ | grep -v benchmarks) --out RUN
  run_precision.py ../shared/corpora RUN
The run's source paths are read as it wrote them: call this from the folder
the run was made in. The label files were drawn in different ways (uniform,
per rule, per pattern), and some rules were tuned on some of them: the
figures say how the run's drops stand against every label there is, not an
independent measure. Needs pyarrow.
"""
import argparse
import collections
import glob
import json
import os

import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpora")
    ap.add_argument("run")
    a = ap.parse_args()
    root = os.path.realpath(a.corpora)
    labels = {}
    for p in sorted(glob.glob(os.path.join(ROOT, "fixtures/judged/*.jsonl"))):
        for line in open(p):
            r = json.loads(line)
            labels[(r["source"], r["line"])] = r["label"]
    drops, labelled, right = collections.Counter(), collections.Counter(), collections.Counter()
    for p in sorted(glob.glob(os.path.join(a.run, "rejected", "*.parquet"))):
        for r in pq.read_table(p, columns=["source_file", "source_line", "stage", "rule"]).to_pylist():
            if r["stage"] not in ("quality", "sensitive"):
                continue
            key = (os.path.relpath(os.path.realpath(r["source_file"]), root), r["source_line"])
            drops[r["rule"]] += 1
            if key in labels:
                labelled[r["rule"]] += 1
                right[r["rule"]] += labels[key] == "drop"
    print(f"{'rule':36} {'drops':>6} {'labelled':>8} {'right':>6} {'precision':>9}")
    weighted = 0.0
    for rule, n in drops.most_common():
        p = right[rule] / labelled[rule] if labelled[rule] else None
        weighted += n * (p or 0.0)
        shown = f"{p:.3f}" if p is not None else "-"
        print(f"{rule:36} {n:6d} {labelled[rule]:8d} {right[rule]:6d} {shown:>9}")
    total, lab, ok = sum(drops.values()), sum(labelled.values()), sum(right.values())
    print(f"{'all':36} {total:6d} {lab:8d} {ok:6d} {ok / max(lab, 1):9.3f}")
    unlabelled = [r for r in drops if not labelled[r]]
    print(f"weighted by each rule's drops: {weighted / max(total, 1):.3f}"
          + (f" (rules without a labelled drop counted as 0: {', '.join(unlabelled)})" if unlabelled else ""))


if __name__ == "__main__":
    main()
