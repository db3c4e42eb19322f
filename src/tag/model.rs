//! A linear text classifier on hashed word and character n-grams.
//!
//! ## Why this shape
//! fastText showed that for sorting short texts into a few classes, a linear
//! model over bags of word and character n-grams is about as accurate as a deep
//! model and thousands of times faster. Hashing the n-grams into a fixed number
//! of buckets (the hashing trick) means no vocabulary to build or store, the
//! same features for English (words, sub-words) and Chinese (one Han character
//! per word, so word bigrams are character bigrams), and a model whose size is
//! set up front. Prediction is a sum of a few hundred rows and a softmax: it
//! keeps up with the rule-based stages.
//!
//! ## Format
//! A model is one JSON document with a format name and version header, so it
//! is text (it can live in a rules folder next to the TOML files) and a future
//! version can refuse an old file clearly:
//!
//! ```json
//! {"format": "curate-linear-classifier", "version": 1, "labels": ["hq", "lq"],
//!  "buckets": 262144, "word_ngrams": 2, "char_ngrams": [3, 5], "seed": 17,
//!  "text": ["instruction", "input"], "bias": [0.1, -0.1],
//!  "weights": "<base64: for each non-zero row, u32 bucket then one f32 per label, little-endian>"}
//! ```
//!
//! A model trained with `--opening N` also holds `"opening": N`; a model
//! without it reads as `0`, so files written before the field are unchanged.
//! Likewise `--parts` writes `"parts": true` (each text field its own
//! features) and `--part-words N` writes `"part_words": N` (the first N words
//! of each field after the first); files without them read their fields as
//! one text, whole.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::tag::base64::{base64_decode, base64_encode};
use crate::text::words;

/// The format name written in model files.
pub const FORMAT: &str = "curate-linear-classifier";
/// The format version this build reads and writes.
pub const VERSION: u32 = 1;

/// Feature settings, shared by training and prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Features {
    /// Number of hash buckets.
    pub buckets: u32,
    /// Word n-grams up to this length (1 = unigrams only).
    pub word_ngrams: u8,
    /// Character n-gram lengths `[min, max]` inside Latin words (`[0, 0]`: none).
    pub char_ngrams: [u8; 2],
    /// The first this many words also count by their place, and so do the
    /// openings they make (the first two words, the first three, …): the
    /// opening verb of an instruction says most about its task
    /// ("写一首", "List three", "Translate"). 0: none (the field is left out).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub opening: u8,
    /// Each of the model's text fields gives its own features (a word of the
    /// instruction and the same word of the input are different features),
    /// and a field that is present counts as a feature: what an instruction
    /// asks and what it is given to work on say different things about its
    /// task. `false` (the field is left out): the fields' text as one.
    #[serde(default, skip_serializing_if = "is_false")]
    pub parts: bool,
    /// Only the first this many words of each field after the first count
    /// (0: all): the opening of an input or a reply shows its form and
    /// topic without its length outweighing the instruction, or costing
    /// time in proportion.
    #[serde(default, skip_serializing_if = "is_zero_u16")]
    pub part_words: u16,
    /// Hash seed.
    pub seed: u64,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            buckets: 1 << 18,
            word_ngrams: 2,
            char_ngrams: [3, 5],
            seed: 17,
            opening: 0,
            parts: false,
            part_words: 0,
        }
    }
}

