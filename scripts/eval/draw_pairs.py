#!/usr/bin/env python3
"""Draws candidate near-duplicate pairs of ../shared/corpora for labelling.

The candidates come from a dedup-only run at a low threshold, so that pairs
on both sides of the default 0.8 are drawn:

    sed 's/^threshold = 0.8/threshold = 0.5/' rules/dedup.toml > R/dedup.toml
    curate run ../shared/corpora --out RUN --rules R --stages dedup
    scripts/eval/draw_pairs.py ../shared/corpora RUN > fixtures/judged_pairs/pairs.jsonl

Each `dedup/near` drop of that run and the kept record it names is a pair.
Pairs are drawn with a fixed seed per stratum: the corpus folder (each
benchmark file its own) and the similarity band [0.5, 0.65), [0.65, 0.8),
[0.8, 0.9), [0.9, 1]; up to PER pairs each. Pairs whose survivor id names more
than one kept record are skipped. Writes {pair, a, b, stratum} with each
record as {source, line, sha} (the first 16 hex digits of the line's SHA-256)
and `weight`, the pairs of its stratum in the run per pair drawn from it (so
that figures over the draw can be weighted back to the run's candidates);
`--exclude PAIRS.jsonl` skips pairs drawn before (a second, unseen set);
`--packet DIR` also writes the records' messages for reading, in chunks, with
no similarity and no stratum.
"""
import argparse
import hashlib
import json
import os
import random
import sys
from collections import defaultdict

import duckdb

BANDS = [(0.5, 0.65), (0.65, 0.8), (0.8, 0.9), (0.9, 1.01)]


def sha(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()[:16]


def write_packets(packets, folder, chunk):
    """Writes the records of the drawn pairs for reading, `chunk` pairs per file."""
    os.makedirs(folder, exist_ok=True)
    for k in range(0, len(packets), chunk):
        with open(os.path.join(folder, f"chunk{k // chunk:02}.jsonl"), "w") as f:
            for p in packets[k: k + chunk]:
                f.write(json.dumps(p, ensure_ascii=False) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpora")
    ap.add_argument("run")
    ap.add_argument("--per", type=int, default=10)
    ap.add_argument("--seed", type=int, default=20261205)
    ap.add_argument("--packet", help="write reading packets here")
    ap.add_argument("--chunk", type=int, default=60)
    ap.add_argument("--exclude", action="append", default=[],
                    help="a pairs file already drawn: its pairs are not drawn again")
    a = ap.parse_args()
    root = os.path.abspath(a.corpora)
    c = duckdb.connect()
    rej = c.sql(
        f"select source_file, source_line, duplicate_of, similarity, messages "
        f"from '{a.run}/rejected/*.parquet' where rule = 'dedup/near' "
        f"order by source_file, source_line").fetchall()
    kept = defaultdict(list)
    for sid, sf, sl, msgs in c.sql(
            f"select id, source_file, source_line, messages from '{a.run}/kept/*.parquet'").fetchall():
        kept[sid].append((sf, sl, msgs))

    def rel(path):
        return os.path.relpath(os.path.abspath(path), root)

    seen = set()
    for path in a.exclude:
        for line in open(path):
            p = json.loads(line)
            ends = [(p[k]["source"], p[k]["line"]) for k in ("a", "b")]
            seen.add(frozenset(ends))

    strata = defaultdict(list)
    for sf, sl, dup, sim, msgs in rej:
        if len(kept.get(dup, [])) != 1:
            continue
        r = rel(sf)
        if r.startswith("benchmarks/mt_bench"):
            continue
        fam = r if r.startswith("benchmarks/") else r.split("/")[0]
        band = next(i for i, (lo, hi) in enumerate(BANDS) if lo <= sim < hi)
        ksf, ksl, kmsgs = kept[dup][0]
        if frozenset([(r, sl), (rel(ksf), ksl)]) in seen:
            continue
        strata[(fam, band)].append(((r, sl, msgs), (rel(ksf), ksl, kmsgs)))

    rng = random.Random(a.seed)
    drawn = []
    weight = {}
    for key in sorted(strata):
        items = strata[key]
        rng.shuffle(items)
        weight[key] = len(items) / min(len(items), a.per)
        for p in items[: a.per]:
            drawn.append((key, p))
    rng.shuffle(drawn)

    lines = {}

    def ref(r, n):
        if r not in lines:
            with open(os.path.join(root, r), "rb") as f:
                lines[r] = f.read().split(b"\n")
        return {"source": r, "line": n, "sha": sha(lines[r][n - 1])}

    packets = []
    for i, ((fam, band), (x, y)) in enumerate(drawn, 1):
        # The kept record first: it came first in input order.
        a_, b_ = (y, x)
        print(json.dumps({"pair": i, "a": ref(a_[0], a_[1]), "b": ref(b_[0], b_[1]),
                          "stratum": f"{fam} {BANDS[band][0]}",
                          "weight": round(weight[(fam, band)], 4)}, ensure_ascii=False))
        packets.append({"pair": i, "a": [dict(m) for m in a_[2]], "b": [dict(m) for m in b_[2]]})
    if a.packet:
        write_packets(packets, a.packet, a.chunk)
    print(f"{len(drawn)} pairs from {len(strata)} strata", file=sys.stderr)


if __name__ == "__main__":
    main()
