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

/// Whether `text` holds a zero-width character: their UTF-8 forms start
/// with byte 0xE2 (U+200B, U+2060) or 0xEF (U+FEFF), which a vectorised
/// search finds; most texts hold neither byte, or few.
fn has_zero_width(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr2_iter(0xE2, 0xEF, b).any(|i| {
        matches!(
            b.get(i..i + 3),
            Some([0xE2, 0x80, 0x8B] | [0xE2, 0x81, 0xA0] | [0xEF, 0xBB, 0xBF])
        )
    })
}

/// The text without zero-width characters, or `None` when it holds none.
pub fn remove_zero_width(text: &str) -> Option<String> {
    has_zero_width(text).then(|| text.chars().filter(|&c| !zero_width(c)).collect())
}

/// Whether `c` is a character the NFC quick check passes whatever comes
/// before or after it (NFC_Quick_Check = Yes, canonical combining class 0):
/// ASCII and Latin up to U+02FF, general punctuation, CJK punctuation and
/// kana without the combining sound marks, Han ideographs, Hangul
/// syllables and the full-width forms. A test checks every one.
fn nfc_stable(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{2FF}'
            | '\u{2010}'..='\u{2027}'
            | '\u{3000}'..='\u{3029}'
            | '\u{3030}'..='\u{3098}'
            | '\u{309B}'..='\u{30FF}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{AC00}'..='\u{D7A3}'
            | '\u{FF00}'..='\u{FFEF}'
    )
}

/// The text in NFC, or `None` when it already is.
pub fn nfc(text: &str) -> Option<String> {
    // Text of characters that pass the quick check alone (English and
    // Chinese, nearly always) passes it without its tables.
    if text.is_ascii() || text.chars().all(nfc_stable) || is_nfc_quick(text.chars()) == IsNormalized::Yes {
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

    /// Every character the NFC fast path passes has combining class 0 and
    /// passes the quick check alone, so a text of them passes it whole;
    /// the zero-width search finds exactly the zero-width characters.
    #[test]
    fn fast_paths_agree_with_the_tables() {
        use unicode_normalization::char::canonical_combining_class;
        use unicode_normalization::{is_nfc_quick, IsNormalized};
        let mut stable = 0;
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            if super::nfc_stable(c) {
                stable += 1;
                assert_eq!(canonical_combining_class(c), 0, "{c:?}");
                assert_eq!(is_nfc_quick(std::iter::once(c)), IsNormalized::Yes, "{c:?}");
            }
            let mut buf = [0u8; 4];
            let text = format!("a{}b", c.encode_utf8(&mut buf));
            assert_eq!(super::has_zero_width(&text), text.contains(super::zero_width), "{c:?}");
        }
        assert!(stable > 40_000, "{stable}");
    }

    #[test]
    fn decomposed_text_is_composed() {
        assert_eq!(nfc("cafe\u{301}").as_deref(), Some("café"));
        assert_eq!(nfc("café 中文"), None);
    }
}
