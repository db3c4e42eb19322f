#!/usr/bin/env python3
"""Draw a blind spot check of a default run: up to --per-rule records of
each quality and sensitive rule's drops and --kept kept records, none of them
already labelled (fixtures/judged/*.jsonl), shuffled together.

Writes two files:
  DRAW.jsonl     {source, line, sha, origins} per record, in the shuffled
                 order (the origins go back into the labels, not to readers);
  PACKET.jsonl   {n, record} per record in the same order: the corpus line
                 as it is, with nothing of the run's verdict, for readers who
                 label it by fixtures/judged/GUIDELINE.md.

Usage:
  curate run $(ls -d ../shared/corpora/*/ | grep -v benchmarks) --out RUN
  draw_spotcheck.py ../shared/corpora RUN --draw DRAW.jsonl --packet PACKET.jsonl
(fixtures/judged/spotcheck2.jsonl: --per-rule 15 --kept 80 --seed 20261207
--labelled fixtures/judged/labels.jsonl fixtures/judged/spotcheck.jsonl, the
sets there before it; by default every set of fixtures/judged/ is left out)
The run's source paths are read as it wrote them: call this from the folder
the run was made in. Needs pyarrow.
"""
import argparse
import glob
import hashlib
import json
import os
import random

import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpora")
    ap.add_argument("run")
    ap.add_argument("--draw", required=True)
    ap.add_argument("--packet", required=True)
    ap.add_argument("--per-rule", type=int, default=15)
    ap.add_argument("--kept", type=int, default=80)
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--labelled", nargs="*", default=sorted(glob.glob(os.path.join(ROOT, "fixtures/judged/*.jsonl"))))
    a = ap.parse_args()
    root = os.path.realpath(a.corpora)
    seen = set()
    for p in a.labelled:
        for l in open(p):
            r = json.loads(l)
            seen.add((r["source"], r["line"]))

    def unlabelled(r):
        """A row's corpus place, or None when it is labelled already or
        outside the corpora."""
        key = (os.path.relpath(os.path.realpath(r["source_file"]), root), r["source_line"])
        return None if key in seen or key[0].startswith("..") else key

    def rows(folder):
        for p in sorted(glob.glob(os.path.join(a.run, folder, "*.parquet"))):
            yield from pq.read_table(p, columns=["source_file", "source_line", "stage", "rule"]).to_pylist()

    by_rule = {}
    for r in rows("rejected"):
        if r["stage"] not in ("quality", "sensitive"):
            continue
        key = unlabelled(r)
        if key:
            by_rule.setdefault(r["rule"], []).append(key)
    kept = [k for k in map(unlabelled, rows("kept")) if k]
    rng = random.Random(a.seed)
    drawn = {}
    for rule in sorted(by_rule):
        c = sorted(by_rule[rule])
        for k in rng.sample(c, min(a.per_rule, len(c))):
            drawn.setdefault(k, []).append("rule:" + rule)
    for k in rng.sample(sorted(kept), min(a.kept, len(kept))):
        drawn.setdefault(k, []).append("kept")
    order = sorted(drawn)
    rng.shuffle(order)
    lines = {}
    with open(a.draw, "w") as d, open(a.packet, "w") as p:
        for n, (f, line) in enumerate(order, 1):
            if f not in lines:
                with open(os.path.join(root, f), "rb") as fh:
                    lines[f] = fh.read().split(b"\n")
            raw = lines[f][line - 1]
            sha = hashlib.sha256(raw).hexdigest()[:16]
            d.write(json.dumps({"source": f, "line": line, "sha": sha, "origins": drawn[(f, line)]},
                               ensure_ascii=False) + "\n")
            p.write(json.dumps({"n": n, "record": json.loads(raw)}, ensure_ascii=False) + "\n")
    print(f"{len(order)} records: {sum(len(v) for v in by_rule.values())} drops in {len(by_rule)} rules, "
          f"{len(kept)} kept to draw from")


if __name__ == "__main__":
    main()