impl Features {
    /// The hashed features of `text`, with repeats (a bag). `text` is the
    /// model's fields joined by [`PART_SEPARATOR`] (see [`join_parts`]).
    pub fn extract(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        if !self.parts {
            if !text.contains(PART_SEPARATOR) {
                self.extract_into(text, 0, usize::MAX, &mut out);
            } else if self.part_words == 0 {
                self.extract_into(&text.replace(PART_SEPARATOR, "\n"), 0, usize::MAX, &mut out);
            } else {
                let mut one = String::with_capacity(text.len());
                for (k, part) in text.split(PART_SEPARATOR).enumerate() {
                    if k > 0 {
                        one.push('\n');
                        one.push_str(first_words(part, usize::from(self.part_words)));
                    } else {
                        one.push_str(part);
                    }
                }
                self.extract_into(&one, 0, usize::MAX, &mut out);
            }
            return out;
        }
        let b = u64::from(self.buckets.max(1));
        for (k, part) in text.split(PART_SEPARATOR).enumerate() {
            if part.trim().is_empty() {
                continue;
            }
            let salt = PART_SALT * k as u64;
            out.push(bucket(xxh3_64_with_seed(b"\x1epresent", self.seed ^ salt), b));
            let limit = match (k, self.part_words) {
                (0, _) | (_, 0) => usize::MAX,
                (_, n) => usize::from(n),
            };
            self.extract_into(part, salt, limit, &mut out);
        }
        out
    }

    /// The features of one field's text (at most `limit` words), their
    /// hashes salted by `part`.
    fn extract_into(&self, text: &str, part: u64, limit: usize, out: &mut Vec<u32>) {
        let lower = crate::text::lowercase(text);
        // About one word per 4 bytes, as English runs (a Han character, a
        // word, is 3 bytes): room up front, not copies as the list grows.
        let mut toks: Vec<&str> = Vec::with_capacity((lower.len() / 4 + 1).min(limit));
        toks.extend(words(&lower).take(limit));
        out.reserve(toks.len() * 6);
        let b = u64::from(self.buckets.max(1));
        let seed = self.seed ^ part;
        let h = |bytes: &[u8], salt: u64| bucket(xxh3_64_with_seed(bytes, seed ^ salt), b);
        // An n-gram hashes as its words joined by spaces: the bytes of the
        // text itself when one space parts its words there (most English
        // n-grams), else copied into a reused buffer.
        let (text_bytes, base) = (lower.as_bytes(), lower.as_ptr() as usize);
        let at = |w: &str| w.as_ptr() as usize - base;
        let mut gram_buf: Vec<u8> = Vec::with_capacity(64);
        let mut joined = |gram: &[&str], salt: u64| {
            let spaced = gram
                .windows(2)
                .all(|p| at(p[1]) == at(p[0]) + p[0].len() + 1 && text_bytes[at(p[1]) - 1] == b' ');
            if let (true, Some(first), Some(last)) = (spaced, gram.first(), gram.last()) {
                let bytes = &text_bytes[at(first)..at(last) + last.len()];
                return bucket(xxh3_64_with_seed(bytes, seed ^ salt), b);
            }
            gram_buf.clear();
            for (k, w) in gram.iter().enumerate() {
                if k > 0 {
                    gram_buf.push(b' ');
                }
                gram_buf.extend_from_slice(w.as_bytes());
            }
            bucket(xxh3_64_with_seed(&gram_buf, seed ^ salt), b)
        };
        let opening = usize::from(self.opening).min(toks.len());
        for i in 0..opening {
            out.push(h(toks[i].as_bytes(), 1000 + i as u64));
            if i > 0 {
                out.push(joined(&toks[..=i], 2000 + i as u64));
            }
        }
        let mut marked: Vec<u8> = Vec::with_capacity(32);
        for (i, t) in toks.iter().enumerate() {
            out.push(h(t.as_bytes(), 1));
            for n in 2..=usize::from(self.word_ngrams) {
                if i + n <= toks.len() {
                    out.push(joined(&toks[i..i + n], n as u64));
                }
            }
            let [lo, hi] = self.char_ngrams;
            if lo > 0 && t.chars().count() > 1 && t.is_ascii() {
                // The word between `<` and `>`, so that n-grams mark its ends.
                marked.clear();
                marked.push(b'<');
                marked.extend_from_slice(t.as_bytes());
                marked.push(b'>');
                for n in usize::from(lo)..=usize::from(hi) {
                    if n >= marked.len() {
                        break;
                    }
                    for s in marked.windows(n) {
                        out.push(h(s, 100 + n as u64));
                    }
                }
            }
        }
    }
}

