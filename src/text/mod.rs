//! Text utilities shared by filters and dedup: words that work for spaced and
//! unspaced scripts, and the script-based language guess.
//!
//! ## Words
//! [`words`] splits text by Unicode word boundaries (UAX #29) and keeps the
//! segments that contain a letter or digit. Under UAX #29 every Han (and kana)
//! character is a word of its own, so a Chinese sentence of 20 characters
//! counts 20 words, about what the same content has in English words. This is
//! the unit every word-based rule and every word shingle uses, so rules do
//! not misfire on text without spaces.
//!
//! Most text is split without the general segmenter: ASCII, Han ideographs
//! and CJK punctuation that joins nothing (`。` `、` `！` `？`, brackets,
//! quotes; not `，` `：` `；`, which join digits or letters) by a few byte
//! rules, stretches with any other character by `unicode_words`; the words
//! are the same (property-tested).
//!
//! The language is decided from scripts, not from a model: Han characters make
//! a record `zh` (kana `ja`, Hangul `ko`), Latin letters make it `en`. This is
//! what the word-based rules need to know (is the text spaced or not?), it
//! runs offline and costs one pass over at most the first 4,096 characters.

use std::fmt;

use unicode_segmentation::UnicodeSegmentation;

/// The words of `text`: UAX #29 word segments holding a letter or digit; one
/// Han character is one word; a sentence end glued to the next sentence
/// (`goal.Improve`, `‘spookier’The`) is a break.
///
/// UAX #29 joins two letters across a `.` (`e.g`, `example.com`), so text
/// that lost the space between two sentences, as records that join an
/// instruction and its input do (`...reach the goal.Improve the sentence`),
/// would get one word `goal.Improve` and share no shingle or word with the
/// same text written with the space. A `.`, `'` or `’` between a lower-case
/// and an upper-case ASCII letter is taken as such a break; the words around
/// it are otherwise those of UAX #29 (`e.g`, `v1.2`, `example.com`, `don't`,
/// `O'Neil` stay whole).
///
/// The same words as `unicode_words`, found faster. Text of ASCII, Han
/// ideographs (U+3400-U+4DBF, U+4E00-U+9FFF), the CJK punctuation
/// `— “ ” … 、 。 〈 〉 《 》 「 」 『 』 【 】 ！ （ ） ？` (Word_Break Other) and
/// the full-width `，` `；` (MidNum) and `：` (MidLetter) is split by the
/// UAX #29 rules restricted to those characters: ASCII by its own rules,
/// each Han character a word, the punctuation no word, `，` `；` joining two
/// digits and `：` two letters as their ASCII forms do, nothing joining
/// across a Han character or the other punctuation. At any other
/// character the full segmenter takes over, from where the simple rules
/// last stopped (the end of a word, or of the previous such stretch) up to
/// the next of those characters after ASCII whitespace, where UAX #29
/// always breaks. A property test checks that both give the same words.
pub fn words(text: &str) -> WordIter<'_> {
    WordIter {
        text,
        pos: 0,
        full: None,
        rest: None,
        glue: true,
        han_at: usize::MAX,
    }
}

/// The words of `text` exactly as UAX #29 gives them (`unicode_words`): as
/// [`words`] finds them, fast, but with a glued sentence end kept inside
/// its word (`goal.Improve` is one word), for rules whose figures follow
/// the standard segmentation (the `unicode` tokenizer). A property test
/// checks that they equal `unicode_words`.
pub fn uax_words(text: &str) -> WordIter<'_> {
    WordIter {
        glue: false,
        ..words(text)
    }
}

/// The iterator of [`words`].
pub struct WordIter<'a> {
    text: &'a str,
    /// Where the simple rules go on: a word boundary after which the
    /// segments do not depend on the text before it (the end of a word the
    /// simple rules found, or a covered character after whitespace).
    pos: usize,
    /// The full segmenter over a stretch with other characters.
    full: Option<unicode_segmentation::UnicodeWords<'a>>,
    /// The rest of a word of the full segmenter after a glued sentence end.
    rest: Option<&'a str>,
    /// Whether a glued sentence end is a break ([`words`]) or not ([`uax_words`]).
    glue: bool,
    /// A byte offset where a Han ideograph starts (`usize::MAX`: none
    /// known): the character after a Han word, looked at to end that word,
    /// is not decoded again when the next word starts there.
    han_at: usize,
}

