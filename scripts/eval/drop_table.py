#!/usr/bin/env python3
"""Per-rule drop table of a `curate run` output, split by language (zh/en by
script, as curate decides), and a few dropped examples per rule.

usage: python3 scripts/eval/drop_table.py OUT_DIR [--examples N] [--rule RULE]
Needs pyarrow.
"""
import argparse
import collections
import glob
import os
import re

import pyarrow.parquet as pq

HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
LAT = re.compile(r"[A-Za-z]")


def lang(msgs):
    text = "\n".join(m["content"] for m in msgs if m["role"] != "system")[:4096]
    han, lat = len(HAN.findall(text)), len(LAT.findall(text))
    if han and han >= lat / 5:
        return "zh"
    return "en" if lat else "other"


def rows(folder, cols):
    for p in sorted(glob.glob(os.path.join(folder, "*.parquet"))):
        yield from pq.read_table(p, columns=cols).to_pylist()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--examples", type=int, default=0)
    ap.add_argument("--rule")
    a = ap.parse_args()
    total = collections.Counter()
    for r in rows(os.path.join(a.out, "kept"), ["messages"]):
        total[lang(r["messages"])] += 1
    drops = collections.defaultdict(collections.Counter)
    examples = collections.defaultdict(list)
    for r in rows(os.path.join(a.out, "rejected"), ["id", "source_file", "messages", "rule", "reason"]):
        l = lang(r["messages"])
        total[l] += 1
        drops[r["rule"]][l] += 1
        if a.examples and (not a.rule or r["rule"] == a.rule) and len(examples[r["rule"]]) < a.examples:
            examples[r["rule"]].append(r)
    print(f"records: zh {total['zh']}, en {total['en']}, other {total['other']}")
    print(f"| rule | dropped | zh | zh % | en | en % |\n|---|---:|---:|---:|---:|---:|")
    for rule, c in sorted(drops.items(), key=lambda kv: -sum(kv[1].values())):
        pz = 100 * c["zh"] / max(1, total["zh"])
        pe = 100 * c["en"] / max(1, total["en"])
        print(f"| {rule} | {sum(c.values())} | {c['zh']} | {pz:.2f} | {c['en']} | {pe:.2f} |")
    for rule, ex in examples.items():
        print(f"\n## {rule}")
        for r in ex:
            msgs = " || ".join(f"{m['role']}: {m['content']}" for m in r["messages"])
            print(f"- {r['source_file']} {r['id']}: {r['reason']}\n    {msgs[:400]!r}")


if __name__ == "__main__":
    main()
