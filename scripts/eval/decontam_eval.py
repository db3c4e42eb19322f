#!/usr/bin/env python3
"""Recall and false drops of `dedup/decontam`.

usage: scripts/eval/decontam_eval.py CURATE_BIN CORPORA_DIR [WORKDIR]

Recall: up to 100 items from each benchmark (GSM8K, MMLU, HumanEval, MT-bench;
fixed seed) are inserted into real Alpaca records (alpaca_5000), appended to
the instruction, once verbatim and once lightly edited (lower-cased, one word
in 20 replaced or dropped, punctuation changed). Each variant is a separate
input file; the per-file rejected count of `curate run --stages dedup` (exact
and near dedup off) is the number found.

False drops: every corpus of CORPORA_DIR except benchmarks/ is run against the
same benchmarks; every drop there is counted (and listed by corpus), since the
corpora are not meant to contain test items. Self-Instruct seed tasks are not
used as a benchmark here: Alpaca-style corpora are generated from them.
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile

BENCH = {
    "gsm8k_test.jsonl": lambda r: r["question"],
    "mmlu_test.jsonl": lambda r: r["question"],
    "humaneval.jsonl": lambda r: r["prompt"],
    "mt_bench_questions.jsonl": lambda r: r["turns"][0],
}


def edit(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    out = []
    for w in words:
        x = rng.random()
        if x < 0.025:
            continue  # dropped
        if x < 0.05:
            out.append(rng.choice(["the", "a", "some", "this"]))
            continue
        out.append(w)
    t = " ".join(out).lower()
    return re.sub(r"[,;]", "", t).replace("?", " ?")


def run(curate, inputs, out, rules, bench_dir):
    args = [curate, "run", *inputs, "--out", out, "--rules", rules, "--stages", "dedup", "-q", "--overwrite",
            "--no-progress", "--decontaminate"] + [os.path.join(bench_dir, b) for b in BENCH]
    subprocess.run(args, check=True)
    return json.load(open(os.path.join(out, "report.json")))


def main():
    curate, corpora = sys.argv[1], sys.argv[2]
    work = sys.argv[3] if len(sys.argv) > 3 else tempfile.mkdtemp()
    bench_dir = os.path.join(corpora, "benchmarks")
    rules = os.path.join(work, "rules")
    subprocess.run(["rm", "-rf", rules], check=True)
    subprocess.run([curate, "init-rules", rules], check=True, stdout=subprocess.DEVNULL)
    p = os.path.join(rules, "dedup.toml")
    s = open(p).read()
    s = re.sub(r"(?m)^(\[exact\]\n)enabled = true", r"\1enabled = false", s)
    s = re.sub(r"(?m)^(\[near\]\n)enabled = true", r"\1enabled = false", s)
    open(p, "w").write(s)

    rng = random.Random(13)
    base = [json.loads(l) for l in open(os.path.join(corpora, "alpaca_5000", "alpaca_5000.jsonl"))]
    items = []
    for b, get in BENCH.items():
        rows = [json.loads(l) for l in open(os.path.join(bench_dir, b))]
        for r in rng.sample(rows, min(100, len(rows))):
            items.append((b, get(r)))
    files = {}
    for variant in ("verbatim", "edited"):
        path = os.path.join(work, f"contaminated_{variant}.jsonl")
        with open(path, "w") as f:
            for i, (b, text) in enumerate(items):
                rec = dict(base[i % len(base)])
                t = text if variant == "verbatim" else edit(text, rng)
                rec["instruction"] = rec["instruction"] + "\n" + t
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        files[variant] = path
    r = run(curate, list(files.values()), os.path.join(work, "out-recall"), rules, bench_dir)
    for f in r["files"]:
        v = "verbatim" if "verbatim" in f["path"] else "edited"
        print(f"recall {v}: {f['rejected']}/{f['input']} = {f['rejected'] / f['input']:.3f}")

    clean = [os.path.join(corpora, d) for d in sorted(os.listdir(corpora))
             if d != "benchmarks" and os.path.isdir(os.path.join(corpora, d))]
    r = run(curate, clean, os.path.join(work, "out-clean"), rules, bench_dir)
    total = r["totals"]["input"] - r["totals"]["malformed"]
    dropped = r["totals"]["rejected"]
    print(f"false drops on clean corpora: {dropped}/{total} = {dropped / max(total, 1):.5f}")
    for f in r["files"]:
        if f["rejected"]:
            print(f"  {f['path']}: {f['rejected']}")


if __name__ == "__main__":
    main()
