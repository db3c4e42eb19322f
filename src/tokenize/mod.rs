//! Word tokenizers for the word-based rules, and the line and paragraph
//! splitting those rules share.
//!
//! Two tokenizers, chosen per rule with `tokenizer = "..."`:
//!
//! - `unicode` (the default): [`crate::text::words`], UAX #29 word segments
//!   holding a letter or digit; one Han character is one word. Punctuation is
//!   not a word. It works the same for spaced and unspaced scripts, which is
//!   what the default rules need.
//! - `spacy-en`: the tokens of spaCy's English tokenizer (`spacy.blank("en")`,
//!   what datatrove 0.10 uses for English), whitespace-only tokens removed.
//!   Punctuation marks are tokens of their own and contractions split
//!   (`don't` -> `do`, `n't`). It exists so that a rule set can reproduce
//!   datatrove's Gopher decisions (see `scripts/bench/parity/`); its data (affix
//!   patterns, special cases) is generated from spaCy by
//!   `scripts/bench/parity/dump_spacy_en.py` and embedded in the binary.
//!
//! Tokens are returned as byte spans into the text, so a cache of them costs
//! 8 bytes per word and no copies.

mod punct;
mod spacy;

use serde::Deserialize;

pub use spacy::SpacyEn;

/// A word tokenizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tokenizer {
    /// UAX #29 words with a letter or digit; one Han character per word.
    #[default]
    Unicode,
    /// spaCy's English tokenizer, for parity with datatrove.
    SpacyEn,
}

/// A token as a byte range of its text.
pub type Span = (u32, u32);

impl Tokenizer {
    /// Appends the spans of the tokens of `text` to `out`.
    pub fn spans(self, text: &str, out: &mut Vec<Span>) {
        match self {
            Tokenizer::Unicode => {
                // `unicode_word_indices`, by the fast path of `text::uax_words`
                // (the same words; each a slice of `text`).
                let base = text.as_ptr() as usize;
                for w in crate::text::uax_words(text) {
                    let at = w.as_ptr() as usize - base;
                    out.push((at as u32, (at + w.len()) as u32));
                }
            }
            Tokenizer::SpacyEn => {
                if let Some(t) = SpacyEn::get() {
                    t.spans(text, out);
                }
            }
        }
    }

    /// Checks that the tokenizer can be used (its data compiles).
    pub fn check(self) -> Result<(), String> {
        match self {
            Tokenizer::Unicode => Ok(()),
            Tokenizer::SpacyEn => SpacyEn::load().map(|_| ()),
        }
    }
}

/// Whether `c` is in datatrove's punctuation set (ASCII and CJK punctuation,
/// control characters, terminal punctuation of many scripts).
pub fn is_punctuation(c: char) -> bool {
    punct::PUNCTUATION.binary_search(&c).is_ok()
}

/// Whether `c` is a kana, CJK ideograph or Hangul syllable: blocks that hold
/// no character of [`punct::PUNCTUATION`] (a test checks the table).
fn no_punctuation_script(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}')
}

/// Whether a word is made only of punctuation (a "symbol word").
pub fn is_symbol_word(w: &str) -> bool {
    // Most words start with an ASCII letter or digit, or (Chinese, one
    // character a word) with a Han, kana or Hangul character, none of which
    // is punctuation: no table search for them.
    match w.as_bytes().first() {
        Some(b) if b.is_ascii_alphanumeric() => false,
        Some(b) if *b >= 0x80 && w.chars().next().is_some_and(no_punctuation_script) => false,
        _ => w.chars().all(is_punctuation),
    }
}

/// Python's `str.isspace()`: Unicode whitespace plus the separators U+001C..U+001F.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Python's `str.splitlines()`: lines split at `\n`, `\r\n`, `\r`, `\v`, `\f`,
/// U+001C..U+001E, U+0085, U+2028, U+2029, without their ends; no empty last line.
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.char_indices().find(|&(_, c)| is_line_break(c)) {
            Some((i, c)) => {
                let line = &rest[..i];
                let mut next = i + c.len_utf8();
                if c == '\r' && rest[next..].starts_with('\n') {
                    next += 1;
                }
                rest = &rest[next..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
        }
    })
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// `re.split(sep, text)` where `sep` is a run of at least `min` newlines
/// (`"\n+"` is `min = 1`, `"\n{2,}"` is `min = 2`): empty pieces are kept.
pub fn split_newline_runs(text: &str, min: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            let mut j = i;
            while j < bytes.len() && bytes[j] == b'\n' {
                j += 1;
            }
            if j - i >= min {
                out.push(&text[start..i]);
                start = j;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    out.push(&text[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_skipped_by_the_symbol_word_check_hold_no_punctuation() {
        assert!(!punct::PUNCTUATION.iter().any(|&c| no_punctuation_script(c)));
        assert!(!is_symbol_word("中文"));
        assert!(is_symbol_word("。！"));
        assert!(is_symbol_word("「」"));
    }

    fn toks(t: Tokenizer, text: &str) -> Vec<&str> {
        let mut v = Vec::new();
        t.spans(text, &mut v);
        v.iter().map(|&(a, b)| &text[a as usize..b as usize]).collect()
    }

    #[test]
    fn unicode_words_skip_punctuation() {
        assert_eq!(
            toks(Tokenizer::Unicode, "Don't stop, 好的!"),
            ["Don't", "stop", "好", "的"]
        );
    }

    #[test]
    fn spacy_en_splits_like_spacy() {
        // Token lists checked against spacy.blank("en") 3.8.
        assert_eq!(
            toks(
                Tokenizer::SpacyEn,
                "I don't know (e.g. the U.S.) well-known co-op, 3-4 x."
            ),
            [
                "I", "do", "n't", "know", "(", "e.g.", "the", "U.S.", ")", "well", "-", "known", "co", "-", "op", ",",
                "3", "-", "4", "x."
            ]
        );
        assert_eq!(
            toks(Tokenizer::SpacyEn, "Visit https://example.com/a?b=1 now..."),
            ["Visit", "https://example.com/a?b=1", "now", "..."]
        );
    }

    #[test]
    fn python_line_semantics() {
        assert_eq!(lines("a\r\nb\n\nc\n").collect::<Vec<_>>(), ["a", "b", "", "c"]);
        assert_eq!(split_newline_runs("a\n\nb\nc\n", 1), ["a", "b", "c", ""]);
        assert_eq!(split_newline_runs("a\n\nb\nc", 2), ["a", "b\nc"]);
        assert!(is_symbol_word("...") && !is_symbol_word("a."));
    }
}
