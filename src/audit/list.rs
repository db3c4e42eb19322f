//! `curate audit`: the dropped records of a run with their rule, measured
//! value, threshold and reason, counts by rule, and one record in full.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arrow::array::Array;

use crate::audit::run_dir::{f64_col, str_at, str_col, stripped_at, u64_col, RunDir};
use crate::audit::tune::{load_metrics, Decider};
use crate::error::Result;
use crate::stage::num;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text.
    Table,
    /// One JSON object per line.
    Jsonl,
}

/// What to list.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    /// Only this rule (exact id, or a prefix ending in `/`).
    pub rule: Option<String>,
    /// Only this stage.
    pub stage: Option<String>,
    /// At most this many records.
    pub limit: usize,
    /// Output format.
    pub format: Format,
}

pub use crate::output::read_back::messages_at;

/// A one-line preview: the first user turn and the last answer.
pub fn preview(msgs: &[(String, String)], width: usize) -> String {
    let (user, answer) = crate::output::read_back::request_and_answer(msgs);
    let mut s = format!("{} => {}", user.replace('\n', " "), answer.replace('\n', " "));
    if crate::text::head_chars(&s, width).1 {
        s = crate::text::head_chars(&s, width.saturating_sub(1)).0.to_string() + "…";
    }
    s
}

fn matches(rule: &str, want: &str) -> bool {
    if want.ends_with('/') {
        rule.starts_with(want)
    } else {
        rule == want
    }
}

/// Lists dropped records.
pub fn audit(run: &RunDir, q: &AuditQuery) -> Result<String> {
    // A rule or stage the run did not have is a typo, not "0 dropped".
    let rules: Vec<&str> = run
        .report
        .stages
        .iter()
        .flat_map(|st| st.rules.iter().map(|r| r.id.as_str()))
        .collect();
    if let Some(r) = &q.rule {
        let known = if r.ends_with('/') {
            rules.iter().any(|id| id.starts_with(r.as_str()))
        } else {
            rules.contains(&r.as_str()) || run.report.malformed_by_error.contains_key(r)
        };
        if !known {
            return Err(crate::error::Error::Usage(format!(
                "--rule {r}: the run has no such rule; its rules are: {}",
                rules.join(", ")
            )));
        }
    }
    if let Some(st) = &q.stage {
        if !run.report.stages.iter().any(|s| &s.name == st) {
            let names: Vec<&str> = run.report.stages.iter().map(|s| s.name.as_str()).collect();
            return Err(crate::error::Error::Usage(format!(
                "--stage {st}: the run has no such stage; its stages are: {}",
                names.join(", ")
            )));
        }
    }
    let mut out = String::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut shown = 0usize;
    let mut rows = String::new();
    for b in run.batches("rejected") {
        let b = b?;
        let (id, rule, stage, reason) = (
            str_col(&b, "id"),
            str_col(&b, "rule"),
            str_col(&b, "stage"),
            str_col(&b, "reason"),
        );
        let (file, line) = (str_col(&b, "source_file"), u64_col(&b, "source_line"));
        let (value, threshold, dup) = (
            f64_col(&b, "value"),
            f64_col(&b, "threshold"),
            str_col(&b, "duplicate_of"),
        );
        for i in 0..b.num_rows() {
            let r = str_at(rule, i);
            if q.rule.as_deref().is_some_and(|w| !matches(r, w))
                || q.stage.as_deref().is_some_and(|s| s != str_at(stage, i))
            {
                continue;
            }
            *counts.entry(r.to_string()).or_default() += 1;
            if shown >= q.limit {
                continue;
            }
            shown += 1;
            let f64_at = |c: Option<&arrow::array::Float64Array>| c.filter(|c| !c.is_null(i)).map(|c| c.value(i));
            let msgs = messages_at(&b, i);
            let origin = format!("{}:{}", str_at(file, i), line.map_or(0, |l| l.value(i)));
            match q.format {
                Format::Jsonl => {
                    let row = serde_json::json!({
                        "id": str_at(id, i), "source": origin, "stage": str_at(stage, i), "rule": r,
                        "value": f64_at(value), "threshold": f64_at(threshold), "reason": str_at(reason, i),
                        "duplicate_of": Some(str_at(dup, i)).filter(|d| !d.is_empty()),
                        "preview": preview(&msgs, 200),
                    });
                    let _ = writeln!(rows, "{row}");
                }
                Format::Table => {
                    let v = f64_at(value).map_or("-".into(), num);
                    let t = f64_at(threshold).map_or("-".into(), num);
                    let _ = writeln!(
                        rows,
                        "{:<30} {:<34} {:>10} {:>10}  {}",
                        str_at(id, i),
                        r,
                        v,
                        t,
                        str_at(reason, i)
                    );
                    let _ = writeln!(rows, "    {origin}  {}", preview(&msgs, 110));
                }
            }
        }
    }
    if q.format == Format::Jsonl {
        return Ok(rows);
    }
    let total: u64 = counts.values().sum();
    let _ = writeln!(
        out,
        "{total} dropped records{}",
        if total as usize > shown {
            format!(" (showing {shown})")
        } else {
            String::new()
        }
    );
    let per_rule: Vec<Vec<String>> = counts.iter().map(|(r, n)| vec![r.to_string(), n.to_string()]).collect();
    out.push_str(&crate::output::table::plain(&[""], &per_rule, 2));
    if shown > 0 {
        let _ = writeln!(
            out,
            "\n{:<30} {:<34} {:>10} {:>10}  reason",
            "id", "rule", "value", "threshold"
        );
        out.push_str(&rows);
    }
    Ok(out)
}

