#!/usr/bin/env python3
"""How far readers agree, and how the tagger does against readers on the
labelled sets (fixtures/judged_tags/README.md).

1. The second reader of the judged tagging set against the first: task
   agreement per language, and domains scored as `curate tag-eval` scores
   the tagger (precision of the first domain given, coverage of the records
   labelled with one).
2. For the prompts of `sets_labels.jsonl` (InstructionWild v2_user_1 and
   MT-bench relabelled under the guideline): the set's own label, mapped to
   its canonical task by scripts/eval/tag_sets.toml, against the guideline's;
   and the tagger's task (`curate tag-eval --export`) against the guideline's,
   on the dev and test halves of `tag-eval` (split by a hash of the prompt).

Usage: python3 scripts/eval/tag_agreement.py [--curate target/release/curate]
       [--corpora ../shared/corpora] [--rules rules] [--show-errors]
"""
import argparse, collections, json, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
J = os.path.join(ROOT, "fixtures", "judged_tags")
SETS = {"instructionwild/v2_user_1.jsonl": "instructionwild-v2", "benchmarks/mt_bench_questions.jsonl": "mt-bench"}


def read(path):
    return [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]


def domain_score(truth, pred):
    """Precision of the first predicted domain, coverage of the labelled."""
    given = right = labelled = covered = 0
    for t, p in zip(truth, pred):
        if p:
            given += 1
            right += p[0] in t
        if t:
            labelled += 1
            covered += bool(p) and p[0] in t
    return right / max(given, 1), covered / max(labelled, 1)


def readers():
    first = {(x["source"], x["line"]): x for x in read(os.path.join(J, "labels.jsonl"))}
    second = {(x["source"], x["line"]): x for x in read(os.path.join(J, "second_reader.jsonl"))}
    keys = sorted(first)
    assert keys == sorted(second), "second_reader.jsonl labels other records"
    print(f"second reader against the first ({len(keys)} records)")
    for lang in (None, "en", "zh"):
        kk = [k for k in keys if lang is None or first[k]["lang"] == lang]
        same = sum(first[k]["task"] == second[k]["task"] for k in kk)
        print(f"  task {lang or 'all'}: {same / len(kk):.3f} ({same}/{len(kk)})")
    p, c = domain_score([first[k]["domains"] for k in keys], [second[k]["domains"] for k in keys])
    print(f"  domains, second as tagger: precision {p:.3f}, coverage {c:.3f}")
    p, c = domain_score([second[k]["domains"] for k in keys], [first[k]["domains"] for k in keys])
    print(f"  domains, first as tagger: precision {p:.3f}, coverage {c:.3f}")


def sets(a):
    labels = read(os.path.join(J, "sets_labels.jsonl"))
    with tempfile.TemporaryDirectory() as tmp:
        export = os.path.join(tmp, "export.jsonl")
        cmd = [a.curate, "tag-eval", os.path.join(ROOT, "scripts", "eval", "tag_sets.toml"),
               "--corpora", a.corpora, "--export", export]
        if a.rules:
            cmd += ["--rules", a.rules]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        rows = read(export)
    for source, name in SETS.items():
        mine = sorted((x for x in labels if x["source"] == source), key=lambda x: x["line"])
        theirs = [r for r in rows if r["set"] == name]
        # tag-eval reads the set's lines in order; every line of these two files has a label.
        if len(mine) != len(theirs):
            sys.exit(f"{source}: {len(mine)} relabelled records, {len(theirs)} exported by tag-eval")
        lines = open(os.path.join(a.corpora, source), encoding="utf-8").read().split("\n")
        for m, r in zip(mine, theirs):
            rec = json.loads(lines[m["line"] - 1])
            first = (rec.get("instruction") or rec.get("turns", [""])[0]).strip()[:40]
            if first not in r["prompt"]:
                sys.exit(f"{source}:{m['line']}: the export's record is not the relabelled one")
        n = len(mine)
        same = sum(m["task"] == r["label"] for m, r in zip(mine, theirs))
        print(f"\n{name} ({n}): the set's label (canonical task) = the guideline's: {same / n:.3f} ({same}/{n})")
        confused = collections.Counter((r["label"], m["task"]) for m, r in zip(mine, theirs) if m["task"] != r["label"])
        print("  most common (set -> guideline):", ", ".join(f"{s} -> {g} {c}" for (s, g), c in confused.most_common(6)))
        for half in ("dev", "test", None):
            pairs = [(m, r) for m, r in zip(mine, theirs) if half is None or r["split"] == half]
            ok = sum(m["task"] == r["task"] for m, r in pairs)
            print(f"  tagger = guideline, {half or 'all'}: {ok / len(pairs):.3f} ({ok}/{len(pairs)})")
        if a.show_errors:
            for m, r in zip(mine, theirs):
                if r["split"] == "dev" and m["task"] != r["task"]:
                    print(f"    {m['line']}: {m['task']} -> {r['task']}: {r['prompt'][:120]!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--curate", default=os.path.join(ROOT, "target", "release", "curate"))
    ap.add_argument("--corpora", default=os.path.join(ROOT, "..", "shared", "corpora"))
    ap.add_argument("--rules")
    ap.add_argument("--show-errors", action="store_true", help="the dev half's disagreements")
    a = ap.parse_args()
    readers()
    sets(a)


if __name__ == "__main__":
    main()
