//! Snapshot of the decisions a reader sees: one rejected row per rule (its
//! value, threshold, failing rules, the record it duplicates and the reason
//! sentence), every malformed row's error, and `curate explain` of two
//! records, from a default run over the fixtures cut from real data. A change
//! of wording or of a decision shows here as a diff; when it is meant,
//! `CURATE_BLESS=1 cargo test golden` writes the new snapshot.

use std::collections::BTreeMap;

use crate::harness::{curate_ok, curate_stdout, fixture, read_dir_batches, root};
use arrow::array::{Array, Float64Array, ListArray, StringArray, UInt64Array};

fn col<'a, T: 'static>(b: &'a arrow::array::RecordBatch, name: &str) -> &'a T {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .unwrap_or_else(|| panic!("column {name}"))
}

fn num(c: &Float64Array, i: usize) -> String {
    if c.is_null(i) {
        "-".into()
    } else {
        format!("{}", c.value(i))
    }
}

#[test]
fn every_kind_of_decision_reads_as_in_the_snapshot() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // A benchmark item: a real record, so the records that share its
    // template are contaminated.
    let bench = tmp.path().join("bench.jsonl");
    let first = std::fs::read_to_string(fixture("sample/cot_creak.jsonl")).expect("fixture");
    std::fs::write(&bench, format!("{}\n", first.lines().next().expect("a line"))).expect("write");
    let out = tmp.path().join("out");
    let o = out.to_str().expect("utf-8");
    curate_ok(&[
        "run",
        &fixture("sample"),
        &fixture("quality"),
        &fixture("sensitive/records.jsonl"),
        &fixture("broken/bad_lines.jsonl"),
        "--decontaminate",
        bench.to_str().expect("utf-8"),
        "--out",
        o,
        "-q",
    ]);
    let mut snapshot = String::new();
    // The first row of each rule, in key order.
    let mut first: BTreeMap<String, (String, String)> = BTreeMap::new();
    for b in read_dir_batches(&out.join("rejected")) {
        let (key, rule, reason) = (
            col::<StringArray>(&b, "key"),
            col::<StringArray>(&b, "rule"),
            col::<StringArray>(&b, "reason"),
        );
        let (value, threshold) = (col::<Float64Array>(&b, "value"), col::<Float64Array>(&b, "threshold"));
        let (failed, dup) = (
            col::<ListArray>(&b, "failed_rules"),
            col::<StringArray>(&b, "duplicate_of"),
        );
        for i in 0..b.num_rows() {
            let failed = failed.value(i);
            let failed = failed.as_any().downcast_ref::<StringArray>().expect("strings");
            let failed: Vec<&str> = (0..failed.len()).map(|j| failed.value(j)).collect();
            let row = format!(
                "  key {}\n  value {} threshold {}\n  failed {}\n  duplicate_of {}\n  reason {}\n",
                key.value(i),
                num(value, i),
                num(threshold, i),
                failed.join(", "),
                if dup.is_null(i) { "-" } else { dup.value(i) },
                reason.value(i)
            );
            let e = first
                .entry(rule.value(i).to_string())
                .or_insert_with(|| (key.value(i).to_string(), row.clone()));
            if key.value(i) < e.0.as_str() {
                *e = (key.value(i).to_string(), row);
            }
        }
    }
    for (rule, (_, row)) in &first {
        snapshot.push_str(&format!("rejected {rule}\n{row}"));
    }
    let mut malformed = Vec::new();
    for b in read_dir_batches(&out.join("malformed")) {
        let (key, line, error) = (
            col::<StringArray>(&b, "key"),
            col::<UInt64Array>(&b, "source_line"),
            col::<StringArray>(&b, "error"),
        );
        for i in 0..b.num_rows() {
            malformed.push((key.value(i).to_string(), line.value(i), error.value(i).to_string()));
        }
    }
    malformed.sort();
    for (key, _, error) in malformed {
        snapshot.push_str(&format!("malformed {key}\n  {error}\n"));
    }
    for id in ["sample/alpaca_en.jsonl:81", "sensitive/records.jsonl:3"] {
        snapshot.push_str(&format!("explain {id}\n"));
        snapshot.push_str(&curate_stdout(&["explain", o, "--id", id]));
    }
    let snapshot = snapshot
        .replace(bench.to_str().expect("utf-8"), "BENCH")
        .replace(root().to_str().expect("utf-8"), "ROOT");
    let path = root().join("tests/golden/decisions.txt");
    if std::env::var_os("CURATE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("folder")).expect("folder");
        std::fs::write(&path, &snapshot).expect("write snapshot");
        return;
    }
    let want = std::fs::read_to_string(&path).expect("tests/golden/decisions.txt (CURATE_BLESS=1 writes it)");
    if want != snapshot {
        let diff: Vec<String> = want
            .lines()
            .zip(snapshot.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(10)
            .map(|(i, (a, b))| format!("line {}:\n  - {a}\n  + {b}", i + 1))
            .collect();
        panic!(
            "decisions differ from tests/golden/decisions.txt ({} vs {} lines); if meant, rerun with CURATE_BLESS=1:\n{}",
            want.lines().count(),
            snapshot.lines().count(),
            diff.join("\n")
        );
    }
}
