#!/usr/bin/env python3
"""Keep/drop parity between curate and datatrove 0.10's Gopher filters.

Runs datatrove's GopherRepetitionFilter then GopherQualityFilter (default
thresholds, English) on text = instruction + "\\n" + input + "\\n" + output
(empty parts dropped) of every record of the English sets, runs
`curate run --rules scripts/bench/parity/rules` on the same files, and prints the
agreement on keep/drop, per rule (datatrove's first failing check against
curate's first failing rule) and the disagreeing ids.

usage: python3 scripts/bench/parity_datatrove.py [--curate PATH] [--corpora DIR] [--out DIR]
Needs datatrove 0.10.1 and spacy (../shared/bench/run_peers.sh builds such a
venv at /tmp/peers-venv) and pyarrow.
"""
import argparse
import collections
import glob
import json
import os
import subprocess
import sys

SETS = ["alpaca_5000", "gpteacher", "alpaca_cot", "llamafactory_alpaca_en_demo"]

REASON_TO_RULE = {
    "empty": "empty",
    "dup_para_frac": "dup-para-frac",
    "dup_para_char_frac": "dup-para-chars",
    "dup_line_frac": "dup-line-frac",
    "dup_line_char_frac": "dup-line-chars",
    "gopher_short_doc": "gopher-word-count",
    "gopher_long_doc": "gopher-word-count",
    "gopher_below_avg_threshold": "gopher-mean-word-length",
    "gopher_above_avg_threshold": "gopher-mean-word-length",
    "gopher_too_many_hashes": "gopher-hash-ratio",
    "gopher_too_many_ellipsis": "gopher-ellipsis-ratio",
    "gopher_too_many_bullets": "gopher-bullet-lines",
    "gopher_too_many_end_ellipsis": "gopher-ellipsis-lines",
    "gopher_below_alpha_threshold": "gopher-alpha-words",
    "gopher_enough_stop_words": "gopher-stop-words",
}
for n in (2, 3, 4):
    REASON_TO_RULE[f"top_{n}_gram"] = f"top-{n}-gram"
for n in range(5, 11):
    REASON_TO_RULE[f"duplicated_{n}_n_grams"] = f"dup-{n}-grams"


def datatrove_verdicts(files):
    from datatrove.data import Document
    from datatrove.pipeline.filters import GopherQualityFilter, GopherRepetitionFilter

    rep, qual = GopherRepetitionFilter(), GopherQualityFilter()
    out = {}
    for f in files:
        for i, line in enumerate(open(f, encoding="utf-8"), start=1):
            d = json.loads(line)
            answer = d.get("output") or d.get("response") or ""
            text = "\n".join(p for p in (d.get("instruction") or "", d.get("input") or "", answer) if p)
            doc = Document(text=text, id=f"{f}:{i}")
            verdict = None
            for flt in (rep, qual):
                r = flt.filter(doc)
                if r is True:
                    continue
                verdict = REASON_TO_RULE.get(r[1], r[1]) if isinstance(r, tuple) else "?"
                break
            out[(os.path.abspath(f), i)] = verdict
    return out


def curate_verdicts(curate, files, out_dir, rules):
    subprocess.run([curate, "run", *files, "--rules", rules, "--out", out_dir, "--overwrite", "-q"], check=True)
    import pyarrow.parquet as pq

    out = {}
    for kind in ("kept", "rejected"):
        for p in sorted(glob.glob(os.path.join(out_dir, kind, "*.parquet"))):
            cols = ["source_file", "source_line"] + (["rule"] if kind == "rejected" else [])
            for r in pq.read_table(p, columns=cols).to_pylist():
                rule = r["rule"].split("/", 1)[1] if kind == "rejected" else None
                out[(os.path.abspath(r["source_file"]), r["source_line"])] = rule
    return out


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser()
    ap.add_argument("--curate", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target")), "release", "curate"))
    ap.add_argument("--corpora", default=os.path.join(root, "..", "shared", "corpora"))
    ap.add_argument("--out", default="/tmp/curate-parity")
    ap.add_argument("--show", type=int, default=20, help="disagreeing ids to print")
    a = ap.parse_args()
    files = sorted(f for s in SETS for f in glob.glob(os.path.join(a.corpora, s, "*.jsonl")))
    ours = curate_verdicts(a.curate, files, a.out, os.path.join(here, "parity", "rules"))
    theirs = datatrove_verdicts(files)
    keys = sorted(theirs)
    missing = [k for k in keys if k not in ours]
    same = sum(1 for k in keys if k in ours and (ours[k] is None) == (theirs[k] is None))
    print(f"records: {len(keys)}  (missing from curate output: {len(missing)})")
    print(f"same keep/drop decision: {same}/{len(keys)} = {100 * same / max(1, len(keys)):.3f} %")
    print(f"kept by datatrove: {sum(v is None for v in theirs.values())}, by curate: {sum(ours.get(k) is None for k in keys)}")
    per = collections.defaultdict(lambda: [0, 0, 0])  # both, datatrove only, curate only
    for k in keys:
        t, o = theirs[k], ours.get(k)
        for rule in {t, o} - {None}:
            per[rule][0 if t == o else (1 if t == rule else 2)] += 1
    print("\n| rule (first failing) | both | datatrove only | curate only | agreement |\n|---|---:|---:|---:|---:|")
    for rule, (b, t, o) in sorted(per.items()):
        print(f"| {rule} | {b} | {t} | {o} | {100 * b / max(1, b + t + o):.2f} % |")
    diff = [k for k in keys if (ours.get(k) is None) != (theirs[k] is None)]
    print(f"\ndisagreeing keep/drop ({len(diff)}):")
    for f, line in diff[: a.show]:
        print(f"  {os.path.relpath(f, a.corpora)}:{line}  datatrove={theirs[(f, line)]}  curate={ours.get((f, line))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
