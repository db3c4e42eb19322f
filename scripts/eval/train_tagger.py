#!/usr/bin/env python3
"""Train the shipped task model (rules/topics/models/task.json), or with
--target domain the domain model (rules/topics/models/domain.json: the first
labelled domain, or `none`), from the records labelled by reading in
fixtures/tag/judged_train.jsonl.

Writes each labelled corpus line with its label added as `judged_task` to a
temporary JSONL (the record is read by the same adapters as in a run, so the
model sees the text the tag stage gives it), then runs `curate train` on it.
The line's SHA-256 is checked, so a changed corpus stops the script.

Usage: python3 scripts/eval/train_tagger.py [--curate target/release/curate]
       [--corpora ../shared/corpora] [--out rules/topics/models/task.json]
       [--labels fixtures/tag/judged_train.jsonl]
       [--domain-labels fixtures/tag/judged_train_domain.jsonl]
       [--folds 5] [--target task|domain] [extra `curate train` options after --;
       --no-balance leaves classes unweighted; --all-domains trains the domain
       model on every labelled domain of a record (one line each), not its
       first]
"""
import argparse, hashlib, json, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAIN = ["--label", "judged_task", "--text", "instruction,input", "--buckets", "16384", "--char-ngrams", "0", "0",
         "--epochs", "20", "--balance", "--seed", "20261206"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--curate", default=os.path.join(ROOT, "target", "release", "curate"))
    ap.add_argument("--corpora", default=os.path.join(ROOT, "..", "shared", "corpora"))
    ap.add_argument("--labels", default=os.path.join(ROOT, "fixtures", "tag", "judged_train.jsonl"))
    # Labelled records the domain model trains on after --labels, and the
    # task model not (the seventh round: see fixtures/tag/SOURCES.md); ""
    # for none.
    ap.add_argument("--domain-labels", default=os.path.join(ROOT, "fixtures", "tag", "judged_train_domain.jsonl"))
    ap.add_argument("--target", choices=["task", "domain"], default="task")
    ap.add_argument("--out")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    a.out = a.out or os.path.join(ROOT, "rules", "topics", "models", f"{a.target}.json")
    cache = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "train.jsonl")
        with open(data, "w", encoding="utf-8") as f:
            files = [a.labels] + ([a.domain_labels] if a.target == "domain" and a.domain_labels else [])
            for l in (l for path in files for l in open(path, encoding="utf-8")):
                lab = json.loads(l)
                if lab["source"] not in cache:
                    cache[lab["source"]] = open(os.path.join(a.corpora, lab["source"]), encoding="utf-8").read().split("\n")
                line = cache[lab["source"]][lab["line"] - 1]
                if hashlib.sha256(line.encode("utf-8")).hexdigest()[:16] != lab["sha"]:
                    sys.exit(f"{lab['source']}:{lab['line']}: the corpus line changed since it was labelled")
                rec = json.loads(line)
                if a.target == "domain" and "--all-domains" in a.extra:
                    for d in lab["domains"] or ["none"]:
                        rec["judged_domain"] = d
                        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    continue
                rec[f"judged_{a.target}"] = lab["task"] if a.target == "task" else (lab["domains"] or ["none"])[0]
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        # An option given after `--` replaces the shipped setting of the same name.
        given = {x for x in a.extra if x.startswith("--")}
        settings = list(TRAIN)
        settings[1] = f"judged_{a.target}"
        if a.target == "task":
            # The opening words by their place (held-out fifth: 0.783 -> 0.792).
            # The instruction's and the input's words apart (tagger_cv.py,
            # whole tagger over 5 folds: 0.788 -> 0.793; en 0.832 -> 0.826,
            # zh 0.768 -> 0.777).
            settings += ["--opening", "3", "--parts"]
            # Not --tfidf: over five folds of 13,600 (tagger_cv.py) it gives
            # task accuracy 0.802 -> 0.807 at the default rate, 0.813 at 1.0,
            # 0.810 at 2.0, but on the judged tagging set en 0.882 -> 0.856 /
            # 0.866 / 0.850 and zh 0.812 -> 0.803 / 0.790 / 0.769.
        else:
            # Domain words of the reply count too (tagger_cv.py at
            # min_probability 0.5, precision / coverage 0.813 / 0.579 ->
            # 0.818 / 0.663; at 0.6, 0.852 / 0.613).
            at = settings.index("--text")
            settings[at + 1] = "instruction,input,response"
            # Its first 32 words (0.856 / 0.585 at 0.6; 64 / 128 words:
            # 0.854 / 0.598, 0.856 / 0.613): each word of the reply costs
            # tagging time (the tag stage's CPU on the real mix, before the
            # faster row sums of src/tag/model.rs: +8% at 32 words, +15% at
            # 128, +47% for the whole reply).
            settings += ["--part-words", "32"]
            # Sub-words of Latin words name topics ("photosynth", "cardio"):
            # held-out fifth at min_probability 0.5, precision / coverage
            # 0.813 / 0.531 -> 0.811 / 0.573.
            at = settings.index("--char-ngrams")
            settings[at + 1 : at + 3] = ["3", "5"]
            # 4-5-grams only with TF-IDF (below): over the five folds at 0.6
            # / 0.7 / 0.8, 3-5 0.860 / 0.665, 0.882 / 0.626, 0.903 / 0.584;
            # 4-5 0.861 / 0.664, 0.884 / 0.629, 0.904 / 0.586; 3-4 0.861 /
            # 0.663, 0.883 / 0.626, 0.907 / 0.582; 4 alone 0.864 / 0.662,
            # 0.887 / 0.623, 0.906 / 0.581. A third fewer n-grams to hash.
            settings[at + 1 : at + 3] = ["4", "5"]
            # Sublinear TF-IDF, at a faster rate (tagger_cv.py --sweep over
            # five folds of 13,600, precision / coverage at min_probability
            # 0.7 / 0.8: counts alike 0.883 / 0.597, 0.902 / 0.545; TF-IDF
            # at 0.5 0.901 / 0.572, 0.916 / 0.518; at 1.0 0.894 / 0.603,
            # 0.910 / 0.557; at 2.0 0.882 / 0.626, 0.903 / 0.584; at 4.0
            # 0.850 / 0.648, 0.874 / 0.619; 2.0 for 40 epochs 0.878 / 0.636,
            # 0.900 / 0.596; 2.0 in 65,536 buckets 0.897 / 0.632, 0.914 /
            # 0.585, a model four times the size).
            settings += ["--tfidf", "--lr", "2.0"]
        if "--all-domains" in a.extra:
            a.extra.remove("--all-domains")
        if "--no-balance" in a.extra:
            a.extra.remove("--no-balance")
            settings.remove("--balance")
        train, i = [], 0
        while i < len(settings):
            if settings[i] in given:
                i += 1
                while i < len(settings) and not settings[i].startswith("--"):
                    i += 1
                continue
            train.append(settings[i])
            i += 1
        cmd = [a.curate, "train", data, "-o", a.out, "--folds", str(a.folds)] + train + a.extra
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
