//! `curate explain RECORD.json`: every rule's measured value, threshold and
//! verdict for one record, computed now with the given rules.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::record::{map_record, Origin};
use crate::ruleset::Rules;
use crate::stage::num;

/// Explains one record read from `path` (a JSON object, or the first line of a JSONL file).
pub fn explain_file(rules: &Rules, path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::input(path, e))?;
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) => {
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            serde_json::from_str(first).map_err(|e| Error::Usage(format!("{}: invalid JSON: {e}", path.display())))?
        }
    };
    explain_value(rules, &value, &path.display().to_string())
}

/// Explains one parsed record.
pub fn explain_value(rules: &Rules, value: &serde_json::Value, label: &str) -> Result<String> {
    let mut rec = map_record(&rules.adapters, value, Origin { file: 0, line: 1 }, label)
        .map_err(|e| Error::Usage(format!("{label}: cannot map the record: {e}")))?;
    rec.raw = value.to_string();
    let lang = rec.lang;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "record {} ({}, lang {lang}, {} turns)",
        rec.id,
        rec.shape.name(),
        rec.turns.len()
    );
    let mut fate: Option<String> = None;
    // A stage that calls a model runs only in a run (`--stages llm`).
    for stage in rules.record_stages.iter().filter(|s| !s.opt_in()) {
        let infos = stage.rules();
        let outcome = stage.process(&mut rec);
        let _ = writeln!(out, "stage {}:", stage.name());
        for (r, info) in infos.iter().enumerate() {
            let v = outcome.values.get(r).copied().unwrap_or(f64::NAN);
            let failed = outcome.failed.iter().find(|f| f.rule == r);
            let verdict = match (v.is_nan(), failed) {
                (true, _) => "not measured",
                (false, Some(_)) => "FAIL",
                (false, None) => "pass",
            };
            let shown = if v.is_nan() { "-".to_string() } else { num(v) };
            let _ = writeln!(
                out,
                "  {:<40} {:>10}  {:<6} {}",
                info.id,
                shown,
                verdict,
                info.threshold_for(lang)
            );
            if let Some(f) = failed {
                let _ = writeln!(out, "      {}", f.reason);
            }
        }
        if fate.is_none() {
            if let Some(f) = outcome.failed.first() {
                fate = Some(format!("dropped by {} ({})", infos[f.rule].id, f.reason));
            }
        }
        for (name, n) in &outcome.counts {
            let _ = writeln!(out, "  count {name}: {n}");
        }
    }
    // The cues that chose the task and tags, when the rules have topics.
    match crate::tag::tagger(&rules.files) {
        Ok(Some(tagger)) => {
            let _ = write!(out, "{}", crate::tag::explain::explain_with(&tagger, &rec));
        }
        _ => {
            if let Some(task) = &rec.task {
                let _ = writeln!(out, "task: {task}");
            }
            if !rec.tags.is_empty() {
                let _ = writeln!(out, "tags: {}", rec.tags.join(", "));
            }
        }
    }
    for p in &rec.pii {
        let _ = writeln!(
            out,
            "pii: {} in message {} chars {}..{}",
            p.kind, p.turn, p.start, p.end
        );
    }
    let _ = writeln!(out, "verdict: {}", fate.as_deref().unwrap_or("kept"));
    Ok(out)
}
