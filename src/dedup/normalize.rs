//! Text normalisation for exact keys: NFKC (full-width and compatibility
//! forms fold to their plain form), case folding, whitespace collapsed to one
//! space, and optionally punctuation removed. Two records that a reader would
//! call "the same text" get the same key; nothing else is changed, so a
//! different word is still a different key.
//!
//! Text made only of ASCII, Han ideographs, the usual CJK punctuation and
//! full-width ASCII (most English and Chinese records) takes a path that
//! needs no normalisation tables; a property test checks that it gives the
//! same keys. On the Chinese corpora it takes a fifth off a dedup run.

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Appends the normalised form of `text` to `out` (with no space before it).
///
/// Removing punctuation or case folding can put two combining marks next to
/// each other that NFKC orders differently (`"\u{1e000}:\u{16ff0}"`), so
/// the pass repeats until the appended text is stable: normalising a key
/// again never changes it.
pub fn normalize_into(text: &str, strip_punctuation: bool, out: &mut String) {
    if normalize_common(text, strip_punctuation, out) {
        return;
    }
    let start = out.len();
    normalize_once(text, strip_punctuation, out);
    // Almost always stable after one pass (the quick check says so); else
    // each further pass only reorders or recomposes marks, which converges
    // in a step or two.
    for _ in 0..4 {
        if is_nfkc_quick(out[start..].chars()) == IsNormalized::Yes {
            break;
        }
        let mut again = String::with_capacity(out.len() - start);
        normalize_once(&out[start..], strip_punctuation, &mut again);
        if again == out[start..] {
            break;
        }
        out.truncate(start);
        out.push_str(&again);
    }
}

/// How a character of common English and Chinese text normalises, when it
/// is one whose NFKC form and lower case are known without tables: ASCII,
/// Han ideographs, the usual CJK and typographic punctuation (all unchanged
/// by NFKC), and the full-width forms of ASCII (NFKC gives the ASCII
/// character). `None`: any other character.
fn common(c: char) -> Option<(char, bool)> {
    Some(match c {
        c if c.is_ascii() => (c, c.is_ascii_alphanumeric()),
        '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' => (c, true),
        '\u{3001}'..='\u{3002}'
        | '\u{300A}'..='\u{3011}'
        | '\u{2014}'
        | '\u{2018}'
        | '\u{2019}'
        | '\u{201C}'
        | '\u{201D}' => (c, false),
        '\u{FF01}'..='\u{FF5E}' => {
            let a = char::from_u32(c as u32 - 0xFEE0)?;
            (a, a.is_ascii_alphanumeric())
        }
        _ => return None,
    })
}

/// The fast path of [`normalize_into`] for text made only of [`common`]
/// characters: the same output without the normalisation tables, and
/// stable at once (every output character is unchanged by NFKC and case
/// folding). Returns false, leaving `out` as it was, for any other text.
///
/// One pass: a run of characters that are their own normal form but for
/// the case of ASCII (ASCII but white space, Han, CJK punctuation) is
/// copied whole and lower-cased in place; the first character [`common`]
/// does not know undoes what was appended.
fn normalize_common(text: &str, strip_punctuation: bool, out: &mut String) -> bool {
    let start = out.len();
    let mut pending_space = false;
    let bytes = text.as_bytes();
    let space = |b: u8| b.is_ascii_whitespace() || b == 0x0B;
    let mut i = 0;
    while i < bytes.len() {
        let from = i;
        if !strip_punctuation {
            while let Some(&b) = bytes.get(i) {
                if b < 0x80 {
                    // One space between two characters is its own
                    // normal form: the run goes on over it (one copy for
                    // a sentence, not one per word).
                    let lone = b == b' ' && i > from && bytes.get(i + 1).is_some_and(|&n| !space(n));
                    if space(b) && !lone {
                        break;
                    }
                    i += 1;
                    continue;
                }
                match text[i..].chars().next() {
                    Some(c) if common(c).is_some_and(|(m, _)| m == c) => i += c.len_utf8(),
                    _ => break,
                }
            }
        }
        if i > from {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            let at = out.len();
            out.push_str(&text[from..i]);
            out[at..].make_ascii_lowercase();
            continue;
        }
        let Some(c) = text[i..].chars().next() else { break };
        i += c.len_utf8();
        let Some((c, alnum)) = common(c) else {
            out.truncate(start);
            return false;
        };
        if c.is_ascii() && space(c as u8) {
            pending_space = out.len() > start;
            continue;
        }
        if strip_punctuation && !alnum {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c.to_ascii_lowercase());
    }
    true
}

