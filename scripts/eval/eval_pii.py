#!/usr/bin/env python3
"""Precision, recall and F1 per PII type, for curate and for Presidio, on the
labelled development set fixtures/sensitive/pii_dev.jsonl.

curate is evaluated end to end: the dev texts become Alpaca records, `curate
run --stages sensitive` processes them with the built-in rules, and the `pii`
column of the kept and rejected shards is read back. Presidio (presidio-analyzer
with its spaCy-free `no_op` NLP engine, pattern recognizers only) analyses the
same texts; for each type its score threshold is the best of 0, 0.3, 0.5 and
0.7 on this set, which favours Presidio.

Detection is scored: an `example:<type>` finding (an example or documentation
value that curate finds and leaves in the text) counts as a finding of <type>,
and the number of such example decisions is printed apart.

A prediction counts as correct when it overlaps a labelled span of the same
type (each labelled span matches at most one prediction). Exact-boundary
matches are counted too.

Usage:
  python3 -m venv /tmp/pii-venv && /tmp/pii-venv/bin/pip install presidio-analyzer pyarrow
  cargo build --release
  /tmp/pii-venv/bin/python scripts/eval/eval_pii.py [--curate target/release/curate] [--no-presidio] [--dev FILE]
"""

import argparse
import glob
import json
import logging
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEV = os.path.join(ROOT, "fixtures", "sensitive", "pii_dev.jsonl")
TYPES = ["email", "phone", "ip", "card", "ssn", "cn-id", "iban", "secret"]
# Findings of curate that were example or documentation values, per type.
EXAMPLES = {}
PRESIDIO_TYPES = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "IP_ADDRESS": "ip",
    "CREDIT_CARD": "card",
    "US_SSN": "ssn",
    "IBAN_CODE": "iban",
}


def load_dev(path=DEV):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def curate_predictions(binary, dev):
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "dev.jsonl")
        with open(inp, "w", encoding="utf-8") as f:
            for r in dev:
                f.write(json.dumps({"id": r["id"], "instruction": r["text"], "input": "", "output": "ok"},
                                   ensure_ascii=False) + "\n")
        out = os.path.join(tmp, "out")
        subprocess.run([binary, "run", inp, "--out", out, "--stages", "sensitive", "-q", "--no-progress"],
                       check=True)
        preds = {}
        for sub in ("kept", "rejected"):
            files = glob.glob(os.path.join(out, sub, "*.parquet"))
            if not files:
                continue
            for row in pq.read_table(files, columns=["id", "pii"]).to_pylist():
                # `example:<type>` findings were found (detection) and left in
                # the text as example values (a decision, counted apart).
                preds[row["id"]] = [(p["start"], p["end"], p["type"].removeprefix("example:").split(":")[0])
                                    for p in row["pii"] if p["turn"] == 0]
                for p in row["pii"]:
                    if p["turn"] == 0 and p["type"].startswith("example:"):
                        EXAMPLES[p["type"].removeprefix("example:")] = EXAMPLES.get(p["type"].removeprefix("example:"), 0) + 1
        missing = [r["id"] for r in dev if r["id"] not in preds]
        if missing:
            sys.exit(f"curate output lacks {len(missing)} dev records, e.g. {missing[:3]}")
        return preds


def presidio_predictions(dev):
    # tldextract (used by the e-mail recognizer) tries to refresh its suffix
    # list online and logs the failure; its bundled snapshot is used offline.
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "no_op", "models": [{"lang_code": "en", "model_name": "no_op"}]})
    engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    preds = {}
    for r in dev:
        res = engine.analyze(text=r["text"], language="en", entities=list(PRESIDIO_TYPES))
        preds[r["id"]] = [(x.start, x.end, PRESIDIO_TYPES[x.entity_type], x.score) for x in res]
    return preds


