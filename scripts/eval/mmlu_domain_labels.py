#!/usr/bin/env python3
"""Writes MMLU test questions labelled by the domain of their subject (up to
--cap per domain, seeded), in the judged labels' format, for
`tagger_cv.py --extra-domain`: does more domain vocabulary help the domain
model on the judged records? Subjects without a clear domain of the
guideline (mathematics, logic, psychology, philosophy, moral questions,
miscellany) are left out. MMLU is in none of the judged sets.

Usage: python3 scripts/eval/mmlu_domain_labels.py [--corpora ../shared/corpora]
       [--cap 150] > mmlu_domains.jsonl
"""
import argparse, hashlib, json, os, random

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOMAINS = {
    "science": ["astronomy", "college_biology", "college_chemistry", "college_physics", "conceptual_physics",
                "high_school_biology", "high_school_chemistry", "high_school_physics"],
    "technology": ["college_computer_science", "computer_security", "high_school_computer_science",
                   "machine_learning", "electrical_engineering"],
    "health": ["anatomy", "clinical_knowledge", "college_medicine", "medical_genetics", "nutrition",
               "professional_medicine", "human_aging", "virology"],
    "finance": ["high_school_macroeconomics", "high_school_microeconomics", "econometrics"],
    "law": ["international_law", "jurisprudence", "professional_law"],
    "history": ["high_school_european_history", "high_school_us_history", "high_school_world_history", "prehistory"],
    "geography": ["high_school_geography"],
    "business": ["business_ethics", "management", "marketing", "professional_accounting"],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpora", default=os.path.join(ROOT, "..", "shared", "corpora"))
    ap.add_argument("--cap", type=int, default=150)
    a = ap.parse_args()
    domain = {s: d for d, subjects in DOMAINS.items() for s in subjects}
    src = "benchmarks/mmlu_test.jsonl"
    by = {}
    with open(os.path.join(a.corpora, src), encoding="utf-8") as f:
        for i, line in enumerate(f.read().split("\n"), 1):
            if not line.strip():
                continue
            d = domain.get(json.loads(line)["subject"])
            if d:
                sha = hashlib.sha256(line.encode("utf-8")).hexdigest()[:16]
                by.setdefault(d, []).append({"source": src, "line": i, "sha": sha, "lang": "en",
                                             "task": "reasoning", "domains": [d]})
    random.seed(7)
    for d in sorted(by):
        random.shuffle(by[d])
        for x in by[d][: a.cap]:
            print(json.dumps(x))


if __name__ == "__main__":
    main()
