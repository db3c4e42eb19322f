//! `curate select` on a run over the sample (`fixtures/sample/`, cut from
//! the shared corpora): the budget is met, every group (language × task) is
//! represented, no two chosen records are as similar as the bound, every
//! kept record's choice is explained, the selection covers more languages
//! and scores higher than random samples, and the output does not depend on
//! the thread count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{curate_ok, fixture, floats, rows, strings};

/// (key, group, status, similarity) of every row of `selection.parquet`.
fn selection(dir: &Path) -> Vec<(String, String, String, Option<f64>)> {
    let file = dir.join("selection.parquet");
    let (keys, groups, status) = (strings(&file, "key"), strings(&file, "group"), strings(&file, "status"));
    let sims = floats(&file, "similarity");
    (0..keys.len())
        .map(|i| (keys[i].clone(), groups[i].clone(), status[i].clone(), sims[i]))
        .collect()
}

/// A default run over the sample, in a fresh temporary folder: (the folder, the run).
fn sample_run() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let run = tmp.path().join("run");
    curate_ok(&["run", &fixture("sample"), "--out", &run.display().to_string(), "-q"]);
    (tmp, run)
}

/// `mix.toml` with `contents` in `tmp`.
fn write_mix(tmp: &tempfile::TempDir, contents: &str) -> PathBuf {
    let mix = tmp.path().join("mix.toml");
    std::fs::write(&mix, contents).expect("writes");
    mix
}

fn select(run: &Path, out: &Path, extra: &[&str], threads: &str) -> String {
    let model = crate::embed::model_dir().expect("model files");
    let o = Command::new(env!("CARGO_BIN_EXE_curate"))
        .args([
            "select",
            &run.display().to_string(),
            "--out",
            &out.display().to_string(),
        ])
        .args(["--model", &model.display().to_string()])
        .args(extra)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .expect("curate runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_selection_meets_its_budget_covers_every_group_and_explains_every_record() {
    let (tmp, run) = sample_run();
    let kept = rows(&run.join("kept"));
    let sel = tmp.path().join("sel");
    let printed = select(&run, &sel, &["--budget", "60"], "2");
    assert!(printed.contains("selected 60 of"), "{printed}");

    assert_eq!(rows(&sel.join("selected")), 60);
    let table = selection(&sel);
    assert_eq!(table.len(), kept, "one row per kept record");
    let chosen: BTreeSet<&str> = table
        .iter()
        .filter(|r| r.2 == "selected")
        .map(|r| r.0.as_str())
        .collect();
    let written: BTreeSet<String> = strings(&sel.join("selected"), "key").into_iter().collect();
    assert_eq!(chosen.len(), 60);
    assert!(written.iter().all(|k| chosen.contains(k.as_str())));
    for (key, _, status, sim) in &table {
        match status.as_str() {
            "selected" => assert!(sim.is_none_or(|s| s < 0.9), "{key}: {sim:?}"),
            "similar" => assert!(sim.is_some_and(|s| s >= 0.9), "{key}: {sim:?}"),
            "not-reached" => {}
            s => panic!("{key}: status {s}"),
        }
    }
    // Every group of the kept records has a chosen record (60 > groups).
    let groups: BTreeSet<&str> = table.iter().map(|r| r.1.as_str()).collect();
    let covered: BTreeSet<&str> = table
        .iter()
        .filter(|r| r.2 == "selected")
        .map(|r| r.1.as_str())
        .collect();
    assert!(groups.len() < 60, "{groups:?}");
    assert_eq!(groups, covered);

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sel.join("select.json")).expect("reads")).expect("reads");
    let (s, r) = (&report["selected"], &report["random_mean"]);
    assert!(s["languages"].as_f64() >= r["languages"].as_f64(), "{report}");
    assert!(s["tasks"].as_f64() >= r["tasks"].as_f64(), "{report}");
    assert!(s["mean_score"].as_f64() > r["mean_score"].as_f64(), "{report}");
    assert_eq!(report["random"].as_array().map(Vec::len), Some(10));

    // The same choice on one thread, byte for byte.
    let one = tmp.path().join("one");
    select(&run, &one, &["--budget", "60"], "1");
    for f in ["selection.parquet", "select.json"] {
        assert!(
            std::fs::read(sel.join(f)).expect("reads") == std::fs::read(one.join(f)).expect("reads"),
            "{f}"
        );
    }
    assert_eq!(
        strings(&sel.join("selected"), "key"),
        strings(&one.join("selected"), "key")
    );

    // A tighter bound passes more records over and holds between every two
    // chosen records (each was compared with all chosen before it).
    let tight = tmp.path().join("tight");
    select(&run, &tight, &["--budget", "60", "--max-similarity", "0.5"], "2");
    let t = selection(&tight);
    let passed = |t: &[(String, String, String, Option<f64>)]| t.iter().filter(|r| r.2 == "similar").count();
    assert!(passed(&t) > passed(&table), "{} vs {}", passed(&t), passed(&table));
    assert!(t
        .iter()
        .filter(|r| r.2 == "selected")
        .all(|r| r.3.is_none_or(|s| s < 0.5)));
    let mut per_group: BTreeMap<&str, usize> = BTreeMap::new();
    for r in t.iter().filter(|r| r.2 == "selected") {
        *per_group.entry(r.1.as_str()).or_default() += 1;
    }
    assert_eq!(per_group.values().sum::<usize>(), rows(&tight.join("selected")));
}

