//! `alpha-words`: the share of words that contain a letter.
//!
//! ## What it measures
//! The fraction of the scoped text's tokens that hold at least one alphabetic
//! character. With the `unicode` tokenizer punctuation is not a token, so the
//! value counts letters against numbers; with `spacy-en` punctuation tokens
//! count too (as in Gopher). Not measured when there is no token.
//!
//! ## Why
//! Gopher keeps documents where at least 80 % of words contain a letter;
//! tables of numbers and symbol soup fall below. Arithmetic answers are
//! mostly numbers and legitimately fall below, so the default floor for
//! answers is low.
//!
//! ## Example
//! `{"output": "2 + 2 = 4"}` with the `spacy-en` tokenizer: 5 tokens, none
//! with a letter: 0.
//!
//! ## Parameters
//! - `tokenizer`: `unicode` (default) or `spacy-en`.
//! - `min_words`: not measured on texts with fewer tokens (default 0): the
//!   web-text thresholds mean little on a one-line answer.

use crate::filters::WordScope;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality("alpha-words", "fraction of words holding a letter", build).fraction();

struct AlphaWords {
    words: WordScope,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    Ok(Box::new(AlphaWords {
        words: WordScope::parse(ctx)?,
    }))
}

impl Filter for AlphaWords {
    fn metric(&self) -> &str {
        "fraction of words with a letter"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let words = self.words.words(cx)?;
        if words.is_empty() {
            return None;
        }
        let alpha = words.iter().filter(|w| w.chars().any(char::is_alphabetic)).count();
        Some(Measure::from(alpha as f64 / words.len() as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn numbers_and_symbols_have_no_letters() {
        // alpaca_5000: "Calculate 2 + 2." style.
        let rec = record(r#"{"instruction": "Add.", "input": "", "output": "2 + 2 = 4 apples"}"#);
        let spacy = build(&KIND, r#"tokenizer = "spacy-en""#, None);
        let uni = build(&KIND, "", None);
        assert_eq!(value(spacy.as_ref(), &rec), Some(1.0 / 6.0));
        assert_eq!(value(uni.as_ref(), &rec), Some(1.0 / 4.0));
    }
}
