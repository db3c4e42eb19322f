//! `mean-word-length`: the average length of the words of a part, in characters.
//!
//! ## What it measures
//! The mean number of characters of the scoped text's words that are not made
//! only of punctuation. Not measured when there is no such word.
//!
//! ## Why
//! Gopher drops documents whose mean word length is outside 3..10 characters:
//! below is often lists of numbers or symbols, above is often URLs, hashes or
//! text without spaces. In Chinese, one Han character is one word, so the mean
//! is about 1: the rule needs its own bounds per language (`[rule.lang.zh]`).
//!
//! ## Example
//! gpteacher codegen answers made of base64 or hex strings measure over 10;
//! `{"output": "1, 2, 3, 5, 8, 13"}` measures 1.2 and is dropped with `min = 3`.
//!
//! ## Parameters
//! - `tokenizer`: `unicode` (default) or `spacy-en`.
//! - `min_words`: not measured on texts with fewer tokens (default 0): the
//!   web-text thresholds mean little on a one-line answer.

use crate::filters::WordScope;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};
use crate::tokenize::is_symbol_word;

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "mean-word-length",
    "mean length of the words of the scoped text, in characters",
    build,
);

struct MeanWordLength {
    words: WordScope,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    Ok(Box::new(MeanWordLength {
        words: WordScope::parse(ctx)?,
    }))
}

impl Filter for MeanWordLength {
    fn metric(&self) -> &str {
        "mean word length"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let words = self.words.words(cx)?;
        let (mut n, mut chars) = (0usize, 0usize);
        for w in words.iter().filter(|w| !is_symbol_word(w)) {
            n += 1;
            chars += w.chars().count();
        }
        (n > 0).then(|| Measure::from(chars as f64 / n as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn means_over_words() {
        // alpaca_5000.
        let rec =
            record(r#"{"instruction": "Generate a Fibonacci sequence.", "input": "", "output": "1, 2, 3, 5, 8, 13"}"#);
        let f = build(&KIND, "", None);
        let v = value(f.as_ref(), &rec).expect("measured");
        assert!((v - 7.0 / 6.0).abs() < 1e-9);
        let empty = record(r#"{"instruction": "x", "input": "", "output": "..."}"#);
        assert_eq!(value(f.as_ref(), &empty), None);
    }
}
