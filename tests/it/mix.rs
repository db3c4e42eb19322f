//! Mixing (`mix.toml`): target shares met within one record per group,
//! sampled-out records in `rejected` with rule `mix/ratio`, and the same
//! result from a distributed run.

use crate::harness::*;

const MIX: &str = r#"
by = "task"
seed = 7
others = "keep"
[targets]
open-qa = 0.3
brainstorming = 0.2
coding = 0.2
math = 0.1
creative-writing = 0.2
"#;

#[test]
fn mixing_meets_its_targets_and_records_every_drop() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let rules = tmp.path().join("rules");
    curate_ok(&["init-rules", rules.to_str().expect("utf-8")]);
    std::fs::write(rules.join("mix.toml"), MIX).expect("write mix.toml");
    let mut inputs = vec![fixture("sample")];
    if let Some(c) = corpora() {
        inputs.push(c.join("alpaca_5000").display().to_string());
    }
    let out = tmp.path().join("out");
    let mut args: Vec<&str> = vec!["run"];
    args.extend(inputs.iter().map(String::as_str));
    args.extend([
        "--rules",
        rules.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "-q",
    ]);
    curate_ok(&args);
    let report = assert_accounting(&out);
    let mix = &report["mix"];
    let total = mix["total"].as_f64().expect("total");
    assert!(total > 50.0, "a real mix: {mix}");
    for g in mix["groups"].as_array().expect("groups") {
        let target = g["target_share"].as_f64().expect("share") * total;
        let achieved = g["achieved_count"].as_f64().expect("count");
        assert!(
            (achieved - target).abs() <= 1.0,
            "{}: {achieved} records for a target of {target}",
            g["name"]
        );
    }
    let dropped = mix["dropped"].as_u64().expect("dropped");
    assert!(dropped > 0);
    let rules_col = strings(&out.join("rejected"), "rule");
    assert_eq!(rules_col.iter().filter(|r| *r == "mix/ratio").count() as u64, dropped);
    let stage = report["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == "mix")
        .expect("a mix stage");
    assert_eq!(stage["dropped"].as_u64(), Some(dropped));

    // Mixing runs after dedup; without it the run says so.
    let mut args: Vec<&str> = vec!["run"];
    args.extend(inputs.iter().map(String::as_str));
    let q = tmp.path().join("q");
    args.extend([
        "--rules",
        rules.to_str().expect("utf-8"),
        "--out",
        q.to_str().expect("utf-8"),
        "--stages",
        "quality,tag",
    ]);
    let refused = curate(&args);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("mix"));
}
