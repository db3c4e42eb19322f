//! Example records of each rule, for `report.html`: the drops whose value
//! lies nearest the threshold (where a looser threshold would first keep
//! them), the drop farthest from it, and the kept records nearest it (where
//! a stricter one would first drop them), each with its value, its reason and
//! the start of its request and answer.
//!
//! One pass over `rejected/` (its key, rule, value, threshold, reason and
//! messages), holding a handful of rows per rule: memory does not grow with
//! the table. Ties go to the smaller key, so the page is the same for the
//! same run.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::RecordBatch;

use crate::error::Result;
use crate::output::read_back::{f64_at, f64_col, for_each_batch, messages_at, request_and_answer, str_at, str_col};

/// Examples nearest the threshold, per rule.
pub const NEAREST: usize = 3;
/// Characters of a request or an answer shown.
const SHOWN_CHARS: usize = 240;

/// One dropped record as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Its key (`file:line`).
    pub key: String,
    /// The measured value (similarity for duplicates); `None` when the rule
    /// measures none (decontamination).
    pub value: Option<f64>,
    /// The reason sentence.
    pub reason: String,
    /// The start of its first request.
    pub request: String,
    /// The start of its last answer.
    pub answer: String,
    /// For a duplicate, the key of the kept record it duplicates.
    pub duplicate_of: Option<String>,
    /// How far the value lies from the threshold.
    distance: f64,
}

/// The examples of one rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleExamples {
    /// Nearest the threshold first.
    pub nearest: Vec<Example>,
    /// The farthest from it, when it is not among the nearest.
    pub extreme: Option<Example>,
}

fn cut(s: &str) -> String {
    match crate::text::head_chars(s, SHOWN_CHARS) {
        (head, true) => format!("{head}…"),
        (all, false) => all.to_string(),
    }
}

fn example_at(b: &RecordBatch, i: usize, distance: f64) -> Example {
    let msgs = messages_at(b, i);
    let (request, answer) = request_and_answer(&msgs);
    Example {
        key: str_at(str_col(b, "key"), i).to_string(),
        value: f64_at(f64_col(b, "value"), i),
        reason: str_at(str_col(b, "reason"), i).to_string(),
        request: cut(request),
        answer: cut(answer),
        duplicate_of: Some(str_at(str_col(b, "duplicate_of"), i))
            .filter(|k| !k.is_empty())
            .map(str::to_string),
        distance,
    }
}

/// Whether `(d, key)` comes before `e` in the order nearest first.
fn nearer(d: f64, key: &str, e: &Example) -> bool {
    d.total_cmp(&e.distance).then_with(|| key.cmp(&e.key)).is_lt()
}

/// The examples of every rule that dropped records in the run in `out`.
pub fn gather(out: &Path) -> Result<BTreeMap<String, RuleExamples>> {
    let mut by_rule: BTreeMap<String, RuleExamples> = BTreeMap::new();
    let columns = [
        "key",
        "rule",
        "value",
        "threshold",
        "reason",
        "messages",
        "duplicate_of",
    ];
    for_each_batch(&out.join("rejected"), Some(&columns), |b| {
        let (rule, key) = (str_col(b, "rule"), str_col(b, "key"));
        let (value, threshold) = (f64_col(b, "value"), f64_col(b, "threshold"));
        for i in 0..b.num_rows() {
            let r = by_rule.entry(str_at(rule, i).to_string()).or_default();
            let d = match (f64_at(value, i), f64_at(threshold, i)) {
                (Some(v), Some(t)) => (v - t).abs(),
                _ => 0.0,
            };
            let k = str_at(key, i);
            if r.nearest.len() < NEAREST || r.nearest.last().is_some_and(|e| nearer(d, k, e)) {
                let at = r.nearest.partition_point(|e| !nearer(d, k, e));
                r.nearest.insert(at, example_at(b, i, d));
                r.nearest.truncate(NEAREST);
            }
            let farther = |e: &Example| d.total_cmp(&e.distance).then_with(|| e.key.as_str().cmp(k)).is_gt();
            if r.extreme.as_ref().is_none_or(farther) {
                r.extreme = Some(example_at(b, i, d));
            }
        }
    })?;
    for r in by_rule.values_mut() {
        if r.extreme
            .as_ref()
            .is_some_and(|x| r.nearest.iter().any(|e| e.key == x.key))
        {
            r.extreme = None;
        }
    }
    Ok(by_rule)
}