#[test]
fn select_without_model_files_says_how_to_get_them() {
    let (tmp, run) = sample_run();
    let o = crate::harness::curate(&[
        "select",
        &run.display().to_string(),
        "--out",
        &tmp.path().join("sel").display().to_string(),
        "--model",
        &tmp.path().join("nothing").display().to_string(),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("fetch_embedder.sh"), "{err}");
}

/// `--mix`: each target of a `mix.toml` gets its share of the budget, a
/// target with too few records falls short without its count going
/// elsewhere, and `others = "drop"` chooses nothing outside the targets;
/// every row names its quota.
#[test]
fn quotas_from_a_mix_file_bound_each_target() {
    let (tmp, run) = sample_run();
    let mix = write_mix(
        &tmp,
        "by = \"task\"\nothers = \"drop\"\n[targets]\nmath = 0.25\nsummarization = 0.25\n",
    );
    let sel = tmp.path().join("sel");
    let printed = select(
        &run,
        &sel,
        &["--budget", "40", "--mix", &mix.display().to_string()],
        "2",
    );
    assert!(printed.contains("quotas (--mix)"), "{printed}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sel.join("select.json")).expect("reads")).expect("reads");
    let quotas = report["quotas"].as_array().expect("quotas");
    let q = |name: &str| quotas.iter().find(|q| q["name"] == name).expect(name).clone();
    let (math, summ, others) = (q("math"), q("summarization"), q("others"));
    assert_eq!(
        (math["quota"].as_u64(), math["selected"].as_u64()),
        (Some(10), Some(10)),
        "{report}"
    );
    // Fewer summarization records than its 10: all it has that are not
    // too similar, and no more.
    assert_eq!(summ["quota"].as_u64(), Some(10));
    let (avail, got) = (
        summ["available"].as_u64().expect("n"),
        summ["selected"].as_u64().expect("n"),
    );
    assert!(avail < 10 && got <= avail && got > 0, "{report}");
    assert_eq!(
        (others["quota"].as_u64(), others["selected"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(others["available"].as_u64() > Some(0));
    let file = sel.join("selection.parquet");
    let (status, quota) = (strings(&file, "status"), strings(&file, "quota"));
    let chosen: Vec<&str> = (0..status.len())
        .filter(|&i| status[i] == "selected")
        .map(|i| quota[i].as_str())
        .collect();
    assert_eq!(chosen.len() as u64, 10 + got);
    assert!(
        chosen.iter().all(|q| *q == "math" || *q == "summarization"),
        "{chosen:?}"
    );
    assert_eq!(rows(&sel.join("selected")), chosen.len());
    // Every row explains its score by its parts.
    let (score, quality) = (floats(&file, "score"), floats(&file, "quality"));
    let as_f64 = |name: &str| -> Vec<f64> {
        crate::harness::read_dir_batches(&file)
            .iter()
            .flat_map(|b| {
                let c = arrow::compute::cast(
                    b.column_by_name(name).expect(name),
                    &arrow::datatypes::DataType::Float64,
                )
                .expect("casts");
                let f = c
                    .as_any()
                    .downcast_ref::<arrow::array::Float64Array>()
                    .expect("f64")
                    .clone();
                f.values().to_vec()
            })
            .collect()
    };
    let (chars, complexity) = (as_f64("answer_chars"), as_f64("complexity"));
    for i in 0..score.len() {
        let want = quality[i].expect("quality") * (1.0 + chars[i]).ln() * (1.0 + complexity[i].max(1.0).ln());
        assert!((score[i].expect("score") - want).abs() < 1e-9, "row {i}");
    }
}

/// A `--mix` file with a bad share or an unknown task stops before anything
/// is chosen, naming the file, the line and the key.
#[test]
fn a_bad_mix_file_names_its_line_and_key() {
    let (tmp, run) = sample_run();
    let mix = write_mix(&tmp, "by = \"task\"\n[targets]\ncoding = 1.5\nbogus = 0.1\n");
    let sel = tmp.path().join("sel");
    let o = crate::harness::curate(&[
        "select",
        &run.display().to_string(),
        "--out",
        &sel.display().to_string(),
        "--mix",
        &mix.display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let file = mix.display().to_string();
    assert!(err.contains(&format!("{file}:3: key `targets.coding`")), "{err}");
    assert!(err.contains(&format!("{file}:4: key `targets.bogus`")), "{err}");
    assert!(!sel.join("selected").exists());
}
