//! The `dedup` stage end to end on real corpora: exact and near drops, the
//! audit columns, the clusters table, determinism across threads and input
//! order, reference corpora and decontamination.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, Float64Array, StringArray};

use crate::harness::*;

fn corpus(rel: &str) -> Option<String> {
    let c = corpora()?;
    Some(c.join(rel).display().to_string())
}

fn run(inputs: &[String], extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let mut args: Vec<&str> = vec!["run"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend(["--out", out.to_str().expect("utf-8"), "-q"]);
    args.extend(extra);
    curate_ok(&args);
    (tmp, out)
}

/// (key, rule, duplicate_of, similarity) of every rejected row.
fn rejected(out: &Path) -> Vec<(String, String, String, f64)> {
    let mut rows = Vec::new();
    for b in read_dir_batches(&out.join("rejected")) {
        let s = |c: &str| {
            b.column_by_name(c)
                .and_then(|a| a.as_any().downcast_ref::<StringArray>())
                .expect("string column")
                .clone()
        };
        let (id, rule, dup) = (s("key"), s("rule"), s("duplicate_of"));
        let sim = b
            .column_by_name("similarity")
            .and_then(|a| a.as_any().downcast_ref::<Float64Array>())
            .expect("similarity")
            .clone();
        for i in 0..b.num_rows() {
            rows.push((
                id.value(i).to_string(),
                rule.value(i).to_string(),
                if dup.is_null(i) {
                    String::new()
                } else {
                    dup.value(i).to_string()
                },
                if sim.is_null(i) { f64::NAN } else { sim.value(i) },
            ));
        }
    }
    rows
}

fn dropped_per_rule(out: &Path) -> HashMap<String, u64> {
    let r = report(out);
    let stage = r["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == "dedup")
        .expect("dedup stage in the report")
        .clone();
    stage["dropped_per_rule"]
        .as_object()
        .expect("per rule")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("count")))
        .collect()
}

#[test]
fn llamafactory_demos_lose_their_exact_duplicates() {
    let (Some(en), Some(zh)) = (
        corpus("llamafactory_alpaca_en_demo"),
        corpus("llamafactory_alpaca_zh_demo"),
    ) else {
        return;
    };
    let (_t, out) = run(&[en], &["--stages", "dedup"]);
    assert_accounting(&out);
    assert_eq!(dropped_per_rule(&out).get("dedup/exact"), Some(&14));
    let (_t, out) = run(&[zh], &["--stages", "dedup"]);
    assert_accounting(&out);
    assert_eq!(dropped_per_rule(&out).get("dedup/exact"), Some(&8));
}

#[test]
fn every_duplicate_names_a_kept_survivor_and_clusters_agree() {
    let Some(fc) = corpus("fastchat_dummy_conversation") else {
        return;
    };
    let Some(en) = corpus("llamafactory_alpaca_en_demo") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let rules = tmp.path().join("rules");
    curate_ok(&["init-rules", rules.to_str().expect("utf-8")]);
    identity_off(&rules);
    let (_t, out) = run(&[fc, en], &["--rules", rules.to_str().expect("utf-8")]);
    assert_accounting(&out);
    let per_rule = dropped_per_rule(&out);
    assert!(per_rule.get("dedup/near").copied().unwrap_or(0) > 20, "{per_rule:?}");
    // report.html shows each example duplicate beside the kept record it
    // duplicates.
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    let near = html
        .split("<h3>dedup/near</h3>")
        .nth(1)
        .and_then(|s| s.split("<h3>").next())
        .expect("dedup/near examples");
    assert!(near.matches("kept: the record it duplicates").count() >= 3, "{near}");
    let kept_keys = strings(&out.join("kept"), "key");
    let kept: HashSet<String> = kept_keys.iter().cloned().collect();
    // Keys are unique, so a duplicate_of names exactly one kept record.
    assert_eq!(kept.len(), kept_keys.len());
    let rej = rejected(&out);
    let mut dedup_drops = 0;
    for (id, rule, dup, sim) in &rej {
        if rule == "dedup/near" || rule == "dedup/exact" {
            dedup_drops += 1;
            assert!(kept.contains(dup), "{id} dropped for {dup}, which is not kept");
            assert!(!kept.contains(id));
            assert!(*sim >= 0.7, "{id}: similarity {sim}");
        }
    }
    // The clusters table lists every dropped duplicate with its survivor.
    let clusters = out.join("dedup");
    let members = strings(&clusters, "member_key");
    let survivors = strings(&clusters, "survivor_key");
    assert_eq!(members.len(), survivors.len());
    let pairs: HashSet<(String, String)> = members.into_iter().zip(survivors).collect();
    for (id, rule, dup, _) in &rej {
        if rule.starts_with("dedup/") {
            assert!(
                pairs.contains(&(id.clone(), dup.clone())),
                "{id} -> {dup} not in clusters"
            );
        }
    }
    assert_eq!(pairs.iter().filter(|(m, s)| m != s).count(), dedup_drops);
    assert!(!out.join(".staging").exists());
}

