//! `dedup/semantic` on `fixtures/semantic/` (GPTeacher Toolformer records,
//! MIT, and LLaMA-Factory's glaive tool-call demos in English and Chinese,
//! Apache-2.0; pairs of `fixtures/judged_semantic_pairs/` labelled by
//! reading): the reworded duplicates are dropped for the record they repeat,
//! chains are not followed, translations stay unless `cross-language` is on,
//! the output does not depend on the thread count, and a distributed run
//! refuses the rule instead of skipping it.

use std::collections::BTreeMap;
use std::path::Path;

use crate::harness::{curate, curate_ok, fixture, floats, shard_files, strings};

/// The built-in dedup.toml up to its `[semantic]` table.
fn base() -> String {
    let text = std::fs::read_to_string(crate::harness::root().join("rules/dedup.toml")).expect("dedup.toml");
    match text.find("\n[semantic]\n") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// A rules folder whose dedup.toml is the built-in one with `[semantic]`
/// enabled and `extra` settings.
fn rules(dir: &Path, extra: &str) -> String {
    let model = crate::embed::model_dir().expect("model files");
    std::fs::create_dir_all(dir).expect("rules folder");
    let base = base();
    let text = format!(
        "{base}\n[semantic]\nenabled = true\nmodel = \"{}\"\n{extra}",
        model.display()
    );
    std::fs::write(dir.join("dedup.toml"), text).expect("dedup.toml written");
    dir.display().to_string()
}

/// (rule, duplicate_of, similarity) of every rejected record, by key.
fn drops(out: &Path) -> BTreeMap<String, (String, String, f64)> {
    let dir = out.join("rejected");
    let (keys, rules, dups) = (
        strings(&dir, "key"),
        strings(&dir, "rule"),
        strings(&dir, "duplicate_of"),
    );
    let sims = floats(&dir, "similarity");
    (0..keys.len())
        .map(|i| {
            (
                keys[i].clone(),
                (rules[i].clone(), dups[i].clone(), sims[i].unwrap_or(f64::NAN)),
            )
        })
        .collect()
}

#[test]
fn reworded_records_are_dropped_for_the_record_they_repeat_and_translations_stay() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let r = rules(&tmp.path().join("rules"), "");
    let out = tmp.path().join("out");
    let o = out.display().to_string();
    curate_ok(&["run", &fixture("semantic"), "--rules", &r, "--out", &o, "-q", "-j", "2"]);
    let got = drops(&out);
    // Toolformer lines 811, 1201, 1463, 1603, 3579, 3586, 3861, 5612, 6206, 6435.
    let want = [
        ("toolformer.jsonl:4", "toolformer.jsonl:1"),  // rain in London tomorrow
        ("toolformer.jsonl:6", "toolformer.jsonl:3"),  // weather in New York City
        ("toolformer.jsonl:7", "toolformer.jsonl:2"),  // top news headlines
        ("toolformer.jsonl:8", "toolformer.jsonl:5"),  // top technology headlines
        ("toolformer.jsonl:10", "toolformer.jsonl:2"), // current news headlines
    ];
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (key, survivor) in want {
        let (rule, dup, sim) = &got[key];
        assert_eq!(rule, "dedup/semantic", "{key}");
        assert!(dup.ends_with(survivor), "{key}: {dup}");
        assert!((0.97..=1.0).contains(sim), "{key}: {sim}");
    }
    // Line 9 repeats line 7, which was itself dropped: it is not dropped for
    // a record that is gone, and the two glaive translations stay.
    assert!(!got.keys().any(|k| k.contains("glaive") || k.ends_with(":9")));
    let report = crate::harness::report(&out);
    let dedup = report["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == "dedup")
        .expect("dedup stage");
    assert_eq!(dedup["dropped_per_rule"]["dedup/semantic"], 5);
    assert!(dedup["counts"]["semantic_verified_pairs"].as_u64() >= Some(5));

    // The same shards on one thread.
    let one = tmp.path().join("one");
    curate_ok(&[
        "run",
        &fixture("semantic"),
        "--rules",
        &r,
        "--out",
        &one.display().to_string(),
        "-q",
        "-j",
        "1",
    ]);
    assert!(shard_files(&out, &["kept", "rejected"]) == shard_files(&one, &["kept", "rejected"]));

    // Across languages, at a lower bound: the Chinese versions go.
    let r2 = rules(&tmp.path().join("rules2"), "threshold = 0.92\ncross-language = true\n");
    let out2 = tmp.path().join("out2");
    curate_ok(&[
        "run",
        &fixture("semantic"),
        "--rules",
        &r2,
        "--out",
        &out2.display().to_string(),
        "-q",
    ]);
    let got2 = drops(&out2);
    for k in ["glaive_zh.jsonl:1", "glaive_zh.jsonl:2"] {
        let (rule, dup, _) = &got2[k];
        assert_eq!(rule, "dedup/semantic");
        assert!(dup.contains("glaive_en.jsonl"), "{k}: {dup}");
    }
}

#[test]
fn a_distributed_run_refuses_the_semantic_rule() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let r = rules(&tmp.path().join("rules"), "");
    let o = tmp.path().join("out").display().to_string();
    curate_ok(&[
        "plan",
        &fixture("semantic"),
        "--rules",
        &r,
        "--out",
        &o,
        "--world",
        "1",
        "-q",
    ]);
    let p = curate(&["process", &o, "--rank", "0"]);
    assert!(!p.status.success());
    let err = String::from_utf8_lossy(&p.stderr);
    assert!(err.contains("[semantic] runs in local runs only"), "{err}");
}

#[test]
fn without_model_files_the_run_says_how_to_get_them() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("rules");
    std::fs::create_dir_all(&dir).expect("rules folder");
    let base = base();
    let missing = tmp.path().join("none").display().to_string();
    std::fs::write(
        dir.join("dedup.toml"),
        format!("{base}\n[semantic]\nenabled = true\nmodel = \"{missing}\"\n"),
    )
    .expect("write");
    let o = curate(&[
        "run",
        &fixture("semantic"),
        "--rules",
        &dir.display().to_string(),
        "--out",
        &tmp.path().join("out").display().to_string(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("fetch_embedder.sh") && err.contains("[semantic]"), "{err}");
}
