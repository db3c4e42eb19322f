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
