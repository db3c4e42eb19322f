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
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.unicode_words()
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
    fn detects_scripts() {
        assert_eq!(Lang::detect("给出三个保持健康的秘诀。"), Lang::Zh);
        assert_eq!(Lang::detect("Give three tips for staying healthy."), Lang::En);
        assert_eq!(Lang::detect("用 Python 写一个快速排序函数"), Lang::Zh);
        assert_eq!(Lang::detect("こんにちは、世界"), Lang::Ja);
        assert_eq!(Lang::detect("안녕하세요"), Lang::Ko);
        assert_eq!(Lang::detect("12345 !!"), Lang::Other);
    }
}