/// The first glued sentence end in `w`: a `.`, `'` or `’` between a
/// lower-case and an upper-case ASCII letter, as its byte range.
fn glued_end(w: &str) -> Option<(usize, usize)> {
    let b = w.as_bytes();
    let lower_before = |i: usize| i > 0 && b[i - 1].is_ascii_lowercase();
    let upper_at = |i: usize| b.get(i).is_some_and(u8::is_ascii_uppercase);
    memchr::memchr3_iter(b'.', b'\'', 0xe2, b).find_map(|i| {
        let end = match b[i] {
            0xe2 if b[i..].starts_with("’".as_bytes()) => i + 3,
            0xe2 => return None,
            _ => i + 1,
        };
        (lower_before(i) && upper_at(end)).then_some((i, end))
    })
}

/// `w` up to its first glued sentence end, and the rest after it.
pub(crate) fn split_glued(w: &str) -> (&str, Option<&str>) {
    match glued_end(w) {
        Some((i, end)) => (&w[..i], Some(&w[end..])),
        None => (w, None),
    }
}

// The word classes of a byte, bits of [`CLASS`].
/// ASCII whitespace.
const SPACE: u8 = 1;
/// ASCII letter (ALetter).
const LETTER: u8 = 2;
/// ASCII digit (Numeric).
const DIGIT: u8 = 4;
/// `_` (ExtendNumLet): joins letters and digits but is no word alone.
const UNDERSCORE: u8 = 8;
/// Joins two letters (MidLetter, MidNumLet): `:` `.` `'`.
const MID_LETTER: u8 = 16;
/// Joins two digits (MidNum, MidNumLet): `,` `;` `.` `'`.
const MID_NUM: u8 = 32;
/// A byte of a character outside ASCII.
const NON_ASCII: u8 = 64;
/// Letters, digits and `_`: any two side by side are in one word.
const JOINS: u8 = LETTER | DIGIT | UNDERSCORE;

/// The UAX #29 word classes of each byte.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => SPACE,
            b'a'..=b'z' | b'A'..=b'Z' => LETTER,
            b'0'..=b'9' => DIGIT,
            b'_' => UNDERSCORE,
            b':' => MID_LETTER,
            b',' | b';' => MID_NUM,
            b'.' | b'\'' => MID_LETTER | MID_NUM,
            0x80..=0xff => NON_ASCII,
            _ => 0,
        };
        i += 1;
    }
    t
};

fn class(b: u8) -> u8 {
    CLASS[usize::from(b)]
}