thread_local! {
    /// [`Model::bag`]'s counters: one per bucket of the largest TF-IDF model
    /// read on this thread (two bytes a bucket), all zero between calls.
    static COUNTS: std::cell::RefCell<Vec<u16>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `hash % buckets`, as a mask when `buckets` is a power of two (every
/// shipped model): the same bucket without a 64-bit division per feature.
#[inline]
fn bucket(hash: u64, buckets: u64) -> u32 {
    if buckets.is_power_of_two() {
        (hash & (buckets - 1)) as u32
    } else {
        (hash % buckets) as u32
    }
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

fn is_zero_u16(n: &u16) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `text` up to the end of its `n`th word (`n` > 0).
pub fn first_words(text: &str, n: usize) -> &str {
    match words(text).nth(n.saturating_sub(1)) {
        Some(w) if n > 0 => &text[..w.as_ptr() as usize - text.as_ptr() as usize + w.len()],
        Some(_) => "",
        None => text,
    }
}

/// What separates a model's text fields in the text it reads (ASCII's
/// record separator, which no word contains).
pub const PART_SEPARATOR: char = '\u{1e}';

/// How far apart the hash seeds of two fields' features are.
const PART_SALT: u64 = 0x9e37_79b9_7f4a_7c15;

/// A model's text from its fields' texts, in order (an absent field as "").
pub fn join_parts<S: AsRef<str>>(parts: &[S]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.as_ref().len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push(PART_SEPARATOR);
        }
        s.push_str(p.as_ref());
    }
    s
}

/// A trained classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Class labels.
    pub labels: Vec<String>,
    /// Feature settings.
    pub features: Features,
    /// The record fields or parts the model was trained on.
    pub text: Vec<String>,
    /// Per-label bias.
    pub bias: Vec<f32>,
    /// `buckets x labels` weights, row-major.
    pub weights: Vec<f32>,
    /// Per-bucket inverse document frequency, for a model trained with
    /// `--tfidf`: a text is then its buckets weighed by `(1 + ln tf) * idf`
    /// and scaled to unit length (see [`Model::bag`]). `None`: its features
    /// count alike, over the square root of their number.
    pub idf: Option<Vec<f32>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    format: String,
    version: u32,
    labels: Vec<String>,
    #[serde(flatten)]
    features: Features,
    text: Vec<String>,
    bias: Vec<f32>,
    weights: String,
    /// base64 of one little-endian f32 per bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idf: Option<String>,
    #[serde(default)]
    trained: serde_json::Value,
}

impl Model {
    /// A zero model.
    pub fn new(labels: Vec<String>, features: Features, text: Vec<String>) -> Model {
        let n = labels.len() * features.buckets as usize;
        Model {
            bias: vec![0.0; labels.len()],
            weights: vec![0.0; n],
            labels,
            features,
            text,
            idf: None,
        }
    }

