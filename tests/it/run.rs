//! `curate run` end to end.

use crate::harness::*;

#[test]
fn all_shared_corpora_are_accounted_for() {
    let Some(corpora) = corpora() else {
        eprintln!("../shared/corpora not present; skipped");
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    curate_ok(&[
        "run",
        corpora.to_str().expect("utf-8 path"),
        "--out",
        out.to_str().expect("utf-8"),
        "-q",
    ]);
    let r = assert_accounting(&out);
    // Every file of the shared corpora maps to a known or declared shape.
    assert_eq!(r["totals"]["malformed"], 0, "malformed: {}", r["malformed_by_error"]);
    assert!(out.join("_SUCCESS").exists());
    // The personal-data findings over every corpus, each read once: no real
    // card, IBAN, secret or id is in them, and number-shaped text (decimals,
    // ratios, bit strings, IP addresses in code, dates) is no phone or IP.
    let sensitive = r["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == "sensitive")
        .expect("sensitive stage");
    let pii: std::collections::BTreeMap<String, u64> = sensitive["counts"]
        .as_object()
        .expect("counts")
        .iter()
        .filter(|(k, _)| k.starts_with("pii/"))
        .map(|(k, v)| (k.clone(), v.as_u64().expect("count")))
        .collect();
    let want: std::collections::BTreeMap<String, u64> = [
        ("pii/email/example", 211),
        ("pii/email/redact", 10),
        ("pii/email/task", 12),
        ("pii/ip/example", 32),
        ("pii/ip/task", 6),
        ("pii/phone/example", 25),
        ("pii/phone/redact", 3),
        ("pii/phone/task", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(pii, want);
}

/// `--compression snappy` writes Snappy shards holding the same rows as the
/// default (Zstandard), and `apply` keeps the run's codec.
#[test]
fn compression_changes_the_codec_not_the_rows() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let sample = fixture("sample");
    let mut seen = Vec::new();
    for codec in ["zstd", "snappy"] {
        let out = tmp.path().join(codec);
        curate_ok(&[
            "run",
            &sample,
            "--out",
            out.to_str().expect("utf-8"),
            "--compression",
            codec,
            "-q",
        ]);
        assert_accounting(&out);
        // `apply` writes its shards with the codec of the run it applies to.
        let applied = tmp.path().join(format!("{codec}-applied"));
        curate_ok(&[
            "apply",
            out.to_str().expect("utf-8"),
            "--rules",
            out.join("rules").to_str().expect("utf-8"),
            "--out",
            applied.to_str().expect("utf-8"),
        ]);
        for (dir, sub) in ["kept", "rejected", "metrics"]
            .iter()
            .flat_map(|s| [(&out, *s), (&applied, *s)])
        {
            let f = std::fs::File::open(dir.join(sub).join("part-00000.parquet")).expect("shard");
            let meta = parquet::file::reader::SerializedFileReader::new(f).expect("parquet");
            let c = parquet::file::reader::FileReader::metadata(&meta)
                .row_group(0)
                .column(0)
                .compression();
            let want = if codec == "zstd" { "ZSTD" } else { "SNAPPY" };
            assert!(format!("{c:?}").starts_with(want), "{}/{sub}: {c:?}", dir.display());
        }
        seen.push((strings(&out.join("kept"), "id"), strings(&out.join("rejected"), "id")));
    }
    assert_eq!(seen[0], seen[1]);
    assert!(!seen[0].0.is_empty() && !seen[0].1.is_empty());
}

/// An output folder inside the input folder is never read back as input,
/// with or without --overwrite.
#[test]
fn an_output_folder_inside_the_input_folder_is_not_input() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::copy(
        root().join("fixtures/sample/alpaca_en.jsonl"),
        data.join("alpaca_en.jsonl"),
    )
    .expect("copy");
    let out = data.join("out");
    let (d, o) = (data.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
    curate_ok(&["run", d, "--out", o, "-q"]);
    let first = assert_accounting(&out);
    assert_eq!(first["totals"]["input"], 120);
    curate_ok(&["run", d, "--out", o, "-q", "--overwrite"]);
    let second = assert_accounting(&out);
    assert_eq!(second["totals"], first["totals"]);
    assert_eq!(second["totals"]["malformed"], 0);
}

/// A second run on a folder another live run holds fails at once; a
/// symbolic link left in the folder is removed by --overwrite, never written
/// through.
#[test]
fn one_writer_per_output_folder_and_no_write_through_links() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let o = out.to_str().expect("utf-8");
    let input = fixture("sample/alpaca_en.jsonl");
    std::fs::create_dir(&out).expect("mkdir");
    // This test's own process is alive on this host.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    std::fs::write(out.join(".lock"), format!("{} {}\n", std::process::id(), host.trim())).expect("lock");
    let busy = curate(&["run", &input, "--out", o, "-q"]);
    assert_eq!(busy.status.code(), Some(2));
    let err = String::from_utf8_lossy(&busy.stderr);
    assert!(
        err.contains("another curate run") && err.contains(&std::process::id().to_string()),
        "{err}"
    );
    // Planning a distributed run takes the same lock.
    let busy = curate(&["plan", &input, "--out", o, "--world", "2", "-q"]);
    assert_eq!(busy.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&busy.stderr).contains("another curate run"));
    // A lock whose process is gone is taken over.
    std::fs::write(out.join(".lock"), format!("4194303999 {}\n", host.trim())).expect("lock");
    curate_ok(&["run", &input, "--out", o, "-q", "--overwrite"]);
    assert!(!out.join(".lock").exists());
    // A dangling link where report.html goes.
    let target = tmp.path().join("elsewhere.html");
    std::fs::remove_file(out.join("report.html")).expect("rm");
    std::os::unix::fs::symlink(&target, out.join("report.html")).expect("symlink");
    curate_ok(&["run", &input, "--out", o, "-q", "--overwrite"]);
    assert!(!target.exists(), "the report was written through the link");
    let meta = std::fs::symlink_metadata(out.join("report.html")).expect("report");
    assert!(meta.is_file());
}

/// Shards left by a run that did not finish are named as such.
#[test]
fn a_folder_of_an_unfinished_run_is_called_incomplete() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    std::fs::create_dir_all(out.join("kept")).expect("mkdir");
    std::fs::write(out.join("kept/part-00000.parquet"), b"PAR1").expect("write");
    let r = curate(&["run", &fixture("sample"), "--out", out.to_str().expect("utf-8"), "-q"]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("incomplete run") && err.contains("--overwrite"), "{err}");
}

