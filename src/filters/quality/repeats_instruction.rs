//! `repeats-instruction`: how much of the answer is the instruction again.
//!
//! ## What it measures
//! The share of the answer's word n-grams (bigrams; single words for answers
//! of one or two words) that also occur in the instruction, lowercased, with
//! the `unicode` tokenizer (so Chinese is compared character by character).
//! Not measured on an empty answer or an empty instruction.
//!
//! ## Why
//! An answer that only restates the question ("What is the capital of France?"
//! -> "What is the capital of France?") teaches echoing. The comparison is
//! with the instruction only, not the `input`: rewriting and correction tasks
//! legitimately answer with most of their input.
//!
//! ## Example
//! alpaca_chinese_carbonz0 has answers that copy the instruction verbatim:
//! they measure 1.0 and are dropped with `max = 0.9`.
//!
//! ## Parameters
//! - `of`: the part compared with the scoped answer (default `instruction`).
//! - `min_words`: not measured for answers with fewer words (default 1).

use std::collections::HashSet;

use crate::registry::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};
use crate::tokenize::Tokenizer;

/// Registry entry.
pub const KIND: FilterKind = FilterKind {
    name: "repeats-instruction",
    stage: "quality",
    default_scope: Some(Scope::Response),
    range: (0.0, 1.0),
    summary: "share of the answer's word bigrams found in the instruction",
    build,
};

fn instruction() -> Scope {
    Scope::Instruction
}

fn one() -> usize {
    1
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "instruction")]
    of: Scope,
    #[serde(default = "one")]
    min_words: usize,
}

struct RepeatsInstruction {
    scope: Scope,
    of: Scope,
    min_words: usize,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    Ok(Box::new(RepeatsInstruction {
        scope: ctx.scope.unwrap_or(Scope::Response),
        of: p.of,
        min_words: p.min_words.max(1),
    }))
}

fn lowered(cx: &mut Analysis<'_>, scope: Scope) -> Vec<String> {
    cx.words(scope, Tokenizer::Unicode)
        .iter()
        .map(str::to_lowercase)
        .collect()
}

impl Filter for RepeatsInstruction {
    fn metric(&self) -> &str {
        "share of the answer repeating the instruction"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let answer = lowered(cx, self.scope);
        let source = lowered(cx, self.of);
        if answer.len() < self.min_words || source.is_empty() {
            return None;
        }
        let n = if answer.len() < 3 { 1 } else { 2 };
        let grams: HashSet<&[String]> = source.windows(n).collect();
        let total = answer.len() + 1 - n;
        let hit = answer.windows(n).filter(|g| grams.contains(g)).count();
        Some(Measure::from(hit as f64 / total as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn echo_is_one_real_answer_is_low() {
        let f = build(&KIND, "", None);
        let echo =
            record(r#"{"instruction": "给出三个保持健康的秘诀。", "input": "", "output": "给出三个保持健康的秘诀。"}"#);
        let real = record(
            r#"{"instruction": "Give three tips for staying healthy.", "input": "", "output": "1. Eat a balanced diet. 2. Exercise regularly. 3. Get enough sleep."}"#,
        );
        // Rewriting the input is not repeating the instruction.
        let rewrite = record(
            r#"{"instruction": "Correct the grammar.", "input": "She go to school.", "output": "She goes to school."}"#,
        );
        assert_eq!(value(f.as_ref(), &echo), Some(1.0));
        assert_eq!(value(f.as_ref(), &real), Some(0.0));
        assert_eq!(value(f.as_ref(), &rewrite), Some(0.0));
    }
}
