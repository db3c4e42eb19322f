//! `symbol-ratio`: occurrences of symbols per word.
//!
//! ## What it measures
//! The number of occurrences of the listed symbols in the scoped text (each
//! counted without overlap), divided by the number of tokens (punctuation
//! tokens included with the `spacy-en` tokenizer). Not measured when there is
//! no token.
//!
//! ## Why
//! Gopher drops documents with more than 0.1 hash symbols or ellipses per
//! word: hashtag lists and teaser text. Markdown headings (`## Step 1`) also
//! use `#`, so for answers the default ceiling is looser than Gopher's.
//!
//! ## Example
//! `{"output": "#love #instagood #photooftheday #fashion"}` has 4 `#` for 4
//! words: 1.0, dropped with `max = 0.1`.
//!
//! ## Parameters
//! - `symbols`: the strings counted, e.g. `["#"]` or `["...", "…"]`.
//! - `tokenizer`: `unicode` (default) or `spacy-en`.
//! - `min_words`: not measured on texts with fewer tokens (default 0): the
//!   web-text thresholds mean little on a one-line answer.

use crate::filters::WordScope;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};
use crate::tokenize::Tokenizer;

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality("symbol-ratio", "occurrences of the listed symbols per word", build);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    symbols: Vec<String>,
    #[serde(default)]
    tokenizer: Tokenizer,
    #[serde(default)]
    min_words: usize,
}

struct SymbolRatio {
    words: WordScope,
    symbols: Vec<String>,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    if p.symbols.is_empty() || p.symbols.iter().any(String::is_empty) {
        return Err(("symbols".into(), "list at least one non-empty symbol".into()));
    }
    let words = WordScope::new(ctx, p.tokenizer, p.min_words)?;
    Ok(Box::new(SymbolRatio {
        words,
        symbols: p.symbols,
    }))
}

impl Filter for SymbolRatio {
    fn metric(&self) -> &str {
        "symbols per word"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let words = self.words.words(cx)?;
        if words.is_empty() {
            return None;
        }
        let text = words.text();
        let n: usize = self.symbols.iter().map(|s| text.matches(s.as_str()).count()).sum();
        Some(Measure::from(n as f64 / words.len() as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn counts_hashes_and_ellipses() {
        // gpteacher roleplay style.
        let rec = record(r##"{"instruction": "Write hashtags", "input": "", "output": "#love #instagood ... wait…"}"##);
        let hash = build(&KIND, r##"symbols = ["#"]"##, None);
        let ell = build(&KIND, r#"symbols = ["...", "…"]"#, None);
        assert_eq!(value(hash.as_ref(), &rec), Some(2.0 / 3.0));
        assert_eq!(value(ell.as_ref(), &rec), Some(2.0 / 3.0));
    }
}
