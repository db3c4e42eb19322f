//! Boilerplate lines (`[lines]` in `dedup.toml`): a sign-off shared by many
//! records is reported and, with `strip = true`, removed from the kept
//! records, listed in their `stripped_lines`, counted in the report, shown by
//! `explain --id`, and stripped alike by a distributed run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, ListArray, StringArray, StructArray};

use crate::harness::*;

const SIGN_OFF: &str = "I hope this helps! Let me know if you have any other questions.";
const SIGN_OFF_ZH: &str = "以上就是全部内容，希望对你有所帮助！如果还有其他问题，欢迎随时提问。";
/// Answers ending with the sign-off, per alpaca file.
const SIGNED: usize = 30;

/// The sample fixtures, with a sign-off appended to the first answers of
/// both alpaca files (one in three after a CRLF blank line) and one more
/// answer that is only the sign-off.
fn inputs(dir: &Path) -> PathBuf {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    for (file, sign) in [("alpaca_en.jsonl", SIGN_OFF), ("alpaca_zh.jsonl", SIGN_OFF_ZH)] {
        let text = std::fs::read_to_string(root().join("fixtures/sample").join(file)).expect("fixture");
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            let mut v: serde_json::Value = serde_json::from_str(line).expect("fixture line parses");
            let answer = v["output"].as_str().expect("output").to_string();
            if i < SIGNED {
                let sep = if i % 3 == 0 { "\r\n\r\n" } else { "\n\n" };
                v["output"] = format!("{answer}{sep}{sign}").into();
            } else if i == SIGNED {
                v["output"] = sign.into();
            }
            out.push_str(&v.to_string());
            out.push('\n');
        }
        std::fs::write(input.join(file), out).expect("write");
    }
    for f in ["cot_creak.jsonl", "sharegpt_identity.jsonl", "glaive_toolcall_en.jsonl"] {
        std::fs::copy(root().join("fixtures/sample").join(f), input.join(f)).expect("copy");
    }
    input
}

/// The built-in rules with `[lines]` enabled (`strip` as given), or as shipped.
fn rules(dir: &Path, lines: Option<bool>) -> PathBuf {
    let name = match lines {
        None => "rules-off".to_string(),
        Some(strip) => format!("rules-{strip}"),
    };
    let rules = dir.join(name);
    curate_ok(&["init-rules", rules.to_str().expect("utf-8")]);
    if let Some(strip) = lines {
        let p = rules.join("dedup.toml");
        let t = std::fs::read_to_string(&p)
            .expect("read")
            .replace("enabled = false\nmin-records", "enabled = true\nmin-records")
            .replace("strip = false", &format!("strip = {strip}"));
        std::fs::write(&p, t).expect("write");
    }
    rules
}

const COMMON: [&str; 5] = ["-q", "--stages", "dedup", "--shard-bytes", "20000"];

fn run(input: &Path, rules: &Path, out: &Path) {
    let mut args = vec![
        "run",
        input.to_str().expect("utf-8"),
        "--rules",
        rules.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ];
    args.extend(COMMON);
    curate_ok(&args);
    assert_accounting(out);
}

/// Per kept id: the messages (role, content) and the stripped lines.
type Kept = HashMap<String, (Vec<(String, String)>, Option<Vec<String>>)>;

fn kept(out: &Path) -> Kept {
    let mut rows = HashMap::new();
    for b in read_dir_batches(&out.join("kept")) {
        let col = |name: &str| {
            b.column_by_name(name)
                .unwrap_or_else(|| panic!("column {name}"))
                .as_any()
                .downcast_ref::<ListArray>()
                .expect("list column")
                .clone()
        };
        let ids = b
            .column_by_name("id")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .expect("id")
            .clone();
        let (msgs, stripped) = (col("messages"), col("stripped_lines"));
        for i in 0..b.num_rows() {
            let m = msgs.value(i);
            let s = m.as_any().downcast_ref::<StructArray>().expect("struct");
            let str_col = |k: usize| {
                s.column(k)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .expect("string")
                    .clone()
            };
            let (roles, texts) = (str_col(0), str_col(1));
            let messages = (0..s.len())
                .map(|j| (roles.value(j).to_string(), texts.value(j).to_string()))
                .collect();
            let lines = (!stripped.is_null(i)).then(|| {
                let v = stripped.value(i);
                let s = v.as_any().downcast_ref::<StringArray>().expect("strings");
                (0..s.len()).map(|j| s.value(j).to_string()).collect::<Vec<_>>()
            });
            rows.insert(ids.value(i).to_string(), (messages, lines));
        }
    }
    rows
}

