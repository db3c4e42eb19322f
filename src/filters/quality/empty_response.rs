//! `empty-response`: the record has no answer, or an answer of only whitespace.
//!
//! ## What it measures
//! 1 when the scoped text (by default the last assistant turn) is missing,
//! empty or whitespace only; 0 otherwise.
//!
//! ## Why
//! A record without an answer teaches the model to answer with nothing.
//! Alpaca-style sets carry a few (2 in `alpaca_5000`, 11 in the Chinese Alpaca
//! translation), and instruction-only sets (prompts collected for later
//! generation) have no answer at all.
//!
//! ## Example
//! `{"instruction": "Name three primary colors.", "input": "", "output": "  "}`
//! measures 1 and is dropped by the default rule (`max = 0`).
//!
//! ## Parameters
//! None besides the common `scope` (default `response`) and `max`.

use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "empty-response",
    "1 when the answer is missing or whitespace only",
    build,
)
.fraction();

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {}

struct EmptyResponse {
    scope: Scope,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let _: Params = ctx.parse()?;
    Ok(Box::new(EmptyResponse {
        scope: ctx.scope.unwrap_or(Scope::Response),
    }))
}

impl Filter for EmptyResponse {
    fn metric(&self) -> &str {
        "emptiness (1 = empty)"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let empty = cx.text(self.scope).trim().is_empty();
        Some(Measure::from(if empty { 1.0 } else { 0.0 }))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn measures_missing_blank_and_present_answers() {
        let f = build(&KIND, "", None);
        // Cut from alpaca_chinese_carbonz0 (records with an empty output).
        let empty = record(r#"{"instruction": "根据给定的输入，生成一个有创意的标题。", "input": "", "output": ""}"#);
        let blank = record(r#"{"instruction": "Name three primary colors.", "input": "", "output": " \n "}"#);
        let none = record(r#"{"instruction": "What is there one of in every corner and two of in every room?"}"#);
        let ok = record(r#"{"instruction": "什么是三原色？", "input": "", "output": "三原色是红、蓝、黄。"}"#);
        assert_eq!(value(f.as_ref(), &empty), Some(1.0));
        assert_eq!(value(f.as_ref(), &blank), Some(1.0));
        assert_eq!(value(f.as_ref(), &none), Some(1.0));
        assert_eq!(value(f.as_ref(), &ok), Some(0.0));
    }

    #[test]
    fn rejects_unknown_parameters() {
        let files = crate::rules::RuleFiles::default();
        let ctx = crate::rules::BuildContext {
            params: toml::from_str("bogus = 1").expect("parses"),
            scope: None,
            files: &files,
            file: "t.toml",
        };
        let err = (KIND.build)(&ctx).err().expect("unknown key is an error");
        assert_eq!(err.0, "bogus");
    }
}