    /// A text's buckets as a unit-length vector of `(bucket, weight)`, in
    /// the order they first come, for a model with [`Model::idf`]: each bucket weighs
    /// `(1 + ln tf) * idf` (the sublinear TF-IDF of text classification: a
    /// word said five times counts more than once, not five times; a word
    /// most records have counts little). Empty without `idf`.
    pub fn bag(&self, feats: &[u32]) -> Vec<(u32, f32)> {
        let Some(idf) = &self.idf else {
            return Vec::new();
        };
        // Each bucket's count, in a per-thread table of one counter per
        // bucket (zero again when done), in the order buckets first come.
        let mut bag: Vec<(u32, f32)> = Vec::with_capacity(feats.len());
        COUNTS.with_borrow_mut(|counts| {
            if counts.len() < idf.len() {
                counts.resize(idf.len(), 0);
            }
            for &f in feats {
                let c = &mut counts[f as usize];
                if *c == 0 {
                    bag.push((f, 0.0));
                }
                *c = c.saturating_add(1);
            }
            for (f, v) in &mut bag {
                let c = std::mem::take(&mut counts[*f as usize]);
                // Most n-grams come once, and ln 1 = 0 exactly.
                let tf = if c == 1 { 1.0 } else { 1.0 + f32::from(c).ln() };
                *v = tf * idf[*f as usize];
            }
        });
        let norm = bag.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, v) in &mut bag {
                *v /= norm;
            }
        }
        bag
    }

    /// Raw scores for a weighted bag ([`Model::bag`]): the bias plus each
    /// bucket's row times its weight.
    pub fn bag_logits(&self, bag: &[(u32, f32)]) -> Vec<f32> {
        let l = self.labels.len();
        // As in [`Model::logits`]: a row width known when compiling.
        macro_rules! widths {
            ($($n:literal)*) => {
                match l {
                    $($n => return weighted_rows::<$n>(&self.bias, &self.weights, bag).to_vec(),)*
                    _ => {}
                }
            };
        }
        widths!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
        let mut s = self.bias.clone();
        for &(f, v) in bag {
            let row = &self.weights[f as usize * l..(f as usize + 1) * l];
            for (a, w) in s.iter_mut().zip(row) {
                *a += w * v;
            }
        }
        s
    }

    /// Raw scores (logits) for a bag of features: the bias plus the sum of
    /// the features' rows (summed first, then scaled once) over the square
    /// root of their number (the bag as a
    /// unit-length count vector when no feature repeats, so long and short
    /// texts weigh alike and one SGD step moves the logits by about the
    /// learning rate).
    pub fn logits(&self, feats: &[u32]) -> Vec<f32> {
        if self.idf.is_some() {
            return self.bag_logits(&self.bag(feats));
        }
        let l = self.labels.len();
        let mut s = self.bias.clone();
        if feats.is_empty() {
            return s;
        }
        let inv = 1.0 / (feats.len() as f32).sqrt();
        // A row length known when compiling lets the additions run as
        // vector instructions (every model of up to 16 labels); the sums
        // are the same, in the same order.
        macro_rules! widths {
            ($($n:literal)*) => {
                match l {
                    $($n => Some(sum_rows::<$n>(&self.weights, feats).to_vec()),)*
                    _ => None,
                }
            };
        }
        let sum = match widths!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16) {
            Some(sum) => sum,
            None => {
                let mut sum = vec![0.0f32; l];
                for &f in feats {
                    let row = &self.weights[f as usize * l..(f as usize + 1) * l];
                    for (a, w) in sum.iter_mut().zip(row) {
                        *a += w;
                    }
                }
                sum
            }
        };
        for (a, t) in s.iter_mut().zip(&sum) {
            *a += t * inv;
        }
        s
    }

    /// Class probabilities for `text`, in label order.
    pub fn predict(&self, text: &str) -> Vec<f32> {
        softmax(&self.logits(&self.features.extract(text)))
    }

    /// The most probable label and its probability.
    pub fn best(&self, text: &str) -> (usize, f32) {
        let p = self.predict(text);
        argmax(&p)
    }

    /// The probability of `label` for `text` (0 when the label is unknown).
    pub fn probability(&self, text: &str, label: &str) -> f32 {
        match self.labels.iter().position(|l| l == label) {
            Some(i) => self.predict(text)[i],
            None => 0.0,
        }
    }

    /// Serializes the model (`trained` is free-form metadata: data, figures).
    pub fn to_json(&self, trained: serde_json::Value) -> String {
        let l = self.labels.len();
        let mut bytes = Vec::new();
        for (i, row) in self.weights.chunks(l.max(1)).enumerate() {
            if row.iter().any(|w| *w != 0.0) {
                bytes.extend_from_slice(&(i as u32).to_le_bytes());
                for w in row {
                    bytes.extend_from_slice(&w.to_le_bytes());
                }
            }
        }
        let file = ModelFile {
            format: FORMAT.into(),
            version: VERSION,
            labels: self.labels.clone(),
            features: self.features.clone(),
            text: self.text.clone(),
            bias: self.bias.clone(),
            weights: base64_encode(&bytes),
            idf: self
                .idf
                .as_ref()
                .map(|idf| base64_encode(&idf.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>())),
            trained,
        };
        serde_json::to_string(&file).unwrap_or_default()
    }

    /// Reads a model written by [`Model::to_json`].
    pub fn from_json(text: &str) -> Result<Model, String> {
        let head: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not a model file: {e}"))?;
        if head.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(format!("not a {FORMAT} file (no \"format\": \"{FORMAT}\")"));
        }
        let version = head.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(VERSION) {
            return Err(format!(
                "model format version {version}; this curate reads version {VERSION}"
            ));
        }
        let f: ModelFile = serde_json::from_value(head).map_err(|e| format!("bad model file: {e}"))?;
        let l = f.labels.len();
        if l < 2 {
            return Err("a model needs at least two labels".into());
        }
        if f.bias.len() != l {
            return Err(format!("{} biases for {l} labels", f.bias.len()));
        }
        if f.features.buckets == 0 || f.features.buckets > 1 << 24 {
            return Err(format!("bucket count {} out of range", f.features.buckets));
        }
        let bytes = base64_decode(&f.weights).ok_or("weights are not valid base64")?;
        let row_bytes = 4 + 4 * l;
        if bytes.len() % row_bytes != 0 {
            return Err("weights have a truncated row".into());
        }
        let mut model = Model::new(f.labels, f.features, f.text);
        model.bias = f.bias;
        if let Some(idf) = &f.idf {
            let bytes = base64_decode(idf).ok_or("idf is not valid base64")?;
            if bytes.len() != 4 * model.features.buckets as usize {
                return Err(format!(
                    "idf has {} bytes for {} buckets",
                    bytes.len(),
                    model.features.buckets
                ));
            }
            let idf: Vec<f32> = bytes
                .chunks(4)
                .map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]]))
                .collect();
            if idf.iter().any(|v| !v.is_finite() || *v < 0.0) {
                return Err("idf holds a negative or non-finite weight".into());
            }
            model.idf = Some(idf);
        }
        for row in bytes.chunks(row_bytes) {
            let idx = u32::from_le_bytes([row[0], row[1], row[2], row[3]]) as usize;
            if idx >= model.features.buckets as usize {
                return Err(format!("weight row {idx} beyond {} buckets", model.features.buckets));
            }
            for (k, w) in row[4..].chunks(4).enumerate() {
                model.weights[idx * l + k] = f32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            }
        }
        Ok(model)
    }
}