/// `kept` and `rejected` share one schema (the decision columns null in
/// `kept`, `stripped_lines` null in `rejected`), so that they load as two
/// splits of one dataset.
#[test]
fn kept_and_rejected_share_one_schema() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    curate_ok(&["run", &fixture("sample"), "--out", out.to_str().expect("utf-8"), "-q"]);
    let kept = read_dir_batches(&out.join("kept"));
    let rejected = read_dir_batches(&out.join("rejected"));
    assert_eq!(kept[0].schema(), rejected[0].schema());
    let nulls = |b: &arrow::array::RecordBatch, col: &str| b.column_by_name(col).expect(col).null_count();
    for b in &kept {
        for col in ["stage", "rule", "reason", "failed_rules"] {
            assert_eq!(nulls(b, col), b.num_rows(), "kept.{col}");
        }
    }
    for b in &rejected {
        assert_eq!(nulls(b, "rule"), 0);
        assert_eq!(nulls(b, "stripped_lines"), b.num_rows());
    }
}

/// SIGTERM (as SIGINT) stops a run between batches: exit 130, one line
/// saying so, no staging and no partial table left under OUT; the same
/// command then runs to the end.
#[test]
fn a_signal_stops_a_run_cleanly() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let input = tmp.path().join("in.jsonl");
    let text: String = (0..200_000)
        .map(|i| {
            serde_json::json!({"instruction": format!("Add {i} and {}.", i + 1), "input": "", "output": format!("{i} plus {} is {}.", i + 1, 2 * i + 1)})
                .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(&input, text).expect("write input");
    let out = tmp.path().join("out");
    let args = [
        "run",
        input.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "-q",
        "-j",
        "1",
    ];
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_curate"))
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("curate starts");
    // Signal once the run has started writing.
    let started = std::time::Instant::now();
    while !out.join(".staging").exists() && started.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let o = child.wait_with_output().expect("curate ends");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(130),
        "the run ended before the signal reached it? {err}"
    );
    assert!(
        err.contains("stopped by a signal") && err.contains("no partial output"),
        "{err}"
    );
    for entry in [
        "kept",
        "rejected",
        "malformed",
        "metrics",
        ".staging",
        "report.json",
        "_SUCCESS",
    ] {
        assert!(!out.join(entry).exists(), "{entry} left behind");
    }
    curate_ok(&args);
    assert_accounting(&out);
}
