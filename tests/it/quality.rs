//! The default quality rules end to end, on records cut from real data
//! (fixtures/quality/SOURCES.md names each one's origin).

use std::collections::BTreeMap;

use arrow::array::{Array, StringArray, UInt64Array};

use crate::harness::*;

/// `source_line -> rule` of the rejected shards.
fn dropped_by(dir: &std::path::Path) -> BTreeMap<u64, String> {
    let mut out = BTreeMap::new();
    for b in read_dir_batches(dir) {
        let lines = b
            .column_by_name("source_line")
            .and_then(|c| c.as_any().downcast_ref::<UInt64Array>().cloned())
            .expect("source_line column");
        let rules = b
            .column_by_name("rule")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
            .expect("rule column");
        for i in 0..b.num_rows() {
            out.insert(lines.value(i), rules.value(i).to_string());
        }
    }
    out
}

fn run_fixture(rules: Option<&std::path::Path>) -> BTreeMap<u64, String> {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    let mut args = vec![
        "run".to_string(),
        fixture("quality/records.jsonl"),
        "--out".into(),
        out.to_str().expect("utf-8").into(),
        "-q".into(),
    ];
    if let Some(r) = rules {
        args.extend(["--rules".into(), r.to_str().expect("utf-8").into()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    curate_ok(&args);
    assert_accounting(&out);
    assert!(strings(&out.join("rejected"), "stage").iter().all(|s| s == "quality"));
    dropped_by(&out.join("rejected"))
        .into_iter()
        .map(|(l, r)| (l, r.strip_prefix("quality/").unwrap_or(&r).to_string()))
        .collect()
}

#[test]
fn default_rules_drop_each_fixture_record_for_its_reason() {
    // The repetition family and three Gopher rules are off by default (their
    // measured precision on the judged set is in their rule files); line 11's
    // mojibake is repaired before quality, and line 12 opens with "作为一个AI助手，
    // 我建议" and then answers: a framing, not a refusal; line 23 quotes an
    // identity claim from its input, in code; line 25 answers a greeting
    // with the quoted greeting, which no rewrite asked to change.
    let got = run_fixture(None);
    let expected: BTreeMap<u64, String> = [
        (17, "truncated"),
        (19, "model-identity"),
        (24, "flattened-code"),
        (26, "linked-media"),
    ]
    .into_iter()
    .map(|(l, r)| (l, r.to_string()))
    .collect();
    assert_eq!(got, expected);
}

#[test]
fn rules_that_are_off_by_default_still_drop_their_fixture_records_when_on() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let rules = tmp.path().join("rules");
    curate_ok(&["init-rules", rules.to_str().expect("utf-8")]);
    for file in ["quality/repetition.toml", "quality/gopher.toml"] {
        let path = rules.join(file);
        let mut text = std::fs::read_to_string(&path)
            .expect("rule file")
            .replace("enabled = false", "enabled = true");
        // dup-line-frac was off before the judged set was measured (code repeats short lines).
        if let Some(at) = text.find("[dup-line-frac]") {
            let on = at + text[at..].find("enabled = true").expect("enabled key");
            text.replace_range(on..on + "enabled = true".len(), "enabled = false");
        }
        std::fs::write(&path, text).expect("write");
    }
    let got = run_fixture(Some(&rules));
    // Line 15 (top-3-gram once) is kept: the repair stage turns its literal
    // `\n` escapes into line breaks first, and its top 3-gram no longer covers
    // 18 % of the answer.
    assert!(!got.contains_key(&15), "{got:?}");
    for (line, rule) in [
        (1, "dup-5-grams"),
        (2, "dup-6-grams"),
        (3, "dup-8-grams"),
        (4, "dup-9-grams"),
        (5, "dup-line-chars"),
        (6, "gopher-alpha-words"),
        (7, "gopher-ellipsis-lines"),
        (8, "gopher-hash-ratio"),
        (14, "top-2-gram"),
        (16, "top-4-gram"),
        (17, "truncated"),
    ] {
        assert_eq!(got.get(&line).map(String::as_str), Some(rule), "line {line}");
    }
}

#[test]
fn parity_rule_set_compiles() {
    let rules = root().join("scripts/bench/parity/rules");
    curate_ok(&["check-rules", rules.to_str().expect("utf-8")]);
}

#[test]
fn repaired_text_goes_to_kept_shards_and_the_original_stays_in_raw() {
    // alpaca_cot creak_train: options written with literal `\n` escapes.
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("out");
    curate_ok(&[
        "run",
        &fixture("sample/cot_creak.jsonl"),
        "--stages",
        "repair",
        "--out",
        out.to_str().expect("utf-8"),
        "-q",
    ]);
    let r = assert_accounting(&out);
    let repaired = r["stages"][0]["counts"]["repair/escapes"]
        .as_u64()
        .expect("escapes counted");
    let rows = rows_by_id(&out.join("kept"));
    let fixed: Vec<&Row> = rows
        .values()
        .filter(|r| r.tags.iter().any(|t| t == "repaired:escapes"))
        .collect();
    assert_eq!(fixed.len() as u64, repaired);
    // The 47 of its 150 records whose instruction has escapes and no real
    // line break (the others mix both and are left as they are).
    assert_eq!(repaired, 47);
    for row in fixed {
        assert!(
            !row.messages[0].contains("\\n") && row.messages[0].contains('\n'),
            "{:?}",
            row.messages[0]
        );
        assert!(row.raw.contains("\\\\n"), "raw keeps the escapes: {}", row.raw);
    }
}
