//! `char-length`: the length of a part of the record, in Unicode characters.
//!
//! ## What it measures
//! The number of characters (Unicode scalar values) of the scoped text after
//! trimming surrounding whitespace. Characters, not bytes and not words, so
//! one threshold means the same in English and in Chinese (a Chinese character
//! is 3 bytes of UTF-8 but carries about as much as an English word).
//!
//! ## Why
//! Answers of one or two characters (`"1"`, `"No"`) teach little; answers of
//! tens of thousands of characters are usually scraped pages or runaway
//! generations. A floor and a ceiling per part catch both.
//!
//! ## Example
//! With `scope = "response"` and `min = 2`, the Alpaca record
//! `{"instruction": "Add the two numbers.", "input": "2 and 3", "output": "5"}`
//! measures 1 and is dropped.
//!
//! ## Parameters
//! None besides the common `scope` (default `response`), `min` and `max`.

use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality("char-length", "length of the scoped text in characters", build);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {}

struct CharLength {
    scope: Scope,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let _: Params = ctx.parse()?;
    Ok(Box::new(CharLength {
        scope: ctx.scope.unwrap_or(Scope::Response),
    }))
}

impl Filter for CharLength {
    fn metric(&self) -> &str {
        "length in characters"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        Some(Measure::from(cx.text(self.scope).trim().chars().count() as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};
    use crate::stage::Scope;

    #[test]
    fn counts_characters_not_bytes() {
        let f = build(&KIND, "", None);
        // From alpaca_chinese_carbonz0 and alpaca_5000.
        let zh = record(r#"{"instruction": "什么是三原色？", "input": "", "output": "三原色是红、蓝、黄。"}"#);
        let en = record(
            r#"{"instruction": "Are the two sentences below grammatically correct? Output yes or no.", "input": "Sentence 1: I am going to the store.\nSentence 2: I goes to the store.", "output": "No"}"#,
        );
        assert_eq!(value(f.as_ref(), &zh), Some(10.0));
        assert_eq!(value(f.as_ref(), &en), Some(2.0));
    }

    #[test]
    fn scopes_select_the_part() {
        let rec = record(
            r#"{"instruction": "Arrange the following musical notes", "input": "G, B, E", "output": "E, G, B"}"#,
        );
        let instr = build(&KIND, "", Some(Scope::Instruction));
        let input = build(&KIND, "", Some(Scope::Input));
        let conv = build(&KIND, "", Some(Scope::Conversation));
        assert_eq!(value(instr.as_ref(), &rec), Some(35.0));
        assert_eq!(value(input.as_ref(), &rec), Some(7.0));
        // instruction + "\n" + input + "\n" + output
        assert_eq!(value(conv.as_ref(), &rec), Some(35.0 + 1.0 + 7.0 + 1.0 + 7.0));
    }
}
