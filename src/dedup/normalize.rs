//! Text normalisation for exact keys: NFKC (full-width and compatibility
//! forms fold to their plain form), case folding, whitespace collapsed to one
//! space, and optionally punctuation removed. Two records that a reader would
//! call "the same text" get the same key; nothing else is changed, so a
//! different word is still a different key.

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Appends the normalised form of `text` to `out` (with no space before it).
///
/// Removing punctuation or case folding can put two combining marks next to
/// each other that NFKC orders differently (`"\u{1e000}:\u{16ff0}"`), so
/// the pass repeats until the appended text is stable: normalising a key
/// again never changes it.
pub fn normalize_into(text: &str, strip_punctuation: bool, out: &mut String) {
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

    proptest::proptest! {
        #[test]
        fn idempotent(s in "\\PC{0,40}", p in proptest::bool::ANY) {
            let once = normalize(&s, p);
            proptest::prop_assert_eq!(normalize(&once, p), once);
        }
    }
}
