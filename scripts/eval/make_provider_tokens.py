#!/usr/bin/env python3
"""One random token per provider format of rules/sensitive/secrets/formats.toml
whose expression is a prefix and one repeated character class (`PREFIX[...]{n,m}`),
written in an English or a Chinese sentence (after the provider's first keyword,
for a keyword format), as Alpaca records with the kind
expected: a check that every such format finds a token of its documented shape
end to end (and that the randomness check keeps it). Formats of another shape
are listed on stderr and left out.

Usage: python3 scripts/eval/make_provider_tokens.py > fixtures/sensitive/provider_tokens.jsonl
"""
import json, os, random, re, sys, tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
rng = random.Random(20261205)


def expand(cls):
    out, i = [], 0
    while i < len(cls):
        c = cls[i]
        if c == "\\" and i + 1 < len(cls):
            out.append(cls[i + 1]); i += 2; continue
        if i + 2 < len(cls) and cls[i + 1] == "-":
            out.extend(chr(x) for x in range(ord(c), ord(cls[i + 2]) + 1)); i += 3; continue
        out.append(c); i += 1
    return out


formats = tomllib.load(open(os.path.join(ROOT, "rules/sensitive/secrets/formats.toml"), "rb"))
templates = [
    "Deploy with this credential: {t} and restart the service.",
    "请用这个令牌 {t} 调用接口。",
    "The config file still holds {t} from last week.",
]
for n, (kind, f) in enumerate(formats.items()):
    keyword = f.get("keywords", [None])[0]
    m = re.fullmatch(r"(.*?)\[([^\]]+)\]\{(\d+)(?:,(\d+))?\}", f["regex"])
    prefix = None
    if m:
        lit = m.group(1).replace("\\.", ".").replace("\\-", "-").replace("\\/", "/")
        plain = not re.search(r"[\\\[\](){}?*+|]", lit)
        # A keyword format's value may start with a literal of its own (`sk-`).
        if plain and (lit in f.get("prefixes", []) or keyword is not None):
            prefix = lit
    if prefix is None:
        print(f"left out {kind}: {f['regex']}", file=sys.stderr)
        continue
    chars = expand(m.group(2))
    lo = int(m.group(3)); hi = int(m.group(4) or lo)
    size = min(max(lo, 32), hi)
    while True:
        body = "".join(rng.choice(chars) for _ in range(size))
        if any(c.isdigit() for c in body) and any(c.isalpha() for c in body):
            break
    token = prefix + body
    text = templates[n % len(templates)].format(t=token)
    if keyword is not None:
        # The provider's name stands before the value, as in a config line.
        text = f"{keyword} key: {token}" if n % 2 else f"请把 {keyword} 的密钥 {token} 填进配置。"
    print(json.dumps({"instruction": "Check this deployment note.", "input": text, "output": "It holds a credential.", "kind": kind}, ensure_ascii=False))
