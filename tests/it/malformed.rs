//! Bad input is data: each problem lands in `malformed/` with file, line and a
//! clear error, and the run goes on.

use crate::harness::*;

#[test]
fn broken_inputs_are_quarantined_with_file_line_and_error() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    curate_ok(&["run", &fixture("broken"), "--out", out.to_str().expect("utf-8"), "-q"]);
    let r = assert_accounting(&out);
    let files = strings(&out.join("malformed"), "source_file");
    let errors = strings(&out.join("malformed"), "error");
    let lines: Vec<u64> = read_dir_batches(&out.join("malformed"))
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name("source_line").expect("source_line");
            let c = c
                .as_any()
                .downcast_ref::<arrow::array::UInt64Array>()
                .expect("u64")
                .clone();
            c.values().to_vec()
        })
        .collect();
    let got: Vec<(String, u64, String)> = files
        .iter()
        .zip(&lines)
        .zip(&errors)
        .map(|((f, l), e)| (f.rsplit('/').next().unwrap_or(f).to_string(), *l, e.clone()))
        .collect();
    let expect: &[(&str, u64, &str)] = &[
        ("bad_lines.jsonl", 2, "invalid JSON at column 61"),
        ("bad_lines.jsonl", 4, "invalid UTF-8 at byte 20"),
        (
            "bad_lines.jsonl",
            5,
            "field `instruction` is a number, expected a string",
        ),
        (
            "bad_lines.jsonl",
            6,
            "unknown record shape (keys: question_text, reply)",
        ),
        ("bad_lines.jsonl", 7, "expected a JSON object, found an array"),
        ("bad_lines.jsonl", 8, "unknown role `wizard` in `conversations[1].from`"),
        (
            "bad_lines.jsonl",
            9,
            "field `conversations` is a string, expected an array",
        ),
        ("empty.jsonl", 0, "file is empty"),
        ("truncated.jsonl.gz", 3, "truncated or corrupt compressed file"),
        ("truncated.jsonl.zst", 1, "truncated or corrupt compressed file"),
        (
            "truncated_array.json",
            12,
            "JSON array ends inside an element starting at line 12",
        ),
    ];
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for ((f, l, e), (ef, el, ee)) in got.iter().zip(expect) {
        assert_eq!((f.as_str(), *l), (*ef, *el));
        assert!(e.contains(ee), "{f}:{l}: {e:?} should contain {ee:?}");
    }
    // The good records around the bad ones are still read (some are duplicates
    // of each other, so dedup may drop them).
    let read = r["totals"]["kept"].as_u64().expect("kept") + r["totals"]["rejected"].as_u64().expect("rejected");
    assert_eq!(read, 2 + 2 + 2);
    // The report counts each kind of problem, as the reader named it.
    let kinds = &r["malformed_by_error"];
    assert_eq!(kinds["malformed/empty-file"], 1, "{kinds}");
    assert_eq!(kinds["malformed/unreadable"], 3, "{kinds}");
    assert_eq!(kinds["malformed/invalid-json"], 1, "{kinds}");
    assert_eq!(kinds["malformed/invalid-utf8"], 1, "{kinds}");
    // The raw bytes are kept (lossy) for the audit.
    let raws = strings(&out.join("malformed"), "raw");
    assert!(raws[0].starts_with(r#"{"instruction": "Name a color""#));
}

#[test]
fn max_malformed_fails_the_run() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let o = curate(&[
        "run",
        &fixture("broken"),
        "--out",
        out.to_str().expect("utf-8"),
        "--max-malformed",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("more than 2 malformed records"), "{stderr}");
    assert!(!out.join("_SUCCESS").exists(), "a failed run leaves no success marker");
    // Nor its staging (records and dedup state, which can outgrow the output).
    assert!(out.is_dir(), "the run started writing");
    assert!(!out.join(".staging").exists(), "a failed run removes its staging");
}

#[test]
fn a_64_mb_record_is_processed_or_quarantined_by_the_size_limit() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let input = tmp.path().join("big.jsonl");
    let answer = "All work and no play makes Jack a dull boy. ".repeat(64 * 1024 * 1024 / 44);
    let big = serde_json::json!({"instruction": "Repeat the sentence.", "input": "", "output": answer});
    let small = serde_json::json!({"instruction": "Say hi.", "input": "", "output": "Hi!"});
    std::fs::write(&input, format!("{big}\n{small}\n")).expect("write input");
    let inp = input.to_str().expect("utf-8");

    // Default limit: processed (and dropped by the length rule, with its measurement).
    let out = tmp.path().join("out");
    curate_ok(&["run", inp, "--out", out.to_str().expect("utf-8"), "-q"]);
    let r = assert_accounting(&out);
    assert_eq!(r["totals"]["malformed"], 0);
    assert_eq!(strings(&out.join("rejected"), "rule"), ["quality/response-too-long"]);

    // Above a configured limit: quarantined with that reason, the next line still read.
    let out2 = tmp.path().join("out2");
    curate_ok(&[
        "run",
        inp,
        "--out",
        out2.to_str().expect("utf-8"),
        "-q",
        "--max-record-bytes",
        "1000000",
    ]);
    let r = assert_accounting(&out2);
    assert_eq!(r["totals"]["malformed"], 1);
    assert_eq!(r["totals"]["kept"], 1);
    let err = &strings(&out2.join("malformed"), "error")[0];
    assert!(err.contains("larger than the limit of 1000000 bytes"), "{err}");
    assert_eq!(r["malformed_by_error"]["malformed/oversize-record"], 1);
    assert!(
        strings(&out2.join("malformed"), "raw")[0].len() <= 1024,
        "only a preview is kept"
    );
}

