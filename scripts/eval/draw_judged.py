#!/usr/bin/env python3
"""Draw the records of the judged development set (fixtures/judged/).

Three origins, with a fixed seed, from ../shared/corpora (never benchmarks/):
  uniform  a fixed number of records per file (Chinese files weighted x2, files
           of bare instructions a few only), for unbiased drop rates;
  rule     up to --per-rule records from each default rule's drops of a run
           (`curate run CORPORA --out RUN`, rejected/*.parquet), for precision;
  hard     up to --per-pattern records matching each hard-case pattern (both
           the cases a rule wrongly drops and the junk it wrongly keeps).

Writes the draw as JSON Lines: {source, line, sha, origins}. The records go to
the labellers without their origins; the labels (fixtures/judged/labels.jsonl)
carry them back so that `curate eval-judged` can report the uniform draw apart.

Usage: draw_judged.py CORPORA [--run RUN] --out draw.jsonl
(the shipped set: --run of the default rules of the day before the set was
labelled, --per-rule 25 --per-pattern 14)
"""
import argparse, hashlib, json, os, random, re, sys

SEED = 20261205
SKIP_DIRS = {"benchmarks"}
# gpteacher publishes its Toolformer set five times, nested; one copy is drawn.
SKIP_FILES = {
    "gpteacher/toolformer-similarity-0.6-dataset.jsonl",
    "gpteacher/toolformer-similarity-0.7-dataset.jsonl",
    "gpteacher/toolformer-similarity-0.8-dataset.jsonl",
    "gpteacher/toolformer-similarity-0.9-dataset.jsonl",
}
ZH_FILES = {
    "alpaca_chinese_carbonz0/zh-data-part-00.jsonl",
    "alpaca_chinese_carbonz0/zh-data-part-01.jsonl",
    "llamafactory_alpaca_zh_demo/alpaca_zh_demo.jsonl",
    "belle_zh_seed_tasks/zh_seed_tasks.jsonl",
    "glaive_toolcall_demo/glaive_toolcall_zh_demo.jsonl",
    "llamafactory_dpo_demo/dpo_zh_demo.jsonl",
    "moss_003_sft_sample/conversation_with_plugins.jsonl",
    "moss_003_sft_sample/conversation_without_plugins.jsonl",
    "pclue/pCLUE_train_9.jsonl",
}
BARE = {  # instructions without answers
    "instructionwild/seed_prompts_ch.jsonl",
    "instructionwild/seed_prompts_en.jsonl",
    "instructionwild/v2_user_1.jsonl",
    "instructionwild/v2_user_2.jsonl",
    "instructionwild/v2_user_3.jsonl",
}
PER_FILE_ZH, PER_FILE_EN, PER_FILE_BARE = 62, 28, 8

# Hard cases, searched both ways: records a rule may wrongly drop, and junk a
# rule may wrongly keep (issue: quality decisions).
HARD = [
    r"<nooutput>|&lt;nooutput&gt;|&lt;无输入&gt;|<无输入>|<noinput>",
    r"\{\{[a-z_]+\}\}",
    r"[Aa]s an AI|[Aa]s a language model|作为一个?(AI|人工智能|语言模型)",
    r"I'm sorry|I am sorry|I cannot|I can't|抱歉|对不起|无法|不能为您",
    r"def [\u4e00-\u9fff]|返回 |打印（",
    r"&lt;|&gt;|&amp;|&quot;",
    r"<<[0-9*+/\-. ]+=[0-9.]+>>",
    r"[Cc]horus|副歌|歌词|[Ll]yrics",
    r"swastika|Mockingbird|Hooker|马勒|色色|en_core_web_sm",
    r"😀|😂|🙂|❤|👍|emoji|表情",
    r"\d{3}[- ]\d{3}[- ]\d{4}|@[a-z]+\.(com|org)|\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b",
    r"Â|Ã|â€",
    r'(\.\.\.|…)"\s*[,}]',
    r"translate|翻译|rewrite|改写|重写",
    r"我只能|我无法帮|我不能帮|超出了我的|我没有能力",
    r"第一步|步骤|首先.{0,40}其次|1\\.|（1）",
    r"诗|歌曲|对联|成语",
    r"\\\\n",
    r"[\u4e00-\u9fff]{2,}[A-Za-z ,]{30,}",
]


def sha(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()[:16]


def corpus_files(root):
    out = []
    for d, _, fs in os.walk(root):
        rel = os.path.relpath(d, root)
        if rel.split(os.sep)[0] in SKIP_DIRS:
            continue
        for f in fs:
            if f.endswith(".jsonl"):
                p = os.path.normpath(os.path.join(rel, f))
                if p not in SKIP_FILES:
                    out.append(p)
    return sorted(out)


def read_lines(root, rel):
    with open(os.path.join(root, rel), "rb") as fh:
        return fh.read().split(b"\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpora")
    ap.add_argument("--run", help="a default run over CORPORA (its rejected/ shards)")
    ap.add_argument("--per-rule", type=int, default=25)
    ap.add_argument("--per-pattern", type=int, default=14)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(SEED)
    files = corpus_files(a.corpora)
    lines = {f: read_lines(a.corpora, f) for f in files}
    drawn = {}  # (file, line) -> set(origins)

    def add(f, n, origin):
        drawn.setdefault((f, n), set()).add(origin)

    for f in files:
        ls = [i + 1 for i, l in enumerate(lines[f]) if l.strip()]
        k = PER_FILE_BARE if f in BARE else PER_FILE_ZH if f in ZH_FILES else PER_FILE_EN
        for n in sorted(rng.sample(ls, min(k, len(ls)))):
            add(f, n, "uniform")

    if a.run:
        import pyarrow.dataset as ds
        t = ds.dataset(os.path.join(a.run, "rejected"), format="parquet").to_table(
            columns=["source_file", "source_line", "stage", "rule"]).to_pylist()
        root = os.path.realpath(a.corpora)
        by_rule = {}
        for r in t:
            if r["stage"] not in ("quality", "sensitive"):
                continue
            rel = os.path.relpath(os.path.realpath(r["source_file"]), root)
            if rel in lines:
                by_rule.setdefault(r["rule"], []).append((rel, r["source_line"]))
        for rule in sorted(by_rule):
            c = sorted(by_rule[rule])
            for f, n in rng.sample(c, min(a.per_rule, len(c))):
                add(f, n, "rule:" + rule)

    for pat in HARD:
        rx = re.compile(pat)
        c = [(f, i + 1) for f in files for i, l in enumerate(lines[f]) if rx.search(l.decode("utf-8", "replace"))]
        for f, n in rng.sample(c, min(a.per_pattern, len(c))):
            add(f, n, "hard:" + pat)

    with open(a.out, "w") as out:
        for (f, n) in sorted(drawn):
            out.write(json.dumps({"source": f, "line": n, "sha": sha(lines[f][n - 1]),
                                  "origins": sorted(drawn[(f, n)])}, ensure_ascii=False) + "\n")
    print(f"{len(drawn)} records drawn", file=sys.stderr)


if __name__ == "__main__":
    main()
