//! The dedup settings against the judged pairs (fixtures/judged_pairs/): 328
//! candidate pairs of ../shared/corpora labelled duplicate or distinct by
//! reading, before any similarity was looked at.

use curate::audit::pairs::{evaluate, read_pairs, Scored};
use curate::rules::RuleFiles;
use curate::ruleset::Rules;

use crate::harness::*;

fn scored(dedup_toml: Option<String>) -> Option<Vec<Scored>> {
    scored_set("fixtures/judged_pairs/pairs.jsonl", dedup_toml)
}

fn scored_set(set: &str, dedup_toml: Option<String>) -> Option<Vec<Scored>> {
    let Some(corpora) = corpora() else {
        eprintln!("../shared/corpora not present; skipped");
        return None;
    };
    let mut files = RuleFiles::embedded();
    if let Some(text) = dedup_toml {
        files.set("dedup.toml", text);
    }
    let rules = Rules::compile(files).expect("rules compile");
    let pairs = read_pairs(&root().join(set)).expect("pairs read");
    assert!(pairs.len() >= 150, "{} pairs", pairs.len());
    Some(evaluate(&rules, pairs, &corpora, None).expect("every pair's lines are in the corpora, unchanged"))
}

/// (called, precision, recall).
fn figures(s: &[Scored]) -> (usize, f64, f64) {
    let called = s.iter().filter(|s| s.called).count();
    let right = s.iter().filter(|s| s.called && s.pair.is_duplicate()).count();
    let dup = s.iter().filter(|s| s.pair.is_duplicate()).count();
    (called, right as f64 / called as f64, right as f64 / dup as f64)
}

/// The pairs of `category` the stage calls duplicates (`called`) or not.
fn pairs_of(s: &[Scored], called: bool, category: &str) -> Vec<usize> {
    s.iter()
        .filter(|s| s.called == called && s.pair.category == category)
        .map(|s| s.pair.pair)
        .collect()
}

/// Precision and recall at least `min_p` and `min_r`, and every plain copy
/// found.
fn assert_figures(s: &[Scored], min_p: f64, min_r: f64) {
    let (called, p, r) = figures(s);
    assert!(
        p >= min_p && r >= min_r,
        "{called} called, precision {p:.3}, recall {r:.3}"
    );
    let missed = pairs_of(s, false, "copy");
    assert!(missed.is_empty(), "copies missed: pairs {missed:?}");
}

#[test]
fn default_dedup_is_precise_on_the_judged_pairs_and_merges_no_other_question() {
    let Some(s) = scored(None) else { return };
    // Every plain copy is found (glued instruction and input included).
    assert_figures(&s, 0.95, 0.90);
    // A shared passage, option list or template with another question.
    let merged = pairs_of(&s, true, "other-question");
    assert!(merged.is_empty(), "pairs {merged:?}");
}

/// The pairs drawn and labelled apart from the settings' design
/// (`unseen_pairs.jsonl`) hold the figures `rules/dedup.toml` states, every
/// copy found (an option quoted with ’ against ' too).
#[test]
fn default_dedup_keeps_its_figures_on_the_unseen_pairs() {
    let Some(s) = scored_set("fixtures/judged_pairs/unseen_pairs.jsonl", None) else {
        return;
    };
    assert_figures(&s, 0.94, 0.85);
}

/// Whether the stage calls pair `pair` of the judged set a duplicate.
fn called(s: &[Scored], pair: usize) -> bool {
    s.iter().find(|s| s.pair.pair == pair).expect("pair in the set").called
}

#[test]
fn thin_requests_choices_and_tool_calls_decide_the_pairs_they_were_made_for() {
    let Some(s) = scored(None) else { return };
    // "Who are you?" / "What are you?", "Are you trained by Google?" /
    // "Are you created by Google?" with one answer: duplicates.
    for pair in [124, 9, 292] {
        assert!(called(&s, pair), "pair {pair}");
    }
    // "Are you ChatGPT?" / "Are you davinci?" with one answer: distinct.
    assert!(!called(&s, 174));
    // The seven thieves with (B) = 1981 against (B) = 721 or 2401: distinct;
    // one problem with other distractors and the same chosen option: duplicate.
    for pair in [16, 245, 281] {
        assert!(!called(&s, pair), "pair {pair}");
    }
    assert!(called(&s, 8) && called(&s, 50));
    // One problem with a renamed variable, another framing and the same
    // numbers, the same option chosen after the same working: duplicates;
    // truth tables of other propositions with the same bare option: distinct.
    assert!(called(&s, 57) && called(&s, 179));
    assert!(!called(&s, 280));
    // The same shell('python --version') for reworded requests, the same
    // password call to a renamed function: duplicates.
    assert!(called(&s, 169) && called(&s, 254) && called(&s, 87));
    // Both off: the pairs fall back to the first two rules.
    let text = std::fs::read_to_string(root().join("rules/dedup.toml")).expect("dedup.toml");
    let off = text
        .replace("thin-requests = true", "thin-requests = false")
        .replace("choices = true", "choices = false")
        .replace("tool-calls = true", "tool-calls = false");
    let Some(s) = scored(Some(off)) else { return };
    assert!(!called(&s, 124) && called(&s, 16) && !called(&s, 8) && !called(&s, 169));
    assert!(!called(&s, 57) && !called(&s, 87));
}

