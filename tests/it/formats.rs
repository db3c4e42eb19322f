//! Every input format and record shape maps to the one internal record.

use crate::harness::*;
use arrow::array::{Array, ListArray, StringArray, StructArray, UInt64Array};

fn run_formats() -> (tempfile::TempDir, serde_json::Value) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    curate_ok(&["run", &fixture("formats"), "--out", out.to_str().expect("utf-8"), "-q"]);
    let r = assert_accounting(&out);
    (tmp, r)
}

fn file_report<'a>(r: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    r["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(name)))
        .unwrap_or_else(|| panic!("{name} in report"))
}

#[test]
fn every_shape_and_container_is_detected() {
    let (_tmp, r) = run_formats();
    assert_eq!(r["totals"]["malformed"], 0);
    let expect = [
        ("alpaca.jsonl", "alpaca", 5),
        ("alpaca_array.json", "alpaca", 5),
        ("alpaca_array_zst.json.zst", "alpaca", 5),
        ("alpaca_gz.jsonl.gz", "alpaca", 5),
        ("alpaca_history.jsonl", "alpaca", 2),
        ("dolly.jsonl", "dolly", 2),
        ("dpo.jsonl", "sharegpt", 2),
        ("openai.jsonl", "openai", 3),
        ("openai_parts.jsonl", "openai", 3),
        ("prompt_completion.jsonl", "prompt-completion", 2),
        ("sharegpt.jsonl", "sharegpt", 3),
        ("sharegpt.parquet", "sharegpt", 3),
        ("sharegpt_toolcall.jsonl", "sharegpt", 2),
    ];
    for (file, shape, n) in expect {
        let f = file_report(&r, file);
        assert_eq!(f["input"], n, "{file}");
        assert_eq!(f["formats"][shape], n, "{file} read as {shape}: {}", f["formats"]);
    }
}

/// A kept row: (id, source_file, source_line, messages as (role, content)).
type Row = (String, String, u64, Vec<(String, String)>);

/// Rows of the kept and rejected tables (mapping does not depend on the verdict).
fn kept_rows(out: &std::path::Path) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut batches = read_dir_batches(&out.join("kept"));
    batches.extend(read_dir_batches(&out.join("rejected")));
    for b in batches {
        let col = |n: &str| b.column_by_name(n).unwrap_or_else(|| panic!("{n}")).clone();
        let ids = col("id");
        let ids = ids.as_any().downcast_ref::<StringArray>().expect("id");
        let files = col("source_file");
        let files = files.as_any().downcast_ref::<StringArray>().expect("file");
        let lines = col("source_line");
        let lines = lines.as_any().downcast_ref::<UInt64Array>().expect("line");
        let msgs = col("messages");
        let msgs = msgs.as_any().downcast_ref::<ListArray>().expect("messages");
        for i in 0..b.num_rows() {
            let m = msgs.value(i);
            let m = m.as_any().downcast_ref::<StructArray>().expect("struct");
            let roles = m.column(0).as_any().downcast_ref::<StringArray>().expect("role");
            let texts = m.column(1).as_any().downcast_ref::<StringArray>().expect("content");
            let turns = (0..m.len())
                .map(|j| (roles.value(j).to_string(), texts.value(j).to_string()))
                .collect();
            rows.push((
                ids.value(i).to_string(),
                files.value(i).to_string(),
                lines.value(i),
                turns,
            ));
        }
    }
    rows
}

#[test]
fn messages_ids_and_lines_are_mapped() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    curate_ok(&["run", &fixture("formats"), "--out", out.to_str().expect("utf-8"), "-q"]);
    let rows = kept_rows(&out);
    let find = |id: &str| rows.iter().find(|r| r.0 == id).unwrap_or_else(|| panic!("record {id}"));

    // JSON array elements keep the line they start on.
    let arr: Vec<u64> = rows
        .iter()
        .filter(|r| r.1.ends_with("alpaca_array.json"))
        .map(|r| r.2)
        .collect();
    assert_eq!(arr, [2, 7, 12, 17, 22]);
    // Records without an id get their key: file:line, the file named
    // relative to the folder holding every input.
    let first = &rows
        .iter()
        .find(|r| r.1.ends_with("formats/alpaca.jsonl"))
        .expect("alpaca row");
    assert_eq!(first.0, "alpaca.jsonl:1");
    // User ids are kept.
    let vicuna = find("identity_0");
    assert_eq!(vicuna.3.len(), 4);
    assert_eq!(vicuna.3[0], ("user".into(), "Who are you?".into()));
    // OpenAI: system first, tool calls and results as their own roles, non-text parts marked.
    let oa = find("oa-2");
    let roles: Vec<&str> = oa.3.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(roles, ["user", "function_call", "observation", "assistant"]);
    assert_eq!(
        find("oa-1").3[0],
        ("system".into(), "You are a concise assistant.".into())
    );
    assert_eq!(find("oa-3").3[0].1, "Describe this picture.<image_url>");
    // Alpaca history becomes earlier turns; a `<noinput>` placeholder is no input.
    let hist = rows
        .iter()
        .find(|r| r.1.ends_with("alpaca_history.jsonl") && r.2 == 1)
        .expect("history row");
    let roles: Vec<&str> = hist.3.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user", "assistant"]);
    let noinput = rows
        .iter()
        .find(|r| r.1.ends_with("alpaca_history.jsonl") && r.2 == 2)
        .expect("row 2");
    assert_eq!(noinput.3[0].1, "Summarize the text.");
    // Dolly context is the input, joined to the instruction by a newline.
    let dolly = rows
        .iter()
        .find(|r| r.1.ends_with("dolly.jsonl") && r.2 == 1)
        .expect("dolly");
    assert!(dolly.3[0]
        .1
        .starts_with("When did the first moon landing happen?\nApollo 11"));
    // DPO: the chosen answer is the assistant turn.
    let dpo = rows
        .iter()
        .find(|r| r.1.ends_with("dpo.jsonl") && r.2 == 1)
        .expect("dpo");
    assert_eq!(dpo.3.last().expect("turn").0, "assistant");
    // Parquet rows map like JSON lines, numbered from 1.
    let pq: Vec<u64> = rows
        .iter()
        .filter(|r| r.1.ends_with("sharegpt.parquet"))
        .map(|r| r.2)
        .collect();
    assert_eq!(pq, [1, 2, 3]);
}