/// `0x0101...01` times a byte: that byte in every lane of a `u64`.
const fn lanes(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// The top bit of every lane.
const HIGH: u64 = lanes(0x80);

/// The top bit of each lane of `x` (lanes below 0x80) that is at least `n`
/// (at most 0x80): adding `0x80 - n` carries into the top bit exactly then,
/// and never out of the lane.
fn at_least(x: u64, n: u8) -> u64 {
    x.wrapping_add(lanes(0x80 - n)) & HIGH
}

/// The top bit of each of the 8 bytes of `v` (little-endian lanes) that is
/// not an ASCII letter, digit or `_` ([`JOINS`]).
fn not_joins(v: u64) -> u64 {
    let ascii = !v & HIGH;
    let x = v & !HIGH;
    let in_range = |x: u64, lo: u8, hi: u8| at_least(x, lo) & !at_least(x, hi + 1);
    // `| 0x20` folds upper-case letters onto lower-case, and sends no other
    // ASCII byte into `a`..=`z`.
    let joins = in_range(x | lanes(0x20), b'a', b'z') | in_range(x, b'0', b'9') | in_range(x, b'_', b'_');
    !(joins & ascii) & HIGH
}

/// The end of the run of ASCII letters, digits and `_` from `i`: eight
/// bytes at a time (this scan is most of the time words take).
fn joins_end(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let stop = not_joins(u64::from_le_bytes(word));
        if stop != 0 {
            return i + (stop.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && class(b[i]) & JOINS != 0 {
        i += 1;
    }
    i
}

/// A character outside ASCII that the simple rules split.
#[derive(Clone, Copy)]
enum Wide {
    /// A Han ideograph: a word of its own.
    Han,
    /// CJK punctuation of Word_Break Other: no word, and joins nothing.
    Punct,
    /// Full-width punctuation that joins two letters ([`MID_LETTER`]) or
    /// two digits ([`MID_NUM`]) as its ASCII form does, and no word alone:
    /// `，` `；` (MidNum), `：` (MidLetter).
    Mid(u8),
}

/// The code point of a three-byte UTF-8 sequence `a b c` (`a` is
/// `1110xxxx`).
pub(crate) fn wide_char(a: u8, b: u8, c: u8) -> u32 {
    (u32::from(a & 0x0f) << 12) | (u32::from(b & 0x3f) << 6) | u32::from(c & 0x3f)
}

/// A Han ideograph the simple rules cover (U+3400-U+4DBF, U+4E00-U+9FFF):
/// a word of its own, with no case.
pub(crate) fn is_han(c: u32) -> bool {
    matches!(c, 0x3400..=0x4dbf | 0x4e00..=0x9fff)
}

/// The kind of the character starting at byte `i` of `b` (valid UTF-8), if
/// the simple rules cover it. All of them take three bytes.
#[inline]
fn wide_at(b: &[u8], i: usize) -> Option<Wide> {
    if b[i] & 0xf0 != 0xe0 {
        return None;
    }
    match wide_char(b[i], b[i + 1], b[i + 2]) {
        c if is_han(c) => Some(Wide::Han),
        // — “ ” … 、 。 〈〉《》「」『』【】 ！ （ ） ？
        0x2014 | 0x201c | 0x201d | 0x2026 | 0x3001 | 0x3002 | 0x3008..=0x3011 | 0xff01 | 0xff08 | 0xff09 | 0xff1f => {
            Some(Wide::Punct)
        }
        // ， ；
        0xff0c | 0xff1b => Some(Wide::Mid(MID_NUM)),
        // ：
        0xff1a => Some(Wide::Mid(MID_LETTER)),
        _ => None,
    }
}

impl<'a> WordIter<'a> {
    /// The next word from `pos` by the simple rules, or `Err(q)` when the
    /// character at `q` is not one they cover (then nothing from `pos` on
    /// has been taken). Within ASCII, UAX #29 joins letters, digits and `_`
    /// (WB5, WB8-WB10, WB13a/b), a letter to a letter across one of `:` `.`
    /// `'` (WB6/WB7), and a digit to a digit across one of `,` `;` `.` `'`
    /// (WB11/WB12); everything else is a segment of its own, and only
    /// segments with a letter or digit are words. A Han character or the
    /// punctuation of [`wide_at`] is a segment of its own (WB999), being
    /// neither letter, digit nor joiner. A word is taken only once the
    /// characters deciding its end are known to be covered: the one after
    /// it, which might be an extending mark (WB4), and after a `:` `,` `;`
    /// `.` `'` the one after that (WB6, WB12).
    fn next_simple(&mut self) -> Result<Option<&'a str>, usize> {
        let b = self.text.as_bytes();
        let covered = |i: usize| i >= b.len() || class(b[i]) & NON_ASCII == 0 || wide_at(b, i).is_some();
        let mut i = self.pos;
        while i < b.len() {
            let start = i;
            let first = class(b[start]);
            if first & JOINS == 0 {
                if first & NON_ASCII == 0 {
                    i += 1;
                    continue;
                }
                i += 3;
                let kind = if start == self.han_at {
                    Some(Wide::Han)
                } else {
                    wide_at(b, start)
                };
                match kind {
                    None => return Err(start),
                    Some(Wide::Punct | Wide::Mid(_)) => continue,
                    Some(Wide::Han) => {
                        // `covered(i)`, keeping a Han character there in mind.
                        if i < b.len() && class(b[i]) & NON_ASCII != 0 {
                            match wide_at(b, i) {
                                None => return Err(i),
                                Some(Wide::Han) => self.han_at = i,
                                Some(_) => {}
                            }
                        }
                        self.pos = i;
                        return Ok(Some(&self.text[start..i]));
                    }
                }
            }
            i += 1;
            loop {
                i = joins_end(b, i);
                if !covered(i) {
                    return Err(i);
                }
                // A mid character (ASCII, or full-width of three bytes) and
                // the character after it.
                let (m, after) = match b.get(i) {
                    Some(&x) if class(x) & NON_ASCII == 0 => (class(x) & (MID_LETTER | MID_NUM), i + 1),
                    Some(_) => match wide_at(b, i) {
                        Some(Wide::Mid(m)) => (m, i + 3),
                        _ => (0, i),
                    },
                    None => (0, i),
                };
                if m != 0 && after < b.len() {
                    if !covered(after) {
                        return Err(after);
                    }
                    let (x, y) = (class(b[i - 1]), class(b[after]));
                    let glued = self.glue
                        && matches!(b[i], b'.' | b'\'')
                        && b[i - 1].is_ascii_lowercase()
                        && b[after].is_ascii_uppercase();
                    if (x & y & LETTER != 0 && m & MID_LETTER != 0 && !glued)
                        || (x & y & DIGIT != 0 && m & MID_NUM != 0)
                    {
                        i = after + 1;
                        continue;
                    }
                }
                break;
            }
            if first & UNDERSCORE == 0 || b[start..i].iter().any(|&x| class(x) & (LETTER | DIGIT) != 0) {
                self.pos = i;
                return Ok(Some(&self.text[start..i]));
            }
        }
        self.pos = i;
        Ok(None)
    }

    /// Where the full segmenter can stop after the uncovered character at
    /// `q`: at the first character after ASCII whitespace that the simple
    /// rules cover. UAX #29 always breaks there: such a character is no
    /// extending mark (WB4) nor space (WB3d), and whitespace joins nothing
    /// (WB5-WB13). Up to there, whitespace may join the characters around it.
    fn region_end(&self, mut q: usize) -> usize {
        let b = self.text.as_bytes();
        loop {
            while q < b.len() && class(b[q]) & SPACE == 0 {
                q += 1;
            }
            while q < b.len() && class(b[q]) & SPACE != 0 {
                q += 1;
            }
            if q >= b.len() || class(b[q]) & NON_ASCII == 0 || wide_at(b, q).is_some() {
                return q;
            }
        }
    }
}

impl<'a> Iterator for WordIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if let Some(w) = self.rest.take() {
            let (w, rest) = split_glued(w);
            self.rest = rest;
            return Some(w);
        }
        loop {
            if let Some(full) = &mut self.full {
                match full.next() {
                    Some(w) if !self.glue => return Some(w),
                    Some(w) => {
                        let (w, rest) = split_glued(w);
                        self.rest = rest;
                        return Some(w);
                    }
                    None => self.full = None,
                }
            }
            match self.next_simple() {
                Ok(w) => return w,
                Err(q) => {
                    // The segments after `pos` do not depend on the text
                    // before it, so the full segmenter can start there.
                    let end = self.region_end(q);
                    self.full = Some(self.text[self.pos..end].unicode_words());
                    self.pos = end;
                }
            }
        }
    }
}

