//! Distributed runs: the step commands over a planned output folder give the
//! same shards as a local run, resume, and fail with a marker and a message.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::*;

fn all_shards(out: &Path) -> Vec<(String, Vec<u8>)> {
    shard_files(out, &["kept", "rejected", "malformed", "metrics", "dedup"])
}

fn steps(out: &str, world: usize) {
    for step in ["process", "pairs"] {
        for r in 0..world {
            curate_ok(&[step, out, "--rank", &r.to_string()]);
        }
    }
    curate_ok(&["decide", out, "--rank", "0"]);
    curate_ok(&["write", out, "--rank", "0"]);
}

#[test]
fn steps_give_the_shards_of_a_local_run() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // The inputs are copied under one folder, so that their record keys
    // (paths relative to the folder holding every input) and with them the
    // shards' bytes are the same on every machine.
    let input = tmp.path().join("in");
    let mut folders: Vec<PathBuf> = ["sample", "formats", "broken"]
        .iter()
        .map(|f| root().join("fixtures").join(f))
        .collect();
    if let Some(c) = corpora() {
        // Several shapes (Alpaca, Chinese, MOSS multi-turn, tool calls).
        for corpus in [
            "alpaca_chinese_carbonz0",
            "gpteacher",
            "moss_003_sft_sample",
            "glaive_toolcall_demo",
        ] {
            folders.push(c.join(corpus));
        }
    }
    let mut inputs = Vec::new();
    for from in &folders {
        let to = input.join(from.file_name().expect("a folder name"));
        copy_folder(from, &to);
        inputs.push(to.display().to_string());
    }
    let local = tmp.path().join("local");
    let l = local.to_str().expect("utf-8");
    let common = ["-q", "--shard-bytes", "300000"];
    let mut args: Vec<&str> = vec!["run"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend(["--out", l]);
    args.extend(common);
    curate_ok(&args);
    let a = all_shards(&local);
    assert!(a.len() >= 5, "several shards: {}", a.len());
    let report = |p: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p.join("report.json")).expect("report")).expect("json")
    };
    let ra = report(&local);
    for world in ["3", "5"] {
        let dist = tmp.path().join(format!("dist{world}"));
        let d = dist.to_str().expect("utf-8");
        let mut args: Vec<&str> = vec!["plan"];
        args.extend(inputs.iter().map(String::as_str));
        args.extend(["--out", d, "--world", world]);
        args.extend(common);
        curate_ok(&args);
        steps(d, world.parse().expect("number"));
        assert_accounting(&dist);
        let b = all_shards(&dist);
        assert_eq!(
            a.iter().map(|x| &x.0).collect::<Vec<_>>(),
            b.iter().map(|x| &x.0).collect::<Vec<_>>()
        );
        for (x, y) in a.iter().zip(&b) {
            assert!(x.1 == y.1, "{} differs between the local run and {world} tasks", x.0);
        }
        let rb = report(&dist);
        for key in ["totals", "files", "formats", "malformed_by_error", "duplicate_ids"] {
            assert_eq!(ra[key], rb[key], "report {key}");
        }
        assert!(dist.join("_SUCCESS").exists());
        // The tasks' data is gone, their markers stay.
        assert!(dist
            .join(format!(
                ".work/process/_DONE.{}",
                world.parse::<usize>().expect("n") - 1
            ))
            .exists());
        assert!(!dist.join(".work/process/rank-00000").exists());
    }
}