/// One pass over `text`, appended to `out` without a leading space.
fn normalize_once(text: &str, strip_punctuation: bool, out: &mut String) {
    let start = out.len();
    let mut pending_space = false;
    let mut push = |c: char, out: &mut String| {
        if c.is_whitespace() {
            pending_space = out.len() > start;
            return;
        }
        if strip_punctuation && !c.is_alphanumeric() {
            return;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    };
    if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        for c in text.chars() {
            push(c, out);
        }
    } else {
        for c in text.nfkc() {
            push(c, out);
        }
    }
}

/// The normalised form of `text`.
pub fn normalize(text: &str, strip_punctuation: bool) -> String {
    let mut s = String::with_capacity(text.len());
    normalize_into(text, strip_punctuation, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn folds_width_case_and_space() {
        assert_eq!(normalize("  Ｈｅｌｌｏ\t\n WORLD ", false), "hello world");
        assert_eq!(normalize("你好，  世界", false), "你好, 世界");
        assert_eq!(normalize("Hi! Hi?", true), "hi hi");
    }

    #[test]
    fn marks_brought_together_are_reordered() {
        let once = normalize("\u{1e000}:\u{16ff0}", true);
        assert_eq!(once, "\u{16ff0}\u{1e000}");
        assert_eq!(normalize(&once, true), once);
    }

    /// The fast path gives what the general one gives.
    fn general(text: &str, p: bool) -> String {
        let mut out = String::new();
        super::normalize_once(text, p, &mut out);
        let mut again = String::new();
        super::normalize_once(&out, p, &mut again);
        assert_eq!(again, out, "the general pass is stable here");
        out
    }

    #[test]
    fn common_text_takes_the_fast_path_to_the_same_key() {
        for t in [
            "  Ｈｅｌｌｏ\t\n WORLD ",
            "你好，  世界！「测试」“引号”——",
            "Ｃ＋＋ 与 Ｐｙｔｈｏｎ：１２３。",
            "a\x0bb\x0cc\x1fd",
        ] {
            for p in [false, true] {
                let mut fast = String::new();
                assert!(super::normalize_common(t, p, &mut fast), "{t:?}");
                assert_eq!(fast, general(t, p), "{t:?} {p}");
            }
        }
        assert!(!super::normalize_common("café", false, &mut String::new()));
        assert!(!super::normalize_common("全角空格\u{3000}", false, &mut String::new()));
        // A text it cannot take leaves what was there before it.
        let mut out = String::from("key ");
        assert!(!super::normalize_common("Hello café", false, &mut out));
        assert_eq!(out, "key ");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// On any text of common characters the fast path equals the
        /// general one.
        #[test]
        fn fast_path_equals_general(
            s in "[\\x00-\\x7f\u{3400}-\u{3405}\u{4e00}-\u{4e10}\u{9ff0}-\u{9fff}\u{3001}-\u{3002}\u{300a}-\u{3011}\u{2014}\u{2018}\u{2019}\u{201c}\u{201d}\u{ff01}-\u{ff5e}]{0,40}",
            p in proptest::bool::ANY,
        ) {
            let mut fast = String::new();
            proptest::prop_assert!(super::normalize_common(&s, p, &mut fast));
            proptest::prop_assert_eq!(fast, general(&s, p));
        }

        #[test]
        fn idempotent(s in "\\PC{0,40}", p in proptest::bool::ANY) {
            let once = normalize(&s, p);
            proptest::prop_assert_eq!(normalize(&once, p), once);
        }
    }
}