/// A `\ud800` escape without its pair is quarantined with the cause named,
/// and a valid pair next to another bad escape is not blamed.
#[test]
fn a_lone_surrogate_escape_is_named() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = run_lines(
        tmp.path(),
        concat!(
            r#"{"instruction": "a \ud800 b", "output": "x"}"#,
            "\n",
            r#"{"instruction": "a \ud83d\ude00 then \u12 bad", "output": "x"}"#,
            "\n",
            r#"{"instruction": "Name a primary colour.", "output": "Red is a primary colour."}"#,
            "\n"
        ),
        &["--stages", "quality"],
    );
    assert_accounting(&out);
    let errors = strings(&out.join("malformed"), "error");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("lone UTF-16 surrogate"), "{errors:?}");
    assert!(!errors[1].contains("surrogate"), "{errors:?}");
}

/// A Parquet file whose metadata holds a negative column offset (found by
/// fuzzing: the Parquet decoder asserts on it) is one malformed item naming
/// the file; the run goes on and prints no crash.
#[test]
fn a_parquet_file_with_corrupt_metadata_is_quarantined() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let bad = root().join("tests/data/corrupt_metadata.parquet");
    let o = curate(&[
        "run",
        bad.to_str().expect("utf-8"),
        &fixture("sample/alpaca_en.jsonl"),
        "--out",
        out.to_str().expect("utf-8"),
        "-q",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let r = assert_accounting(&out);
    assert_eq!(r["totals"]["malformed"], 1);
    let errors = strings(&out.join("malformed"), "error");
    assert!(
        errors[0].contains("corrupt file") && errors[0].contains("negative"),
        "{errors:?}"
    );
}

/// A record holding one key twice is quarantined, the key named: which value
/// was meant is unknown (a parser would keep the last one silently).
#[test]
fn a_repeated_key_is_quarantined_and_named() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = run_lines(
        tmp.path(),
        "{\"instruction\": \"Name a color.\", \"input\": \"\", \"output\": \"Blue.\"}\n{\"instruction\": \"Name a fruit.\", \"input\": \"\", \"output\": \"Apple.\", \"output\": \"\"}\n",
        &[],
    );
    let r = assert_accounting(&out);
    assert_eq!(
        (r["totals"]["kept"].as_u64(), r["totals"]["malformed"].as_u64()),
        (Some(1), Some(1))
    );
    let errors = strings(&out.join("malformed"), "error");
    assert!(errors[0].contains("the key `output` appears twice"), "{errors:?}");
    assert_eq!(strings(&out.join("malformed"), "key"), ["in.jsonl:2"]);
}
