//! The `sensitive` stage: find PII and secrets in every message, record each
//! finding in the `pii` column, redact, tag or drop as `pii.toml` says, then
//! measure the word-list rules on the (redacted) record.

use crate::error::RulesError;
use crate::record::{PiiSpan, Record};
use crate::rules::RuleFiles;
use crate::stage::{Analysis, Failure, RecordStage, RuleInfo, StageOutcome, Threshold};

use super::config::{compile_pii, compile_toxic, PiiAction, PiiSetting, TaskSetting};
use super::scan::{Finding, PiiType};
use super::toxic::{ToxicAction, ToxicRule, WordLists};

/// The compiled stage.
pub struct SensitiveStage {
    pii: Vec<PiiSetting>,
    /// Indexes into `pii` of the types whose action is `drop`: one rule each.
    drop_rules: Vec<usize>,
    toxic: Vec<ToxicRule>,
    /// The toxic rules' words, one list per rule in the same order.
    lists: Option<WordLists>,
    task: Option<TaskSetting>,
}

/// Builds the stage from `rules/sensitive/`; `None` when it has no rules.
pub fn build(files: &RuleFiles) -> Result<Option<SensitiveStage>, Vec<RulesError>> {
    // The PII detectors and the word lists compile side by side (the
    // lists' automaton takes most of the stage's start).
    let ((mut errors, (pii, task)), (mut toxic_errors, (toxic, lists))) = rayon::join(
        || {
            let mut errors = Vec::new();
            let r = compile_pii(files, &mut errors);
            (errors, r)
        },
        || {
            let mut errors = Vec::new();
            let r = compile_toxic(files, &mut errors);
            (errors, r)
        },
    );
    errors.append(&mut toxic_errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    if pii.is_empty() && toxic.is_empty() {
        return Ok(None);
    }
    let drop_rules = (0..pii.len()).filter(|&i| pii[i].action == PiiAction::Drop).collect();
    Ok(Some(SensitiveStage {
        pii,
        drop_rules,
        toxic,
        lists,
        task,
    }))
}

/// Keeps the best of overlapping findings (higher type rank, then longer,
/// then earlier) and returns the rest in text order.
pub fn resolve(mut found: Vec<Finding>) -> Vec<Finding> {
    found.sort_by(|a, b| {
        b.ty.rank()
            .cmp(&a.ty.rank())
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<Finding> = Vec::with_capacity(found.len());
    for f in found {
        if kept.iter().all(|k| f.end <= k.start || f.start >= k.end) {
            kept.push(f);
        }
    }
    kept.sort_by_key(|f| f.start);
    kept
}

/// Numeric detectors need this many ASCII digits in the text to find anything.
pub(crate) const MIN_DIGITS: usize = 7;

impl SensitiveStage {
    /// Every validated finding in `text`, overlaps resolved, in text order.
    pub fn scan(&self, text: &str) -> Vec<Finding> {
        let digits = text.bytes().filter(u8::is_ascii_digit).count();
        let mut found = Vec::new();
        for s in &self.pii {
            if s.ty.kind().needs_digits && digits < MIN_DIGITS {
                continue;
            }
            s.detector.find(text, &mut found);
        }
        resolve(found)
    }

    fn setting(&self, ty: PiiType) -> Option<&PiiSetting> {
        self.pii.iter().find(|s| s.ty == ty)
    }

    /// Scans one message, fills `spans`, counts per type and returns the
    /// redacted text when something was redacted, with `cut` (a byte offset
    /// in the message: the Alpaca input boundary) moved to match. Redacted
    /// values and their placeholders are added to `redacted`.
    fn message(
        &self,
        turn: u32,
        text: &str,
        cut: Option<usize>,
        spans: &mut Vec<PiiSpan>,
        tally: &mut Tally,
        redacted: &mut Vec<(String, String)>,
    ) -> Option<(String, Option<usize>)> {
        let found = self.scan(text);
        if found.is_empty() {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut chars = 0u32;
        let mut shift = 0isize;
        let mut straddle = None;
        let mut changed = false;
        for f in &found {
            chars += text[last..f.start].chars().count() as u32;
            let len = text[f.start..f.end].chars().count() as u32;
            let i = PiiType::index(f.ty);
            let setting = self.setting(f.ty);
            let example = setting.is_some_and(|s| s.is_example(&text[f.start..f.end]));
            let asked = !example && tally.asked[i];
            spans.push(PiiSpan {
                turn,
                start: chars,
                end: chars + len,
                kind: if example { format!("example:{}", f.ty) } else { f.kind() },
            });
            chars += len;
            if example {
                tally.examples[i] += 1;
            } else if asked {
                tally.asked_values[i] += 1;
            } else {
                tally.per_type[i] += 1;
            }
            out.push_str(&text[last..f.start]);
            last = f.end;
            match setting {
                // Dropped records go to the rejected shards for audit: the
                // secret or id itself is masked there too.
                Some(s) if s.action != PiiAction::Tag && !example && !asked => {
                    out.push_str(&s.placeholder);
                    changed = true;
                    redacted.push((text[f.start..f.end].to_string(), s.placeholder.clone()));
                    if let Some(c) = cut {
                        if f.end <= c {
                            shift += s.placeholder.len() as isize - (f.end - f.start) as isize;
                        } else if f.start < c {
                            straddle = Some(out.len());
                        }
                    }
                }
                _ => out.push_str(&text[f.start..f.end]),
            }
        }
        out.push_str(&text[last..]);
        if !changed {
            return None;
        }
        let new_cut = cut.map(|c| straddle.unwrap_or((c as isize + shift).max(0) as usize));
        Some((out, new_cut))
    }
}

/// Per-record counts of one record's findings, per type.
#[derive(Default)]
struct Tally {
    /// Findings acted on as `pii.toml` says.
    per_type: [u64; PiiType::COUNT],
    /// Example and documentation values, left in the text.
    examples: [u64; PiiType::COUNT],
    /// Whether the instruction asks for values of the type.
    asked: [bool; PiiType::COUNT],
    /// Values the instruction asked for, tagged and left in the text.
    asked_values: [u64; PiiType::COUNT],
}

/// Replaces every JSON-escaped occurrence of `value` in the raw record.
fn redact_raw(raw: &mut String, value: &str, placeholder: &str) {
    let Ok(quoted) = serde_json::to_string(value) else {
        return;
    };
    let escaped = &quoted[1..quoted.len() - 1];
    if !escaped.is_empty() && raw.contains(escaped) {
        *raw = raw.replace(escaped, placeholder);
    }
}

impl RecordStage for SensitiveStage {
    fn name(&self) -> &str {
        "sensitive"
    }

    fn compile_error(&self, compile: bool) -> Option<String> {
        self.pii.iter().find_map(|s| s.detector.compile_error(compile))
    }

    /// The rules that can drop a record: one per PII type whose action is
    /// `drop` (threshold `max = 0` findings), then the word-list rules whose
    /// action is `drop`. Tagging rules never drop, so they are not listed
    /// (re-deciding from stored values would otherwise read them as drops).
    fn rules(&self) -> Vec<RuleInfo> {
        let pii = self.drop_rules.iter().map(|&i| RuleInfo {
            id: format!("sensitive/pii-{}", self.pii[i].ty),
            subject: format!("{} findings", self.pii[i].ty),
            threshold: Threshold {
                min: None,
                max: Some(0.0),
            },
            by_lang: Vec::new(),
        });
        let toxic = self
            .toxic
            .iter()
            .filter(|r| r.action == ToxicAction::Drop)
            .map(|r| RuleInfo {
                id: r.id.clone(),
                subject: r.metric.clone(),
                threshold: r.threshold,
                by_lang: Vec::new(),
            });
        pii.chain(toxic).collect()
    }

    fn process(&self, rec: &mut Record) -> StageOutcome {
        let mut out = StageOutcome::default();
        let mut spans = Vec::new();
        let mut tally = Tally::default();
        if let Some(task) = &self.task {
            let instruction = rec.instruction();
            if task.verbs.is_match(instruction) {
                for s in &self.pii {
                    if s.task_words.as_ref().is_some_and(|w| w.is_match(instruction)) {
                        tally.asked[PiiType::index(s.ty)] = true;
                    }
                }
            }
        }
        let mut redacted: Vec<(String, String)> = Vec::new();
        if !self.pii.is_empty() {
            let mut idx = 0u32;
            if let Some(sys) = rec.system.as_mut() {
                if let Some((text, _)) = self.message(idx, sys, None, &mut spans, &mut tally, &mut redacted) {
                    *sys = text;
                }
                idx += 1;
            }
            let input_at = rec.input_at;
            for (ti, t) in rec.turns.iter_mut().enumerate() {
                let cut = if ti == 0 { input_at } else { None };
                if let Some((text, new_cut)) = self.message(idx, &t.content, cut, &mut spans, &mut tally, &mut redacted)
                {
                    t.content = text;
                    if ti == 0 {
                        rec.input_at = new_cut;
                    }
                }
                idx += 1;
            }
        }
        // Keep the raw column free of what was redacted.
        for (value, placeholder) in &redacted {
            redact_raw(&mut rec.raw, value, placeholder);
        }
        let per_type = tally.per_type;
        for (i, ty) in PiiType::ALL.into_iter().enumerate() {
            if tally.examples[i] > 0 {
                out.counts.push((format!("pii/{ty}/example"), tally.examples[i]));
            }
            if tally.asked_values[i] > 0 {
                out.counts.push((format!("pii/{ty}/task"), tally.asked_values[i]));
                let tag = format!("pii:{ty}");
                if !rec.tags.contains(&tag) {
                    rec.tags.push(tag);
                }
            }
        }
        for (i, n) in per_type.iter().enumerate() {
            let ty = PiiType::ALL[i];
            if *n == 0 {
                continue;
            }
            if let Some(s) = self.setting(ty) {
                out.counts.push((format!("pii/{ty}/{}", s.action.as_str()), *n));
                if s.action == PiiAction::Tag {
                    let tag = format!("pii:{ty}");
                    if !rec.tags.contains(&tag) {
                        rec.tags.push(tag);
                    }
                }
            }
        }
        for (rule, &i) in self.drop_rules.iter().enumerate() {
            let ty = self.pii[i].ty;
            let n = per_type[PiiType::index(ty)] as f64;
            out.values.push(n);
            if n > 0.0 {
                let kinds: Vec<&str> = spans
                    .iter()
                    .filter(|s| s.kind == ty.as_str() || s.kind.starts_with(&format!("{ty}:")))
                    .map(|s| s.kind.as_str())
                    .collect();
                out.failed.push(Failure {
                    rule,
                    value: n,
                    threshold: 0.0,
                    reason: crate::verdict::pii_found(ty.as_str(), n, &kinds),
                });
            }
        }
        rec.pii = spans;
        let mut tags = Vec::new();
        {
            let mut cx = Analysis::new(rec);
            let mut rule = self.drop_rules.len();
            let measured = self.lists.as_ref().map(|l| l.measure_all(&mut cx)).unwrap_or_default();
            for (r, m) in self.toxic.iter().zip(measured) {
                let drops = r.action == ToxicAction::Drop;
                if drops {
                    out.values.push(m.value);
                    rule += 1;
                }
                let Some(crossed) = r.threshold.check(m.value) else {
                    continue;
                };
                if !drops {
                    out.counts.push((format!("toxic/{}/tag", r.name), 1));
                    tags.push(format!("toxic:{}", r.name));
                    continue;
                }
                out.counts.push((format!("toxic/{}/drop", r.name), 1));
                let reason = crate::verdict::crossed(&r.metric, m.value, crossed, m.detail.as_deref());
                out.failed.push(Failure {
                    rule: rule - 1,
                    value: m.value,
                    threshold: crossed.bound(),
                    reason,
                });
            }
        }
        for t in tags {
            if !rec.tags.contains(&t) {
                rec.tags.push(t);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::testing::record;

    fn stage() -> SensitiveStage {
        match build(&RuleFiles::embedded()) {
            Ok(Some(s)) => s,
            _ => panic!("the built-in rules build a sensitive stage"),
        }
    }

    #[test]
    fn overlapping_findings_keep_the_specific_type() {
        let f = |s, e, ty| Finding::new(s, e, ty);
        let kept = resolve(vec![
            f(0, 11, PiiType::Phone),
            f(0, 18, PiiType::CnId),
            f(20, 25, PiiType::Email),
        ]);
        assert_eq!(kept, vec![f(0, 18, PiiType::CnId), f(20, 25, PiiType::Email)]);
    }

    #[test]
    fn redaction_keeps_the_input_boundary_and_character_offsets() {
        let s = stage();
        let mut rec =
            record(r#"{"instruction": "给 jane@qq.com 回信", "input": "电话 13800138000", "output": "好的"}"#);
        let out = s.process(&mut rec);
        assert!(out.failed.is_empty());
        assert_eq!(rec.instruction(), "给 <EMAIL> 回信");
        assert_eq!(rec.input(), "电话 <PHONE>");
        let spans: Vec<(u32, u32, u32, &str)> = rec
            .pii
            .iter()
            .map(|p| (p.turn, p.start, p.end, p.kind.as_str()))
            .collect();
        assert_eq!(spans, [(0, 2, 13, "email"), (0, 20, 31, "phone")]);
        assert!(out.counts.contains(&("pii/email/redact".to_string(), 1)));
    }

    #[test]
    fn drop_rules_fail_with_the_number_of_findings() {
        let s = stage();
        let ids: Vec<String> = s.rules().into_iter().map(|r| r.id).collect();
        let mut rec = record(r#"{"instruction": "SSN 536-22-8514 and 11010519491231002X", "output": "ok"}"#);
        let out = s.process(&mut rec);
        let failed: Vec<(&str, f64)> = out.failed.iter().map(|f| (ids[f.rule].as_str(), f.value)).collect();
        assert_eq!(failed, [("sensitive/pii-ssn", 1.0), ("sensitive/pii-cn-id", 1.0)]);
        assert_eq!(out.values.len(), ids.len());
    }
}
