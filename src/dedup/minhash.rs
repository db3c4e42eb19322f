//! MinHash signatures of word n-gram shingles.
//!
//! ## Shingles
//! Words are [`crate::text::words`] (UAX #29), lower-cased. A Han or kana
//! character is a word of its own, so Chinese text gets character n-grams and
//! English text word n-grams with the same code, and mixed text is shingled
//! per script. Each word is hashed once (xxh3); an n-gram's hash combines the
//! n word hashes, so a shingle never exists as a string. Texts with fewer than
//! n words are one shingle (all their words), as datasketch and rensa do.
//!
//! ## Permutations
//! Permutation `i` maps a 64-bit shingle hash `h` to the high 32 bits of
//! `a_i * h + b_i (mod 2^64)` (multiply-shift hashing, `a_i` odd), with
//! `a_i`, `b_i` drawn from SplitMix64 seeded by the rules' `seed`. The
//! signature is the minimum per permutation: `permutations * 4` bytes. The
//! estimated Jaccard similarity of two records is the share of positions where
//! their signatures agree.

use crate::text::words;

/// A seeded family of permutations.
#[derive(Debug, Clone)]
pub struct MinHasher {
    a: Vec<u64>,
    b: Vec<u64>,
    ngram: usize,
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn word_hash(w: &str, buf: &mut String) -> u64 {
    if w.bytes().all(|b| !b.is_ascii_uppercase()) && w.is_ascii() {
        return xxhash_rust::xxh3::xxh3_64(w.as_bytes());
    }
    buf.clear();
    if w.is_ascii() {
        buf.extend(w.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        buf.extend(w.chars().flat_map(char::to_lowercase));
    }
    xxhash_rust::xxh3::xxh3_64(buf.as_bytes())
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
        let mut a = Vec::with_capacity(permutations);
        let mut b = Vec::with_capacity(permutations);
        for _ in 0..permutations {
            a.push(splitmix(&mut s) | 1);
            b.push(splitmix(&mut s));
        }
        MinHasher {
            a,
            b,
            ngram: ngram.max(1),
        }
    }

    /// Signature length.
    pub fn permutations(&self) -> usize {
        self.a.len()
    }

    /// The shingle hashes of the texts (joined as one text), possibly with repeats.
    pub fn shingles<'t>(&self, texts: impl IntoIterator<Item = &'t str>) -> Vec<u64> {
        let mut buf = String::new();
        let mut wh: Vec<u64> = Vec::new();
        for t in texts {
            wh.extend(words(t).map(|w| word_hash(w, &mut buf)));
        }
        if wh.is_empty() {
            return Vec::new();
        }
        if wh.len() < self.ngram {
            return vec![combine(&wh)];
        }
        wh.windows(self.ngram).map(combine).collect()
    }

    /// The signature of a shingle set; `out` is cleared. Empty when there
    /// are no shingles.
    pub fn signature(&self, shingles: &[u64], out: &mut Vec<u32>) {
        out.clear();
        if shingles.is_empty() {
            return;
        }
        let n = self.a.len();
        let mut mins = vec![u64::MAX; n];
        for &h in shingles {
            for ((m, &a), &b) in mins.iter_mut().zip(&self.a).zip(&self.b) {
                let v = a.wrapping_mul(h).wrapping_add(b);
                *m = (*m).min(v);
            }
        }
        out.extend(mins.iter().map(|m| (m >> 32) as u32));
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

/// Jaccard similarity of two sorted lists of distinct items.
pub fn jaccard_sorted<T: Ord>(a: &[T], b: &[T]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
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
    inter as f64 / (a.len() + b.len() - inter) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_gets_character_ngrams() {
        let m = MinHasher::new(8, 2, 1);
        assert_eq!(m.shingles(["给出三个"]).len(), 3);
        assert_eq!(m.shingles(["give three tips"]).len(), 2);
        assert_eq!(m.shingles(["Give THREE"]), m.shingles(["give three"]));
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