/// Examples per rule id.
pub type ByRule = BTreeMap<String, Vec<Example>>;

/// Candidates per rule taken from `metrics/` before looking them up in
/// `kept/` (a record near one rule's bound may be dropped by another).
const CANDIDATES: usize = 24;

/// Per rule with a numeric bound, the kept records whose value lies nearest
/// it (a stricter threshold drops these first), at most [`NEAREST`].
///
/// `rules`: `(rule id, min, max)` of the default thresholds. One pass over
/// `metrics/` (keys and values) picks candidates; `kept/` is read by key
/// first, and its messages only in the shards that hold a candidate.
///
/// Also the kept records with the keys `also`, found in the same read of
/// `kept/` (which holds the large message column).
pub fn gather_kept(
    out: &Path,
    rules: &[(String, Option<f64>, Option<f64>)],
    also: &std::collections::BTreeSet<&str>,
) -> Result<(ByRule, BTreeMap<String, Example>)> {
    // (distance, key) of the nearest passing values, per rule.
    let mut near: Vec<Vec<(f64, String, f64)>> = vec![Vec::new(); rules.len()];
    let columns: Vec<String> = std::iter::once("key".to_string())
        .chain(rules.iter().map(|r| crate::output::metrics::metric_column(&r.0)))
        .collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    for_each_batch(&out.join("metrics"), Some(&columns), |b| {
        let key = str_col(b, "key");
        for (ri, (id, min, max)) in rules.iter().enumerate() {
            let Some(c) = crate::output::metrics::rule_values(b, id) else {
                continue;
            };
            for i in 0..b.num_rows() {
                let Some(v) = f64_at(Some(c), i) else { continue };
                let d = match (min, max) {
                    (Some(a), Some(z)) if v >= *a && v <= *z => (v - a).min(z - v),
                    (Some(a), None) if v >= *a => v - a,
                    (None, Some(z)) if v <= *z => z - v,
                    _ => continue,
                };
                let list = &mut near[ri];
                let k = str_at(key, i);
                // A full list whose last entry comes first keeps it: one
                // comparison for most records instead of a search.
                if list.len() == CANDIDATES
                    && list
                        .last()
                        .is_some_and(|(e, ek, _)| e.total_cmp(&d).then_with(|| ek.as_str().cmp(k)).is_lt())
                {
                    continue;
                }
                let at = list.partition_point(|(e, ek, _)| e.total_cmp(&d).then_with(|| ek.as_str().cmp(k)).is_lt());
                if at < CANDIDATES {
                    list.insert(at, (d, k.to_string(), v));
                    list.truncate(CANDIDATES);
                }
            }
        }
    })?;
    let wanted: std::collections::BTreeSet<&str> = near
        .iter()
        .flatten()
        .map(|(_, k, _)| k.as_str())
        .chain(also.iter().copied())
        .collect();
    let found = kept_records(out, &wanted)?;
    let found_also: BTreeMap<String, Example> = also
        .iter()
        .filter_map(|k| found.get(*k).map(|e| (k.to_string(), e.clone())))
        .collect();
    let mut by_rule = BTreeMap::new();
    for ((id, _, _), list) in rules.iter().zip(near) {
        // Every candidate at one value (a count rule whose kept records all
        // measure 0): the nearest ones are any, and show nothing.
        if list.first().map(|x| x.2) == list.last().map(|x| x.2) && list.len() > NEAREST {
            continue;
        }
        let examples: Vec<Example> = list
            .into_iter()
            .filter_map(|(d, k, v)| {
                let mut e = found.get(&k)?.clone();
                e.value = Some(v);
                e.distance = d;
                Some(e)
            })
            .take(NEAREST)
            .collect();
        if !examples.is_empty() {
            by_rule.insert(id.clone(), examples);
        }
    }
    Ok((by_rule, found_also))
}

