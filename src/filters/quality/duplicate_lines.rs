//! `duplicate-lines`: how much of a part repeats earlier lines or paragraphs.
//!
//! ## What it measures
//! The scoped text is cut into lines (at runs of `\n`) or paragraphs (at runs
//! of two or more `\n`, after stripping the text). A piece equal to an earlier
//! one is a duplicate. With `by = "count"` the value is duplicates / pieces;
//! with `by = "chars"` it is the characters of the duplicates / characters of
//! the text. Empty pieces count, as in datatrove. Not measured on empty text.
//!
//! ## Why
//! Gopher drops documents with over 30 % duplicate lines or paragraphs, or
//! over 20 % of characters in them: generated loops, navigation repeated on
//! every page. FineWeb uses the character share of duplicate lines at 1 %.
//!
//! ## Example
//! A gpteacher roleplay answer repeating `"I'm here to help!"` on 3 of its 5
//! lines has 2 duplicate lines: 0.4, dropped with `max = 0.3`.
//!
//! ## Parameters
//! - `unit`: `line` (default) or `paragraph`.
//! - `by`: `count` (default) or `chars`.

use std::collections::HashSet;

use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};
use crate::tokenize::{py_strip, split_newline_runs};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "duplicate-lines",
    "share of lines or paragraphs repeating an earlier one",
    build,
)
.fraction();

#[derive(serde::Deserialize, Default, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum Unit {
    #[default]
    Line,
    Paragraph,
}

#[derive(serde::Deserialize, Default, Clone, Copy, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum By {
    #[default]
    Count,
    Chars,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    unit: Unit,
    #[serde(default)]
    by: By,
}

struct DuplicateLines {
    scope: Scope,
    unit: Unit,
    by: By,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    Ok(Box::new(DuplicateLines {
        scope: ctx.scope.unwrap_or(Scope::Response),
        unit: p.unit,
        by: p.by,
    }))
}

impl Filter for DuplicateLines {
    fn metric(&self) -> &str {
        match (self.unit, self.by) {
            (Unit::Line, By::Count) => "share of duplicate lines",
            (Unit::Line, By::Chars) => "character share of duplicate lines",
            (Unit::Paragraph, By::Count) => "share of duplicate paragraphs",
            (Unit::Paragraph, By::Chars) => "character share of duplicate paragraphs",
        }
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let text = cx.text(self.scope);
        if text.is_empty() {
            return None;
        }
        let pieces = match self.unit {
            Unit::Line => split_newline_runs(&text, 1),
            Unit::Paragraph => split_newline_runs(py_strip(&text), 2),
        };
        let mut seen = HashSet::with_capacity(pieces.len());
        let (mut dups, mut dup_chars) = (0usize, 0usize);
        for p in &pieces {
            if !seen.insert(*p) {
                dups += 1;
                dup_chars += p.chars().count();
            }
        }
        Some(Measure::from(match self.by {
            By::Count => dups as f64 / pieces.len() as f64,
            By::Chars => dup_chars as f64 / text.chars().count() as f64,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn lines_and_paragraphs() {
        let rec = record(r#"{"instruction": "Say hi", "input": "", "output": "Hi!\nHi!\n\nHi!\nBye"}"#);
        let lines = build(&KIND, "", None);
        let line_chars = build(&KIND, r#"by = "chars""#, None);
        let paras = build(&KIND, r#"unit = "paragraph""#, None);
        // Lines: Hi! Hi! Hi! Bye -> 2 duplicates of 4.
        assert_eq!(value(lines.as_ref(), &rec), Some(0.5));
        assert_eq!(value(line_chars.as_ref(), &rec), Some(6.0 / 16.0));
        // Paragraphs: "Hi!\nHi!" and "Hi!\nBye": none repeated.
        assert_eq!(value(paras.as_ref(), &rec), Some(0.0));
    }
}