fn dedup_count(report: &serde_json::Value, key: &str) -> u64 {
    report["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == "dedup")
        .and_then(|s| s["counts"][key].as_u64())
        .unwrap_or_else(|| panic!("dedup count {key}"))
}

#[test]
fn a_shared_sign_off_is_stripped_from_kept_records_and_recorded() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let input = inputs(tmp.path());
    let (none, off, on) = (tmp.path().join("none"), tmp.path().join("off"), tmp.path().join("on"));
    run(&input, &rules(tmp.path(), None), &none);
    run(&input, &rules(tmp.path(), Some(false)), &off);
    let rules_on = rules(tmp.path(), Some(true));
    run(&input, &rules_on, &on);

    // Without stripping the records are written as read: the same shards as
    // a run that does not count lines.
    assert_eq!(
        shard_files(&none, &["kept", "rejected"]),
        shard_files(&off, &["kept", "rejected"])
    );
    let before = kept(&off);
    assert!(before.values().all(|(_, s)| s.is_none()));
    // Dedup decides on the text as read: the same records are dropped.
    assert_eq!(shard_files(&off, &["rejected"]), shard_files(&on, &["rejected"]));

    let after = kept(&on);
    assert_eq!(before.len(), after.len());
    let (mut changed, mut lines, mut whole) = (0u64, 0u64, 0u64);
    for (id, (msgs, stripped)) in &after {
        let (old, _) = &before[id];
        let mut expect_stripped = Vec::new();
        for ((role, text), (old_role, old_text)) in msgs.iter().zip(old) {
            assert_eq!(role, old_role);
            let sign = [SIGN_OFF, SIGN_OFF_ZH].into_iter().find(|s| old_text.ends_with(s));
            match sign {
                Some(s) if role == "assistant" && old_text != s => {
                    let body = old_text[..old_text.len() - s.len()].trim_end_matches(['\r', '\n']);
                    assert_eq!(text, body, "{id}: the sign-off and its blank line are gone");
                    assert!(!text.is_empty() && !text.ends_with('\n'));
                    expect_stripped.push(s.to_string());
                }
                Some(_) if role == "assistant" => {
                    assert_eq!(text, old_text, "{id}: an answer made only of the sign-off stays");
                    whole += 1;
                }
                _ => assert_eq!(text, old_text, "{id}: other messages do not change"),
            }
        }
        if expect_stripped.is_empty() {
            assert_eq!(stripped, &None, "{id}");
        } else {
            changed += 1;
            lines += expect_stripped.len() as u64;
            assert_eq!(stripped.as_ref(), Some(&expect_stripped), "{id}");
        }
    }
    assert!(
        changed >= 2 * SIGNED as u64 - 4,
        "most signed answers are kept: {changed}"
    );
    assert_eq!(whole, 2);

    let on_report = assert_accounting(&on);
    assert_eq!(dedup_count(&on_report, "boilerplate_stripped_records"), changed);
    assert_eq!(dedup_count(&on_report, "boilerplate_stripped_lines"), lines);
    // The sign-off-only answers, and the identity answers of the ShareGPT
    // sample that repeat whole across records, stay.
    assert!(dedup_count(&on_report, "boilerplate_unstripped_messages") > whole);
    assert!(report(&off)["stages"].to_string().contains("boilerplate_lines"));
    assert!(!report(&off)["stages"].to_string().contains("boilerplate_stripped"));

    let bp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(on.join("dedup/boilerplate.json")).expect("report"))
            .expect("json");
    let lines_json = bp.as_array().expect("list");
    for sign in [SIGN_OFF, SIGN_OFF_ZH] {
        let l = lines_json
            .iter()
            .find(|l| l["text"] == sign)
            .unwrap_or_else(|| panic!("{sign} reported: {bp}"));
        assert_eq!(l["records"], SIGNED as u64 + 1);
        assert_eq!(l["stripped"], true);
        assert!(l["stripped_records"].as_u64().expect("count") >= SIGNED as u64 - 2);
    }
    // Short repeated lines (final answers of chain-of-thought records) stay.
    for l in lines_json
        .iter()
        .filter(|l| l["text"] != SIGN_OFF && l["text"] != SIGN_OFF_ZH)
    {
        assert_eq!(l["stripped"], false, "{l}");
    }

    // The audit shows what was stripped.
    let id = after
        .iter()
        .find(|(_, (_, s))| s.as_ref().is_some_and(|s| s[0] == SIGN_OFF))
        .map(|(id, _)| id.clone())
        .expect("a stripped record");
    let shown = curate_stdout(&["explain", on.to_str().expect("utf-8"), "--id", &id]);
    assert!(
        shown.contains(&format!("stripped boilerplate line: {SIGN_OFF}")),
        "{shown}"
    );

    // A distributed run strips the same lines.
    let dist = tmp.path().join("dist");
    let d = dist.to_str().expect("utf-8");
    let mut args = vec![
        "plan",
        input.to_str().expect("utf-8"),
        "--rules",
        rules_on.to_str().expect("utf-8"),
        "--out",
        d,
        "--world",
        "3",
    ];
    args.extend(COMMON);
    curate_ok(&args);
    for step in ["process", "pairs"] {
        for r in 0..3 {
            curate_ok(&[step, d, "--rank", &r.to_string()]);
        }
    }
    curate_ok(&["decide", d, "--rank", "0"]);
    curate_ok(&["write", d, "--rank", "0"]);
    let subs = ["kept", "rejected", "dedup"];
    let (a, b) = (shard_files(&on, &subs), shard_files(&dist, &subs));
    assert!(a.len() >= 3, "several shards: {}", a.len());
    assert_eq!(a, b, "the distributed run writes the local run's shards");
    for key in ["boilerplate_stripped_records", "boilerplate_stripped_lines"] {
        assert_eq!(dedup_count(&report(&dist), key), dedup_count(&on_report, key));
    }
}
