#!/usr/bin/env python3
"""Dump spaCy's English tokenizer data (spacy.blank("en"), no model) to the
JSON file `src/tokenize/spacy_en.json` that curate's `spacy-en` tokenizer
embeds: prefix, suffix and infix patterns, the URL pattern and the special
cases. Patterns are rewritten from Python to Rust escape syntax.

usage: python3 scripts/bench/parity/dump_spacy_en.py > src/tokenize/spacy_en.json
Needs: spacy (3.8.x, the version datatrove 0.10 runs with).
"""
import json
import re
import sys

import spacy


def rust(p: str) -> str:
    p = re.sub(r"\\U([0-9A-Fa-f]{8})", lambda m: "\\x{%s}" % m.group(1).lstrip("0"), p)
    p = re.sub(r"\\u([0-9A-Fa-f]{4})", lambda m: "\\x{%s}" % m.group(1), p)
    return p


def main() -> int:
    nlp = spacy.blank("en")
    t = nlp.tokenizer
    specials = {k: [tok.get("ORTH", tok.get(65)) for tok in v] for k, v in sorted(t.rules.items())}
    out = {
        "spacy": spacy.__version__,
        "prefix": rust(t.prefix_search.__self__.pattern),
        "suffix": rust(t.suffix_search.__self__.pattern),
        "infix": rust(t.infix_finditer.__self__.pattern),
        "url": rust(t.url_match.__self__.pattern) if t.url_match else None,
        "token_match": rust(t.token_match.__self__.pattern) if t.token_match else None,
        "specials": specials,
    }
    json.dump(out, sys.stdout, ensure_ascii=False, indent=0)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
