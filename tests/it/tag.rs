//! Tagging, explanations and the trainable classifier, end to end.

use arrow::array::{Array, ListArray, StringArray};

use crate::harness::*;

/// The `tags` column, one list per row.
fn tags(dir: &std::path::Path) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for b in read_dir_batches(dir) {
        let col = b.column_by_name("tags").expect("tags column");
        let list = col.as_any().downcast_ref::<ListArray>().expect("list column");
        for i in 0..list.len() {
            let v = list.value(i);
            let s = v.as_any().downcast_ref::<StringArray>().expect("string items");
            out.push((0..s.len()).map(|j| s.value(j).to_string()).collect());
        }
    }
    out
}

#[test]
fn run_stages_tag_writes_task_and_tags_for_every_record() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    curate_ok(&[
        "run",
        &fixture("tag/tasks.jsonl"),
        "--stages",
        "tag",
        "--out",
        out.to_str().expect("utf-8"),
        "-q",
    ]);
    let r = assert_accounting(&out);
    assert_eq!(r["stages_run"], serde_json::json!(["tag"]));
    assert_eq!(r["totals"]["rejected"], 0, "tagging never drops");
    let tasks = strings(&out.join("kept"), "task");
    assert_eq!(
        tasks,
        [
            "coding",
            "rewriting",
            "roleplay",
            "math",
            "brainstorming",
            "classification",
            "reasoning",
            "creative-writing"
        ]
    );
    let tags = tags(&out.join("kept"));
    for (task, t) in tasks.iter().zip(&tags) {
        assert_eq!(t.first(), Some(&format!("task:{task}")));
        assert!(t.iter().any(|x| x.starts_with("lang:")), "{t:?}");
    }
    assert_eq!(tags[4].last().map(String::as_str), Some("lang:zh"));
    // The domain model: a camping kit is travel; at most one domain each.
    assert!(tags[4].contains(&"domain:travel".to_string()), "{:?}", tags[4]);
    assert!(tags
        .iter()
        .all(|t| t.iter().filter(|x| x.starts_with("domain:")).count() <= 1));
    let counts = &r["stages"][0]["counts"];
    assert_eq!(counts["task/coding"], 1, "{counts}");
    let d = &r["diversity"];
    assert_eq!(d["overall"]["records"], 8);
    assert_eq!(d["overall"]["tasks"]["coding"]["count"], 1);
    assert_eq!(d["overall"]["task_evenness"], 1.0, "8 records, 8 tasks");
    assert_eq!(d["per_language"]["zh"]["records"], 2);
    assert_eq!(d["complexity"]["turns"]["max"], 2.0, "MT-bench has two turns");
}

#[test]
fn tag_explain_shows_the_cues() {
    let out = curate(&["tag-explain", &fixture("tag/tasks.jsonl")]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("task: coding"), "{text}");
    assert!(
        text.contains("task:coding") && text.contains("keyword \"c++\""),
        "{text}"
    );
    let json = curate(&["tag-explain", &fixture("tag/tasks.jsonl"), "--json"]);
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&json.stdout).lines().next().expect("a line")).expect("JSON");
    assert_eq!(first["task"], "coding");
}

/// A domain the model gives under `min_probability` is tagged when the
/// keyword cues agree: "Given the following disease, list three common
/// symptoms." with the input "Measles" (alpaca_5000 line 133) is `health` at
/// p = 0.69 with the cues "symptoms" and "disease" (the US Constitution of
/// line 15 and a healthy diet of line 56 were such records before the domain
/// model's TF-IDF and more rounds of labels; the model alone tags them
/// now); without `cue_agreement_probability` it gets no domain. A record
/// whose cues name no domain gets none either way.
#[test]
fn a_domain_under_min_probability_needs_the_cues_to_agree() {
    let Some(corpora) = corpora() else {
        eprintln!("../shared/corpora not present; skipped");
        return;
    };
    let text = std::fs::read_to_string(corpora.join("alpaca_5000/alpaca_5000.jsonl")).expect("alpaca_5000");
    let tmp = tempfile::tempdir().expect("temp dir");
    let input = tmp.path().join("records.jsonl");
    // Line 133: symptoms of measles; line 14: the average of a list of numbers.
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&input, format!("{}\n{}\n", lines[132], lines[13])).expect("write");
    let explain = |rules: Option<&std::path::Path>| -> Vec<serde_json::Value> {
        let mut args = vec!["tag-explain", input.to_str().expect("utf-8"), "--json"];
        if let Some(r) = rules {
            args.extend(["--rules", r.to_str().expect("utf-8")]);
        }
        curate_stdout(&args)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect()
    };
    let has = |e: &serde_json::Value, tag: &str| e["tags"].as_array().expect("tags").iter().any(|t| t == tag);
    let on = explain(None);
    assert!(has(&on[0], "domain:health"), "{}", on[0]);
    assert_eq!(on[0]["by_cues"], serde_json::json!(["domain"]));
    assert!(!on[1]["tags"].to_string().contains("domain:"), "{}", on[1]);
    let rules = tmp.path().join("rules");
    curate_ok(&["init-rules", rules.to_str().expect("utf-8")]);
    let domains = rules.join("topics/domains.toml");
    let without: String = std::fs::read_to_string(&domains)
        .expect("domains.toml")
        .lines()
        .filter(|l| !l.starts_with("cue_agreement"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&domains, without).expect("write");
    let off = explain(Some(&rules));
    assert!(!off[0]["tags"].to_string().contains("domain:"), "{}", off[0]);
    assert!(off[0].get("by_cues").is_none(), "{}", off[0]);
}

