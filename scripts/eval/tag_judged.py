#!/usr/bin/env python3
"""Task and domain tags against records labelled by reading
(fixtures/judged_tags/labels.jsonl, guideline next to it).

Writes the labelled corpus lines to a temporary JSONL, runs
`curate run --stages tag` on it (the built-in rules, or --rules DIR) and
compares the `task` column and the `domain:*` tags with the labels. Prints task
accuracy per language, precision and recall per task, the confusion matrix, and
domain coverage and precision.

Usage: python3 scripts/eval/tag_judged.py [--curate target/release/curate]
       [--corpora ../shared/corpora] [--rules DIR] [--labels FILE] [--errors N]
"""
import argparse, collections, glob, hashlib, json, os, subprocess, sys, tempfile

import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TASKS = ["open-qa", "closed-qa", "classification", "extraction", "summarization", "rewriting",
         "translation", "brainstorming", "creative-writing", "coding", "math", "reasoning",
         "roleplay", "chat", "other"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--curate", default=os.path.join(ROOT, "target", "release", "curate"))
    ap.add_argument("--corpora", default=os.path.join(ROOT, "..", "shared", "corpora"))
    ap.add_argument("--labels", default=os.path.join(ROOT, "fixtures", "judged_tags", "labels.jsonl"))
    ap.add_argument("--rules")
    ap.add_argument("--errors", type=int, default=0)
    a = ap.parse_args()
    labels = [json.loads(l) for l in open(a.labels, encoding="utf-8") if l.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "records.jsonl")
        cache = {}
        with open(inp, "w", encoding="utf-8") as f:
            for lab in labels:
                if lab["source"] not in cache:
                    cache[lab["source"]] = open(os.path.join(a.corpora, lab["source"]), encoding="utf-8").read().split("\n")
                line = cache[lab["source"]][lab["line"] - 1]
                if hashlib.sha256(line.encode("utf-8")).hexdigest()[:16] != lab["sha"]:
                    sys.exit(f"{lab['source']}:{lab['line']}: the corpus line changed since it was labelled")
                f.write(line + "\n")
        out = os.path.join(tmp, "out")
        cmd = [a.curate, "run", inp, "--stages", "tag", "--out", out, "-q", "--no-progress"]
        if a.rules:
            cmd += ["--rules", a.rules]
        subprocess.run(cmd, check=True)
        got = {}
        for sub in ("kept", "rejected"):
            for p in glob.glob(os.path.join(out, sub, "*.parquet")):
                for r in pq.read_table(p, columns=["source_line", "task", "tags"]).to_pylist():
                    got[r["source_line"]] = (r["task"], [t[7:] for t in (r["tags"] or []) if t.startswith("domain:")])
    rows = []
    for i, lab in enumerate(labels):
        task, doms = got.get(i + 1, (None, []))
        rows.append((lab, task, doms))
    # Two halves by a hash of the record's place: `dev` is the half whose
    # errors are read while changing the cues, `test` is only measured.
    half = lambda lab: "dev" if hashlib.sha256(f"{lab['source']}:{lab['line']}".encode()).digest()[0] % 2 == 0 else "test"
    for part in ("all", "dev", "test"):
        for lang in ("all", "en", "zh"):
            sel = [r for r in rows if (lang == "all" or r[0]["lang"] == lang) and (part == "all" or half(r[0]) == part)]
            ok = sum(r[1] == r[0]["task"] for r in sel)
            print(f"task accuracy {part:>4} {lang:>3}: {ok}/{len(sel)} = {ok / max(1, len(sel)):.3f}")
    if a.errors:
        rows_for_errors = [r for r in rows if half(r[0]) == "dev"]
    print(f"\n{'task':<17} {'labelled':>8} {'tagged':>7} {'precision':>9} {'recall':>7}")
    for t in TASKS:
        lab = sum(r[0]["task"] == t for r in rows)
        tag = sum(r[1] == t for r in rows)
        both = sum(r[0]["task"] == t and r[1] == t for r in rows)
        if lab or tag:
            print(f"{t:<17} {lab:>8} {tag:>7} {both / tag if tag else 0:>9.3f} {both / lab if lab else 0:>7.3f}")
    conf = collections.Counter((r[0]["task"], r[1]) for r in rows if r[0]["task"] != r[1])
    print("\nmost frequent confusions (label -> tagged):")
    for (l, t), n in conf.most_common(12):
        print(f"  {l} -> {t}: {n}")
    labelled = sum(bool(r[0]["domains"]) for r in rows)
    tagged = [d for r in rows for d in r[2]]
    right = sum(d in r[0]["domains"] for r in rows for d in r[2])
    covered = sum(bool(set(r[2]) & set(r[0]["domains"])) for r in rows if r[0]["domains"])
    print(f"\ndomains: {labelled} records labelled with a domain; tags given {len(tagged)}, "
          f"right {right} (precision {right / max(1, len(tagged)):.3f}); "
          f"labelled records with a right domain tag {covered} (coverage {covered / max(1, labelled):.3f})")
    if a.errors:
        print("\nerrors of the dev half (label, tagged, record, reason):")
        for lab, task, _ in [r for r in rows_for_errors if r[1] != r[0]["task"]][: a.errors]:
            print(f"  {lab['task']:<16} {str(task):<16} {lab['source']}:{lab['line']}  {lab['reason'][:90]}")


if __name__ == "__main__":
    main()
