//! MinHash signatures of word n-gram shingles.
//!
//! ## Shingles
//! Words are [`crate::text::words`] (UAX #29), split where a lower-case ASCII
//! letter meets an upper-case one, lower-cased. The split puts back the break
//! of an instruction glued to its input (`...with the followingPiano`, the
//! same record as `...with the following\nPiano` elsewhere); a word such as
//! `JavaScript` becomes two words in every record alike. A Han or kana
//! character is a word of its own, so Chinese text gets character n-grams and
//! English text word n-grams with the same code, and mixed text is shingled
//! per script. Each word is hashed once (xxh3); an n-gram's hash combines the
//! n word hashes, so a shingle never exists as a string. Texts with fewer than
//! n words are one shingle (all their words), as datasketch and rensa do.
//!
//! ## Permutations
//! Each shingle hash is mixed once with a key drawn from the rules' `seed`
//! (the SplitMix64 finaliser) into 64 bits, split into `lo` and an odd `hi`.
//! Permutation `i` maps the shingle to the 32-bit value
//! `(lo + i * hi) ^ r_i` (mod 2^32): double hashing (Kirsch and
//! Mitzenmacher), each permutation's values then scrambled by its own random
//! mask `r_i` (SplitMix64 of the seed), so that permutations are not steps
//! along one line. For a fixed permutation the values of distinct shingles
//! are independent and uniform, so each position of two signatures agrees
//! with probability equal to their Jaccard similarity. The signature is the
//! minimum per permutation: `permutations * 4` bytes. The estimated Jaccard
//! similarity of two records is the share of positions where their
//! signatures agree.
//!
//! Per shingle this costs one mix, then one add, one xor and one minimum
//! per permutation, on `u32` lanes: the loop compiles to vector
//! instructions on baseline x86-64 (4 lanes), where the earlier
//! multiply-shift family (`a_i * h + b_i` on 64 bits) could not be
//! vectorised. `benches/minhash_crates/src/main.rs` measures it against the MinHash
//! crates; `docs/dedup.md` has the figures and the accuracy checks.

use crate::seeded::{mix, splitmix};
use crate::text::words;

/// A seeded family of permutations.
#[derive(Debug, Clone)]
pub struct MinHasher {
    /// Mixed into every shingle hash before the permutations.
    key: u64,
    /// One mask per permutation, with the top bit flipped (see `signature`).
    biased: Vec<u32>,
    ngram: usize,
}

/// Flips the top bit: `x ^ BIAS` as `i32` orders like `x` as `u32`.
const BIAS: u32 = 0x8000_0000;

fn word_hash(w: &str, buf: &mut String) -> u64 {
    // A Han character (every word of Chinese text) has no case: hashed as
    // it is, without the case tables.
    if let &[a @ 0xe0..=0xef, b, c] = w.as_bytes() {
        if crate::text::is_han(crate::text::wide_char(a, b, c)) {
            return xxhash_rust::xxh3::xxh3_64(w.as_bytes());
        }
    }
    // One pass decides: lower-case ASCII (most words) is hashed as it is.
    let (mut upper, mut other) = (false, false);
    for b in w.bytes() {
        upper |= b.is_ascii_uppercase();
        other |= b >= 0x80;
    }
    if !upper && !other {
        return xxhash_rust::xxh3::xxh3_64(w.as_bytes());
    }
    buf.clear();
    if other {
        buf.extend(w.chars().flat_map(char::to_lowercase));
    } else {
        buf.push_str(w);
        buf.make_ascii_lowercase();
    }
    xxhash_rust::xxh3::xxh3_64(buf.as_bytes())
}

/// Pushes the hash of word `w`, an English contraction as its two words
/// ("I'm" as "I am", "don't" as "do not", "can't" as "can not"), so that a
/// contraction and its long form shingle alike. `'s` (is, has or a
/// possessive) and `'d` (had or would) stay as they are.
fn push_word(w: &str, wh: &mut Vec<u64>, buf: &mut String) {
    let b = w.as_bytes();
    if b.len() > 2 && b.iter().any(|&c| c == b'\'' || c == 0xE2) {
        if let Some((stem, long)) = contraction(w) {
            wh.push(word_hash(stem, buf));
            wh.push(word_hash(long, buf));
            return;
        }
    }
    wh.push(word_hash(w, buf));
}