/// One record in full: its fate, its messages and every rule's verdict;
/// `want` is an id (every record that has it) or a key (`file:line`).
pub fn show_id(run: &RunDir, want: &str) -> Result<String> {
    let mut out = String::new();
    let mut found = 0;
    for (table, fate_col) in [("kept", None), ("rejected", Some("rule"))] {
        for b in run.batches(table) {
            let b = b?;
            let (id, key) = (str_col(&b, "id"), str_col(&b, "key"));
            for i in 0..b.num_rows() {
                if str_at(id, i) != want && str_at(key, i) != want {
                    continue;
                }
                found += 1;
                let file = str_at(str_col(&b, "source_file"), i).to_string();
                let line = u64_col(&b, "source_line").map_or(0, |l| l.value(i));
                let fate = match fate_col {
                    None => "kept".to_string(),
                    Some(c) => format!(
                        "dropped by {}: {}",
                        str_at(str_col(&b, c), i),
                        str_at(str_col(&b, "reason"), i)
                    ),
                };
                let _ = writeln!(out, "{want}  {file}:{line}\n  {fate}");
                for (role, text) in messages_at(&b, i) {
                    let _ = writeln!(out, "  [{role}] {}", text.replace('\n', "\n    "));
                }
                for line in stripped_at(&b, i).unwrap_or_default() {
                    let _ = writeln!(out, "  stripped boilerplate line: {line}");
                }
                verdicts(run, &file, line, &mut out)?;
            }
        }
    }
    if found == 0 {
        let _ = writeln!(out, "no kept or rejected record has id {want:?}");
    }
    Ok(out)
}

fn verdicts(run: &RunDir, file: &str, line: u64, out: &mut String) -> Result<()> {
    let d = Decider::of_run(run)?;
    let m = load_metrics(run, &d)?;
    let key = format!("{file}:{line}");
    let Some(i) = m.origins.iter().position(|o| *o == key) else {
        return Ok(());
    };
    let _ = writeln!(out, "  verdicts (lang {}):", m.langs[i]);
    for (r, (_, rule, _)) in d.rules.iter().enumerate() {
        let v = m.values[r][i];
        let th = rule.threshold_for(m.langs[i]);
        let verdict = if v.is_nan() {
            "not measured"
        } else if th.check(v).is_some() {
            "FAIL"
        } else {
            "pass"
        };
        let shown = if v.is_nan() { "-".to_string() } else { num(v) };
        let _ = writeln!(out, "    {:<40} {:>10}  {:<6} {th}", rule.id, shown, verdict);
    }
    Ok(())
}