/// `text` in lower case, the same string as [`str::to_lowercase`]: ASCII
/// bytes and the characters from U+3000 to U+9FFF (CJK punctuation, kana,
/// Han ideographs: none has a case) are copied without the Unicode table's
/// lookup, which the other characters go through.
pub fn lowercase(text: &str) -> String {
    // A capital sigma lowers by its place in a word: the standard library's rules.
    if text.contains('Σ') {
        return text.to_lowercase();
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c < 0x80 {
            // A run of ASCII, copied and lowered in place.
            let end = b[i..].iter().position(|&c| c >= 0x80).map_or(b.len(), |n| i + n);
            let at = out.len();
            out.push_str(&text[i..end]);
            out.as_mut_str()[at..].make_ascii_lowercase();
            i = end;
        } else if (0xe3..=0xe9).contains(&c) {
            // A run of characters from U+3000 to U+9FFF (lead bytes 0xe3 to
            // 0xe9, three bytes each), copied.
            let mut end = i;
            while end < b.len() && (0xe3..=0xe9).contains(&b[end]) {
                end += 3;
            }
            out.push_str(&text[i..end]);
            i = end;
        } else {
            let ch = text[i..].chars().next().expect("a character starts here");
            out.extend(ch.to_lowercase());
            i += ch.len_utf8();
        }
    }
    out
}

/// The width of `text` in columns, as a terminal shows it: a wide East Asian
/// character (Han, kana, Hangul, fullwidth forms and CJK punctuation) counts
/// two, any other character one. A length limit in columns treats a Chinese
/// and an English line of about the same content alike, where a count of
/// characters would make the Chinese one look half as long.
pub fn columns(text: &str) -> usize {
    text.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

/// A wide East Asian character: Han, kana, Hangul, fullwidth forms and CJK
/// punctuation (two columns in a terminal).
pub fn is_wide(c: char) -> bool {
    matches!(
        c,
        '\u{1100}'..='\u{115F}'
            | '\u{2E80}'..='\u{303E}'
            | '\u{3041}'..='\u{33FF}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{A000}'..='\u{A4CF}'
            | '\u{AC00}'..='\u{D7A3}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{FE30}'..='\u{FE4F}'
            | '\u{FF00}'..='\u{FF60}'
            | '\u{FFE0}'..='\u{FFE6}'
            | '\u{20000}'..='\u{3FFFD}'
    )
}

/// A record's language, as far as the rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    /// Chinese (Han script dominates).
    Zh,
    /// Japanese (kana present).
    Ja,
    /// Korean (Hangul dominates).
    Ko,
    /// Latin script, treated as English.
    En,
    /// Anything else, or no letters at all.
    Other,
}

