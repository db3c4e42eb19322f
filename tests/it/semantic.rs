//! `dedup/semantic` on `fixtures/semantic/` (GPTeacher Toolformer records,
//! MIT, and LLaMA-Factory's glaive tool-call demos in English and Chinese,
//! Apache-2.0; pairs of `fixtures/judged_semantic_pairs/` labelled by
//! reading): the reworded duplicates are dropped for the record they repeat,
//! chains are not followed, translations stay unless `cross-language` is on,
//! the output does not depend on the thread count, and a distributed run
//! drops what a local run drops.

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
        ("toolformer.jsonl:8", "toolformer.jsonl:5"),  // top technology headlines
        ("toolformer.jsonl:10", "toolformer.jsonl:2"), // current news headlines
    ];
    assert_eq!(got.len(), want.len() + 1, "{got:#?}");
    for (key, survivor) in want {
        let (rule, dup, sim) = &got[key];
        assert_eq!(rule, "dedup/semantic", "{key}");
        assert!(dup.ends_with(survivor), "{key}: {dup}");
        assert!((0.97..=1.0).contains(sim), "{key}: {sim}");
    }
    // Line 9 repeats line 7 with the same tool call: a near-duplicate. Line
    // 7, which line 9 was dropped for, stays though it is close in meaning
    // to line 2 (top news headlines): every duplicate_of names a kept
    // record. The two glaive translations stay.
    let (rule, dup, _) = &got["toolformer.jsonl:9"];
    assert_eq!(
        (rule.as_str(), dup.ends_with("toolformer.jsonl:7")),
        ("dedup/near", true)
    );
    assert!(!got.keys().any(|k| k.contains("glaive") || k.ends_with(":7")));
    let kept: std::collections::BTreeSet<String> = strings(&out.join("kept"), "key").into_iter().collect();
    for (key, (_, dup, _)) in &got {
        assert!(kept.contains(dup), "{key} names {dup}, which is not kept");
    }
    let report = crate::harness::report(&out);
    let dedup = report["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == "dedup")
        .expect("dedup stage");
    assert_eq!(dedup["dropped_per_rule"]["dedup/semantic"], 4);
    assert!(dedup["counts"]["semantic_verified_pairs"].as_u64() >= Some(4));

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
fn a_distributed_run_drops_what_a_local_run_drops() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let r = rules(&tmp.path().join("rules"), "");
    // Copied under one folder, so that record keys are the same on every machine.
    let input = tmp.path().join("in").join("semantic");
    crate::harness::copy_folder(&crate::harness::root().join("fixtures/semantic"), &input);
    let i = input.display().to_string();
    let local = tmp.path().join("local");
    let l = local.display().to_string();
    curate_ok(&["run", &i, "--rules", &r, "--out", &l, "-q"]);
    assert!(!drops(&local).is_empty());
    // Three tasks over ranges of lines, so that duplicates and the records
    // they repeat land in different tasks.
    let dist = tmp.path().join("dist");
    let d = dist.display().to_string();
    curate_ok(&[
        "plan",
        &i,
        "--rules",
        &r,
        "--out",
        &d,
        "--world",
        "3",
        "--split-bytes",
        "1500",
        "-q",
    ]);
    for step in ["process", "pairs"] {
        for rank in ["0", "1", "2"] {
            curate_ok(&[step, &d, "--rank", rank]);
        }
    }
    curate_ok(&["decide", &d, "--rank", "0"]);
    curate_ok(&["write", &d, "--rank", "0"]);
    crate::harness::assert_accounting(&dist);
    let subs = ["kept", "rejected", "metrics", "dedup"];
    let (a, b) = (shard_files(&local, &subs), shard_files(&dist, &subs));
    assert_eq!(
        a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        b.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    for (x, y) in a.iter().zip(&b) {
        assert!(x.1 == y.1, "{} differs between the local and the distributed run", x.0);
    }
    let counts = |p: &Path| {
        let rep = crate::harness::report(p);
        let stage = rep["stages"]
            .as_array()
            .expect("stages")
            .iter()
            .find(|s| s["name"] == "dedup")
            .expect("the dedup stage")
            .clone();
        stage["counts"].clone()
    };
    let (ca, cb) = (counts(&local), counts(&dist));
    assert!(ca["semantic_verified_pairs"].as_u64() > Some(0), "{ca}");
    for k in [
        "semantic_candidate_pairs",
        "semantic_verified_pairs",
        "candidate_pairs",
        "verified_pairs",
    ] {
        assert_eq!(ca[k], cb[k], "{k}");
    }
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