#[test]
fn declared_formats_map_moss_and_pclue() {
    let Some(corpora) = corpora() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let moss = corpora.join("moss_003_sft_sample/conversation_without_plugins.jsonl");
    let pclue = corpora.join("pclue/pCLUE_train_9.jsonl");
    curate_ok(&[
        "run",
        moss.to_str().expect("utf-8"),
        pclue.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "-q",
    ]);
    let r = assert_accounting(&out);
    assert_eq!(r["formats"]["moss"], 620);
    assert_eq!(r["formats"]["pclue"], 705);
    let rows = kept_rows(&out);
    let moss1 = rows.iter().find(|r| r.0 == "1").expect("MOSS conversation 1");
    assert_eq!(moss1.3[0].0, "system");
    assert_eq!(
        moss1.3[1],
        (
            "user".into(),
            "如果一个女性想要发展信息技术行业，她应该做些什么？".into()
        )
    );
    assert!(moss1.3[2]
        .1
        .starts_with("如果一个女性想要发展信息技术行业，以下是一些建议"));
    assert!(
        moss1.3.iter().all(|t| !t.1.contains("<eo") && !t.1.contains("<|")),
        "markers stripped"
    );
}

#[test]
fn declared_mmlu_keeps_the_choices_and_answers_with_the_letter() {
    let Some(c) = corpora() else {
        eprintln!("../shared/corpora not present; skipped");
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let first: Vec<String> = std::fs::read_to_string(c.join("benchmarks/mmlu_test.jsonl"))
        .expect("mmlu")
        .lines()
        .take(2)
        .map(str::to_string)
        .collect();
    let input = tmp.path().join("mmlu.jsonl");
    std::fs::write(&input, first.join("\n") + "\n").expect("write");
    let out = tmp.path().join("out");
    curate_ok(&[
        "run",
        input.to_str().expect("utf-8"),
        "--stages",
        "quality",
        "--out",
        out.to_str().expect("utf-8"),
        "-q",
    ]);
    let rows = kept_rows(&out);
    let r = rows.iter().find(|r| r.2 == 1).expect("line 1");
    assert_eq!(
        r.3,
        [
            (
                "user".to_string(),
                "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\n\nA. 0\nB. 4\nC. 2\nD. 6"
                    .to_string()
            ),
            ("assistant".to_string(), "B".to_string())
        ]
    );
    let r2 = rows.iter().find(|r| r.2 == 2).expect("line 2");
    assert_eq!(r2.3[1].1, "C");
}

#[test]
fn a_bad_template_is_a_rules_error_naming_the_key() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let rules = tmp.path().join("rules");
    curate_ok(&["init-rules", rules.to_str().expect("utf-8")]);
    let path = rules.join("formats.toml");
    let text = std::fs::read_to_string(&path).expect("formats.toml");
    std::fs::write(&path, text.replace("{answer|letter}", "{answer|upper}")).expect("write");
    let out = curate(&["check-rules", rules.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("format.mmlu.template.response") && err.contains("unknown filter `upper`"),
        "{err}"
    );
}

/// An `input` that only says there is none is no input, however it is
/// written (alpaca_chinese_carbonz0, llamafactory_alpaca_en_demo); a short
/// real input stays.
#[test]
fn no_input_markers_are_no_input() {
    let rules = curate::ruleset::Rules::load(None).expect("rules");
    let input_of = |input: &str| {
        let v = serde_json::json!({"instruction": "写一封道歉信给你的朋友。", "input": input, "output": "亲爱的朋友，对不起。"});
        let origin = curate::record::Origin { file: 0, line: 1 };
        let rec = curate::record::map_record(&rules.adapters, &v, origin, "t.jsonl").expect("maps");
        rec.input().to_string()
    };
    for marker in [
        "无输入",
        "&lt;无输入&gt;",
        "&lt;无输入&gt;。",
        "“&lt;无输入&gt;”",
        "没有输入。",
        "无需输入。",
        "`<noinput>`",
        "No input.",
        "<No Input>",
        "不适用",
        "N/A",
    ] {
        assert_eq!(input_of(marker), "", "{marker}");
    }
    for real in ["5", "无家可归", "他没有去参加聚会。", "None of the above applies here."] {
        assert_eq!(input_of(real), real);
    }
}
