#!/usr/bin/env python3
"""Draw the records of the tagger's training set (fixtures/tag/judged_train.jsonl).

Reads a tag-stage run over ../shared/corpora (`curate run CORPORA --stages tag
--out RUN`) for each record's key and first user turn, and draws with a fixed
seed up to --per-lang records per language (en, zh by the share of CJK
characters in the first user turn), balanced across files: every file gives
the same number where it can. Never drawn: benchmarks/, the nested Toolformer
copies, the records of the judged tagging set (fixtures/judged_tags/) and any
record whose first user turn equals one of theirs, and any record whose first
user turn is a prompt of the test half of the labelled sets of `curate
tag-eval` (--eval-export, written by `curate tag-eval … --export`), so both
stay tests of records the model never saw.

Writes {source, line, sha, lang} per line, in batches of --batch records
(draw-00.jsonl, draw-01.jsonl, …) that carry the raw corpus line for the
labellers; the labels keep only the place and the line's SHA-256.

A second draw passes the labels of the first with --exclude (and its own
--seed), so no record is labelled twice; --per-lang takes LANG=N pairs for
uneven draws (e.g. zh=1600,en=800); --only PREFIX (repeatable) draws from
those files alone.

Usage: draw_tag_train.py CORPORA RUN --eval-export FILE --out DIR [--per-lang 800]
       [--batch 100] [--exclude LABELS.jsonl] [--seed N] [--only PREFIX]
"""
import argparse, collections, glob, hashlib, json, os, random, unicodedata

import pyarrow.parquet as pq

SEED = 20261206
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP_PREFIX = ("benchmarks/",)
SKIP_FILES = {f"gpteacher/toolformer-similarity-0.{k}-dataset.jsonl" for k in (6, 7, 8, 9)}


def cjk_share(text):
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum("\u4e00" <= c <= "\u9fff" for c in letters) / len(letters)


def norm(text):
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def first_user(messages):
    for m in messages:
        if m["role"] == "user":
            return m["content"]
    return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpora")
    ap.add_argument("run")
    ap.add_argument("--out", required=True)
    ap.add_argument("--eval-export", required=True)
    ap.add_argument("--per-lang", default="800")
    ap.add_argument("--exclude", action="append", default=[])
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--only", action="append", default=[], help="draw only from files whose path starts so")
    a = ap.parse_args()
    judged = [json.loads(l) for l in open(os.path.join(ROOT, "fixtures/judged_tags/labels.jsonl"), encoding="utf-8")]
    judged_keys = {f"{j['source']}:{j['line']}" for j in judged}
    earlier = set()
    for path in a.exclude:
        for l in open(path, encoding="utf-8"):
            e = json.loads(l)
            earlier.add(f"{e['source']}:{e['line']}")
    per_lang = {"en": 0, "zh": 0}
    for part in a.per_lang.split(","):
        if "=" in part:
            k, v = part.split("=")
            per_lang[k] = int(v)
        else:
            per_lang = {k: int(part) for k in per_lang}
    rows = []
    for p in sorted(glob.glob(os.path.join(a.run, "kept", "*.parquet")) + glob.glob(os.path.join(a.run, "rejected", "*.parquet"))):
        rows += pq.read_table(p, columns=["key", "messages"]).to_pylist()
    judged_text = {norm(first_user(r["messages"])) for r in rows if r["key"] in judged_keys}
    for l in open(a.eval_export, encoding="utf-8"):
        e = json.loads(l)
        if e["split"] == "test":
            judged_text.add(norm(e["prompt"]))
    by_file = {"en": collections.defaultdict(list), "zh": collections.defaultdict(list)}
    seen = set()
    for r in sorted(rows, key=lambda r: (r["key"].rsplit(":", 1)[0], int(r["key"].rsplit(":", 1)[1]))):
        src, line = r["key"].rsplit(":", 1)
        if src.startswith(SKIP_PREFIX) or src in SKIP_FILES or r["key"] in judged_keys:
            continue
        if a.only and not src.startswith(tuple(a.only)):
            continue
        text = norm(first_user(r["messages"]))
        if not text or text in judged_text or text in seen:
            continue
        seen.add(text)
        if r["key"] in earlier:
            continue
        share = cjk_share(text)
        lang = "zh" if share >= 0.5 else "en" if share == 0 else None
        if lang:
            by_file[lang][src].append(int(line))
    rng = random.Random(a.seed)
    drawn = []
    for lang in ("en", "zh"):
        files = sorted(by_file[lang])
        pools = {f: rng.sample(by_file[lang][f], len(by_file[lang][f])) for f in files}
        take = collections.Counter()
        left = per_lang[lang]
        while left > 0 and any(take[f] < len(pools[f]) for f in files):
            for f in files:
                if left and take[f] < len(pools[f]):
                    take[f] += 1
                    left -= 1
        for f in files:
            for line in pools[f][: take[f]]:
                drawn.append((f, line, lang))
    rng.shuffle(drawn)
    os.makedirs(a.out, exist_ok=True)
    cache = {}
    for i in range(0, len(drawn), a.batch):
        with open(os.path.join(a.out, f"draw-{i // a.batch:02}.jsonl"), "w", encoding="utf-8") as out:
            for src, line, lang in drawn[i : i + a.batch]:
                if src not in cache:
                    cache[src] = open(os.path.join(a.corpora, src), encoding="utf-8").read().split("\n")
                raw = cache[src][line - 1]
                sha = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]
                out.write(json.dumps({"source": src, "line": line, "sha": sha, "lang": lang, "raw": raw}, ensure_ascii=False) + "\n")
    per = collections.Counter((d[2], d[0]) for d in drawn)
    for (lang, f), n in sorted(per.items()):
        print(f"{lang} {n:>4} {f}")
    print(f"{len(drawn)} records in {(len(drawn) + a.batch - 1) // a.batch} batches")


if __name__ == "__main__":
    main()
