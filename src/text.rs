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
//! The language is decided from scripts, not from a model: Han characters make
//! a record `zh` (kana `ja`, Hangul `ko`), Latin letters make it `en`. This is
//! what the word-based rules need to know (is the text spaced or not?), it
//! runs offline and costs one pass over at most the first 4,096 characters.

use std::fmt;

use unicode_segmentation::UnicodeSegmentation;

/// The words of `text`: UAX #29 word segments holding a letter or digit; one
/// Han character is one word.
///
/// The same words as `unicode_words`, found faster: UAX #29 always breaks
/// before ASCII whitespace, and after it unless an extending mark follows,
/// so the text is cut at whitespace into pieces. A piece of ASCII alone is
/// split by the rules restricted to ASCII (below); the other pieces, with the
/// whitespace around them, go to the full segmenter. A property test checks
/// that both give the same words.
pub fn words(text: &str) -> Words<'_> {
    Words {
        text,
        pos: 0,
        piece_end: 0,
        full: None,
    }
}

/// The iterator of [`words`].
pub struct Words<'a> {
    text: &'a str,
    /// Next byte to look at.
    pos: usize,
    /// End of the ASCII piece being split (`pos < piece_end` inside one).
    piece_end: usize,
    /// The full segmenter over a piece that is not ASCII.
    full: Option<unicode_segmentation::UnicodeWords<'a>>,
}

fn is_ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// ALetter, Numeric or ExtendNumLet: ASCII characters that always join.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'a> Words<'a> {
    /// The end of the piece starting at `start` (the next ASCII whitespace)
    /// and whether it is all ASCII.
    fn piece(&self, start: usize) -> (usize, bool) {
        let b = self.text.as_bytes();
        let mut i = start;
        let mut ascii = true;
        while i < b.len() && !is_ascii_space(b[i]) {
            ascii &= b[i].is_ascii();
            i += 1;
        }
        (i, ascii)
    }

    /// The next word of the ASCII piece `pos..piece_end`. Within ASCII,
    /// UAX #29 joins letters, digits and `_` (WB5, WB8-WB10, WB13a/b), a
    /// letter to a letter across one of `:` `.` `'` (WB6/WB7), and a digit
    /// to a digit across one of `,` `;` `.` `'` (WB11/WB12); everything else
    /// is a segment of its own, and only segments with a letter or digit are
    /// words.
    fn next_ascii(&mut self) -> Option<&'a str> {
        let b = self.text.as_bytes();
        let end = self.piece_end;
        while self.pos < end {
            if !is_word_byte(b[self.pos]) {
                self.pos += 1;
                continue;
            }
            let start = self.pos;
            let mut alnum = false;
            let mut i = start;
            loop {
                while i < end && is_word_byte(b[i]) {
                    alnum |= b[i] != b'_';
                    i += 1;
                }
                if i + 1 < end {
                    let (x, m, y) = (b[i - 1], b[i], b[i + 1]);
                    let letters =
                        x.is_ascii_alphabetic() && y.is_ascii_alphabetic() && matches!(m, b':' | b'.' | b'\'');
                    let digits = x.is_ascii_digit() && y.is_ascii_digit() && matches!(m, b',' | b';' | b'.' | b'\'');
                    if letters || digits {
                        i += 1;
                        continue;
                    }
                }
                break;
            }
            self.pos = i;
            if alnum {
                return Some(&self.text[start..i]);
            }
        }
        None
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            if let Some(full) = &mut self.full {
                match full.next() {
                    Some(w) => return Some(w),
                    None => self.full = None,
                }
            }
            if self.pos < self.piece_end {
                if let Some(w) = self.next_ascii() {
                    return Some(w);
                }
            }
            let b = self.text.as_bytes();
            let space = self.pos;
            while self.pos < b.len() && is_ascii_space(b[self.pos]) {
                self.pos += 1;
            }
            if self.pos >= b.len() {
                return None;
            }
            let start = self.pos;
            let (end, ascii) = self.piece(start);
            if ascii {
                self.piece_end = end;
                continue;
            }
            // Up to the next ASCII piece: whitespace after a piece of other
            // characters may join it (WB3d), and a mark after whitespace
            // joins the whitespace (WB4).
            let mut region_end = end;
            while region_end < b.len() {
                let mut q = region_end;
                while q < b.len() && is_ascii_space(b[q]) {
                    q += 1;
                }
                if q >= b.len() {
                    region_end = q;
                    break;
                }
                let (e, ascii) = self.piece(q);
                if ascii {
                    region_end = q;
                    break;
                }
                region_end = e;
            }
            self.pos = region_end;
            self.full = Some(self.text[space..region_end].unicode_words());
        }
    }
}

