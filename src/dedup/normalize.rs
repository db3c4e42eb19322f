//! Text normalisation for exact keys: NFKC (full-width and compatibility
//! forms fold to their plain form), case folding, whitespace collapsed to one
//! space, and optionally punctuation removed. Two records that a reader would
//! call "the same text" get the same key; nothing else is changed, so a
//! different word is still a different key.

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Appends the normalised form of `text` to `out`.
pub fn normalize_into(text: &str, strip_punctuation: bool, out: &mut String) {
    let mut pending_space = !out.is_empty() && !out.ends_with(' ');
    let mut push = |c: char, out: &mut String| {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
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

    proptest::proptest! {
        #[test]
        fn idempotent(s in "\\PC{0,40}", p in proptest::bool::ANY) {
            let once = normalize(&s, p);
            proptest::prop_assert_eq!(normalize(&once, p), once);
        }
    }
}
