//! Auditing and tuning a run: audit, explain, tune (set and sweep), diff.

use crate::harness::*;

fn sample_run(tmp: &std::path::Path, extra: &[&str]) -> std::path::PathBuf {
    let out = tmp.join(format!("out{}", extra.len()));
    let mut args: Vec<String> = vec!["run".into(), fixture("sample"), fixture("broken"), "--out".into()];
    args.push(out.to_str().expect("utf-8").into());
    args.push("-q".into());
    args.extend(extra.iter().map(|s| s.to_string()));
    curate_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    out
}

/// The built-in rules written to `dir/rules`, with `quality/response-too-long`
/// lowered to `max` characters.
fn rules_with_max_answer(dir: &std::path::Path, max: u32) -> std::path::PathBuf {
    let rules = dir.join("rules");
    curate_ok(&["init-rules", rules.to_str().expect("utf-8")]);
    let basic = rules.join("quality/basic.toml");
    let t = std::fs::read_to_string(&basic)
        .expect("read")
        .replace("max = 100000", &format!("max = {max}"));
    std::fs::write(&basic, t).expect("write");
    rules
}

#[test]
fn metrics_hold_one_row_per_read_record_with_every_rule() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = sample_run(tmp.path(), &[]);
    let r = assert_accounting(&out);
    let n = r["totals"]["input"].as_u64().expect("n") - r["totals"]["malformed"].as_u64().expect("m");
    assert_eq!(rows(&out.join("metrics")) as u64, n);
    let b = &read_dir_batches(&out.join("metrics"))[0];
    let stages = r["stages"].as_array().expect("stages");
    let rules: Vec<&serde_json::Value> = stages
        .iter()
        .filter(|s| s["name"] != "dedup")
        .flat_map(|s| s["rules"].as_array().into_iter().flatten())
        .collect();
    assert!(rules.iter().any(|x| x["id"] == "quality/empty-response"), "{rules:?}");
    // One column per rule, named as an SQL identifier, the rule id in its metadata.
    let schema = b.schema();
    for rule in rules {
        let id = rule["id"].as_str().expect("id");
        let column = id.replace('/', "__").replace('-', "_");
        let (_, field) = schema
            .column_with_name(&column)
            .unwrap_or_else(|| panic!("column for {rule}"));
        assert_eq!(field.metadata().get("rule").map(String::as_str), Some(id));
    }
    assert!(schema.column_with_name("quality__empty_response").is_some());
    assert!(out.join("rules/quality/basic.toml").exists(), "rules snapshot");
}

