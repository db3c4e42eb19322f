//! `newline-ratio`: line breaks per word.
//!
//! ## What it measures
//! The number of `\n` in the scoped text divided by its number of words
//! (`unicode` tokenizer). Not measured on a text without words.
//!
//! ## Why
//! FineWeb drops pages with more than 0.3 line breaks per word ("list-like"
//! pages: menus, tag clouds). An answer listing single words (synonyms, a
//! shopping list) is list-like and fine, hence off by default for answers.
//!
//! ## Example
//! `"red\ngreen\nblue"`: 2 breaks for 3 words: 0.67.
//!
//! ## Parameters
//! None besides the common `scope`, `min` and `max`.

use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};
use crate::tokenize::Tokenizer;

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality("newline-ratio", "line breaks per word", build);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {}

struct NewlineRatio {
    scope: Scope,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let _: Params = ctx.parse()?;
    Ok(Box::new(NewlineRatio {
        scope: ctx.scope.unwrap_or(Scope::Response),
    }))
}

impl Filter for NewlineRatio {
    fn metric(&self) -> &str {
        "line breaks per word"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let words = cx.words(self.scope, Tokenizer::Unicode);
        if words.is_empty() {
            return None;
        }
        let breaks = words.text().matches('\n').count();
        Some(Measure::from(breaks as f64 / words.len() as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn breaks_per_word() {
        let rec = record(r#"{"instruction": "Name colors.", "input": "", "output": "red\ngreen\nblue"}"#);
        let f = build(&KIND, "", None);
        assert_eq!(value(f.as_ref(), &rec), Some(2.0 / 3.0));
    }
}