def score(dev, preds, ty):
    tp = fp = fn = exact = 0
    for r in dev:
        gold = [(s, e) for s, e, t in r["spans"] if t == ty]
        pred = [(p[0], p[1]) for p in preds.get(r["id"], []) if p[2] == ty]
        used = set()
        for ps, pe in pred:
            hit = next((i for i, (gs, ge) in enumerate(gold) if i not in used and ps < ge and gs < pe), None)
            if hit is None:
                fp += 1
            else:
                used.add(hit)
                tp += 1
                exact += (ps, pe) == gold[hit]
        fn += len(gold) - len(used)
    p = tp / (tp + fp) if tp + fp else 1.0
    rc = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * rc / (p + rc) if p + rc else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "exact": exact, "p": p, "r": rc, "f1": f1}


def errors(dev, preds, ty, limit=5):
    out = []
    for r in dev:
        gold = [(s, e) for s, e, t in r["spans"] if t == ty]
        pred = [(p[0], p[1]) for p in preds.get(r["id"], []) if p[2] == ty]
        for s, e in pred:
            if not any(s < ge and gs < e for gs, ge in gold):
                out.append(f"  FP {ty} {r['id']}: {r['text'][s:e]!r}")
        for s, e in gold:
            if not any(s < pe and ps < e for ps, pe in pred):
                out.append(f"  FN {ty} {r['id']}: {r['text'][s:e]!r}")
    return out[:limit]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--curate", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                                      "release", "curate"))
    ap.add_argument("--no-presidio", action="store_true")
    ap.add_argument("--errors", action="store_true", help="list curate's errors per type")
    ap.add_argument("--dev", default=DEV, help="the labelled set (default fixtures/sensitive/pii_dev.jsonl; "
                    "fixtures/sensitive/phone_dev.jsonl holds phones of 42 regions and 28 locales)")
    args = ap.parse_args()
    dev = load_dev(args.dev)
    ours = curate_predictions(args.curate, dev)
    theirs = None
    if not args.no_presidio:
        try:
            theirs = presidio_predictions(dev)
        except ImportError as e:
            print(f"presidio not available ({e}); showing curate only", file=sys.stderr)
    n_spans = {t: sum(1 for r in dev for s in r["spans"] if s[2] == t) for t in TYPES}
    print(f"dev set: {len(dev)} records, {sum(n_spans.values())} labelled spans, "
          f"{sum(1 for r in dev if not r['spans'])} records without PII")
    head = f"{'type':<7} {'gold':>4} | {'curate P':>8} {'R':>5} {'F1':>5} {'exact':>5}"
    if theirs is not None:
        head += f" | {'Presidio P':>10} {'R':>5} {'F1':>5} {'thr':>4}"
    print(head)
    print("-" * len(head))
    for ty in TYPES:
        c = score(dev, ours, ty)
        line = f"{ty:<7} {n_spans[ty]:>4} | {c['p']:>8.3f} {c['r']:>5.3f} {c['f1']:>5.3f} {c['exact']:>5}"
        if theirs is not None:
            if ty in PRESIDIO_TYPES.values():
                best = None
                for thr in (0.0, 0.3, 0.5, 0.7):
                    kept = {k: [p for p in v if p[3] >= thr] for k, v in theirs.items()}
                    s = score(dev, kept, ty)
                    if best is None or s["f1"] > best[0]["f1"]:
                        best = (s, thr)
                s, thr = best
                line += f" | {s['p']:>10.3f} {s['r']:>5.3f} {s['f1']:>5.3f} {thr:>4.1f}"
            else:
                line += f" | {'n/a':>10} {'':>5} {'':>5}"
        print(line)
    print("curate's findings left in the text as example values (example.com, 555-01xx, "
          "documentation IPs, test cards): "
          + (", ".join(f"{t} {EXAMPLES[t]}" for t in TYPES if t in EXAMPLES) or "none"))
    if args.errors:
        for ty in TYPES:
            for e in errors(dev, ours, ty, limit=20):
                print(e)


if __name__ == "__main__":
    main()
