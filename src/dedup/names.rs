//! What a short request names: its numbers and proper names, as one mark.
//!
//! Two short requests that a word or two apart ("Who made you?" / "Who
//! trained you?") ask the same when they name the same things, and another
//! question when a name or a number changes ("Are you GPT-2?" / "Are you
//! GPT-4?", "Are you ChatGPT?" / "Are you davinci?"). A name here is a word
//! with a digit, a word with a capital after its first letter (`ChatGPT`,
//! `IBM`), or a capitalised word that does not start a sentence (`Google` in
//! "Are you trained by Google?"); the pronoun `I` is not one.
//!
//! Used by `[near] thin-requests` (`src/dedup/similarity.rs`).

/// The names of a request, gathered over its texts.
#[derive(Debug, Default)]
pub struct Names {
    hashes: Vec<u64>,
    word: String,
}

impl Names {
    /// Adds the names of one text (a sentence starts at its beginning).
    pub fn add(&mut self, text: &str) {
        let mut sentence_start = true;
        for c in text.chars() {
            let han = crate::text::is_han(c as u32);
            if c.is_alphanumeric() && !han {
                self.word.push(c);
                continue;
            }
            if !self.word.is_empty() {
                self.flush(sentence_start);
                sentence_start = false;
            }
            if han {
                sentence_start = false;
            } else if matches!(c, '.' | '!' | '?' | '\n' | '。' | '！' | '？') {
                sentence_start = true;
            }
        }
        if !self.word.is_empty() {
            self.flush(sentence_start);
        }
    }

    /// Records the word just read when it is a name.
    fn flush(&mut self, sentence_start: bool) {
        let w = &self.word;
        let mut cs = w.chars();
        let Some(first) = cs.next() else { return };
        let digit = w.chars().any(|c| c.is_ascii_digit());
        let inner_capital = cs.any(char::is_uppercase);
        let capital = first.is_uppercase() && !sentence_start && w != "I";
        if digit || inner_capital || capital {
            self.hashes
                .push(xxhash_rust::xxh3::xxh3_64(w.to_lowercase().as_bytes()));
        }
        self.word.clear();
    }

    /// A 32-bit mark of the set of names (lower-cased, order and repeats
    /// aside): the same for two requests that name the same things. Never 0.
    pub fn mark(mut self) -> u32 {
        self.hashes.sort_unstable();
        self.hashes.dedup();
        let h = self.hashes.iter().fold(0x9E37_79B9_7F4A_7C15u64, |h, &x| {
            (h ^ x).wrapping_mul(0x1000_0000_01B3).rotate_left(29)
        });
        (h as u32).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::Names;

    fn mark<'t>(texts: impl IntoIterator<Item = &'t str>) -> u32 {
        let mut n = Names::default();
        for t in texts {
            n.add(t);
        }
        n.mark()
    }

    #[test]
    fn rewordings_name_the_same_things() {
        assert_eq!(mark(["Who are you?"]), mark(["What are you called?"]));
        assert_eq!(
            mark(["Are you trained by Google?"]),
            mark(["Are you created by Google?"])
        );
        assert_eq!(mark(["Are you davinci-001?"]), mark(["Are you based on davinci-001?"]));
        assert_eq!(
            mark(["Who made you?", "Goodbye"]),
            mark(["Who trained you?", "Goodbye"])
        );
        assert_eq!(
            mark(["I think. I know."]),
            mark(["Who knows"]),
            "the pronoun I is no name"
        );
    }

    #[test]
    fn another_name_or_number_is_another_question() {
        assert_ne!(mark(["Are you GPT-2?"]), mark(["Are you GPT-4?"]));
        assert_ne!(mark(["Are you ChatGPT?"]), mark(["Are you davinci?"]));
        assert_ne!(mark(["Who made you?"]), mark(["Are you created by Google?"]));
        assert_ne!(mark(["列出 5 种水果"]), mark(["列出 3 种水果"]));
    }
}