fn shard_bytes(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).expect("read")).collect()
}

#[test]
fn same_output_for_one_or_two_threads_and_any_input_order() {
    let (Some(fc), Some(en), Some(zh)) = (
        corpus("fastchat_dummy_conversation"),
        corpus("llamafactory_alpaca_en_demo"),
        corpus("llamafactory_alpaca_zh_demo"),
    ) else {
        return;
    };
    let (_a, one) = run(
        &[fc.clone(), en.clone(), zh.clone()],
        &["--threads", "1", "--stages", "dedup"],
    );
    let (_b, two) = run(&[zh, en, fc], &["--threads", "2", "--stages", "dedup"]);
    for d in ["kept", "rejected", "dedup"] {
        assert_eq!(shard_bytes(&one.join(d)), shard_bytes(&two.join(d)), "{d} differs");
    }
}

/// A local run keeps its staged records in memory while they fit in the
/// budget and writes them to disk past it; the output is the same.
#[test]
fn staged_records_in_memory_or_on_disk_give_the_same_output() {
    let (Some(en), Some(zh)) = (
        corpus("llamafactory_alpaca_en_demo"),
        corpus("llamafactory_alpaca_zh_demo"),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let rules = tmp.path().join("rules");
    let r = rules.to_str().expect("utf-8").to_string();
    curate_ok(&["init-rules", &r]);
    let path = rules.join("dedup.toml");
    let text = std::fs::read_to_string(&path).expect("dedup.toml");
    assert!(text.contains("\nmemory-mb = 1024\n"));
    std::fs::write(&path, text.replace("\nmemory-mb = 1024\n", "\nmemory-mb = 1\n")).expect("write");
    let inputs = [en, zh];
    let (_a, held) = run(&inputs, &["--stages", "dedup"]);
    let (_b, spilled) = run(&inputs, &["--stages", "dedup", "--rules", &r]);
    let on_disk = |out: &Path| report(out)["stages"][0]["counts"]["staged_records_on_disk"].clone();
    assert_eq!(on_disk(&held), 0);
    let staged = report(&held)["stages"][0]["input"].as_u64().expect("input");
    assert!(
        on_disk(&spilled).as_u64().is_some_and(|n| n > 0 && n <= staged),
        "{:?} of {staged}",
        on_disk(&spilled)
    );
    for d in ["kept", "rejected", "dedup"] {
        assert_eq!(shard_bytes(&held.join(d)), shard_bytes(&spilled.join(d)), "{d} differs");
    }
}

#[test]
fn reference_corpora_win_and_are_not_written() {
    let (Some(en), Some(fc)) = (
        corpus("llamafactory_alpaca_en_demo"),
        corpus("fastchat_dummy_conversation"),
    ) else {
        return;
    };
    let (_t, out) = run(&[en.clone(), fc], &["--stages", "dedup", "--reference", &en]);
    let r = assert_accounting(&out);
    // Every record of the input that is also in the reference is dropped.
    let rej = rejected(&out);
    let from_en = rej.iter().filter(|(id, _, _, _)| id.contains("alpaca_en_demo")).count();
    let lines = std::fs::read_to_string(Path::new(&en).join("alpaca_en_demo.jsonl"))
        .expect("demo")
        .lines()
        .count();
    assert_eq!(from_en, lines, "every en record is in the reference");
    let kept = strings(&out.join("kept"), "id");
    assert!(kept.iter().all(|id| !id.contains("alpaca_en_demo")));
    assert!(r["totals"]["kept"].as_u64().expect("kept") > 0);
}

#[test]
fn benchmark_items_inside_records_are_dropped() {
    let Some(gsm) = corpus("benchmarks/gsm8k_test.jsonl") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(&gsm).expect("gsm8k");
    let q: serde_json::Value = serde_json::from_str(text.lines().nth(3).expect("line 4")).expect("json");
    let question = q["question"].as_str().expect("question");
    let input = tmp.path().join("in.jsonl");
    let rows = [
        serde_json::json!({"instruction": format!("Solve this: {question}"), "input": "", "output": "42"}),
        serde_json::json!({"instruction": "Write a poem about the sea.", "input": "", "output": "Waves."}),
    ];
    std::fs::write(&input, rows.iter().map(|r| r.to_string() + "\n").collect::<String>()).expect("write");
    let (_t, out) = run(&[input.display().to_string()], &["--decontaminate", &gsm]);
    assert_accounting(&out);
    let rej = rejected(&out);
    assert_eq!(rej.len(), 1);
    assert_eq!(rej[0].1, "dedup/decontam");
    assert!(rej[0].2.contains("gsm8k_test.jsonl:4"), "{}", rej[0].2);
    let r = report(&out);
    let dedup = r["stages"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "dedup"))
        .expect("dedup stage");
    assert_eq!(dedup["input"], 2);
    assert_eq!(dedup["kept"], 1);
    assert_eq!(dedup["dropped_per_rule"]["dedup/decontam"], 1);
    assert_eq!(dedup["failed_per_rule"]["dedup/decontam"], 1);
}

