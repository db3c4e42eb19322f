//! `answer-in-choices`: a multiple-choice record whose answer is not one of its
//! own choices.
//!
//! ## What it measures
//! 1 when the record (as read: the `raw` column) has a list of strings in the
//! field `choices` and a string in the field `answer` that is not one of them
//! (compared trimmed), 0 when it is; not measured when either field is
//! missing. Only records whose raw text holds the choices field's name are
//! parsed.
//!
//! ## Why
//! Classification sets built from templates carry labels that were renamed on
//! one side only: 32 of the 653 pCLUE records with `answer_choices` answer with
//! a label the list does not hold (`同城服务` where the list has `同城`, `电竞`
//! where it has `游戏`). Trained on, the model learns to answer outside the
//! options it was given.
//!
//! ## Example
//! pCLUE: `{"input": "…选项：银行，社区，电商…", "target": "摄影修图",
//! "answer_choices": ["银行", "社区", "电商", …]}` measures 1.
//!
//! ## Measured
//! Judged development set: 7 of 7 drops right.
//!
//! ## Parameters
//! - `choices`: the field holding the list of choices.
//! - `answer`: the field holding the answer.

use serde_json::Value;

use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "answer-in-choices",
    "1 when a record's answer field is not one of its choices field",
    build,
)
.fraction()
.scope(None);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    choices: String,
    answer: String,
}

struct AnswerInChoices {
    choices: String,
    answer: String,
    /// `"<choices>"`, looked for in the raw text before parsing it.
    needle: String,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    if p.choices.is_empty() || p.answer.is_empty() {
        return Err(("choices".into(), "name the choices and the answer fields".into()));
    }
    Ok(Box::new(AnswerInChoices {
        needle: format!("\"{}\"", p.choices),
        choices: p.choices,
        answer: p.answer,
    }))
}

impl Filter for AnswerInChoices {
    fn metric(&self) -> &str {
        "answer outside the choices (1 = outside)"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let raw = &cx.record().raw;
        if !raw.contains(&self.needle) {
            return None;
        }
        let v: Value = serde_json::from_str(raw).ok()?;
        let choices: Vec<&str> = v
            .get(&self.choices)?
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let answer = v.get(&self.answer)?.as_str()?.trim();
        if choices.is_empty() {
            return None;
        }
        let inside = choices.iter().any(|c| c.trim() == answer);
        Some(Measure {
            value: if inside { 0.0 } else { 1.0 },
            detail: (!inside).then(|| answer.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn answers_outside_their_choices() {
        let f = build(
            &KIND,
            r#"choices = "answer_choices"
answer = "target""#,
            None,
        );
        // pCLUE (a declared format, read here as raw JSON).
        let outside = record(
            r#"{"instruction": "这个应用属于什么类别？选项：银行，社区，同城", "input": "", "output": "同城服务", "target": "同城服务", "answer_choices": ["银行", "社区", "同城"]}"#,
        );
        let inside = record(
            r#"{"instruction": "这个应用属于什么类别？选项：银行，社区，同城", "input": "", "output": "同城", "target": " 同城", "answer_choices": ["银行", "社区", "同城"]}"#,
        );
        let none = record(r#"{"instruction": "Name a color.", "input": "", "output": "Blue."}"#);
        assert_eq!(value(f.as_ref(), &outside), Some(1.0));
        assert_eq!(value(f.as_ref(), &inside), Some(0.0));
        assert_eq!(value(f.as_ref(), &none), None);
    }
}
