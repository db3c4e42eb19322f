//! `repeats-instruction`: how much of the answer is the instruction again.
//!
//! ## What it measures
//! How much the answer and the instruction are the same text: the smaller of
//! the share of the answer's word n-grams found in the instruction and the
//! share of the instruction's found in the answer (bigrams; single words for
//! answers of one or two words), lowercased, with
//! the `unicode` tokenizer (so Chinese is compared character by character).
//! Not measured on an empty answer or an empty instruction.
//!
//! ## Why
//! An answer that only restates the question ("What is the capital of France?"
//! -> "What is the capital of France?") teaches echoing. The comparison is
//! with the instruction only, not the `input`: rewriting and correction tasks
//! legitimately answer with most of their input.
//!
//! ## Example
//! alpaca_chinese_carbonz0 has answers that copy the instruction verbatim:
//! they measure 1.0 and are dropped with `max = 0.9`.
//!
//! ## Parameters
//! - `of`: the part compared with the scoped answer (default `instruction`).
//! - `min_words`: not measured for answers with fewer words (default 1).

use std::collections::HashSet;

use xxhash_rust::xxh3::xxh3_64;

use crate::filters::quality::top_ngram::HashedKeys;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};
use crate::tokenize::Tokenizer;

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "repeats-instruction",
    "share of the answer's word bigrams found in the instruction",
    build,
)
.fraction();

fn instruction() -> Scope {
    Scope::Instruction
}

fn one() -> usize {
    1
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "instruction")]
    of: Scope,
    #[serde(default = "one")]
    min_words: usize,
}

struct RepeatsInstruction {
    scope: Scope,
    of: Scope,
    min_words: usize,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    Ok(Box::new(RepeatsInstruction {
        scope: ctx.scope.unwrap_or(Scope::Response),
        of: p.of,
        min_words: p.min_words.max(1),
    }))
}

/// The part's words, each as a hash of its lower-cased text (a 64-bit hash:
/// two different words collide with odds of one in 2^64, far below any
/// threshold's resolution; no string is built for an ASCII word already
/// in lower case).
fn lowered(cx: &mut Analysis<'_>, scope: Scope) -> Vec<u64> {
    let mut buf = String::new();
    cx.words(scope, Tokenizer::Unicode)
        .iter()
        .map(|w| word_key(w, &mut buf))
        .collect()
}

/// The hash of a word's lower-cased text (`str::to_lowercase`): an ASCII
/// word with a capital is lowered in the reused `buf`, a Han character (every
/// word of Chinese text) has no case.
fn word_key(w: &str, buf: &mut String) -> u64 {
    let caseless = match *w.as_bytes() {
        [a @ 0xe0..=0xef, b, c] => crate::text::is_han(crate::text::wide_char(a, b, c)),
        _ => false,
    };
    if caseless {
        xxh3_64(w.as_bytes())
    } else if !w.is_ascii() {
        xxh3_64(w.to_lowercase().as_bytes())
    } else if w.bytes().any(|b| b.is_ascii_uppercase()) {
        buf.clear();
        buf.push_str(w);
        buf.make_ascii_lowercase();
        xxh3_64(buf.as_bytes())
    } else {
        xxh3_64(w.as_bytes())
    }
}

/// An n-gram of word hashes as one hash.
fn gram(words: &[u64]) -> u64 {
    words.iter().fold(0x9e37_79b9_7f4a_7c15_u64, |h, &w| {
        (h.rotate_left(23) ^ w).wrapping_mul(0xff51_afd7_ed55_8ccd)
    })
}

impl Filter for RepeatsInstruction {
    fn metric(&self) -> &str {
        "share of the answer repeating the instruction"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let answer = lowered(cx, self.scope);
        let source = lowered(cx, self.of);
        if answer.len() < self.min_words || source.is_empty() {
            return None;
        }
        let n = if answer.len() < 3 { 1 } else { 2 };
        if source.len() < n {
            return Some(Measure::from(0.0));
        }
        // Both ways: an echo covers the instruction and is covered by it; a
        // reordering task answered inline ("order the events: A, B, C")
        // reuses the content but not the instruction's own words.
        // The source's n-grams in one set, the answer's probed against it:
        // the source grams the answer holds are the answer's share of the
        // source, without a set of the (longer) answer's grams.
        let set = |len: usize| HashSet::<u64, HashedKeys>::with_capacity_and_hasher(len, HashedKeys::default());
        let mut grams = set(source.len());
        grams.extend(source.windows(n).map(gram));
        let mut held = set(grams.len().min(answer.len()));
        let mut hit = 0usize;
        for g in answer.windows(n).map(gram) {
            if grams.contains(&g) {
                hit += 1;
                held.insert(g);
            }
        }
        let back = source.windows(n).filter(|g| held.contains(&gram(g))).count();
        let share = |hits: usize, words: &[u64]| hits as f64 / (words.len() + 1 - n) as f64;
        Some(Measure::from(share(hit, &answer).min(share(back, &source))))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    proptest::proptest! {
        /// A word's key is the hash of `str::to_lowercase` of it, whichever
        /// path computes it (final sigma included).
        #[test]
        fn a_word_key_hashes_its_lower_case(w in "[a-zA-Z0-9_'.ÉéΣσΑ给İ]{1,8}") {
            let mut buf = String::from("stale");
            proptest::prop_assert_eq!(
                super::word_key(&w, &mut buf),
                xxhash_rust::xxh3::xxh3_64(w.to_lowercase().as_bytes())
            );
        }
    }

    #[test]
    fn echo_is_one_real_answer_is_low() {
        let f = build(&KIND, "", None);
        let echo =
            record(r#"{"instruction": "给出三个保持健康的秘诀。", "input": "", "output": "给出三个保持健康的秘诀。"}"#);
        // llamafactory_v1_sft_demo: reordering inline content is an answer.
        let reorder = record(
            r#"{"instruction": "order the events from the earliest to the latestHe got his driving license, he joined college, he got a job.", "input": "", "output": "He joined college, he got his driving license, he got a job."}"#,
        );
        assert!(value(f.as_ref(), &reorder).is_some_and(|v| v < 0.9));
        let real = record(
            r#"{"instruction": "Give three tips for staying healthy.", "input": "", "output": "1. Eat a balanced diet. 2. Exercise regularly. 3. Get enough sleep."}"#,
        );
        // Rewriting the input is not repeating the instruction.
        let rewrite = record(
            r#"{"instruction": "Correct the grammar.", "input": "She go to school.", "output": "She goes to school."}"#,
        );
        assert_eq!(value(f.as_ref(), &echo), Some(1.0));
        assert_eq!(value(f.as_ref(), &real), Some(0.0));
        assert_eq!(value(f.as_ref(), &rewrite), Some(0.0));
    }
}