/// A rules folder with the built-in rules, the survivor policy replaced by
/// `policy` (and `quality/model-identity` off: the pairs are identity records).
fn rules_with_survivor(dir: &Path, policy: &str) -> String {
    let rules = dir.join("rules");
    let r = rules.to_str().expect("utf-8").to_string();
    curate_ok(&["init-rules", &r]);
    identity_off(&rules);
    let path = rules.join("dedup.toml");
    let text = std::fs::read_to_string(&path).expect("dedup.toml");
    assert!(text.contains("\nsurvivor = \"first\"\n"));
    std::fs::write(
        &path,
        text.replace("\nsurvivor = \"first\"\n", &format!("\n{policy}\n")),
    )
    .expect("write");
    r
}

/// The ids of kept rows and (id, rule, duplicate_of) of rejected rows.
fn fates(out: &Path) -> (Vec<String>, Vec<(String, String, String)>) {
    let kept = strings(&out.join("kept"), "key");
    let rej = rejected(out)
        .into_iter()
        .map(|(id, rule, dup, _)| (id, rule, dup))
        .collect();
    (kept, rej)
}

#[test]
fn best_metric_keeps_the_duplicate_with_the_better_value() {
    // Two near-duplicates of the FastChat identity set (Jaccard 0.86): the
    // later one asks "What's your name?" where the earlier asks "What is
    // your name?", so it has one word fewer (quality/gopher-word-count 24
    // against 25).
    let tmp = tempfile::tempdir().expect("temp dir");
    let fixture = std::fs::read_to_string(root().join("fixtures/sample/sharegpt_identity.jsonl")).expect("fixture");
    let lines: Vec<&str> = fixture.lines().collect();
    assert!(lines[6].contains("\"identity_6\"") && lines[24].contains("\"identity_24\""));
    let input = tmp.path().join("pair.jsonl");
    std::fs::write(&input, format!("{}\n{}\n", lines[6], lines[24])).expect("write");
    let input = input.display().to_string();
    let run_with = |name: &str, policy: &str| {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).expect("mkdir");
        let rules = rules_with_survivor(&dir, policy);
        let (t, out) = run(std::slice::from_ref(&input), &["--rules", &rules]);
        assert_accounting(&out);
        (t, fates(&out))
    };
    let metric = "survivor-metric = \"quality/gopher-word-count\"";
    let pair = |kept: &str, dropped: &str| {
        (
            vec![kept.to_string()],
            vec![(dropped.to_string(), "dedup/near".to_string(), kept.to_string())],
        )
    };

    // Fewest words wins: the later record (identity_24, key pair.jsonl:2)
    // stays, the earlier one (identity_6) names it.
    let (_a, min) = run_with(
        "min",
        &format!("survivor = \"best-metric\"\n{metric}\nsurvivor-prefer = \"min\""),
    );
    assert_eq!(min, pair("pair.jsonl:2", "pair.jsonl:1"));
    // The same input under the other policies keeps the first.
    let (_b, max) = run_with("max", &format!("survivor = \"best-metric\"\n{metric}"));
    assert_eq!(max, pair("pair.jsonl:1", "pair.jsonl:2"));
    let (_c, first) = run_with("first", "survivor = \"first\"");
    assert_eq!(first, pair("pair.jsonl:1", "pair.jsonl:2"));
}

