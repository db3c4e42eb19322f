//! `duplicate-ngrams`: how much of a part lies in repeated word n-grams.
//!
//! ## What it measures
//! Walking the words of the scoped text, an n-gram already seen is counted
//! (its characters, words joined without spaces, as datatrove does) and the
//! walk jumps past it; otherwise it moves one word. The value is the counted
//! characters over the characters of the text. Not measured when the text has
//! fewer than `n` words.
//!
//! ## Why
//! Gopher drops documents where repeated 5- to 10-grams cover over 15 % down
//! to 10 % of the characters: copy-pasted blocks, generation loops.
//!
//! ## Example
//! An answer that says the same 12-word sentence twice in 30 words has about
//! 40 % of its characters in duplicate 5-grams.
//!
//! ## Parameters
//! - `n`: the n-gram size (1 or more).
//! - `min_words`: not measured below this many words (default 0). Short
//!   answers repeat a phrase by design (a tool call quoting the question).
//! - `tokenizer`: `unicode` (default) or `spacy-en`.

use std::collections::HashSet;

use super::top_ngram::{ngram_hash, HashedKeys};
use crate::filters::WordScope;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality("duplicate-ngrams", "character share of repeated word n-grams", build);

struct DuplicateNgrams {
    words: WordScope,
    n: usize,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let (words, n) = WordScope::parse_ngrams(ctx)?;
    Ok(Box::new(DuplicateNgrams { words, n }))
}

impl Filter for DuplicateNgrams {
    fn metric(&self) -> &str {
        "character share of duplicate n-grams"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let words = self.words.words(cx)?;
        let ws: Vec<&str> = words.iter().collect();
        let n = self.n;
        if ws.len() < n {
            return None;
        }
        let lens: Vec<usize> = ws.iter().map(|w| w.chars().count()).collect();
        let mut seen: HashSet<u64, HashedKeys> = HashSet::with_capacity_and_hasher(ws.len(), HashedKeys::default());
        let mut buf = Vec::new();
        let (mut repeated, mut i) = (0usize, 0usize);
        while i + n <= ws.len() {
            // Joined without a separator, as datatrove: ["ab","c"] equals ["a","bc"].
            if !seen.insert(ngram_hash(ws[i..i + n].iter().copied(), false, &mut buf)) {
                repeated += lens[i..i + n].iter().sum::<usize>();
                i += n;
            } else {
                i += 1;
            }
        }
        let total = words.text().chars().count();
        Some(Measure::from(repeated as f64 / total.max(1) as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn repeated_ngrams_share() {
        let rec = record(r#"{"instruction": "x", "input": "", "output": "a b c d e a b c d e"}"#);
        let f = build(&KIND, "n = 5", None);
        // Second "abcde" (5 chars) of 19.
        assert_eq!(value(f.as_ref(), &rec), Some(5.0 / 19.0));
    }
}
