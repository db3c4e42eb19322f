//! `short-lines`: the share of short lines.
//!
//! ## What it measures
//! The fraction of the non-blank lines of the scoped text that are short:
//! fewer than `min_words` words (C4) or at most `max_chars` characters
//! (FineWeb), whichever is set. Not measured on a text without a non-blank line.
//!
//! ## Why
//! C4 removes lines of fewer than 3 words and FineWeb drops pages where over
//! 67 % of lines are 30 characters or shorter: menus, link lists, headers.
//! Answers are different: a list of ingredients or a poem is mostly short
//! lines and fine, so the rules built on this kind are off by default.
//!
//! ## Example
//! `"Apples\nPears\nPlums"` with `min_words = 3`: 3 of 3 lines are short: 1.0.
//!
//! ## Parameters
//! - `min_words`: a line with fewer words is short.
//! - `max_chars`: a line with at most this many characters is short.

use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};
use crate::text::words;
use crate::tokenize::lines;

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality("short-lines", "fraction of short lines", build).fraction();

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    min_words: Option<usize>,
    max_chars: Option<usize>,
}

struct ShortLines {
    scope: Scope,
    p: Params,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    if p.min_words.is_none() && p.max_chars.is_none() {
        return Err(("min_words".into(), "set min_words and/or max_chars".into()));
    }
    Ok(Box::new(ShortLines {
        scope: ctx.scope.unwrap_or(Scope::Response),
        p,
    }))
}

impl Filter for ShortLines {
    fn metric(&self) -> &str {
        "fraction of short lines"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let text = cx.text(self.scope);
        let (mut n, mut short) = (0usize, 0usize);
        for line in lines(&text).map(str::trim).filter(|l| !l.is_empty()) {
            n += 1;
            let few_words = self.p.min_words.is_some_and(|m| words(line).take(m).count() < m);
            let few_chars = self.p.max_chars.is_some_and(|m| line.chars().count() <= m);
            short += usize::from(few_words || few_chars);
        }
        (n > 0).then(|| Measure::from(short as f64 / n as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn short_lines_by_words_or_chars() {
        let rec = record(
            r#"{"instruction": "List fruits.", "input": "", "output": "Apples\nPears and plums are also fruits\n\nPlums"}"#,
        );
        let w = build(&KIND, "min_words = 3", None);
        let c = build(&KIND, "max_chars = 5", None);
        assert_eq!(value(w.as_ref(), &rec), Some(2.0 / 3.0));
        assert_eq!(value(c.as_ref(), &rec), Some(1.0 / 3.0));
    }
}