#[test]
fn best_metric_needs_the_stage_that_measures_it() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let rules = rules_with_survivor(
        tmp.path(),
        "survivor = \"best-metric\"\nsurvivor-metric = \"quality/gopher-word-count\"",
    );
    let out = tmp.path().join("out");
    let o = out.to_str().expect("utf-8");
    let input = fixture("sample/sharegpt_identity.jsonl");
    let failed = curate(&["run", &input, "--out", o, "-q", "--rules", &rules, "--stages", "dedup"]);
    assert_eq!(failed.status.code(), Some(2));
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(
        err.contains("dedup.toml:") && err.contains("survivor-metric") && err.contains("add `quality` to --stages"),
        "{err}"
    );
    curate_ok(&[
        "run",
        &input,
        "--out",
        o,
        "-q",
        "--rules",
        &rules,
        "--stages",
        "quality,dedup",
    ]);
}

#[test]
fn a_system_prompt_shared_by_a_set_does_not_make_its_conversations_duplicates() {
    let Some(moss) = corpus("moss_003_sft_sample/conversation_with_plugins.jsonl") else {
        return;
    };
    // Default key: the turns without the system prompt.
    let (_a, out) = run(std::slice::from_ref(&moss), &["--stages", "dedup"]);
    assert_accounting(&out);
    let near = |out: &Path| rejected(out).iter().filter(|r| r.1 == "dedup/near").count();
    // One drop: the same request for "a painting of two men in renaissance
    // clothing" (男子 / 男人), with the same tool call and answer.
    assert_eq!(near(&out), 1);
    // With the system prompt in the key, MOSS's 1,236-character prompt makes
    // different conversations near-duplicates.
    let tmp = tempfile::tempdir().expect("temp dir");
    let rules = tmp.path().join("rules");
    curate_ok(&["init-rules", rules.to_str().expect("utf-8")]);
    let path = rules.join("dedup.toml");
    let text = std::fs::read_to_string(&path).expect("dedup.toml");
    std::fs::write(&path, text.replace("key = \"turns\"", "key = \"conversation\"")).expect("write");
    let (_b, with_system) = run(
        &[moss],
        &["--stages", "dedup", "--rules", rules.to_str().expect("utf-8")],
    );
    assert!(near(&with_system) > 10, "{}", near(&with_system));
}