#[test]
fn bad_topic_rules_name_file_line_and_key() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let rules = tmp.path().join("rules");
    curate_ok(&["init-rules", rules.to_str().expect("utf-8")]);
    std::fs::write(
        rules.join("topics/extra.toml"),
        "# user tags\n[tag.polite]\nkeywords = { please = 1 }\nweights = { thanks = 1 }\n",
    )
    .expect("write");
    let out = curate(&["check-rules", rules.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("topics/extra.toml:4: key `tag.polite.weights`"), "{err}");
}

#[test]
fn train_evaluates_and_the_model_works_as_tagger_and_filter() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let model = tmp.path().join("kind.json");
    let out = curate(&[
        "train",
        &fixture("tag/train.jsonl"),
        "--label",
        "label",
        "--text",
        "text",
        "--folds",
        "3",
        "--buckets",
        "65536",
        "-o",
        model.to_str().expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("3-fold cross-validation"), "{stdout}");
    assert!(stdout.contains("accuracy:") && stdout.contains("macro F1"), "{stdout}");
    for class in ["claim", "math", "reasoning"] {
        assert!(stdout.contains(class), "{stdout}");
    }
    let text = std::fs::read_to_string(&model).expect("model written");
    assert!(text.starts_with("{\"format\":\"curate-linear-classifier\",\"version\":1"));

    // As a tagger: the model's label becomes a `kind:` tag.
    let rules = tmp.path().join("rules");
    curate_ok(&["init-rules", rules.to_str().expect("utf-8")]);
    std::fs::create_dir_all(rules.join("models")).expect("mkdir");
    std::fs::copy(&model, rules.join("models/kind.json")).expect("copy");
    std::fs::write(
        rules.join("topics/model.toml"),
        "[classifier.kind]\nmodel = \"models/kind.json\"\nmin_probability = 0.0\n",
    )
    .expect("write");
    // As a quality filter: drop what the model thinks is a claim to check.
    std::fs::write(
        rules.join("quality/model.toml"),
        "[claims]\nkind = \"classifier\"\nmodel = \"models/kind.json\"\nlabel = \"claim\"\nmax = 0.5\n",
    )
    .expect("write");
    let run = tmp.path().join("out");
    curate_ok(&[
        "run",
        &fixture("tag/tasks.jsonl"),
        "--rules",
        rules.to_str().expect("utf-8"),
        "--out",
        run.to_str().expect("utf-8"),
        "-q",
    ]);
    let r = assert_accounting(&run);
    assert_eq!(
        r["stages_run"],
        serde_json::json!(["repair", "quality", "sensitive", "tag", "dedup"])
    );
    let kept_tags = tags(&run.join("kept"));
    assert!(
        kept_tags.iter().all(|t| t.iter().any(|x| x.starts_with("kind:"))),
        "{kept_tags:?}"
    );
    let quality = r["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == "quality")
        .expect("quality stage");
    assert!(quality["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .any(|x| x["id"] == "quality/claims"));
}

/// The built-in tagger's tags of the records a labels file names, each
/// checked to be its corpus line, unchanged.
fn judged_rows(labels: &std::path::Path, corpora: &std::path::Path) -> Vec<curate::audit::judged_tags::Tagged> {
    let rules = curate::ruleset::Rules::compile(curate::rules::RuleFiles::embedded()).expect("rules");
    let tagger = curate::tag::builtin().expect("built-in tagger");
    curate::audit::judged_tags::evaluate(&rules, tagger, labels, corpora)
        .expect("every labelled line is in the corpora, unchanged")
}

/// The InstructionWild v2_user_1 and MT-bench prompts relabelled under the
/// judged set's guideline (fixtures/judged_tags/sets_labels.jsonl, 509):
/// every label names an unchanged corpus line, and task accuracy keeps its
/// floor (`curate tag-eval --judged fixtures/judged_tags/sets_labels.jsonl`:
/// 0.764 when labelled, 0.770 since "what do you know about X" is open-qa
/// and "imagine you are <doing>" no role, 0.788 with the models trained on
/// 13,600 records). The second reader of the judged
/// set labels the same records as the first.
#[test]
fn relabelled_sets_task_accuracy_does_not_fall() {
    let Some(corpora) = corpora() else {
        eprintln!("../shared/corpora not present; skipped");
        return;
    };
    let rows = judged_rows(&root().join("fixtures/judged_tags/sets_labels.jsonl"), &corpora);
    assert_eq!(rows.len(), 509);
    let (ok, n) = curate::audit::judged_tags::accuracy(&rows, None, None);
    assert!(ok as f64 / n as f64 >= 0.78, "task accuracy {ok}/{n}");
    let second = judged_rows(&root().join("fixtures/judged_tags/second_reader.jsonl"), &corpora);
    assert_eq!(second.len(), 420);
}

/// Task accuracy of the built-in rules on the judged tagging set
/// (fixtures/judged_tags/, 420 records labelled by reading): a floor against
/// regressions, at the figures measured when the set was made
/// (`curate tag-eval --judged`: en 0.791, zh 0.603; since closed-qa needs
/// a question asked of the input, en 0.791, zh 0.616; with the trained task
/// model of rules/topics/models/, en 0.834, zh 0.782; with the model reading
/// the instruction's and the input's words apart, en 0.872, zh 0.795; with
/// input_question 6, en 0.877, zh 0.803; trained on 13,600 records, en
/// 0.882, zh 0.812 with input_question 7).
#[test]
fn judged_tagging_set_task_accuracy_does_not_fall() {
    let Some(corpora) = corpora() else {
        eprintln!("../shared/corpora not present; skipped");
        return;
    };
    let labels = root().join("fixtures/judged_tags/labels.jsonl");
    let rows = judged_rows(&labels, &corpora);
    let acc = |lang: &str| {
        let (ok, n) = curate::audit::judged_tags::accuracy(&rows, Some(lang), None);
        ok as f64 / n as f64
    };
    assert!(acc("en") >= 0.88, "en task accuracy {:.3}", acc("en"));
    assert!(acc("zh") >= 0.81, "zh task accuracy {:.3}", acc("zh"));
    // Domain tags: precision 0.893 at coverage 0.650 (the domain model at
    // min_probability 0.6, reading the reply's first 32 words too); 0.903 at
    // 0.654 at 0.65, or from 0.3 when the keyword cues agree; 0.892 at 0.677
    // trained on 13,600 records; 0.906 at 0.673 with TF-IDF, at 0.7; 0.931 at
    // 0.681 with character 4-5-grams; 0.924 at 0.661 with 2,400 more domain
    // labels, at 0.75 (over five folds of the training records, 0.884 / 0.629
    // -> 0.894 / 0.631: fewer records here, and they move by a few each time);
    // 0.920 at 0.669 with 4,800, at 0.77 (folds: 0.896 / 0.638).
    let given: usize = rows.iter().map(|r| r.domains.len()).sum();
    let right: usize = rows
        .iter()
        .map(|r| r.domains.iter().filter(|d| r.label.domains.contains(d)).count())
        .sum();
    let labelled = rows.iter().filter(|r| !r.label.domains.is_empty()).count();
    let covered = rows
        .iter()
        .filter(|r| r.domains.iter().any(|d| r.label.domains.contains(d)))
        .count();
    let (precision, coverage) = (right as f64 / given as f64, covered as f64 / labelled as f64);
    assert!(precision >= 0.90, "domain precision {precision:.3}");
    assert!(coverage >= 0.66, "domain coverage {coverage:.3}");
    let tag_eval = |extra: &[&str]| {
        let mut args = vec![
            "tag-eval",
            "--judged",
            labels.to_str().expect("utf-8"),
            "--corpora",
            corpora.to_str().expect("utf-8"),
        ];
        args.extend(extra);
        curate_stdout(&args)
    };
    let out = tag_eval(&[]);
    assert!(
        out.contains("judged tagging set") && out.contains("\nzh ") && out.contains("domains: "),
        "{out}"
    );
    // The dev half's errors, for reading while changing the cues.
    let errors = rows.iter().filter(|r| !r.test && r.task != r.label.task).count();
    let out = tag_eval(&["--show-errors", "3"]);
    let listed = out.split("errors of the dev half").nth(1).unwrap_or_default();
    assert_eq!(
        listed.lines().filter(|l| l.starts_with("  ")).count(),
        errors.min(3),
        "{out}"
    );
}

/// The shipped task and domain models are what `curate train` makes of the
/// records labelled in fixtures/tag/judged_train.jsonl (the task; the first
/// domain, or `none`; the domain model also of judged_train_domain.jsonl)
/// with the settings written in each model file: byte for byte
/// (scripts/eval/train_tagger.py makes them).
#[test]
fn shipped_models_are_trained_from_the_labelled_records() {
    let Some(corpora) = corpora() else {
        eprintln!("../shared/corpora not present; skipped");
        return;
    };
    for target in ["task", "domain"] {
        retrain_and_compare(&corpora, target);
    }
}

fn retrain_and_compare(corpora: &std::path::Path, target: &str) {
    let path = format!("rules/topics/models/{target}.json");
    let shipped = std::fs::read_to_string(root().join(&path)).expect("shipped model");
    let model: serde_json::Value = serde_json::from_str(&shipped).expect("model JSON");
    let trained = &model["trained"];
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("train.jsonl");
    let mut lines = curate::audit::judged::CorpusLines::new(corpora);
    let mut out = String::new();
    let read =
        |path: &str| curate::audit::judged_tags::read_tag_labels(&root().join(path)).expect("the training labels read");
    let mut labels = read("fixtures/tag/judged_train.jsonl");
    // The domain model trains on the seventh round too (fixtures/tag/SOURCES.md).
    if target == "domain" {
        labels.extend(read("fixtures/tag/judged_train_domain.jsonl"));
    }
    for l in labels {
        let raw = lines
            .line(&l.source, l.line, &l.sha)
            .expect("every labelled line is in the corpora, unchanged");
        let mut rec: serde_json::Map<String, serde_json::Value> = serde_json::from_str(raw).expect("record");
        let label = match target {
            "task" => l.task,
            _ => l.domains.first().cloned().unwrap_or_else(|| "none".into()),
        };
        rec.insert(trained["label"].as_str().expect("label").into(), label.into());
        out.push_str(&serde_json::to_string(&rec).expect("json"));
        out.push('\n');
    }
    std::fs::write(&data, out).expect("write");
    let made = tmp.path().join("task.json");
    let num = |v: &serde_json::Value| v.to_string();
    let text = model["text"]
        .as_array()
        .expect("text")
        .iter()
        .map(|t| t.as_str().expect("part"))
        .collect::<Vec<_>>()
        .join(",");
    let (buckets, ngrams, seed, epochs, lr) = (
        num(&model["buckets"]),
        num(&model["word_ngrams"]),
        num(&model["seed"]),
        num(&trained["epochs"]),
        num(&trained["lr"]),
    );
    let (lo, hi) = (num(&model["char_ngrams"][0]), num(&model["char_ngrams"][1]));
    let mut args = vec![
        "train",
        data.to_str().expect("utf-8"),
        "-o",
        made.to_str().expect("utf-8"),
        "--label",
        trained["label"].as_str().expect("label"),
        "--text",
        &text,
        "--buckets",
        &buckets,
        "--word-ngrams",
        &ngrams,
        "--char-ngrams",
        &lo,
        &hi,
        "--seed",
        &seed,
        "--epochs",
        &epochs,
        "--lr",
        &lr,
        "--folds",
        "5",
    ];
    let opening = num(&model["opening"]);
    if opening != "null" {
        args.extend(["--opening", &opening]);
    }
    if model["parts"] == true {
        args.push("--parts");
    }
    let part_words = num(&model["part_words"]);
    if part_words != "null" {
        args.extend(["--part-words", &part_words]);
    }
    if trained["balance"] == true {
        args.push("--balance");
    }
    if model["idf"].is_string() {
        args.push("--tfidf");
    }
    curate_ok(&args);
    let made = std::fs::read_to_string(&made).expect("made model");
    assert!(made == shipped, "{path} is not what its labelled records train");
}