/// The kept records with these keys, as examples without a reason: `kept/`
/// is read by key first, and its messages only in the row groups that hold
/// one, two side by side (a key is in one row group: the records found do
/// not depend on the order they are read in).
pub fn kept_records(out: &Path, wanted: &std::collections::BTreeSet<&str>) -> Result<BTreeMap<String, Example>> {
    use crate::output::read_back::{for_each_batch_of_group, row_groups};
    use rayon::prelude::*;
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut groups: Vec<(std::path::PathBuf, usize)> = Vec::new();
    for shard in crate::output::read_back::shards(&out.join("kept")) {
        for g in 0..row_groups(&shard)? {
            let mut hit = false;
            for_each_batch_of_group(&shard, g, Some(&["key"]), |b| {
                let key = str_col(b, "key");
                hit |= (0..b.num_rows()).any(|i| wanted.contains(str_at(key, i)));
            })?;
            if hit {
                groups.push((shard.clone(), g));
            }
        }
    }
    // Two row groups at a time, whatever the cores: each holds its messages
    // while it is read (a row group is up to 32 MB of text).
    let mut found = BTreeMap::new();
    for pair in groups.chunks(2) {
        let parts: Vec<Result<Vec<(String, Example)>>> = pair.par_iter().map(|at| read_group(wanted, at)).collect();
        for part in parts {
            found.extend(part?);
        }
    }
    Ok(found)
}

/// The examples of the `wanted` kept records in row group `g` of `shard`.
fn read_group(
    wanted: &std::collections::BTreeSet<&str>,
    (shard, g): &(std::path::PathBuf, usize),
) -> Result<Vec<(String, Example)>> {
    let mut found = Vec::new();
    crate::output::read_back::for_each_batch_of_group(shard, *g, Some(&["key", "messages"]), |b| {
        let key = str_col(b, "key");
        for i in 0..b.num_rows() {
            let k = str_at(key, i);
            if wanted.contains(k) {
                let mut e = example_at(b, i, 0.0);
                e.reason = String::new();
                found.push((k.to_string(), e));
            }
        }
    })?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::kept_records;
    use crate::output::schema::RecordRows;

    /// The kept records the report shows are found in whichever row group
    /// holds them: five Alpaca records of the sample (alpaca_en.jsonl), two
    /// a row group, so three groups, read two at a time.
    #[test]
    fn kept_records_are_found_in_every_row_group() {
        let tmp = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(tmp.path().join("kept")).expect("mkdir");
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sample/alpaca_en.jsonl"))
            .expect("fixture");
        let mut rows = RecordRows::new(false);
        let mut asked = Vec::new();
        for (i, line) in text.lines().take(5).enumerate() {
            let mut rec = crate::filters::testing::record(line);
            rec.key = format!("alpaca_en.jsonl:{}", i + 1);
            asked.push(rec.instruction().to_string());
            rows.push(&rec, "alpaca_en.jsonl", None);
        }
        let batch = rows.finish();
        let file = std::fs::File::create(tmp.path().join("kept/part-00000.parquet")).expect("shard");
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(2))
            .build();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props)).expect("writer");
        w.write(&batch).expect("write");
        w.close().expect("close");
        assert_eq!(
            crate::output::read_back::row_groups(&tmp.path().join("kept/part-00000.parquet")).expect("groups"),
            3
        );
        let wanted = ["alpaca_en.jsonl:1", "alpaca_en.jsonl:4", "alpaca_en.jsonl:5"]
            .into_iter()
            .collect();
        let found = kept_records(tmp.path(), &wanted).expect("read");
        assert_eq!(
            found.keys().map(String::as_str).collect::<Vec<_>>(),
            ["alpaca_en.jsonl:1", "alpaca_en.jsonl:4", "alpaca_en.jsonl:5"]
        );
        for (k, i) in [
            ("alpaca_en.jsonl:1", 0),
            ("alpaca_en.jsonl:4", 3),
            ("alpaca_en.jsonl:5", 4),
        ] {
            assert!(asked[i].starts_with(found[k].request.trim_end_matches('…')), "{k}");
        }
    }
}
