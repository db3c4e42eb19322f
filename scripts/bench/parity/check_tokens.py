#!/usr/bin/env python3
"""Compares curate's `spacy-en` tokenizer with spaCy on the parity texts.

usage: python3 scripts/bench/parity/check_tokens.py TEXTS.jsonl CURATE_TOKENS.jsonl
TEXTS.jsonl holds one JSON string per line; CURATE_TOKENS.jsonl the output of
`cargo run --release --example spacy_tokens < TEXTS.jsonl`.
Prints the share of texts with identical token lists and the first differences.
"""
import json
import sys

from datatrove.utils.text import split_into_words


def main() -> int:
    texts = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
    ours = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
    same, shown = 0, 0
    for t, o in zip(texts, ours):
        ref = split_into_words(t, "en")
        if ref == o:
            same += 1
        elif shown < 15:
            shown += 1
            i = next((k for k, (a, b) in enumerate(zip(ref, o)) if a != b), min(len(ref), len(o)))
            print("DIFF", len(ref), len(o), "spacy:", ref[max(0, i - 3):i + 4], "curate:", o[max(0, i - 3):i + 4])
    print(f"same token lists: {same}/{len(texts)} = {same / max(1, len(texts)):.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