/// The width of `text` in columns, as a terminal shows it: a wide East Asian
/// character (Han, kana, Hangul, fullwidth forms and CJK punctuation) counts
/// two, any other character one. A length limit in columns treats a Chinese
/// and an English line of about the same content alike, where a count of
/// characters would make the Chinese one look half as long.
pub fn columns(text: &str) -> usize {
    text.chars()
        .map(|c| match c {
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
            | '\u{20000}'..='\u{3FFFD}' => 2,
            _ => 1,
        })
        .sum()
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
        let mut counts = ScriptCounts::default();
        let mut budget = 4096usize;
        for part in parts {
            for c in part.chars().take(budget) {
                counts.add(c);
            }
            budget = budget.saturating_sub(part.len());
            if budget == 0 {
                break;
            }
        }
        counts.lang()
    }
}

#[derive(Default)]
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

#[cfg(test)]
mod tests {
    use super::Lang;
    use unicode_segmentation::UnicodeSegmentation;

    #[test]
    fn words_split_spaced_and_unspaced_scripts() {
        let en: Vec<&str> = super::words("Give three tips, for staying healthy.").collect();
        assert_eq!(en, ["Give", "three", "tips", "for", "staying", "healthy"]);
        let zh: Vec<&str> = super::words("给出三个秘诀。").collect();
        assert_eq!(zh, ["给", "出", "三", "个", "秘", "诀"]);
        let mixed: Vec<&str> = super::words("用 Python 写").collect();
        assert_eq!(mixed, ["用", "Python", "写"]);
    }

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(super::columns("Hope this helps!"), 16);
        assert_eq!(super::columns("希望对你有所帮助！"), 18);
        assert_eq!(super::columns("用 Python 写"), 12);
    }

    #[test]
    fn ascii_rules_match_uax29() {
        let cases = [
            "can't stop, won't stop",
            "3.14 and 1,000,000; v1.2.3 e.g. a:b a::b a..b",
            "snake_case __init__ _ __ _a a_ 1_000 x.1 1.x 1'2 a'b a,b 1;2 1:2",
            "tab\there\r\nCRLF\x0bvt\x0cff end.",
            "'quoted' \"double\" (paren) [x] {y} <z> #tag @user $5 50% a-b a/b",
        ];
        for c in cases {
            let fast: Vec<&str> = super::words(c).collect();
            let full: Vec<&str> = c.unicode_words().collect();
            assert_eq!(fast, full, "{c:?}");
        }
    }

    #[test]
    fn marks_after_whitespace_follow_the_full_rules() {
        // A combining mark after whitespace attaches to it (UAX #29 WB4).
        for c in [
            "x \u{93f}y",
            "x\n\u{93f}y",
            "caf\u{e9} au lait",
            "a \u{301}b",
            "用 Python 写",
        ] {
            let fast: Vec<&str> = super::words(c).collect();
            let full: Vec<&str> = c.unicode_words().collect();
            assert_eq!(fast, full, "{c:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The fast path gives exactly the words of the full segmenter.
        #[test]
        fn words_equal_unicode_words(
            s in "[a-zA-Z0-9_.:',;\\- \t\r\n\x0b\x0c\"!?()#@]{0,40}",
            t in "[a-z0-9_.:' \n\u{301}\u{93f}\u{200d}\u{4e00}-\u{4e05}\u{e9}\u{3000}\u{1f600}]{0,24}",
        ) {
            for text in [s.as_str(), t.as_str(), &format!("{s}{t}"), &format!("{t}{s}")] {
                let fast: Vec<&str> = super::words(text).collect();
                let full: Vec<&str> = text.unicode_words().collect();
                proptest::prop_assert_eq!(fast, full, "{:?}", text);
            }
        }
    }

    #[test]
    fn detects_scripts() {
        assert_eq!(Lang::detect("给出三个保持健康的秘诀。"), Lang::Zh);
        assert_eq!(Lang::detect("Give three tips for staying healthy."), Lang::En);
        assert_eq!(Lang::detect("用 Python 写一个快速排序函数"), Lang::Zh);
        assert_eq!(Lang::detect("こんにちは、世界"), Lang::Ja);
        assert_eq!(Lang::detect("안녕하세요"), Lang::Ko);
        assert_eq!(Lang::detect("12345 !!"), Lang::Other);
    }
}
