//! What every detector shares: the PII types, a finding, the [`Detector`]
//! trait and the small checks on the text around a match (boundaries,
//! context words, checksums).

pub use super::kinds::PiiType;

/// One match: a byte range of the scanned text and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// The type.
    pub ty: PiiType,
    /// A finer kind (`aws-key`, `jwt`, …), shown as `secret:aws-key`.
    pub sub: Option<&'static str>,
}

impl Finding {
    /// A finding without a finer kind.
    pub fn new(start: usize, end: usize, ty: PiiType) -> Self {
        Finding {
            start,
            end,
            ty,
            sub: None,
        }
    }

    /// The value of the `type` field of the `pii` column.
    pub fn kind(&self) -> String {
        match self.sub {
            Some(s) => format!("{}:{s}", self.ty),
            None => self.ty.as_str().to_string(),
        }
    }
}

/// Finds one type of information in a text.
pub trait Detector: Send + Sync {
    /// The type it finds.
    fn ty(&self) -> PiiType;
    /// Appends every validated match in `text` to `out`.
    fn find(&self, text: &str, out: &mut Vec<Finding>);
    /// A pattern compiled when first needed that does not compile: one met
    /// so far, or, with `compile`, any (compiled now).
    fn compile_error(&self, _compile: bool) -> Option<String> {
        None
    }
}

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether the match `start..end` stands alone: no letter, digit or `_`
/// touches it, and it does not continue a longer number (`3.14159…`,
/// `12-345-…`). Chinese characters around a match are fine.
pub fn bounded(text: &str, start: usize, end: usize) -> bool {
    let b = text.as_bytes();
    if start > 0 {
        let p = b[start - 1];
        if word_byte(p) {
            return false;
        }
        if matches!(p, b'.' | b',' | b'-' | b'/' | b':') && start >= 2 && b[start - 2].is_ascii_digit() {
            return false;
        }
    }
    if end < b.len() {
        let n = b[end];
        if word_byte(n) {
            return false;
        }
        if matches!(n, b'.' | b',' | b'-' | b'/' | b':') && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
            return false;
        }
    }
    true
}

/// The text up to `n` bytes before `start` (cut at a character boundary).
pub fn before(text: &str, start: usize, n: usize) -> &str {
    let mut from = start.saturating_sub(n);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    &text[from..start]
}

/// The text up to `n` bytes after `end` (cut at a character boundary).
pub fn after(text: &str, end: usize, n: usize) -> &str {
    let mut to = (end + n).min(text.len());
    while !text.is_char_boundary(to) {
        to -= 1;
    }
    &text[end..to]
}

/// Whether `hay` contains one of the lower-case ASCII `words`, ignoring case.
pub fn contains_any(hay: &str, words: &[&str]) -> bool {
    let lower = hay.to_ascii_lowercase();
    words.iter().any(|w| lower.contains(w))
}

/// Words that mark a number as a bibliographic or catalogue reference rather
/// than personal data (the exclusion dolma applies to ISBNs and DOIs).
pub const REFERENCE_WORDS: &[&str] = &["isbn", "issn", "doi", "arxiv", "pmid", "oclc", "lccn"];

/// Whether a reference word precedes the match closely.
pub fn is_reference(text: &str, start: usize) -> bool {
    contains_any(before(text, start, 24), REFERENCE_WORDS)
}

/// The ASCII digits of `s`, as values.
pub fn digits(s: &str) -> Vec<u8> {
    s.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect()
}

/// The Luhn (mod 10) check over digit values.
pub fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    !d.is_empty() && sum.is_multiple_of(10)
}

/// Whether every digit is the same (`0000…`, `1111…`): filler, not data.
pub fn all_same(d: &[u8]) -> bool {
    d.windows(2).all(|w| w[0] == w[1])
}

/// The texts `d` finds in `t`, in order (for tests).
#[cfg(test)]
pub fn found<'t>(d: &dyn Detector, t: &'t str) -> Vec<&'t str> {
    let mut out = Vec::new();
    d.find(t, &mut out);
    out.iter().map(|f| &t[f.start..f.end]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_test_cards_and_rejects_one_digit_off() {
        assert!(luhn(&digits("4111 1111 1111 1111")));
        assert!(luhn(&digits("378282246310005")));
        assert!(!luhn(&digits("4111 1111 1111 1112")));
        assert!(!luhn(&[]));
    }

    #[test]
    fn boundaries_reject_longer_numbers_and_words() {
        let t = "pi 3.14159265 and x4111 and 555-1234.";
        let s = t.find("14159265").unwrap_or(0);
        assert!(!bounded(t, s, s + 8));
        let s = t.find("4111").unwrap_or(0);
        assert!(!bounded(t, s, s + 4));
        let s = t.find("555-1234").unwrap_or(0);
        assert!(bounded(t, s, s + 8));
        // Chinese characters around a number do not glue to it.
        let t = "电话13800138000。";
        let s = t.find('1').unwrap_or(0);
        assert!(bounded(t, s, s + 11));
    }

    #[test]
    fn context_windows_cut_at_character_boundaries() {
        let t = "身份证号码是 110";
        let s = t.find('1').unwrap_or(0);
        assert_eq!(before(t, s, 2), " ");
        assert!(before(t, s, 100).starts_with("身份"));
        assert!(is_reference("ISBN 978-0-306-40615-7", 5));
    }
}