impl Lang {
    /// All languages, in a fixed order.
    pub const ALL: [Lang; 5] = [Lang::Zh, Lang::Ja, Lang::Ko, Lang::En, Lang::Other];

    /// The code used in rule files and tags.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::Ja => "ja",
            Lang::Ko => "ko",
            Lang::En => "en",
            Lang::Other => "other",
        }
    }

    /// Parses a code.
    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// Guesses the language of `text` from its scripts.
    pub fn detect(text: &str) -> Lang {
        Lang::detect_parts(std::iter::once(text))
    }

    /// Guesses the language of several texts taken together (the first 4,096
    /// characters of them), without joining them.
    pub fn detect_parts<'a>(parts: impl Iterator<Item = &'a str>) -> Lang {
        ScriptCounts::of_parts(parts).lang()
    }
}

impl ScriptCounts {
    /// The counts over the first 4,096 characters of `parts`.
    fn of_parts<'a>(parts: impl Iterator<Item = &'a str>) -> Self {
        let mut counts = ScriptCounts::default();
        let mut budget = 4096usize;
        for part in parts {
            if part.is_ascii() {
                // The same count, a byte at a time (vectorised).
                let letters = part.as_bytes()[..part.len().min(budget)]
                    .iter()
                    .filter(|b| b.is_ascii_alphabetic())
                    .count();
                counts.latin += letters as u32;
            } else {
                for c in part.chars().take(budget) {
                    counts.add(c);
                }
            }
            budget = budget.saturating_sub(part.len());
            if budget == 0 {
                break;
            }
        }
        counts
    }
}

/// Punctuation common in Chinese text: `，。、：；？！（）“”‘’《》【】…—·`.
fn chinese_punctuation(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '：'
            | '；'
            | '？'
            | '！'
            | '（'
            | '）'
            | '“'
            | '”'
            | '‘'
            | '’'
            | '《'
            | '》'
            | '【'
            | '】'
            | '…'
            | '—'
            | '·'
    )
}

#[derive(Debug, Default, PartialEq)]
struct ScriptCounts {
    han: u32,
    kana: u32,
    hangul: u32,
    latin: u32,
    other: u32,
}

impl ScriptCounts {
    #[inline]
    fn add(&mut self, c: char) {
        if c.is_ascii() {
            if c.is_ascii_alphabetic() {
                self.latin += 1;
            }
            return;
        }
        match c {
            '\u{00C0}'..='\u{024F}' => self.latin += 1,
            '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}' => self.han += 1,
            '\u{3040}'..='\u{30FF}' => self.kana += 1,
            '\u{AC00}'..='\u{D7AF}' | '\u{1100}'..='\u{11FF}' => self.hangul += 1,
            // The punctuation of Chinese text (a tenth of its characters),
            // none alphabetic: no table search for them.
            c if chinese_punctuation(c) => {}
            c if c.is_alphabetic() => self.other += 1,
            _ => {}
        }
    }

    fn lang(&self) -> Lang {
        // Latin words are several letters each; weigh a Han character as a word's worth.
        let latin_words = self.latin / 5;
        if self.kana > 0 && self.kana + self.han >= latin_words {
            Lang::Ja
        } else if self.hangul > latin_words && self.hangul >= self.han {
            Lang::Ko
        } else if self.han > 0 && self.han >= latin_words {
            Lang::Zh
        } else if self.latin > 0 && self.latin >= self.other {
            Lang::En
        } else {
            Lang::Other
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The first `max` characters of `s`, and whether any were left out.
pub fn head_chars(s: &str, max: usize) -> (&str, bool) {
    match s.char_indices().nth(max) {
        Some((at, _)) => (&s[..at], true),
        None => (s, false),
    }
}

/// Shannon entropy in bits of counts.
pub fn entropy(counts: impl Iterator<Item = u64> + Clone) -> f64 {
    let total: u64 = counts.clone().sum();
    if total == 0 {
        return 0.0;
    }
    let t = total as f64;
    let h: f64 = counts
        .filter(|c| *c > 0)
        .map(|c| {
            let p = c as f64 / t;
            -p * p.log2()
        })
        .sum();
    h.max(0.0)
}

#[cfg(test)]
mod tests;
