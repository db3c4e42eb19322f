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