#[test]
fn whole_text_similarity_merges_different_questions() {
    let text = std::fs::read_to_string(root().join("rules/dedup.toml")).expect("dedup.toml");
    let whole = text
        .replace("compare = \"parts\"", "compare = \"whole\"")
        .replace("threshold = 0.7", "threshold = 0.8")
        .lines()
        .filter(|l| {
            ![
                "part-threshold",
                "short-threshold",
                "thin-requests",
                "choices",
                "choice-threshold",
                "tool-calls",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let Some(s) = scored(Some(whole)) else { return };
    let (called, p, _) = figures(&s);
    assert!(p < 0.85, "{called} called, precision {p:.3}");
    let merged = pairs_of(&s, true, "other-question").len();
    assert!(merged >= 10, "{merged}");
}

#[test]
fn eval_pairs_prints_precision_and_recall_per_corpus() {
    let Some(c) = corpora() else { return };
    let pairs = root().join("fixtures/judged_pairs/pairs.jsonl");
    let out = curate(&[
        "eval-pairs",
        pairs.to_str().expect("utf-8"),
        "--corpora",
        c.to_str().expect("utf-8"),
        "--errors",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "pairs ",
        "all ",
        "all, weighted",
        "benchmarks/mmlu_test.jsonl",
        "gpteacher",
        "called duplicate, per category:",
        "pairs the stage and the label disagree on:",
    ] {
        assert!(text.lines().any(|l| l.starts_with(line)), "no line {line:?} in\n{text}");
    }
}

/// `dedup/semantic`'s precision at its default threshold on the judged
/// semantic pairs (records read from the corpora), as the README and
/// `rules/dedup.toml` state it: 35 of 38 same-language pairs at cosine 0.97
/// or more are duplicates; no pair across languages is.
#[test]
fn semantic_pairs_keep_their_measured_precision_at_the_default_threshold() {
    let Some(c) = corpora() else { return };
    let model = crate::embed::model_dir().expect("model files");
    let pairs = root().join("fixtures/judged_semantic_pairs/pairs.jsonl");
    let out = curate(&[
        "eval-pairs",
        pairs.to_str().expect("utf-8"),
        "--corpora",
        c.to_str().expect("utf-8"),
        "--semantic",
        model.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("0.97 "))
        .unwrap_or_else(|| panic!("no 0.97 row in\n{text}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    // t, then five "P / R" cells (three words each), then the weighted P.
    let same_language_precision: f64 = cells[13].parse().expect("a precision");
    let weighted: f64 = cells[16].parse().expect("a weighted precision");
    assert!(same_language_precision >= 0.92, "{row}");
    assert!(weighted >= 0.90, "{row}");
}

/// `rules/measured_pairs.json` (the report's judged figures of the dedup
/// rules) is what `eval-pairs --write` gives with the shipped rules.
#[test]
fn shipped_pair_figures_are_the_ones_the_rules_earn() {
    let Some(c) = corpora() else { return };
    let model = crate::embed::model_dir().expect("model files");
    let tmp = tempfile::tempdir().expect("temp dir");
    let file = tmp.path().join("measured_pairs.json");
    let f = file.to_str().expect("utf-8");
    let c = c.to_str().expect("utf-8");
    let m = model.to_str().expect("utf-8");
    let root = root();
    let near = root.join("fixtures/judged_pairs/pairs.jsonl");
    let sem = root.join("fixtures/judged_semantic_pairs/pairs.jsonl");
    // The sets are named as the shipped file names them: relative to the root.
    let rel = |p: &std::path::Path| p.strip_prefix(&root).expect("under the root").display().to_string();
    let run = |args: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_curate"))
            .args(args)
            .current_dir(&root)
            .output()
            .expect("curate runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&["eval-pairs", &rel(&near), "--corpora", c, "--write", f]);
    run(&["eval-pairs", &rel(&sem), "--corpora", c, "--semantic", m, "--write", f]);
    let got = std::fs::read_to_string(&file).expect("written");
    let shipped = std::fs::read_to_string(root.join("rules/measured_pairs.json")).expect("shipped");
    assert_eq!(got, shipped);
}