#[test]
fn steps_resume_refuse_to_start_early_and_mark_failures() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    for f in ["alpaca_en.jsonl", "alpaca_zh.jsonl", "sharegpt_identity.jsonl"] {
        std::fs::copy(root().join("fixtures/sample").join(f), data.join(f)).expect("copy fixture");
    }
    let out = tmp.path().join("out");
    let o = out.to_str().expect("utf-8");
    curate_ok(&["plan", data.to_str().expect("utf-8"), "--out", o, "--world", "2", "-q"]);

    // A step whose previous step is not complete fails and says why.
    let early = curate(&["pairs", o, "--rank", "0"]);
    assert_eq!(early.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&early.stderr).contains("needs step process"));
    assert!(out.join(".work/pairs/_FAILED.0").exists());

    // An input that changed since planning fails its task, with the file named.
    let owned_by_last = data.join("sharegpt_identity.jsonl");
    let text = std::fs::read_to_string(&owned_by_last).expect("read");
    std::fs::write(&owned_by_last, format!("{text}{text}")).expect("write");
    let failed = curate(&["process", o, "--rank", "1"]);
    assert_eq!(failed.status.code(), Some(1));
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(
        err.contains("sharegpt_identity.jsonl") && err.contains("planned"),
        "{err}"
    );
    let marker = std::fs::read_to_string(out.join(".work/process/_FAILED.1")).expect("failure marker");
    assert!(marker.contains("sharegpt_identity.jsonl"));
    std::fs::write(&owned_by_last, text).expect("restore");

    // Ranks come from the Slurm environment; a done task is not redone.
    for r in ["0", "1"] {
        let ok = Command::new(env!("CARGO_BIN_EXE_curate"))
            .args(["process", o])
            .env("SLURM_ARRAY_TASK_ID", r)
            .output()
            .expect("runs");
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    }
    assert!(!out.join(".work/process/_FAILED.1").exists());
    let before = std::fs::read(out.join(".work/process/_DONE.0")).expect("marker");
    let again = curate_ok(&["process", o, "--rank", "0"]);
    assert!(again.contains("already done"));
    assert_eq!(
        std::fs::read(out.join(".work/process/_DONE.0")).expect("marker"),
        before
    );
    for r in ["0", "1"] {
        curate_ok(&["pairs", o, "--rank", r]);
    }
    curate_ok(&["decide", o]);
    let rank_too_big = curate(&["write", o, "--rank", "1"]);
    assert_eq!(rank_too_big.status.code(), Some(2));
    curate_ok(&["write", o, "--rank", "0"]);
    assert_accounting(&out);
    assert!(out.join("_SUCCESS").exists());
}

#[test]
fn a_large_file_is_cut_into_ranges_of_lines_with_the_same_result() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // One plain JSON Lines file from the fixtures, with blank and bad lines.
    let mut text = String::new();
    for f in ["alpaca_en.jsonl", "alpaca_zh.jsonl", "glaive_toolcall_en.jsonl"] {
        text.push_str(&std::fs::read_to_string(root().join("fixtures/sample").join(f)).expect("fixture"));
        text.push_str("\n\nnot json\n");
    }
    let big = tmp.path().join("big.jsonl");
    std::fs::write(&big, &text).expect("write");
    let b = big.to_str().expect("utf-8");
    let local = tmp.path().join("local");
    let dist = tmp.path().join("dist");
    let (l, d) = (local.to_str().expect("utf-8"), dist.to_str().expect("utf-8"));
    curate_ok(&["run", b, "--out", l, "-q"]);
    curate_ok(&["plan", b, "--out", d, "--world", "3", "-q", "--split-bytes", "20000"]);
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dist.join("plan.json")).expect("plan")).expect("json");
    let pieces = plan["pieces"].as_array().expect("pieces");
    assert!(pieces.len() >= 6, "the file is cut: {} pieces", pieces.len());
    assert!(pieces.iter().all(|p| p["range"]["first_line"].as_u64().is_some()));
    steps(d, 3);
    let report = assert_accounting(&dist);
    assert_eq!(report["totals"]["malformed"], 3);
    let (a, b) = (all_shards(&local), all_shards(&dist));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!(x.1 == y.1, "{} differs between the local and the distributed run", x.0);
    }
}

#[test]
fn best_metric_survivors_are_the_same_in_a_distributed_run() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let rules = tmp.path().join("rules");
    let r = rules.to_str().expect("utf-8");
    curate_ok(&["init-rules", r]);
    identity_off(&rules);
    let path = rules.join("dedup.toml");
    let text = std::fs::read_to_string(&path).expect("dedup.toml");
    let policy =
        "survivor = \"best-metric\"\nsurvivor-metric = \"quality/gopher-word-count\"\nsurvivor-prefer = \"min\"";
    std::fs::write(&path, text.replace("survivor = \"first\"", policy)).expect("write");
    let input = fixture("sample");
    let (first, local, dist) = (
        tmp.path().join("first"),
        tmp.path().join("local"),
        tmp.path().join("dist"),
    );
    let (f, l, d) = (
        first.to_str().expect("utf-8"),
        local.to_str().expect("utf-8"),
        dist.to_str().expect("utf-8"),
    );
    curate_ok(&["run", &input, "--out", f, "-q"]);
    curate_ok(&["run", &input, "--out", l, "-q", "--rules", r]);
    curate_ok(&["plan", &input, "--out", d, "--world", "3", "-q", "--rules", r]);
    steps(d, 3);
    assert_accounting(&dist);
    let (a, b) = (all_shards(&local), all_shards(&dist));
    assert_eq!(
        a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        b.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    for (x, y) in a.iter().zip(&b) {
        assert!(x.1 == y.1, "{} differs between the local and the distributed run", x.0);
    }
    // The policy chose other survivors than input order does.
    assert_ne!(strings(&first.join("kept"), "id"), strings(&local.join("kept"), "id"));
}
