//! `curate diff A B`: records whose fate differs between two runs, by rule.
//! Records are matched by their `key` (`file:line` with the file's path
//! relative to the inputs' common folder), which always identifies a record
//! (ids may repeat) however the input paths were typed; runs written
//! without a `key` column are matched by `source_file:source_line`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::audit::run_dir::{str_at, str_col, u64_col, RunDir};
use crate::error::Result;

fn fates(run: &RunDir) -> Result<BTreeMap<String, (String, String)>> {
    let mut m = BTreeMap::new();
    for (table, rule) in [("kept", None), ("rejected", Some("rule")), ("malformed", None)] {
        for b in run.batches(table) {
            let b = b?;
            let (id, key, file, line) = (
                str_col(&b, "id"),
                str_col(&b, "key"),
                str_col(&b, "source_file"),
                u64_col(&b, "source_line"),
            );
            let rule_col = rule.and_then(|r| str_col(&b, r));
            for i in 0..b.num_rows() {
                let fate = match (table, rule_col) {
                    ("kept", _) => "kept".to_string(),
                    ("malformed", _) => "malformed".to_string(),
                    (_, c) => str_at(c, i).to_string(),
                };
                let k = match key {
                    Some(_) => str_at(key, i).to_string(),
                    None => format!("{}:{}", str_at(file, i), line.map_or(0, |l| l.value(i))),
                };
                let shown = match str_at(id, i) {
                    "" => k.clone(),
                    id => id.to_string(),
                };
                m.insert(k, (shown, fate));
            }
        }
    }
    Ok(m)
}

/// Compares two runs.
pub fn diff(a: &RunDir, b: &RunDir, examples: usize) -> Result<String> {
    let (fa, fb) = (fates(a)?, fates(b)?);
    let mut moves: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut same = 0u64;
    for (key, (id, fate_a)) in &fa {
        let fate_b = fb.get(key).map_or("absent", |(_, f)| f.as_str());
        if fate_b == fate_a {
            same += 1;
        } else {
            moves
                .entry((fate_a.clone(), fate_b.to_string()))
                .or_default()
                .push(if *id == *key {
                    id.clone()
                } else {
                    format!("{id} ({key})")
                });
        }
    }
    for (key, (id, fate_b)) in &fb {
        if !fa.contains_key(key) {
            moves
                .entry(("absent".into(), fate_b.clone()))
                .or_default()
                .push(if *id == *key {
                    id.clone()
                } else {
                    format!("{id} ({key})")
                });
        }
    }
    let mut out = String::new();
    let changed: usize = moves.values().map(Vec::len).sum();
    let _ = writeln!(
        out,
        "{} vs {}: {same} records with the same fate, {changed} changed",
        a.path.display(),
        b.path.display()
    );
    for ((from, to), recs) in &moves {
        let _ = writeln!(out, "  {from:<36} -> {to:<36}{:>8}", recs.len());
        for r in recs.iter().take(examples) {
            let _ = writeln!(out, "      {r}");
        }
    }
    Ok(out)
}
