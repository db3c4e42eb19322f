//! `top-ngram`: how much of a part the most frequent word n-gram covers.
//!
//! ## What it measures
//! Among the word n-grams of the scoped text, the most frequent one (ties go
//! to the one seen first); the value is its length in characters (words
//! joined by one space) times its count, divided by the characters of the
//! text. Not measured when the text has fewer than `n` words.
//!
//! ## Why
//! Gopher drops documents whose top 2-, 3- or 4-gram covers over 20 %, 18 %
//! or 16 % of the characters: spam repeating a phrase, keyword stuffing. On a
//! very short text the single n-gram covers most of it even without any
//! repetition, so the default rules apply it to longer answers only via the
//! measure (a text with one 2-gram is 100 %): see `rules/quality/repetition.toml`.
//!
//! ## Example
//! `"buy now buy now buy now"`: top 2-gram `"buy now"` (7 characters) seen 3
//! times: 21 / 23 = 0.91.
//!
//! ## Parameters
//! - `n`: the n-gram size (2 or more).
//! - `min_words`: not measured below this many words (default 0).
//! - `tokenizer`: `unicode` (default) or `spacy-en`.

use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_64;

use crate::filters::WordScope;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};

/// Registry entry.
pub const KIND: FilterKind =
    FilterKind::quality("top-ngram", "character share of the most frequent word n-gram", build);

struct TopNgram {
    words: WordScope,
    n: usize,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let (words, n) = WordScope::parse_ngrams(ctx)?;
    Ok(Box::new(TopNgram { words, n }))
}

/// A hash of the words of an n-gram (words never hold whitespace, so the
/// sequence identifies the space-joined string). `buf` is scratch space
/// reused between calls: one-shot hashing of the joined bytes is the same
/// hash as streaming them, and much cheaper for short inputs.
pub(crate) fn ngram_hash<'a>(words: impl Iterator<Item = &'a str>, sep: bool, buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    for w in words {
        buf.extend_from_slice(w.as_bytes());
        if sep {
            buf.push(b' ');
        }
    }
    xxh3_64(buf)
}

/// A hasher for keys that are already hashes: it passes them through.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Build-hasher for maps and sets keyed by n-gram hashes.
pub(crate) type HashedKeys = std::hash::BuildHasherDefault<PassThrough>;

impl Filter for TopNgram {
    fn metric(&self) -> &str {
        "character share of the top n-gram"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let words = self.words.words(cx)?;
        let ws: Vec<&str> = words.iter().collect();
        if ws.len() < self.n {
            return None;
        }
        let lens: Vec<usize> = ws.iter().map(|w| w.chars().count()).collect();
        // hash -> (count, first position)
        let mut counts: HashMap<u64, (usize, usize), HashedKeys> =
            HashMap::with_capacity_and_hasher(ws.len(), HashedKeys::default());
        let mut buf = Vec::new();
        for i in 0..=ws.len() - self.n {
            let h = ngram_hash(ws[i..i + self.n].iter().copied(), true, &mut buf);
            counts.entry(h).or_insert((0, i)).0 += 1;
        }
        let (count, first) = counts
            .values()
            .copied()
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            .unwrap_or((0, 0));
        let chars: usize = lens[first..first + self.n].iter().sum::<usize>() + self.n - 1;
        let total = words.text().chars().count();
        Some(Measure::from((chars * count) as f64 / total.max(1) as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};
    use crate::stage::Scope;

    #[test]
    fn most_frequent_ngram_share() {
        let rec = record(r#"{"instruction": "x", "input": "", "output": "buy now buy now buy now"}"#);
        let f = build(&KIND, "n = 2", Some(Scope::Response));
        assert_eq!(value(f.as_ref(), &rec), Some(21.0 / 23.0));
        let short = record(r#"{"instruction": "x", "input": "", "output": "Positive"}"#);
        assert_eq!(value(f.as_ref(), &short), None);
    }
}
