//! Text utilities shared by filters: the script-based language guess.
//!
//! The language is decided from scripts, not from a model: Han characters make
//! a record `zh` (kana `ja`, Hangul `ko`), Latin letters make it `en`. This is
//! what the word-based rules need to know (is the text spaced or not?), it
//! runs offline and costs one pass over at most the first 4,096 characters.

use std::fmt;

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
        let (mut han, mut kana, mut hangul, mut latin, mut other) = (0u32, 0u32, 0u32, 0u32, 0u32);
        for c in text.chars().take(4096) {
            match c {
                'a'..='z' | 'A'..='Z' | '\u{00C0}'..='\u{024F}' => latin += 1,
                '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}' => han += 1,
                '\u{3040}'..='\u{30FF}' => kana += 1,
                '\u{AC00}'..='\u{D7AF}' | '\u{1100}'..='\u{11FF}' => hangul += 1,
                c if c.is_alphabetic() => other += 1,
                _ => {}
            }
        }
        // Latin words are several letters each; weigh a Han character as a word's worth.
        let latin_words = latin / 5;
        if kana > 0 && kana + han >= latin_words {
            Lang::Ja
        } else if hangul > latin_words && hangul >= han {
            Lang::Ko
        } else if han > 0 && han >= latin_words {
            Lang::Zh
        } else if latin > 0 && latin >= other {
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
    fn detects_scripts() {
        assert_eq!(Lang::detect("给出三个保持健康的秘诀。"), Lang::Zh);
        assert_eq!(Lang::detect("Give three tips for staying healthy."), Lang::En);
        assert_eq!(Lang::detect("用 Python 写一个快速排序函数"), Lang::Zh);
        assert_eq!(Lang::detect("こんにちは、世界"), Lang::Ja);
        assert_eq!(Lang::detect("안녕하세요"), Lang::Ko);
        assert_eq!(Lang::detect("12345 !!"), Lang::Other);
    }
}
