//! `mojibake`: UTF-8 text that was decoded as cp1252 or Latin-1.
//!
//! ## What it fixes
//! Every run of characters that cp1252 or Latin-1 can encode, and that holds
//! at least one non-ASCII character, is encoded back to bytes; when those bytes
//! are valid UTF-8 holding a character of two or more bytes, the run is
//! replaced by them. `Â°C` becomes `°C`, `â€“` becomes `–`, `Ã—` becomes `×`,
//! also inside code. A genuine `café` or `naïve` is left: `é` or `ï` alone is
//! not valid UTF-8.
//!
//! ## Why
//! Scraped and converted sets carry text decoded with the wrong encoding (the
//! alpaca_cot AQuA rationales write `Ã—` for `×`). The quality stage's
//! `mojibake` rule drops what this cannot repair.
//!
//! ## Example
//! `The temperature is 25Â°C â€“ warm.` becomes `The temperature is 25°C – warm.`

/// The byte cp1252 gives a character, if any (Latin-1 for 0x80–0x9F as a fallback).
fn cp1252(c: char) -> Option<u8> {
    let u = c as u32;
    if u < 0x80 || (0xA0..=0xFF).contains(&u) {
        return Some(u as u8);
    }
    Some(match c {
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        // Latin-1 control characters that cp1252 leaves undefined.
        '\u{81}' | '\u{8D}' | '\u{8F}' | '\u{90}' | '\u{9D}' => u as u8,
        _ => return None,
    })
}

/// The lead bytes of a UTF-8 sequence of two or more bytes, as Latin-1/cp1252
/// shows them: a run must hold one to be mojibake.
fn is_lead(c: char) -> bool {
    matches!(c as u32, 0xC2..=0xF4)
}

/// Whether `text` holds a character [`is_lead`] takes: U+00C2 to U+00F4,
/// in UTF-8 the byte 0xC3 (never a continuation byte) then 0x82 to 0xB4,
/// found by a byte search (most texts, ASCII or Chinese, hold no 0xC3).
fn has_lead(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr_iter(0xC3, b).any(|i| matches!(b.get(i + 1), Some(0x82..=0xB4)))
}

/// The repaired text, or `None` when there is nothing to repair.
pub fn repair(text: &str) -> Option<String> {
    if !has_lead(text) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut run: Vec<u8> = Vec::new();
    let mut run_text = String::new();
    let flush = |run: &mut Vec<u8>, run_text: &mut String, out: &mut String, changed: &mut bool| {
        if run_text.chars().any(is_lead) {
            if let Ok(s) = std::str::from_utf8(run) {
                if s.chars().any(|c| c.len_utf8() > 1) && s != run_text {
                    out.push_str(s);
                    *changed = true;
                    run.clear();
                    run_text.clear();
                    return;
                }
            }
        }
        out.push_str(run_text);
        run.clear();
        run_text.clear();
    };
    for c in text.chars() {
        match cp1252(c).filter(|_| !c.is_ascii()) {
            Some(b) => {
                run.push(b);
                run_text.push(c);
            }
            None => {
                flush(&mut run, &mut run_text, &mut out, &mut changed);
                out.push(c);
            }
        }
    }
    flush(&mut run, &mut run_text, &mut out, &mut changed);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::repair;

    proptest::proptest! {
        /// The byte search finds a lead character where reading every
        /// character does.
        #[test]
        fn the_byte_search_finds_what_the_characters_hold(text in "[a-zÀ-ÿ\u{80}-\u{bf}\u{100}-\u{17f}给出€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]{0,12}") {
            proptest::prop_assert_eq!(super::has_lead(&text), text.chars().any(super::is_lead), "{:?}", text);
        }
    }

    #[test]
    fn utf8_read_as_cp1252_is_read_back() {
        // alpaca_cot aqua_train rationales and a code comment.
        assert_eq!(repair("12 Ã— 3 = 36").as_deref(), Some("12 × 3 = 36"));
        assert_eq!(repair("25Â°C â€“ warm, itâ€™s").as_deref(), Some("25°C – warm, it’s"));
        assert_eq!(repair("t = 30  # Â°C").as_deref(), Some("t = 30  # °C"));
        assert_eq!(repair("Ã©tÃ©").as_deref(), Some("été"));
    }

    #[test]
    fn genuine_accents_and_other_scripts_are_left() {
        assert_eq!(repair("café, naïve, Zürich, 中文 ×"), None);
        assert_eq!(repair("Â is a letter"), None);
    }
}