/// Pushes the hashes of word `w` split where a lower-case ASCII letter
/// meets an upper-case one (contractions as their two words when the text
/// has an apostrophe).
fn push_split(w: &str, apostrophes: bool, wh: &mut Vec<u64>, buf: &mut String) {
    let b = w.as_bytes();
    let mut start = 0;
    for i in 1..b.len() {
        if b[i].is_ascii_uppercase() && b[i - 1].is_ascii_lowercase() {
            wh.push(word_hash(&w[start..i], buf));
            start = i;
        }
    }
    let w = &w[start..];
    if apostrophes {
        push_word(w, wh, buf);
    } else {
        wh.push(word_hash(w, buf));
    }
}

/// A contraction's first word and the long form of its second.
fn contraction(w: &str) -> Option<(&str, &'static str)> {
    let (at, apostrophe) = w.char_indices().rev().find(|&(_, c)| c == '\'' || c == '’')?;
    let (stem, suffix) = (&w[..at], &w[at + apostrophe.len_utf8()..]);
    if stem.is_empty() {
        return None;
    }
    let long = match suffix {
        "m" | "M" => "am",
        "re" | "RE" | "Re" => "are",
        "ve" | "VE" | "Ve" => "have",
        "ll" | "LL" | "Ll" => "will",
        "t" | "T" if stem.ends_with(['n', 'N']) => {
            let stem = &stem[..stem.len() - 1];
            let irregular = [("ca", "can"), ("wo", "will"), ("sha", "shall")];
            return match irregular.iter().find(|(s, _)| stem.eq_ignore_ascii_case(s)) {
                Some((_, full)) => Some((full, "not")),
                None if stem.len() >= 2 => Some((stem, "not")),
                None => None,
            };
        }
        _ => return None,
    };
    Some((stem, long))
}

/// Combines word hashes into a shingle hash (order matters).
fn combine(ws: &[u64]) -> u64 {
    let mut h = 0x243F_6A88_85A3_08D3u64;
    for &w in ws {
        h = (h.rotate_left(23) ^ w).wrapping_mul(0x9FB2_1C65_1E98_DF25);
    }
    h ^ (h >> 29)
}

impl MinHasher {
    /// `permutations` permutations for shingles of `ngram` words.
    pub fn new(permutations: usize, ngram: usize, seed: u64) -> Self {
        let mut s = seed;
        let key = splitmix(&mut s);
        let biased = (0..permutations).map(|_| splitmix(&mut s) as u32 ^ BIAS).collect();
        MinHasher {
            key,
            biased,
            ngram: ngram.max(1),
        }
    }

    /// Signature length.
    pub fn permutations(&self) -> usize {
        self.biased.len()
    }

