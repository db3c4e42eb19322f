#!/usr/bin/env python3
"""Compare two offline language identifiers (whatlang, lingua; both limited to
English, French, German, Spanish, Italian, Portuguese, Dutch) on what
`lang-mismatch` would ask of them:

- false alarms: texts of ../shared/corpora in Latin script that are English
  instruction data (first user turn and last answer of every record, with at
  least 24 ASCII letters, no Han, not code), counted when called another
  language;
- real foreign text: the answers of the corpora's "translate … into
  French/Spanish/German/…" records, counted when called the asked language.

Usage: curate run CORPORA --stages tag --out RUN
       python3 scripts/eval/langid_compare.py RUN [--corpora ../shared/corpora] [--show N]
Builds scripts/eval/langid (its own Cargo project) on first use.
"""
import argparse, glob, json, os, re, subprocess, tempfile

import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
CODES = {"French": "fra", "Spanish": "spa", "German": "deu", "Italian": "ita", "Portuguese": "por", "Dutch": "nld"}


def detect(binary, texts, tmp):
    path = os.path.join(tmp, "texts.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    with open(path, encoding="utf-8") as f:
        out = subprocess.run([binary, "400"], stdin=f, capture_output=True, text=True, check=True)
    print("  " + out.stderr.strip())
    return [l.split("\t") for l in out.stdout.splitlines()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--corpora", default=os.path.join(HERE, "..", "..", "..", "shared", "corpora"))
    ap.add_argument("--show", type=int, default=0)
    a = ap.parse_args()
    crate = os.path.join(HERE, "langid")
    subprocess.run(["cargo", "build", "--release", "-q"], cwd=crate, check=True)
    binary = os.path.join(crate, "target", "release", "langid-compare")
    english, where = [], []
    for p in sorted(glob.glob(os.path.join(a.run, "kept", "*.parquet")) + glob.glob(os.path.join(a.run, "rejected", "*.parquet"))):
        for r in pq.read_table(p, columns=["key", "messages"]).to_pylist():
            if r["key"].startswith("benchmarks/") or "similarity-0." in r["key"]:
                continue
            users = [m["content"] for m in r["messages"] if m["role"] == "user"]
            answers = [m["content"] for m in r["messages"] if m["role"] == "assistant"]
            for part, t in (("user", users[0] if users else ""), ("answer", answers[-1] if answers else "")):
                t = t[:400]
                letters = sum(c.isascii() and c.isalpha() for c in t)
                code = sum(c in "{}[]();=<>" for c in t) / max(1, len(t))
                if letters >= 24 and not re.search("[\u4e00-\u9fff\u3040-\u30ff\uac00-\ud7af]", t) and code <= 0.03:
                    english.append(t)
                    where.append(f"{r['key']} {part}")
    foreign = []
    for f in sorted(glob.glob(os.path.join(a.corpora, "**", "*.jsonl"), recursive=True)):
        if "benchmarks" in f:
            continue
        for line in open(f, encoding="utf-8"):
            try:
                d = json.loads(line)
            except ValueError:
                continue
            ins = d.get("instruction") if isinstance(d, dict) else None
            m = re.search(r"(?:into|to) (French|Spanish|German|Italian|Portuguese|Dutch)\b", ins) if isinstance(ins, str) else None
            if m and isinstance(d.get("output"), str) and d["output"]:
                foreign.append((CODES[m.group(1)], d["output"]))
    with tempfile.TemporaryDirectory() as tmp:
        print(f"English-script texts of the corpora ({len(english)}):")
        er = detect(binary, english, tmp)
        print(f"Answers of translation records ({len(foreign)}):")
        fr = detect(binary, [t for _, t in foreign], tmp)
    w_any = sum(w != "eng" for w, _, _ in er)
    w_rel = [i for i, (w, rel, _) in enumerate(er) if w != "eng" and rel == "true"]
    l_any = [i for i, (_, _, l) in enumerate(er) if l != "eng"]
    print(f"\ncalled not English: whatlang {w_any}, whatlang reliable {len(w_rel)}, lingua {len(l_any)}")
    print(f"translation answers in the asked language: whatlang {sum(w == c for (c, _), (w, _, _) in zip(foreign, fr))}/{len(foreign)}, "
          f"whatlang reliable {sum(w == c and rel == 'true' for (c, _), (w, rel, _) in zip(foreign, fr))}/{len(foreign)}, "
          f"lingua {sum(l == c for (c, _), (_, _, l) in zip(foreign, fr))}/{len(foreign)}")
    for name, idx in (("whatlang reliable", w_rel), ("lingua", l_any)):
        for i in idx[: a.show]:
            print(f"  {name}: {er[i][0] if name != 'lingua' else er[i][2]} {where[i]}: {json.dumps(english[i][:100], ensure_ascii=False)}")


if __name__ == "__main__":
    main()