/// The sum of the `N`-wide rows of `weights` at `feats`, in their order.
fn sum_rows<const N: usize>(weights: &[f32], feats: &[u32]) -> [f32; N] {
    let mut acc = [0.0f32; N];
    for &f in feats {
        let at = f as usize * N;
        let row: &[f32; N] = weights[at..at + N].try_into().expect("a row is N wide");
        for (a, w) in acc.iter_mut().zip(row) {
            *a += w;
        }
    }
    acc
}

/// `bias` plus the `N`-wide rows of `weights` at a bag's buckets, each times
/// its weight, in the bag's order (the same sums as the loop over any width).
fn weighted_rows<const N: usize>(bias: &[f32], weights: &[f32], bag: &[(u32, f32)]) -> [f32; N] {
    let mut acc: [f32; N] = bias.try_into().expect("one bias per label");
    for &(f, v) in bag {
        let at = f as usize * N;
        let row: &[f32; N] = weights[at..at + N].try_into().expect("a row is N wide");
        for (a, w) in acc.iter_mut().zip(row) {
            *a += w * v;
        }
    }
    acc
}

/// Softmax of logits.
pub fn softmax(z: &[f32]) -> Vec<f32> {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.into_iter().map(|v| v / s.max(f32::MIN_POSITIVE)).collect()
}