#[test]
fn tune_recomputes_drops_and_matches_a_real_rerun() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = sample_run(tmp.path(), &[]);
    let o = out.to_str().expect("utf-8");
    let text = curate_stdout(&[
        "tune",
        o,
        "--set",
        "quality/response-too-long.max=300",
        "--examples",
        "2",
    ]);
    // A real run with the changed rule must agree with the prediction.
    let rules = rules_with_max_answer(tmp.path(), 300);
    let out2 = sample_run(tmp.path(), &["--rules", rules.to_str().expect("utf-8")]);
    let r2 = assert_accounting(&out2);
    let kept_line = text.lines().find(|l| l.starts_with("kept")).expect("kept line");
    let after: u64 = kept_line
        .split_whitespace()
        .nth(2)
        .expect("after")
        .parse()
        .expect("number");
    assert_eq!(after, r2["totals"]["kept"].as_u64().expect("kept"), "{text}");
    assert!(text.contains("newly dropped: "), "{text}");
    let sweep = curate_stdout(&["tune", o, "--sweep", "quality/response-too-long=100..300:100"]);
    assert_eq!(
        sweep
            .lines()
            .filter(|l| l.trim_start().starts_with(['1', '2', '3']))
            .count(),
        3,
        "{sweep}"
    );
    // Bad changes are usage errors.
    assert_eq!(
        curate(&["tune", o, "--set", "quality/nope.max=1"]).status.code(),
        Some(2)
    );
    assert_eq!(
        curate(&["tune", o, "--set", "quality/response-too-long.max=abc"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn audit_lists_drops_and_explains_one_record() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let input = tmp.path().join("in.jsonl");
    std::fs::write(
        &input,
        "{\"id\": \"keep-1\", \"instruction\": \"Name a primary color.\", \"input\": \"\", \"output\": \"Red.\"}\n\
         {\"id\": \"drop-1\", \"instruction\": \"Name a primary color.\", \"input\": \"\", \"output\": \"  \"}\n",
    )
    .expect("write");
    let out = tmp.path().join("out");
    let o = out.to_str().expect("utf-8");
    curate_ok(&["run", input.to_str().expect("utf-8"), "--out", o, "-q"]);
    let text = curate_stdout(&["audit", o]);
    assert!(
        text.contains("1 dropped records") && text.contains("quality/empty-response"),
        "{text}"
    );
    assert!(text.contains("drop-1"), "{text}");
    let jsonl = curate_stdout(&["audit", o, "--format", "jsonl", "--rule", "quality/"]);
    let row: serde_json::Value = serde_json::from_str(jsonl.lines().next().expect("a row")).expect("json");
    assert_eq!(row["id"], "drop-1");
    assert_eq!(row["value"], 1.0);
    assert_eq!(row["threshold"], 0.0);
    let one = curate_stdout(&["audit", o, "--id", "drop-1"]);
    assert!(
        one.contains("dropped by quality/empty-response") && one.contains("FAIL"),
        "{one}"
    );
    let rec = tmp.path().join("rec.json");
    std::fs::write(
        &rec,
        r#"{"instruction": "Name a primary color.", "input": "", "output": ""}"#,
    )
    .expect("write");
    let ex = curate_stdout(&["explain", rec.to_str().expect("utf-8")]);
    assert!(
        ex.contains("quality/empty-response")
            && ex.contains("verdict: dropped by quality/empty-response")
            && ex.contains("task: open-qa")
            && ex.contains("model task: open-qa"),
        "{ex}"
    );
}

#[test]
fn diff_shows_records_whose_fate_changed() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let a = sample_run(tmp.path(), &[]);
    let rules = rules_with_max_answer(tmp.path(), 500);
    let b = sample_run(tmp.path(), &["--rules", rules.to_str().expect("utf-8")]);
    let text = curate_stdout(&["diff", a.to_str().expect("utf-8"), b.to_str().expect("utf-8")]);
    assert!(
        text.contains("kept") && text.contains("-> quality/response-too-long"),
        "{text}"
    );
}

#[test]
fn html_report_is_self_contained_with_charts_and_thresholds() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = sample_run(tmp.path(), &[]);
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    for needle in [
        "<h2>Funnel</h2>",
        "<h2>Drops per rule</h2>",
        "<h2>Input files</h2>",
        "<h2>Languages</h2>",
        "quality/response-too-long",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(html.matches("<svg class=\"chart\"").count() >= 4);
    assert!(
        html.contains("class=\"threshold\""),
        "thresholds are marked on the histograms"
    );
    for external in ["src=\"http", "href=\"http", "src=\"//", "@import", "url("] {
        assert!(!html.contains(external), "no external resource: {external}");
    }
    // `curate report` rebuilds the same page.
    std::fs::remove_file(out.join("report.html")).expect("rm");
    curate_stdout(&["report", out.to_str().expect("utf-8")]);
    assert_eq!(std::fs::read_to_string(out.join("report.html")).expect("rebuilt"), html);
}

/// Each rule's drops are shown by example in the page, their text escaped:
/// a dropped answer holding markup shows as text, never as markup. Kept
/// records nearest a threshold are shown too.
#[test]
fn html_report_shows_escaped_examples_of_each_rules_drops() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let rows = [
        serde_json::json!({"instruction": "What's the weather in Paris now?", "input": "", "output": "As an AI, I don't have access to real-time data. <script>alert(1)</script>"}),
        serde_json::json!({"instruction": "Name a color.", "input": "", "output": ""}),
        serde_json::json!({"instruction": "Name a fruit.", "input": "", "output": "Apple & <b>pear</b>"}),
    ];
    let out = run_lines(
        tmp.path(),
        &rows.iter().map(|r| r.to_string() + "\n").collect::<String>(),
        &[],
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    let section = &html[html.find("<h2>Examples</h2>").expect("examples section")..];
    for rule in ["<h3>quality/refusal</h3>", "<h3>quality/empty-response</h3>"] {
        assert!(section.contains(rule), "{rule}");
    }
    assert!(section.contains("in.jsonl:1") && section.contains("dropped, nearest the threshold"));
    // Each rule says what it is for, from the run's rules snapshot.
    assert!(section.contains("More than half of the assistant turns open with a refusal"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(
        !html.contains("<script>alert"),
        "no markup from a record reaches the page"
    );
    assert!(!html.contains("<b>pear"), "no markup from a record reaches the page");
    // The sample's kept answers nearest the word-count and length bounds.
    let out = sample_run(tmp.path(), &[]);
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(html.contains("kept, nearest the threshold"));
}

#[test]
fn apply_writes_what_a_rerun_with_the_new_thresholds_writes() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let a = sample_run(tmp.path(), &[]);
    let rules = rules_with_max_answer(tmp.path(), 400);
    let basic = rules.join("quality/basic.toml");
    let rerun = sample_run(tmp.path(), &["--rules", rules.to_str().expect("utf-8")]);
    let applied = tmp.path().join("applied");
    curate_ok(&[
        "apply",
        a.to_str().expect("utf-8"),
        "--rules",
        rules.to_str().expect("utf-8"),
        "--out",
        applied.to_str().expect("utf-8"),
    ]);
    assert_accounting(&applied);
    // Same records with the same fates (apply writes in input order; a run
    // appends dedup drops after the per-record ones).
    let sorted = |dir: std::path::PathBuf, col: &str| {
        let mut v = strings(&dir, col);
        v.sort();
        v
    };
    for (table, col) in [
        ("kept", "id"),
        ("rejected", "id"),
        ("rejected", "rule"),
        // One sentence per decision, whichever command wrote it.
        ("rejected", "reason"),
        ("malformed", "error"),
    ] {
        assert_eq!(
            sorted(applied.join(table), col),
            sorted(rerun.join(table), col),
            "{table}.{col}"
        );
    }
    assert_eq!(report(&applied)["totals"], report(&rerun)["totals"]);
    // A rule whose parameters change needs measuring again.
    let t = std::fs::read_to_string(&basic)
        .expect("read")
        .replace("scope = \"response\"\nmax = 400", "scope = \"prompt\"\nmax = 400");
    std::fs::write(&basic, t).expect("write");
    let o = curate(&[
        "apply",
        a.to_str().expect("utf-8"),
        "--rules",
        rules.to_str().expect("utf-8"),
        "--out",
        tmp.path().join("x").to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("quality/response-too-long measures differently"));
}

#[test]
fn audit_of_a_rule_or_stage_the_run_did_not_have_is_a_usage_error() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let o = out.to_str().expect("utf-8");
    curate_ok(&["run", &fixture("sample"), "--out", o, "-q"]);
    for (flag, value) in [("--rule", "quality/no-such-rule"), ("--stage", "qualty")] {
        let r = curate(&["audit", o, flag, value]);
        assert_eq!(r.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(err.contains(value) && err.contains("no such"), "{err}");
    }
    // A known rule, and a stage prefix, still list.
    assert!(curate(&["audit", o, "--rule", "quality/"]).status.success());
    assert!(curate(&["audit", o, "--rule", "dedup/near"]).status.success());
}

/// A record file that is not there is a usage error (exit 2), as documented.
#[test]
fn explaining_a_missing_file_is_a_usage_error() {
    for cmd in ["explain", "tag-explain"] {
        let r = curate(&[cmd, "/nonexistent/record.json"]);
        assert_eq!(r.status.code(), Some(2), "{cmd}");
        assert!(String::from_utf8_lossy(&r.stderr).contains("/nonexistent/record.json"));
    }
}