    /// The shingle hashes of the texts (joined as one text), possibly with repeats.
    pub fn shingles<'t>(&self, texts: impl IntoIterator<Item = &'t str>) -> Vec<u64> {
        let mut buf = String::new();
        let mut wh: Vec<u64> = Vec::new();
        for t in texts {
            self.word_hashes(t, &mut wh, &mut buf);
        }
        let mut out = Vec::new();
        self.shingles_of(&wh, &mut out);
        out
    }

    /// Appends the hashes of the words of `text` to `wh` (`buf` is scratch).
    pub fn word_hashes(&self, text: &str, wh: &mut Vec<u64>, buf: &mut String) {
        // About one word per 4 bytes (English words and a space; one Han
        // character is 3 bytes): room before the words, not copies later.
        wh.reserve(text.len() / 4);
        // Only a text with an apostrophe (' or the first byte of ’) can
        // hold a contraction: one vectorised search spares the others a
        // look at each word.
        let apostrophes = memchr::memchr2(b'\'', 0xE2, text.as_bytes()).is_some();
        for w in words(text) {
            push_split(w, apostrophes, wh, buf);
        }
    }

    /// [`MinHasher::word_hashes`] of `text` from its UAX #29 words `spans`
    /// ([`crate::text::uax_words`], cut by an earlier stage): each split at
    /// its glued sentence ends, as [`words`] splits them.
    pub fn word_hashes_of_spans(
        &self,
        text: &str,
        spans: &[crate::tokenize::Span],
        wh: &mut Vec<u64>,
        buf: &mut String,
    ) {
        wh.reserve(spans.len());
        let apostrophes = memchr::memchr2(b'\'', 0xE2, text.as_bytes()).is_some();
        // Only a word holding a `.`, `'` or `’` (first byte 0xE2) can hold a
        // glued sentence end: those bytes found in one pass over the text.
        let mut marks = memchr::memchr3_iter(b'.', b'\'', 0xE2, text.as_bytes()).peekable();
        for &(s, e) in spans {
            let (s, e) = (s as usize, e as usize);
            let word = &text[s..e];
            while marks.next_if(|&m| m < s).is_some() {}
            if marks.peek().is_none_or(|&m| m >= e) {
                push_split(word, apostrophes, wh, buf);
                continue;
            }
            let mut w = Some(word);
            while let Some(x) = w {
                let (part, rest) = crate::text::split_glued(x);
                push_split(part, apostrophes, wh, buf);
                w = rest;
            }
        }
    }

    /// The shingle hashes of a text's word hashes `wh`, into `out` (cleared).
    pub fn shingles_of(&self, wh: &[u64], out: &mut Vec<u64>) {
        out.clear();
        if wh.is_empty() {
            return;
        }
        if wh.len() < self.ngram {
            out.push(combine(wh));
            return;
        }
        out.extend(wh.windows(self.ngram).map(combine));
    }

    /// The signature of a shingle set; `out` is cleared. Empty when there
    /// are no shingles.
    pub fn signature(&self, shingles: &[u64], out: &mut Vec<u32>) {
        out.clear();
        if shingles.is_empty() {
            return;
        }
        // Minima are kept with the top bit flipped and compared as `i32`,
        // which orders them as `u32` (baseline x86-64 has a signed 32-bit
        // vector comparison only); `biased` holds the masks flipped alike.
        out.resize(self.biased.len(), u32::MAX ^ BIAS);
        let split = |sh: u64| {
            let h = mix(sh ^ self.key);
            (h as u32, (h >> 32) as u32 | 1)
        };
        // Four shingles per pass over the minima: each position is loaded
        // and stored once for four values instead of one. `v*` walk
        // `lo + i * hi`: induction variables, which the compiler turns into
        // vector adds (4 lanes on baseline x86-64).
        let mut quads = shingles.chunks_exact(4);
        for q in &mut quads {
            let [(mut v0, s0), (mut v1, s1), (mut v2, s2), (mut v3, s3)] =
                [split(q[0]), split(q[1]), split(q[2]), split(q[3])];
            for (m, &r) in out.iter_mut().zip(&self.biased) {
                let a = ((v0 ^ r) as i32).min((v1 ^ r) as i32);
                let b = ((v2 ^ r) as i32).min((v3 ^ r) as i32);
                *m = (*m as i32).min(a.min(b)) as u32;
                v0 = v0.wrapping_add(s0);
                v1 = v1.wrapping_add(s1);
                v2 = v2.wrapping_add(s2);
                v3 = v3.wrapping_add(s3);
            }
        }
        for &sh in quads.remainder() {
            let (mut v, hi) = split(sh);
            for (m, &r) in out.iter_mut().zip(&self.biased) {
                *m = (*m as i32).min((v ^ r) as i32) as u32;
                v = v.wrapping_add(hi);
            }
        }
        for m in out.iter_mut() {
            *m ^= BIAS;
        }
    }
}

/// Estimated Jaccard similarity: the share of equal positions.
pub fn estimate(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    same as f64 / a.len() as f64
}

/// Exact Jaccard similarity of two shingle lists (repeats ignored).
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_unstable();
    a.dedup();
    b.sort_unstable();
    b.dedup();
    jaccard_sorted(&a, &b)
}