/// Index and value of the largest entry (first on ties).
pub fn argmax(p: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, v) in p.iter().enumerate() {
        if *v > best.1 {
            best = (i, *v);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_words_count_by_place_and_leave_old_models_alone() {
        let plain = Features::default();
        let opening = Features {
            opening: 3,
            ..Features::default()
        };
        let text = "Write a poem about the sea";
        let (a, b) = (plain.extract(text), opening.extract(text));
        // Three words by their place and two openings ("write a", "write a poem").
        assert_eq!(b.len(), a.len() + 5);
        assert_eq!(
            Features {
                opening: 3,
                ..Features::default()
            }
            .extract("写一首诗")
            .len(),
            plain.extract("写一首诗").len() + 5
        );
        assert_eq!(opening.extract("hi").len(), plain.extract("hi").len() + 1);
        let m = Model::new(vec!["a".into(), "b".into()], plain, vec!["instruction".into()]);
        assert!(!m.to_json(serde_json::Value::Null).contains("opening"));
    }

    #[test]
    fn fields_apart_give_their_own_features_and_old_models_read_them_joined() {
        let plain = Features::default();
        // A model without `parts` sees the fields as one text, as before.
        let joined = join_parts(&["Fix the grammar", "She go home"]);
        assert_eq!(plain.extract(&joined), plain.extract("Fix the grammar\nShe go home"));
        let parts = Features {
            parts: true,
            ..Features::default()
        };
        let (asked, given) = (
            parts.extract(&join_parts(&["home", ""])),
            parts.extract(&join_parts(&["", "home"])),
        );
        // One presence feature, the word and its nine character n-grams; the same word in another
        // field is another feature.
        assert_eq!(asked.len(), 1 + 1 + 9);
        assert_eq!(given.len(), asked.len());
        assert!(asked.iter().all(|f| !given.contains(f)), "{asked:?} {given:?}");
        // `part_words` caps the fields after the first, not the first.
        let capped = Features {
            part_words: 1,
            ..parts.clone()
        };
        let long = join_parts(&["a b c", "d e f"]);
        assert_eq!(capped.extract(&long).len(), parts.extract(&long).len() - 2 - 2);
        let m = Model::new(vec!["a".into(), "b".into()], capped, vec!["instruction".into()]);
        let json = m.to_json(serde_json::Value::Null);
        assert!(
            json.contains("\"parts\":true") && json.contains("\"part_words\":1"),
            "{json}"
        );
        assert_eq!(Model::from_json(&json), Ok(m));
    }

    #[test]
    fn features_cover_words_bigrams_and_subwords() {
        let f = Features {
            buckets: 1 << 20,
            ..Features::default()
        };
        // "write" gives 1 word, 1 bigram, and n-grams of "<write>" (5 + 4 + 3).
        assert_eq!(f.extract("Write code").len(), (1 + 1 + 12) + (1 + 9));
        // Chinese: one feature per character plus bigrams.
        assert_eq!(f.extract("翻译句子").len(), 4 + 3);
        assert_eq!(f.extract("Write code"), f.extract("write CODE"));
    }

    /// An n-gram hashed from the text's own bytes (words one space apart)
    /// is the n-gram hashed from its words joined: the features do not
    /// depend on what parts the words. Real instructions (Alpaca, Dolly,
    /// BELLE-style Chinese), then the same with every gap two tabs, or a
    /// space and a line end, where each n-gram is joined by copy.
    #[test]
    fn ngrams_of_the_text_bytes_equal_ngrams_of_joined_words() {
        let f = Features {
            word_ngrams: 3,
            opening: 3,
            ..Features::default()
        };
        for text in [
            "Give three tips for staying healthy.",
            "Rewrite the following sentence so that it is in active voice: The cake was eaten by the children.",
            "Classify each of the following as a fruit or a vegetable: tomato, apple, carrot",
            "用 Python 写一个快速排序函数，并解释它的时间复杂度。",
            "a  b\tc\nd e",
        ] {
            let gaps = |sep: &str| text.split_whitespace().collect::<Vec<_>>().join(sep);
            let want = f.extract(text);
            assert!(!want.is_empty());
            for sep in ["\t\t", " \n"] {
                assert_eq!(f.extract(&gaps(sep)), want, "{text:?} parted by {sep:?}");
            }
        }
    }

    /// A zero model of labels `a` and `b` over `buckets` buckets.
    fn two_labels(buckets: u32) -> Model {
        Model::new(
            vec!["a".into(), "b".into()],
            Features {
                buckets,
                ..Features::default()
            },
            vec!["instruction".into()],
        )
    }

    #[test]
    fn model_json_round_trips_and_checks_its_header() {
        let mut m = two_labels(64);
        m.weights[10] = 0.5;
        m.weights[127] = -1.25;
        m.bias = vec![0.1, -0.1];
        let text = m.to_json(serde_json::Value::Null);
        assert_eq!(Model::from_json(&text), Ok(m));
        let bad = text.replace("\"version\":1", "\"version\":9");
        assert!(Model::from_json(&bad).expect_err("old version").contains("version 9"));
        assert!(Model::from_json("{}").is_err());
    }

    #[test]
    fn tfidf_bags_are_unit_length_and_round_trip() {
        let mut m = two_labels(8);
        // Without idf a model counts its features alike, as before.
        assert!(m.bag(&[1, 2]).is_empty());
        assert!(!m.to_json(serde_json::Value::Null).contains("idf"));
        m.idf = Some(vec![1.0, 2.0, 1.0, 3.0, 1.0, 1.0, 1.0, 1.0]);
        // Bucket 3 said twice weighs (1 + ln 2) * 3, bucket 1 once weighs 2.
        let bag = m.bag(&[3, 1, 3]);
        assert_eq!(bag.iter().map(|(b, _)| *b).collect::<Vec<_>>(), vec![3, 1]);
        let norm = bag.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-6, "{bag:?}");
        let ratio = bag[0].1 / bag[1].1;
        assert!((ratio - (1.0 + 2f32.ln()) * 3.0 / 2.0).abs() < 1e-5, "{ratio}");
        m.weights[3 * 2] = 1.0;
        let logits = m.logits(&[3, 1, 3]);
        assert!((logits[0] - bag[0].1).abs() < 1e-6 && logits[1] == 0.0, "{logits:?}");
        // The counters are left at zero: the same text gives the same bag again.
        assert_eq!(m.bag(&[3, 1, 3]), bag);
        let text = m.to_json(serde_json::Value::Null);
        assert_eq!(Model::from_json(&text), Ok(m));
        // An idf of another length than the buckets is refused.
        let short = Model {
            idf: Some(vec![1.0; 4]),
            ..two_labels(8)
        };
        let err = Model::from_json(&short.to_json(serde_json::Value::Null)).expect_err("short idf");
        assert!(err.contains("idf has 16 bytes for 8 buckets"), "{err}");
    }
}

#[cfg(test)]
mod cut_tests {
    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// A text cut to its first `n` words has those words and no more:
        /// cutting it again changes nothing (a model reads each field cut
        /// once, whether or not it came cut).
        #[test]
        fn first_words_of_a_cut_text_is_the_cut_text(
            u in "([a-zA-Z]{1,3}|[0-9]{1,3}|[_.:',;\"]|[ \t\n\r]{1,2}|[无一中\u{3400}\u{4dbf}\u{4e00}\u{9fff}]{1,3}\
                  |[\u{33ff}\u{4dc0}\u{a000}\u{3007}]\
                  |[—“”…、。〈〉《》「」『』【】！（）？]\
                  |[，：；．＇‘’·・々\u{3000}\u{301}\u{200d}\u{5d0}ＡＺ０９ア😀]){0,40}",
            n in 1usize..12,
        ) {
            let cut = super::first_words(&u, n);
            proptest::prop_assert_eq!(super::first_words(cut, n), cut, "{:?} at {}", u, n);
        }
    }
}