#[test]
fn a_run_warns_of_benchmark_items_and_of_no_decontamination() {
    let Some(gsm) = corpus("benchmarks/gsm8k_test.jsonl") else {
        return;
    };
    let Some(alpaca) = corpus("llamafactory_alpaca_en_demo/alpaca_en_demo.jsonl") else {
        return;
    };
    let warnings = |out: &Path| -> Vec<String> {
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("report")).expect("json");
        report["warnings"]
            .as_array()
            .map(|w| w.iter().map(|s| s.as_str().expect("string").to_string()).collect())
            .unwrap_or_default()
    };
    // GSM8K's 1,319 test items read as training data, with nothing to
    // decontaminate against: both said.
    let (_a, out) = run(&[gsm.clone(), alpaca.clone()], &["--stages", "dedup"]);
    let w = warnings(&out);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].starts_with("1319 input records are benchmark test items (gsm8k 1319)"),
        "{w:?}"
    );
    assert!(w[1].starts_with("no benchmark given"), "{w:?}");
    let html = std::fs::read_to_string(out.join("report.html")).expect("html");
    assert!(html.contains("warning: no benchmark given"));
    // Decontaminating against GSM8K drops its items; the input still held them.
    let (_b, out) = run(&[gsm.clone(), alpaca], &["--stages", "dedup", "--decontaminate", &gsm]);
    let w = warnings(&out);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(dropped_per_rule(&out).get("dedup/decontam"), Some(&1319));
    // A run of training data only, decontaminated: nothing to say.
    let Some(zh) = corpus("llamafactory_alpaca_zh_demo/alpaca_zh_demo.jsonl") else {
        return;
    };
    let (_c, out) = run(&[zh], &["--stages", "dedup", "--decontaminate", &gsm]);
    assert!(warnings(&out).is_empty(), "{:?}", warnings(&out));
    // Without dedup, decontamination cannot run: no warning about it.
    let (_d, out) = run(&[gsm], &["--stages", "quality"]);
    assert_eq!(warnings(&out).len(), 1);
}

#[test]
fn keys_are_unique_and_the_same_however_paths_are_typed() {
    let Some(c) = corpora() else { return };
    // MOSS conversation ids and self-instruct's seed_task_N repeat; FastChat's
    // identity records are near-duplicates of each other.
    let inputs: Vec<String> = [
        "moss_003_sft_sample",
        "fastchat_dummy_conversation",
        "benchmarks/self_instruct_seed_tasks.jsonl",
        "gpteacher/toolformer-similarity-0.9-dataset.jsonl",
    ]
    .iter()
    .map(|r| c.join(r).display().to_string())
    .collect();
    let (_a, out) = run(&inputs, &["--stages", "dedup"]);
    assert_accounting(&out);
    let ids = strings(&out.join("kept"), "id");
    let keys = strings(&out.join("kept"), "key");
    let unique: HashSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len());
    assert!(
        ids.iter().collect::<HashSet<_>>().len() < ids.len(),
        "the data repeats ids"
    );
    let rej = rejected(&out);
    let dups: Vec<&(String, String, String, f64)> = rej.iter().filter(|r| r.1.starts_with("dedup/")).collect();
    assert!(dups.len() > 100, "{}", dups.len());
    for (key, _, dup, _) in dups {
        assert!(unique.contains(dup), "{key} names {dup}, which is no kept key");
    }
    // Keys name files relative to the folder holding every input.
    assert!(
        keys.iter().any(|k| k.starts_with("moss_003_sft_sample/")),
        "{:?}",
        keys.first()
    );
    // The same inputs through another path: the same keys, no record changed.
    let other: Vec<String> = inputs
        .iter()
        .map(|p| {
            let abs = std::fs::canonicalize(p).expect("canonical");
            let parent = abs.parent().expect("parent");
            format!(
                "{}/./../{}/{}",
                parent.display(),
                parent.file_name().expect("name").to_string_lossy(),
                abs.file_name().expect("name").to_string_lossy()
            )
        })
        .collect();
    let (_b, out2) = run(&other, &["--stages", "dedup"]);
    assert_eq!(strings(&out2.join("kept"), "key"), keys);
    let diff = curate(&["diff", out.to_str().expect("utf-8"), out2.to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(text.contains(" 0 changed"), "{text}");
}