/// Jaccard similarity of two sorted lists of distinct items (two empty lists
/// are the same: 1).
pub fn jaccard_sorted<T: Ord>(a: &[T], b: &[T]) -> f64 {
    let (inter, union) = overlap_sorted(a, b);
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

/// The sizes of the intersection and the union of two sorted lists of
/// distinct items.
pub fn overlap_sorted<T: Ord>(a: &[T], b: &[T]) -> (usize, usize) {
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    (inter, a.len() + b.len() - inter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contractions_shingle_as_their_long_form() {
        let m = MinHasher::new(0, 2, 0);
        assert_eq!(m.shingles(["No, I'm a model"]), m.shingles(["No, I am a model"]));
        assert_eq!(m.shingles(["I don’t know"]), m.shingles(["I do not know"]));
        assert_eq!(
            m.shingles(["We can't, they won't"]),
            m.shingles(["We can not, they will not"])
        );
        assert_eq!(m.shingles(["You're right"]), m.shingles(["you are right"]));
        // 's and 'd say more than one thing: left as they are.
        assert_ne!(m.shingles(["John's book"]), m.shingles(["John is book"]));
        assert_ne!(m.shingles(["I'd go"]), m.shingles(["I would go"]));
    }

    #[test]
    fn cjk_gets_character_ngrams() {
        let m = MinHasher::new(8, 2, 1);
        assert_eq!(m.shingles(["给出三个"]).len(), 3);
        assert_eq!(m.shingles(["give three tips"]).len(), 2);
        assert_eq!(m.shingles(["Give THREE"]), m.shingles(["give three"]));
    }

    /// The definition, one permutation at a time.
    fn reference(m: &MinHasher, shingles: &[u64]) -> Vec<u32> {
        (0..m.permutations())
            .map(|i| {
                let r = m.biased[i] ^ BIAS;
                shingles
                    .iter()
                    .map(|&sh| {
                        let h = mix(sh ^ m.key);
                        let (lo, hi) = (h as u32, (h >> 32) as u32 | 1);
                        lo.wrapping_add((i as u32).wrapping_mul(hi)) ^ r
                    })
                    .min()
                    .unwrap_or(u32::MAX)
            })
            .collect()
    }

    proptest::proptest! {
        /// A word's hash is the hash of its lower-case form, whichever path
        /// computes it.
        #[test]
        fn word_hash_is_the_hash_of_the_lower_case_word(w in "[a-zA-Z0-9_'.ÉéÀßİı给ΩΣ]{0,12}") {
            let mut buf = String::new();
            proptest::prop_assert_eq!(
                word_hash(&w, &mut buf),
                xxhash_rust::xxh3::xxh3_64(w.chars().flat_map(char::to_lowercase).collect::<String>().as_bytes())
            );
        }

        /// Word hashes from the UAX #29 words an earlier stage cut are the
        /// word hashes of the text: glued sentence ends (`goal.Improve`,
        /// `don'T`, `a’B`), camel case, contractions, Han, marks.
        #[test]
        fn word_hashes_of_uax_spans_are_the_word_hashes_of_the_text(
            text in "([a-zA-Z]{1,4}|[0-9]{1,3}|[.',;:]|’|[ \t\n]{1,2}|[给中文]{1,3}|[，。\u{301}é])*"
        ) {
            let m = MinHasher::new(8, 3, 1);
            let mut spans = Vec::new();
            crate::tokenize::Tokenizer::Unicode.spans(&text, &mut spans);
            let (mut a, mut b, mut buf) = (Vec::new(), Vec::new(), String::new());
            m.word_hashes(&text, &mut a, &mut buf);
            m.word_hashes_of_spans(&text, &spans, &mut b, &mut buf);
            proptest::prop_assert_eq!(a, b, "{:?}", text);
        }

        /// The vectorised loop computes the definition, for any signature length.
        #[test]
        fn signature_is_the_minimum_per_permutation(
            perms in 1usize..40,
            shingles in proptest::collection::vec(proptest::prelude::any::<u64>(), 1..50),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let m = MinHasher::new(perms, 5, seed);
            let mut sig = Vec::new();
            m.signature(&shingles, &mut sig);
            proptest::prop_assert_eq!(sig, reference(&m, &shingles));
        }
    }

    /// Three-byte words: Han characters take the caseless path, and ASCII
    /// words of three letters are still lower-cased.
    #[test]
    fn three_byte_words_hash_as_their_lower_case() {
        let mut buf = String::new();
        for (w, lower) in [
            ("Dog", "dog"),
            ("DOG", "dog"),
            ("给", "给"),
            ("㐀", "㐀"),
            ("É1", "é1"),
            ("Ω", "ω"),
        ] {
            assert_eq!(
                word_hash(w, &mut buf),
                xxhash_rust::xxh3::xxh3_64(lower.as_bytes()),
                "{w}"
            );
        }
    }

    #[test]
    fn signature_of_nothing_is_empty() {
        let mut sig = vec![1, 2];
        MinHasher::new(126, 5, 1).signature(&[], &mut sig);
        assert!(sig.is_empty());
    }

    #[test]
    fn estimate_tracks_jaccard() {
        let m = MinHasher::new(256, 1, 7);
        let a: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
        let b: Vec<String> = (20..120).map(|i| format!("w{i}")).collect();
        let (sa, sb) = (m.shingles([a.join(" ").as_str()]), m.shingles([b.join(" ").as_str()]));
        let j = jaccard(&sa, &sb);
        assert!((j - 80.0 / 120.0).abs() < 1e-9);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        m.signature(&sa, &mut x);
        m.signature(&sb, &mut y);
        assert!((estimate(&x, &y) - j).abs() < 0.1, "{} vs {j}", estimate(&x, &y));
    }
}
