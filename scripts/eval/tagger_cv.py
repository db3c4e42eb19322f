#!/usr/bin/env python3
"""K-fold estimate of the whole tagger (cues plus trained models) on the
records of fixtures/tag/judged_train.jsonl: for each fold, the task and
domain models are trained by train_tagger.py on the other folds, put in a
copy of rules/ (with optional setting overrides), and `curate tag-eval
--judged` reads the held-out fold. The counts are summed over the folds, so
every figure is on the 13,600 records (11,200 before the sixth round) no model of that fold saw; the judged
tagging set (fixtures/judged_tags) stays out of it.

Usage: python3 scripts/eval/tagger_cv.py [--folds 5] [--set tasks.toml:weight=6]
       [--task-args "--parts"] [--domain-args="..."] [--labels FILE]
       [--extra-domain LABELS.jsonl] [--extra-train LABELS.jsonl]
       [--sweep 0.4,0.5,0.6,0.65,0.7]

--extra-domain adds labelled records (the same fields as the judged ones) to
every fold's domain training set and to no test fold: e.g. MMLU questions
labelled by their subject's domain, to see whether more domain vocabulary
helps. --extra-train adds them to both models' training sets: a new round of
labels measured on the same test folds as before.

--sweep reads each fold again at every domain `min_probability` listed
(the models trained once) and prints the domains' precision / coverage at
each: a curve to compare two trainings on, where one setting alone may only
move along it.
"""
import argparse, hashlib, json, os, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fold_of(lab, k):
    key = f"{lab['source']}:{lab['line']}".encode()
    return int(hashlib.sha256(key).hexdigest()[:8], 16) % k


def override(path, setting):
    """`key=value` replaces the first `key = ...` line of a TOML file;
    `[section].key=value` the first after that section's header."""
    lhs, value = setting.split("=", 1)
    section, key = (lhs.split("].", 1) if lhs.startswith("[") else (None, lhs))
    lines = open(path, encoding="utf-8").read().split("\n")
    start = 0
    if section is not None:
        start = lines.index(section + "]")
    for i in range(start, len(lines)):
        if re.match(rf"^{re.escape(key)}\s*=", lines[i]):
            lines[i] = f"{key} = {value}"
            break
    else:
        sys.exit(f"{path}: no `{lhs}` to set")
    open(path, "w", encoding="utf-8").write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--curate", default=os.path.join(ROOT, "target", "release", "curate"))
    ap.add_argument("--labels", default=os.path.join(ROOT, "fixtures", "tag", "judged_train.jsonl"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--set", action="append", default=[], help="FILE:key=value in rules/topics/FILE")
    ap.add_argument("--task-args", default="")
    ap.add_argument("--domain-args", default="")
    ap.add_argument("--extra-domain", help="labels added to every fold's domain training set")
    ap.add_argument("--extra-train", help="labels added to every fold's task and domain training sets")
    ap.add_argument("--sweep", help="domain min_probability values to read each fold at, comma-separated")
    ap.add_argument("--domain-labels", help="train_tagger.py's --domain-labels (default: its own; \"\" for none)")
    a = ap.parse_args()
    labels = [json.loads(l) for l in open(a.labels, encoding="utf-8")]
    totals = {}
    dom = [0, 0, 0, 0]  # given, right, labelled, covered
    sweep = [float(x) for x in a.sweep.split(",")] if a.sweep else []
    curve = {p: [0, 0, 0, 0] for p in sweep}
    with tempfile.TemporaryDirectory() as tmp:
        rules = os.path.join(tmp, "rules")
        shutil.copytree(os.path.join(ROOT, "rules"), rules)
        for s in a.set:
            f, kv = s.split(":", 1)
            override(os.path.join(rules, "topics", f), kv)
        for k in range(a.folds):
            train, test = os.path.join(tmp, "train.jsonl"), os.path.join(tmp, "test.jsonl")
            with open(train, "w") as tr, open(test, "w") as te:
                for lab in labels:
                    (te if fold_of(lab, a.folds) == k else tr).write(json.dumps(lab, ensure_ascii=False) + "\n")
                if a.extra_train:
                    tr.write(open(a.extra_train).read())
            if a.extra_domain:
                dtrain = os.path.join(tmp, "dtrain.jsonl")
                with open(dtrain, "w") as f:
                    f.write(open(train).read() + open(a.extra_domain).read())
            for target, extra in (("task", a.task_args), ("domain", a.domain_args)):
                out = os.path.join(rules, "topics", "models", f"{target}.json")
                cmd = [sys.executable, os.path.join(ROOT, "scripts", "eval", "train_tagger.py"), "--curate", a.curate,
                       "--labels", dtrain if (target == "domain" and a.extra_domain) else train, "--target", target, "--out", out, "--folds", "0", "--", "--holdout", "0"]
                if a.domain_labels is not None:
                    cmd[2:2] = ["--domain-labels", a.domain_labels]
                subprocess.run(cmd + extra.split(), check=True, stdout=subprocess.DEVNULL)
            r = subprocess.run([a.curate, "tag-eval", "--judged", test, "--rules", rules],
                               check=True, capture_output=True, text=True).stdout
            for m in re.finditer(r"^(all|en|zh)\s+[\d.]+ \(\s*(\d+)/(\d+)\s*\)", r, re.M):
                t = totals.setdefault(m.group(1), [0, 0])
                t[0] += int(m.group(2))
                t[1] += int(m.group(3))
            dom = add_domains(dom, r)
            for p in sweep:
                at = os.path.join(tmp, "sweep")
                shutil.rmtree(at, ignore_errors=True)
                shutil.copytree(rules, at)
                override(os.path.join(at, "topics", "domains.toml"), f"[classifier.domain].min_probability={p}")
                r = subprocess.run([a.curate, "tag-eval", "--judged", test, "--rules", at],
                                   check=True, capture_output=True, text=True).stdout
                curve[p] = add_domains(curve[p], r)
    for name in ("all", "en", "zh"):
        right, n = totals.get(name, (0, 0))
        print(f"task accuracy {name:<4} {right / max(n, 1):.3f} ({right}/{n})")
    print(f"domains: precision {dom[1] / max(dom[0], 1):.3f} ({dom[1]}/{dom[0]}), "
          f"coverage {dom[3] / max(dom[2], 1):.3f} ({dom[3]}/{dom[2]})")
    for p, (g, rt, lab, cov) in curve.items():
        print(f"domains at min_probability {p}: {rt / max(g, 1):.3f} / {cov / max(lab, 1):.3f}")


def add_domains(dom, report):
    """`dom` (given, right, labelled, covered) plus a tag-eval report's domain counts."""
    m = re.search(r"domains: (\d+) tags given, (\d+) right .*?; (\d+) of (\d+) records", report)
    if not m:
        return dom
    g, rt, cov, lab = map(int, m.groups())
    return [dom[0] + g, dom[1] + rt, dom[2] + lab, dom[3] + cov]


if __name__ == "__main__":
    main()
