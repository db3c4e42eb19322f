//! `curate run --checkpoint`: a run killed at any point and started again
//! with the same command ends with the shards of an uninterrupted run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::*;

/// The fixtures (bad lines and compressed files included) and, when this
/// machine has them, two real corpora (tool calls, MOSS multi-turn in
/// Chinese and English), copied under one folder so that record keys are the
/// same on every machine.
fn inputs(tmp: &Path) -> Vec<String> {
    let mut folders: Vec<PathBuf> = ["sample", "formats", "broken"]
        .iter()
        .map(|f| root().join("fixtures").join(f))
        .collect();
    if let Some(c) = corpora() {
        folders.push(c.join("glaive_toolcall_demo"));
        folders.push(c.join("moss_003_sft_sample"));
    }
    folders
        .iter()
        .map(|from| {
            let to = tmp.join("in").join(from.file_name().expect("a folder name"));
            copy_folder(from, &to);
            to.display().to_string()
        })
        .collect()
}

fn args<'a>(inputs: &'a [String], out: &'a str, task_bytes: &'a str) -> Vec<&'a str> {
    let mut a = vec!["run"];
    a.extend(inputs.iter().map(String::as_str));
    a.extend(["--out", out, "-q", "--checkpoint", "--task-bytes", task_bytes]);
    a
}

fn all_shards(out: &Path) -> Vec<(String, Vec<u8>)> {
    shard_files(out, &["kept", "rejected", "malformed", "metrics", "dedup"])
}

#[test]
fn a_killed_run_resumes_to_the_shards_of_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let inputs = inputs(tmp.path());
    // A plain run, and a checkpointed one that is not stopped: the same shards.
    let plain = tmp.path().join("plain");
    let mut a: Vec<&str> = vec!["run"];
    a.extend(inputs.iter().map(String::as_str));
    a.extend(["--out", plain.to_str().expect("utf-8"), "-q"]);
    curate_ok(&a);
    let want = all_shards(&plain);
    assert!(want.len() >= 5, "several tables: {}", want.len());
    let whole = tmp.path().join("whole");
    let started = Instant::now();
    curate_ok(&args(&inputs, whole.to_str().expect("utf-8"), "600000"));
    let took = started.elapsed();
    assert_eq!(
        all_shards(&whole),
        want,
        "a checkpointed run writes the shards of a plain run"
    );
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("plan.json")).expect("plan")).expect("json");
    assert!(plan["steps"][0]["world"].as_u64().expect("world") >= 3, "several tasks");

    // Ten kills (SIGKILL) spread over the run's duration, each at a point
    // moved by a fixed pseudo-random jitter; then the same command again.
    let mut seed: u64 = 20261205;
    for k in 0..10u32 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let jitter = (seed >> 33) as f64 / (1u64 << 31) as f64;
        let at = took.mul_f64((f64::from(k) + jitter) / 10.0);
        let out = tmp.path().join(format!("killed{k}"));
        let o = out.to_str().expect("utf-8");
        let mut child = Command::new(env!("CARGO_BIN_EXE_curate"))
            .args(args(&inputs, o, "600000"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start curate");
        std::thread::sleep(at);
        // Under load the run may be done before its kill: the same command
        // then has nothing left to do.
        let _ = child.kill();
        let _ = child.wait();
        let done_before = std::fs::read_dir(out.join(".work/process"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("_DONE"))
                    .count()
            })
            .unwrap_or(0);
        curate_ok(&args(&inputs, o, "600000"));
        assert_accounting(&out);
        assert!(out.join("_SUCCESS").exists());
        let got = all_shards(&out);
        assert_eq!(
            got.iter().map(|x| &x.0).collect::<Vec<_>>(),
            want.iter().map(|x| &x.0).collect::<Vec<_>>(),
            "kill {k} at {at:?}"
        );
        for (x, y) in got.iter().zip(&want) {
            assert!(
                x.1 == y.1,
                "{} differs after a kill at {at:?} ({done_before} process tasks done)",
                x.0
            );
        }
    }
}

#[test]
fn an_unfinished_run_of_another_command_is_refused() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    copy_folder(&root().join("fixtures/sample"), &data);
    let d = data.to_str().expect("utf-8").to_string();
    let out = tmp.path().join("out");
    let o = out.to_str().expect("utf-8");
    let inputs = vec![d];
    // Killed once its first task is done.
    let mut child = Command::new(env!("CARGO_BIN_EXE_curate"))
        .args(args(&inputs, o, "50000"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start curate");
    let first = out.join(".work/process/_DONE.0");
    let waited = Instant::now();
    while !first.exists() && waited.elapsed() < Duration::from_secs(60) {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !out.join("_SUCCESS").exists(),
        "killed after its first of several tasks"
    );
    let mut other = args(&inputs, o, "50000");
    other.extend(["--stages", "quality"]);
    let refused = curate(&other);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("unfinished run of other settings") && err.contains("--overwrite"),
        "{err}"
    );
    // The same command finishes it, and again has nothing left to do;
    // --overwrite starts the other one.
    curate_ok(&args(&inputs, o, "50000"));
    assert!(out.join("_SUCCESS").exists());
    let once = shard_files(&out, &["kept", "rejected"]);
    curate_ok(&args(&inputs, o, "50000"));
    assert_eq!(shard_files(&out, &["kept", "rejected"]), once);
    assert!(
        !out.join(".work/process/rank-00000").exists(),
        "the tasks' data is removed"
    );
    let refused = curate(&other);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("holds an earlier run"));
    other.push("--overwrite");
    curate_ok(&other);
    let report = assert_accounting(&out);
    assert_eq!(report["stages_run"], serde_json::json!(["quality"]));
}
