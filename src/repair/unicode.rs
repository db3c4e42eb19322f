//! `zero-width` and `nfc`: invisible characters and unnormalised text.
//!
//! ## What they fix
//! - `zero-width`: U+200B (zero-width space), U+2060 (word joiner) and U+FEFF
//!   (a byte order mark inside text) are removed. U+200C and U+200D are kept:
//!   they shape Persian, Indic scripts and emoji sequences.
//! - `nfc`: text is put in Unicode normalisation form C, so that `e` + a
//!   combining accent and `é` are the same characters for every later rule and
//!   for exact dedup.
//!
//! ## Why
//! Invisible characters split words for the word rules and make copies look
//! different to dedup; decomposed accents do the same.
//!
//! ## Example
//! `hello\u{200B}world` becomes `helloworld`; `e\u{301}` becomes `é`.

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

fn zero_width(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

/// The text without zero-width characters, or `None` when it holds none.
pub fn remove_zero_width(text: &str) -> Option<String> {
    text.contains(zero_width)
        .then(|| text.chars().filter(|&c| !zero_width(c)).collect())
}

/// The text in NFC, or `None` when it already is.
pub fn nfc(text: &str) -> Option<String> {
    if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        return None;
    }
    let n: String = text.nfc().collect();
    (n != text).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::{nfc, remove_zero_width};

    #[test]
    fn zero_width_characters_go_joiners_stay() {
        assert_eq!(
            remove_zero_width("hello\u{200B}world\u{FEFF}").as_deref(),
            Some("helloworld")
        );
        assert_eq!(remove_zero_width("👩\u{200D}💻"), None);
    }

    #[test]
    fn decomposed_text_is_composed() {
        assert_eq!(nfc("cafe\u{301}").as_deref(), Some("café"));
        assert_eq!(nfc("café 中文"), None);
    }
}
