//! The run's invariants: determinism across threads and input order, no
//! silent overwrite, exit codes, and the accounting identity on random input.

use std::path::Path;

use proptest::prelude::*;

use crate::harness::*;

fn shard_bytes(out: &Path) -> Vec<(String, Vec<u8>)> {
    shard_files(out, &["kept", "rejected", "malformed"])
}

#[test]
fn same_output_for_any_thread_count_and_input_order() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut inputs = vec![fixture("sample"), fixture("formats"), fixture("broken")];
    if let Some(c) = corpora() {
        inputs.push(c.join("alpaca_chinese_carbonz0").display().to_string());
        inputs.push(c.join("gpteacher").display().to_string());
    }
    let run = |name: &str, threads: &str, batch: &str, inputs: &[String]| {
        let out = tmp.path().join(name);
        let mut args: Vec<&str> = vec!["run"];
        args.extend(inputs.iter().map(String::as_str));
        args.extend([
            "--out",
            out.to_str().expect("utf-8"),
            "-q",
            "--threads",
            threads,
            "--batch-records",
            batch,
        ]);
        curate_ok(&args);
        assert_accounting(&out);
        out
    };
    let a = run("a", "1", "4096", &inputs);
    let b = run("b", "2", "37", &inputs);
    inputs.reverse();
    let c = run("c", "3", "1000", &inputs);
    let (sa, sb, sc) = (shard_bytes(&a), shard_bytes(&b), shard_bytes(&c));
    assert!(!sa.is_empty());
    assert!(sa == sb, "1 thread vs 2 threads differ");
    assert!(sa == sc, "input order changes the output");
}

#[test]
fn an_earlier_run_is_never_silently_overwritten() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let o = out.to_str().expect("utf-8");
    curate_ok(&["run", &fixture("formats"), "--out", o, "-q"]);
    let again = curate(&["run", &fixture("formats"), "--out", o, "-q"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("holds an earlier run; pass --overwrite"));
    std::fs::write(out.join("notes.txt"), "mine").expect("write");
    curate_ok(&["run", &fixture("sample"), "--out", o, "-q", "--overwrite"]);
    assert!(
        out.join("notes.txt").exists(),
        "--overwrite only replaces the run's own files"
    );
    assert_accounting(&out);
}

#[test]
fn usage_errors_exit_with_2() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let o = curate(&["run", "/no/such/input.jsonl", "--out", out.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/no/such/input.jsonl: no such file or folder"));
    let o = curate(&[
        "run",
        &fixture("formats"),
        "--out",
        out.to_str().expect("utf-8"),
        "--stages",
        "nonsense",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown stage `nonsense`"));
    assert_eq!(curate(&["run"]).status.code(), Some(2));
}

fn line_strategy() -> impl Strategy<Value = String> {
    let text = "[a-zA-Z0-9 ,.?!\u{4e00}-\u{4e20}]{0,40}";
    prop_oneof![
        4 => (text, text, text).prop_map(|(i, n, o)| serde_json::json!({"instruction": i, "input": n, "output": o}).to_string()),
        1 => (text, text).prop_map(|(u, a)| serde_json::json!({"conversations": [{"from": "human", "value": u}, {"from": "gpt", "value": a}]}).to_string()),
        1 => "[{}\\[\\]a-z\":,]{1,20}",
        1 => Just(String::new()),
        1 => Just(r#"{"instruction": 1}"#.to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    /// Whatever the lines, every non-blank one is kept, rejected or malformed,
    /// in total and per stage, and the shards hold exactly the counted rows.
    #[test]
    fn accounting_holds_on_random_lines(lines in proptest::collection::vec(line_strategy(), 0..60)) {
        let tmp = tempfile::tempdir().expect("temp dir");
        let input = tmp.path().join("in.jsonl");
        std::fs::write(&input, lines.join("\n")).expect("write");
        let out = tmp.path().join("out");
        curate_ok(&["run", input.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8"), "-q"]);
        let r = assert_accounting(&out);
        let records = lines.iter().filter(|l| !l.trim().is_empty()).count() as u64;
        let expected = if records == 0 { 1 } else { records }; // an all-blank file is one "empty file" item
        prop_assert_eq!(r["totals"]["input"].as_u64(), Some(expected));
    }
}
