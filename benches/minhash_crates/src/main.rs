//! MinHash LSH crates against curate's own signatures and band keys, at
//! equal parameters, on a real corpus.
//!
//! ```text
//! cargo run --release --example minhash_crates -- [--preset default|peers] [--reps N] [--seeds N] [--only NAME,...] INPUT...
//! ```
//!
//! Every record is shingled once, exactly as `curate run` does (word 5-grams,
//! one 64-bit hash per shingle), and every library is fed the same shingle
//! hashes: through an identity hasher where the library hashes its items
//! itself (gaoya, probminhash), as `u64` items where it insists on its own
//! hasher (datasketch-minhash-lsh, minhash-rs), and as 16-hex-digit tokens
//! where it only takes text (txtfp; canonicalisation switched off). Records
//! whose exact key repeats an earlier record's (what `dedup/exact` removes
//! before MinHash runs) and records without shingles are left out.
//!
//! Presets: `default` is `rules/dedup.toml` (126 permutations, 21 bands x 6
//! rows, threshold 0.8); `peers` is what `scripts/bench/bench_dedup.sh` gives rensa
//! and datasketch (128 permutations, 16 x 8, 0.8).
//!
//! Per library it prints:
//! - signature throughput with rayon on 1 and 2 threads: records/s and MB/s
//!   of the compared text from the shortest of `--reps` runs (default 10),
//!   and records per CPU-second on 1 thread from the mean CPU time of those
//!   runs, which depends less on other load on the machine (the shingling,
//!   common to all, is timed once apart);
//! - LSH: building the band index and querying every record (1 thread);
//! - memory from a counting allocator: bytes per record held by the
//!   signatures, by the index once built, and the peak above the signatures
//!   while building and querying;
//! - accuracy (the mean over `--seeds` draws, default 8: the corpus itself,
//!   then relabelled with every shingle hash passed through a seeded
//!   bijection, which keeps every similarity and redraws every library)
//!   against the exhaustive all-pairs Jaccard (`support/exhaustive.rs`):
//!   candidate pairs, candidate recall (what exact verification, as curate
//!   does, keeps: its precision is 1), and recall and precision when
//!   candidates are kept on the library's own signature estimate >= threshold;
//!   the mean and root mean square of (estimate - exact Jaccard) over the
//!   true pairs (at 126 permutations an ideal MinHash has a standard
//!   deviation of 0.032 at J = 0.85).
//!
//! Libraries without an LSH index (probminhash) are banded with curate's
//! `lsh::band_keys` and `lsh::BandStore`.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

use curate::dedup::decontam::Index;
use curate::dedup::lsh::{band_keys, BandStore};
use curate::dedup::minhash::MinHasher;
use curate::dedup::Engine;
use curate::rules::RuleFiles;
use curate::ruleset::Rules;
use rayon::prelude::*;

#[path = "../../../examples/support/exhaustive.rs"]
mod exhaustive;
#[path = "../../../examples/support/records.rs"]
mod records;

#[global_allocator]
static ALLOC: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

type Err = Box<dyn std::error::Error>;

/// The records as every library sees them.
struct Corpus {
    /// Shingle set per record (sorted, no repeats).
    shingles: Vec<Vec<u64>>,
    /// The same shingles as 16-hex-digit tokens, for text-only libraries.
    hex: Vec<String>,
    /// Bytes of compared text.
    bytes: usize,
}

/// Parameters shared by every library.
#[derive(Clone, Copy)]
struct Params {
    bands: usize,
    rows: usize,
    threshold: f64,
    seed: u64,
}

/// One library: its signatures, estimate and LSH index.
trait Lib: Sync {
    type Sig: Send + Sync;
    type Index;
    fn name(&self) -> String;
    fn sign(&self, corpus: &Corpus, i: usize) -> Self::Sig;
    fn estimate(&self, a: &Self::Sig, b: &Self::Sig) -> f64;
    fn build(&self, sigs: &[Self::Sig]) -> Result<Self::Index, Err>;
    /// Candidate pairs `(a, b)`, `a < b`, possibly repeated.
    fn query(&self, index: Self::Index, sigs: &[Self::Sig], out: &mut Vec<(u32, u32)>) -> Result<(), Err>;
    /// Whether `sign` reads the hex tokens.
    fn needs_hex(&self) -> bool {
        false
    }
    /// What differs from equal parameters, if anything.
    fn note(&self) -> String {
        String::new()
    }
}

fn bucket_pairs(store: BandStore, out: &mut Vec<(u32, u32)>) -> Result<(), Err> {
    store.buckets(|b| {
        for (i, &x) in b.iter().enumerate() {
            for &y in &b[i + 1..] {
                out.push((x, y));
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// Bands `u32` signatures with curate's band keys and sorted band store.
fn curate_bands(sigs: &[Vec<u32>], p: Params) -> Result<BandStore, Err> {
    let dir = std::env::temp_dir().join(format!("minhash-crates-{}", std::process::id()));
    let budget = (sigs.len() as u64 + 2) * p.bands as u64 * 16;
    let mut store = BandStore::new(&dir, budget);
    let mut keys = Vec::with_capacity(p.bands);
    for (i, s) in sigs.iter().enumerate() {
        band_keys(s, p.bands, p.rows, &mut keys);
        store.push(i as u32, &keys, 0)?;
    }
    Ok(store)
}

fn share_equal<T: PartialEq>(a: &[T], b: &[T]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len().max(1) as f64
}

// ---------------------------------------------------------------- curate

struct Curate {
    h: MinHasher,
    p: Params,
}

impl Lib for Curate {
    type Sig = Vec<u32>;
    type Index = BandStore;
    fn name(&self) -> String {
        "curate (minhash.rs + lsh.rs)".into()
    }
    fn sign(&self, c: &Corpus, i: usize) -> Vec<u32> {
        let mut out = Vec::new();
        self.h.signature(&c.shingles[i], &mut out);
        out
    }
    fn estimate(&self, a: &Vec<u32>, b: &Vec<u32>) -> f64 {
        curate::dedup::minhash::estimate(a, b)
    }
    fn build(&self, sigs: &[Vec<u32>]) -> Result<BandStore, Err> {
        curate_bands(sigs, self.p)
    }
    fn query(&self, index: BandStore, _: &[Vec<u32>], out: &mut Vec<(u32, u32)>) -> Result<(), Err> {
        bucket_pairs(index, out)
    }
}

// ---------------------------------------------------------------- gaoya

/// Passes a `u64` through: the items are already shingle hashes.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type IdentityBuild = BuildHasherDefault<Identity>;

struct Gaoya32 {
    h: gaoya::minhash::MinHasher32<IdentityBuild>,
    p: Params,
}

fn gaoya_query<T: gaoya::minhash::MinHashType>(
    index: gaoya::minhash::MinHashIndex<T, u32>,
    sigs: &[Vec<T>],
    out: &mut Vec<(u32, u32)>,
) {
    for (i, s) in sigs.iter().enumerate() {
        let i = i as u32;
        for j in index.query_owned(s) {
            if j != i {
                out.push((i.min(j), i.max(j)));
            }
        }
    }
}

fn gaoya_build<T: gaoya::minhash::MinHashType>(sigs: &[Vec<T>], p: Params) -> gaoya::minhash::MinHashIndex<T, u32> {
    // Threshold 0: the index returns every candidate (it filters on the
    // signature estimate, which is computed here for every library alike).
    let mut index = gaoya::minhash::MinHashIndex::new(p.bands, p.rows, 0.0);
    for (i, s) in sigs.iter().enumerate() {
        index.insert(i as u32, s.clone());
    }
    index
}

impl Lib for Gaoya32 {
    type Sig = Vec<u32>;
    type Index = gaoya::minhash::MinHashIndex<u32, u32>;
    fn name(&self) -> String {
        "gaoya 0.2.2 MinHasher32 + MinHashIndex".into()
    }
    fn sign(&self, c: &Corpus, i: usize) -> Vec<u32> {
        use gaoya::minhash::MinHasher as _;
        self.h.create_signature(c.shingles[i].iter())
    }
    fn estimate(&self, a: &Vec<u32>, b: &Vec<u32>) -> f64 {
        gaoya::minhash::compute_minhash_similarity(a, b)
    }
    fn build(&self, sigs: &[Vec<u32>]) -> Result<Self::Index, Err> {
        Ok(gaoya_build(sigs, self.p))
    }
    fn query(&self, index: Self::Index, sigs: &[Vec<u32>], out: &mut Vec<(u32, u32)>) -> Result<(), Err> {
        gaoya_query(index, sigs, out);
        Ok(())
    }
    fn note(&self) -> String {
        "hashes truncated to 32 bits; (a*h+b) wraps at 2^32 before mod 2^31-1".into()
    }
}

struct Gaoya64 {
    h: gaoya::minhash::MinHasher64V1<IdentityBuild>,
    p: Params,
}

impl Lib for Gaoya64 {
    type Sig = Vec<u64>;
    type Index = gaoya::minhash::MinHashIndex<u64, u32>;
    fn name(&self) -> String {
        "gaoya 0.2.2 MinHasher64V1 + MinHashIndex".into()
    }
    fn sign(&self, c: &Corpus, i: usize) -> Vec<u64> {
        use gaoya::minhash::MinHasher as _;
        self.h.create_signature(c.shingles[i].iter())
    }
    fn estimate(&self, a: &Vec<u64>, b: &Vec<u64>) -> f64 {
        gaoya::minhash::compute_minhash_similarity(a, b)
    }
    fn build(&self, sigs: &[Vec<u64>]) -> Result<Self::Index, Err> {
        Ok(gaoya_build(sigs, self.p))
    }
    fn query(&self, index: Self::Index, sigs: &[Vec<u64>], out: &mut Vec<(u32, u32)>) -> Result<(), Err> {
        gaoya_query(index, sigs, out);
        Ok(())
    }
}

// ---------------------------------------------------------------- probminhash

type ProbBuild = BuildHasherDefault<probminhash::nohasher::NoHashHasher>;

struct ProbDens {
    p: Params,
}

impl Lib for ProbDens {
    type Sig = Vec<u64>;
    type Index = BandStore;
    fn name(&self) -> String {
        "probminhash 0.1.12 OptDensMinHash (+ curate bands)".into()
    }
    fn sign(&self, c: &Corpus, i: usize) -> Vec<u64> {
        let mut s = probminhash::densminhash::OptDensMinHash::<f32, u64, _>::new(
            self.p.bands * self.p.rows,
            ProbBuild::default(),
        );
        // Cannot fail (it returns Ok after densifying).
        let _ = s.sketch_slice(&c.shingles[i]);
        s.get_hsketch_u64()
    }
    fn estimate(&self, a: &Vec<u64>, b: &Vec<u64>) -> f64 {
        share_equal(a, b)
    }
    fn build(&self, sigs: &[Vec<u64>]) -> Result<BandStore, Err> {
        let narrow: Vec<Vec<u32>> = sigs
            .iter()
            .map(|s| s.iter().map(|&v| (v ^ (v >> 32)) as u32).collect())
            .collect();
        curate_bands(&narrow, self.p)
    }
    fn query(&self, index: BandStore, _: &[Vec<u64>], out: &mut Vec<(u32, u32)>) -> Result<(), Err> {
        bucket_pairs(index, out)
    }
    fn note(&self) -> String {
        "one-permutation hashing + optimal densification; no LSH index in the crate".into()
    }
}

struct ProbSuper {
    p: Params,
}

impl Lib for ProbSuper {
    type Sig = Vec<f32>;
    type Index = BandStore;
    fn name(&self) -> String {
        "probminhash 0.1.12 SuperMinHash (+ curate bands)".into()
    }
    fn sign(&self, c: &Corpus, i: usize) -> Vec<f32> {
        let mut s = probminhash::superminhasher::SuperMinHash::<f32, u64, _>::new(
            self.p.bands * self.p.rows,
            ProbBuild::default(),
        );
        // Errors only on an empty slice, which the corpus has none of.
        let _ = s.sketch_slice(&c.shingles[i]);
        s.get_hsketch().clone()
    }
    fn estimate(&self, a: &Vec<f32>, b: &Vec<f32>) -> f64 {
        share_equal(a, b)
    }
    fn build(&self, sigs: &[Vec<f32>]) -> Result<BandStore, Err> {
        let bits: Vec<Vec<u32>> = sigs.iter().map(|s| s.iter().map(|v| v.to_bits()).collect()).collect();
        curate_bands(&bits, self.p)
    }
    fn query(&self, index: BandStore, _: &[Vec<f32>], out: &mut Vec<(u32, u32)>) -> Result<(), Err> {
        bucket_pairs(index, out)
    }
    fn note(&self) -> String {
        "no LSH index in the crate".into()
    }
}

// ---------------------------------------------------------------- datasketch-minhash-lsh

struct Datasketch {
    template: datasketch_minhash_lsh::MinHash,
    p: Params,
    weights: (f64, f64),
    params: (usize, usize),
}

impl Datasketch {
    fn new(p: Params) -> Self {
        use datasketch_minhash_lsh::{LshParams, Weights};
        let perms = p.bands * p.rows;
        // The crate picks bands x rows itself from false-positive /
        // false-negative weights; look for weights that give ours.
        let mut chosen = None;
        for k in 0..=100 {
            let w = k as f64 / 100.0;
            let lp = LshParams::find_optimal_params(p.threshold, perms, &Weights(w, 1.0 - w));
            if (lp.b, lp.r) == (p.bands, p.rows) {
                chosen = Some(((w, 1.0 - w), (lp.b, lp.r)));
                break;
            }
        }
        let (weights, params) = chosen.unwrap_or_else(|| {
            let lp = LshParams::find_optimal_params(p.threshold, perms, &Weights(0.5, 0.5));
            ((0.5, 0.5), (lp.b, lp.r))
        });
        Datasketch {
            template: datasketch_minhash_lsh::MinHash::new(perms, Some(p.seed)),
            p,
            weights,
            params,
        }
    }
}

impl Lib for Datasketch {
    type Sig = datasketch_minhash_lsh::MinHash;
    type Index = datasketch_minhash_lsh::MinHashLsh<u32>;
    fn name(&self) -> String {
        "datasketch-minhash-lsh 0.0.1 MinHash + MinHashLsh".into()
    }
    fn sign(&self, c: &Corpus, i: usize) -> Self::Sig {
        let mut m = self.template.clone();
        for h in &c.shingles[i] {
            m.update(h);
        }
        m
    }
    fn estimate(&self, a: &Self::Sig, b: &Self::Sig) -> f64 {
        share_equal(&a.hash_values.0, &b.hash_values.0)
    }
    fn build(&self, sigs: &[Self::Sig]) -> Result<Self::Index, Err> {
        let w = datasketch_minhash_lsh::Weights(self.weights.0, self.weights.1);
        let mut lsh =
            datasketch_minhash_lsh::MinHashLsh::new(self.p.bands * self.p.rows, Some(w), Some(self.p.threshold))
                .map_err(|e| format!("{e:?}"))?;
        for (i, s) in sigs.iter().enumerate() {
            lsh.insert(i as u32, s).map_err(|e| format!("{e:?}"))?;
        }
        Ok(lsh)
    }
    fn query(&self, mut index: Self::Index, sigs: &[Self::Sig], out: &mut Vec<(u32, u32)>) -> Result<(), Err> {
        for (i, s) in sigs.iter().enumerate() {
            let i = i as u32;
            for j in index.query(s).map_err(|e| format!("{e:?}"))? {
                if j != i {
                    out.push((i.min(j), i.max(j)));
                }
            }
        }
        Ok(())
    }
    fn note(&self) -> String {
        let eq = self.params == (self.p.bands, self.p.rows);
        format!(
            "items re-hashed with SipHash to 32 bits; bands x rows chosen by the crate: {} x {} (weights {:.2}/{:.2}){}; each signature carries its {} permutations",
            self.params.0,
            self.params.1,
            self.weights.0,
            self.weights.1,
            if eq { "" } else { ", NOT the shared parameters" },
            self.p.bands * self.p.rows
        )
    }
}

// ---------------------------------------------------------------- minhash-rs

type MhrsSig<const P: usize> = minhash_rs::minhash::MinHash<u32, P, minhash_rs::hasher::Fnv>;

struct MinhashRs<const P: usize, const B: usize>;

impl<const P: usize, const B: usize> Lib for MinhashRs<P, B> {
    type Sig = MhrsSig<P>;
    type Index = minhash_rs::index::LshIndex<MhrsSig<P>, P, B>;
    fn name(&self) -> String {
        "minhash-rs 0.6.0 MinHash<u32> + LshIndex".into()
    }
    fn sign(&self, c: &Corpus, i: usize) -> Self::Sig {
        c.shingles[i].iter().copied().collect()
    }
    fn estimate(&self, a: &Self::Sig, b: &Self::Sig) -> f64 {
        use minhash_rs::min_hasher::MinHasher as _;
        a.estimate_jaccard_index(b)
    }
    fn build(&self, sigs: &[Self::Sig]) -> Result<Self::Index, Err> {
        Ok(minhash_rs::index::LshIndex::from_signatures(sigs.iter().cloned()))
    }
    fn query(&self, index: Self::Index, sigs: &[Self::Sig], out: &mut Vec<(u32, u32)>) -> Result<(), Err> {
        let mut state = minhash_rs::index::QueryState::new();
        for (i, s) in sigs.iter().enumerate() {
            let i = i as u32;
            for c in index.candidates(s, &mut state) {
                if c.id != i {
                    out.push((i.min(c.id), i.max(c.id)));
                }
            }
        }
        Ok(())
    }
    fn note(&self) -> String {
        "items hashed again with FNV (the crate's cheapest hasher)".into()
    }
}

// ---------------------------------------------------------------- txtfp

/// Splits a text of 16-hex-digit shingle hashes into its tokens.
struct HexShingles;

impl txtfp::Tokenizer for HexShingles {
    fn tokens<'a>(&'a self, input: &'a str) -> txtfp::tokenize::TokenStream<'a> {
        txtfp::tokenize::TokenStream::Borrowed(Box::new(
            (0..input.len() / 16).filter_map(move |i| input.get(i * 16..i * 16 + 16)),
        ))
    }
    fn name(&self) -> std::borrow::Cow<'static, str> {
        "hex-shingles".into()
    }
    fn for_each_token(&self, input: &str, f: &mut dyn FnMut(&str)) {
        for i in 0..input.len() / 16 {
            if let Some(t) = input.get(i * 16..i * 16 + 16) {
                f(t);
            }
        }
    }
}

struct Txtfp<const P: usize> {
    fp: txtfp::MinHashFingerprinter<HexShingles, P>,
    p: Params,
}

impl<const P: usize> Txtfp<P> {
    fn new(p: Params) -> Self {
        let canon = txtfp::CanonicalizerBuilder {
            normalization: txtfp::Normalization::None,
            case_fold: txtfp::CaseFold::None,
            strip_bidi: false,
            strip_format: false,
            apply_confusable: false,
        }
        .build();
        Txtfp {
            fp: txtfp::MinHashFingerprinter::new(canon, HexShingles).with_seed(p.seed),
            p,
        }
    }
}

impl<const P: usize> Lib for Txtfp<P> {
    type Sig = txtfp::MinHashSig<P>;
    type Index = txtfp::LshIndex<P>;
    fn name(&self) -> String {
        "txtfp 0.3.2 MinHashFingerprinter + LshIndex".into()
    }
    fn sign(&self, c: &Corpus, i: usize) -> Self::Sig {
        use txtfp::Fingerprinter as _;
        // Cannot fail: the corpus has no empty record.
        self.fp.fingerprint(&c.hex[i]).unwrap_or(txtfp::MinHashSig {
            schema: 0,
            _pad: [0; 6],
            hashes: [0; P],
        })
    }
    fn estimate(&self, a: &Self::Sig, b: &Self::Sig) -> f64 {
        share_equal(&a.hashes, &b.hashes)
    }
    fn build(&self, sigs: &[Self::Sig]) -> Result<Self::Index, Err> {
        let mut index =
            txtfp::LshIndex::<P>::with_bands_rows(self.p.bands, self.p.rows).map_err(|e| format!("{e:?}"))?;
        for (i, s) in sigs.iter().enumerate() {
            index.insert(i as u64, *s);
        }
        Ok(index)
    }
    fn query(&self, index: Self::Index, sigs: &[Self::Sig], out: &mut Vec<(u32, u32)>) -> Result<(), Err> {
        for (i, s) in sigs.iter().enumerate() {
            let i = i as u32;
            for j in index.query(s) {
                let j = j as u32;
                if j != i {
                    out.push((i.min(j), i.max(j)));
                }
            }
        }
        Ok(())
    }
    fn needs_hex(&self) -> bool {
        true
    }
    fn note(&self) -> String {
        "takes text only: fed the shingle hashes as hex tokens, canonicalisation off; 64-bit slots from double hashing (lo + i*hi)".into()
    }
}

// ---------------------------------------------------------------- measuring

struct Row {
    name: String,
    sig_s: [f64; 2],
    /// CPU seconds of one signature run on 1 thread.
    sig_cpu: f64,
    lsh_s: f64,
    sig_bytes: f64,
    index_bytes: f64,
    peak_bytes: f64,
    acc: Acc,
    note: String,
}

/// CPU time used so far by all threads of this process, in seconds (the
/// first field of every `/proc/self/task/*/schedstat`, in nanoseconds).
fn cpu_seconds() -> f64 {
    let mut ns = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
                ns += s.split_whitespace().next().and_then(|x| x.parse().ok()).unwrap_or(0);
            }
        }
    }
    ns as f64 / 1e9
}

/// The shortest wall time of `reps` runs, the mean CPU time per run, and
/// the last run's result.
fn best_of<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, f64, T) {
    let mut best = f64::INFINITY;
    let mut last = None;
    let cpu = cpu_seconds();
    for _ in 0..reps.max(1) {
        drop(last.take());
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(v);
    }
    let cpu = (cpu_seconds() - cpu) / reps.max(1) as f64;
    (best, cpu, last.expect("at least one run"))
}

/// Accuracy of one run against the exhaustive truth.
#[derive(Default)]
struct Acc {
    candidates: f64,
    cand_recall: f64,
    est_recall: f64,
    est_precision: f64,
    est_bias: f64,
    est_rms: f64,
}

impl Acc {
    fn add(&mut self, o: &Acc, w: f64) {
        self.candidates += o.candidates * w;
        self.cand_recall += o.cand_recall * w;
        self.est_recall += o.est_recall * w;
        self.est_precision += o.est_precision * w;
        self.est_bias += o.est_bias * w;
        self.est_rms += o.est_rms * w;
    }
}

fn accuracy<L: Lib>(
    lib: &L,
    sigs: &[L::Sig],
    pairs: &[(u32, u32)],
    truth: &std::collections::HashMap<(u32, u32), f64>,
    p: Params,
) -> Acc {
    let t = truth.len().max(1) as f64;
    let found = pairs.iter().filter(|q| truth.contains_key(q)).count();
    let (mut est_n, mut est_tp) = (0usize, 0usize);
    for &(a, b) in pairs {
        if lib.estimate(&sigs[a as usize], &sigs[b as usize]) >= p.threshold {
            est_n += 1;
            est_tp += truth.contains_key(&(a, b)) as usize;
        }
    }
    let errs: Vec<f64> = truth
        .iter()
        .map(|(&(a, b), &j)| lib.estimate(&sigs[a as usize], &sigs[b as usize]) - j)
        .collect();
    Acc {
        candidates: pairs.len() as f64,
        cand_recall: found as f64 / t,
        est_recall: est_tp as f64 / t,
        est_precision: est_tp as f64 / est_n.max(1) as f64,
        est_bias: errs.iter().sum::<f64>() / t,
        est_rms: (errs.iter().map(|e| e * e).sum::<f64>() / t).sqrt(),
    }
}

/// The corpus with every shingle hash `h` replaced by `mix(h ^ seed)`: a
/// bijection, so every Jaccard similarity is unchanged, and every library
/// draws afresh.
fn relabel(c: &Corpus, seed: u64, hex: bool) -> Corpus {
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let shingles: Vec<Vec<u64>> = c
        .shingles
        .iter()
        .map(|s| {
            let mut v: Vec<u64> = s
                .iter()
                .map(|&h| mix(h ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
                .collect();
            v.sort_unstable();
            v
        })
        .collect();
    let hex = if hex { to_hex(&shingles) } else { Vec::new() };
    Corpus {
        shingles,
        hex,
        bytes: c.bytes,
    }
}

fn to_hex(shingles: &[Vec<u64>]) -> Vec<String> {
    shingles
        .iter()
        .map(|s| s.iter().map(|h| format!("{h:016x}")).collect())
        .collect()
}

fn lsh<L: Lib>(lib: &L, sigs: &[L::Sig]) -> Result<Vec<(u32, u32)>, Err> {
    let mut pairs = Vec::new();
    lib.query(lib.build(sigs)?, sigs, &mut pairs)?;
    pairs.sort_unstable();
    pairs.dedup();
    Ok(pairs)
}

fn measure<L: Lib>(
    lib: &L,
    corpus: &Corpus,
    truth: &std::collections::HashMap<(u32, u32), f64>,
    p: Params,
    reps: usize,
    seeds: u64,
) -> Result<Row, Err> {
    let n = corpus.shingles.len();
    let pools = [1, 2].map(|t| rayon::ThreadPoolBuilder::new().num_threads(t).build());
    let mut sig_s = [0.0; 2];
    let mut sig_cpu = 0.0;
    for (k, pool) in pools.iter().enumerate().rev() {
        let pool = pool.as_ref().map_err(|e| e.to_string())?;
        let (s, cpu, sigs) = best_of(reps, || {
            pool.install(|| (0..n).into_par_iter().map(|i| lib.sign(corpus, i)).collect::<Vec<_>>())
        });
        sig_s[k] = s;
        if k == 0 {
            sig_cpu = cpu;
        }
        drop(sigs);
    }
    let base = ALLOC.current_usage();
    let pool = pools[0].as_ref().map_err(|e| e.to_string())?;
    let sigs: Vec<L::Sig> = pool.install(|| (0..n).into_par_iter().map(|i| lib.sign(corpus, i)).collect());
    let with_sigs = ALLOC.current_usage();
    ALLOC.reset_peak_usage();
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let t = Instant::now();
    let index = lib.build(&sigs)?;
    let built = ALLOC.current_usage();
    lib.query(index, &sigs, &mut pairs)?;
    pairs.sort_unstable();
    pairs.dedup();
    let lsh_s = t.elapsed().as_secs_f64();
    let peak = ALLOC.peak_usage();

    // Accuracy: the mean over `seeds` relabellings of the corpus (the first
    // is the corpus itself), since one draw on clustered real data varies a
    // lot from seed to seed.
    let w = 1.0 / seeds.max(1) as f64;
    let mut acc = Acc::default();
    acc.add(&accuracy(lib, &sigs, &pairs, truth, p), w);
    drop((sigs, pairs));
    let pool2 = pools[1].as_ref().map_err(|e| e.to_string())?;
    for seed in 1..seeds.max(1) {
        let c = relabel(corpus, seed, lib.needs_hex());
        let sigs: Vec<L::Sig> = pool2.install(|| (0..n).into_par_iter().map(|i| lib.sign(&c, i)).collect());
        let pairs = lsh(lib, &sigs)?;
        acc.add(&accuracy(lib, &sigs, &pairs, truth, p), w);
    }
    let per = |b: usize| b as f64 / n as f64;
    Ok(Row {
        name: lib.name(),
        sig_s,
        sig_cpu,
        lsh_s,
        sig_bytes: per(with_sigs.saturating_sub(base)),
        index_bytes: per(built.saturating_sub(with_sigs)),
        peak_bytes: per(peak.saturating_sub(with_sigs)),
        acc,
        note: lib.note(),
    })
}

fn load(args: &[String], rules: &Rules) -> Result<(Corpus, usize, usize), Err> {
    let cfg = rules.dedup.clone().ok_or("no dedup.toml")?;
    let engine = Engine::new(cfg.clone(), Index::default());
    let recs = records::read_records(args, rules)?;
    let total = recs.len();
    let t = Instant::now();
    let mut seen = HashSet::new();
    let mut corpus = Corpus {
        shingles: Vec::new(),
        hex: Vec::new(),
        bytes: 0,
    };
    for r in &recs {
        if !seen.insert(curate::dedup::exact::key_hash(r, &cfg.exact)) {
            continue;
        }
        let mut s = engine.shingles(r);
        if s.is_empty() {
            continue;
        }
        s.sort_unstable();
        s.dedup();
        curate::dedup::keys::for_each_part(r, cfg.near.key, |_, t| corpus.bytes += t.len());
        corpus.shingles.push(s);
    }
    let shingle_ms = t.elapsed().as_secs_f64();
    eprintln!("exact keys + shingling + sort: {shingle_ms:.2} s on 1 thread");
    corpus.hex = to_hex(&corpus.shingles);
    Ok((corpus, total, recs.len()))
}

fn main() -> Result<(), Err> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut opt = |name: &str| -> Option<String> {
        let i = args.iter().position(|a| a == name)?;
        let v = args.get(i + 1).cloned();
        args.drain(i..(i + 2).min(args.len()));
        v
    };
    let preset = opt("--preset").unwrap_or_else(|| "default".into());
    let reps: usize = opt("--reps").map_or(Ok(10), |v| v.parse())?;
    let seeds: u64 = opt("--seeds").map_or(Ok(8), |v| v.parse())?;
    let only: Option<Vec<String>> = opt("--only").map(|v| v.split(',').map(str::to_owned).collect());
    let rules = Rules::compile(RuleFiles::embedded()).map_err(|e| format!("{e:?}"))?;
    let cfg = rules.dedup.clone().ok_or("no dedup.toml")?;
    let p = match preset.as_str() {
        "default" => Params {
            bands: cfg.near.bands,
            rows: cfg.near.rows,
            threshold: cfg.near.threshold,
            seed: cfg.near.seed,
        },
        "peers" => Params {
            bands: 16,
            rows: 8,
            threshold: 0.8,
            seed: cfg.near.seed,
        },
        other => return Err(format!("unknown preset {other}: default | peers").into()),
    };
    let (corpus, total, _) = load(&args, &rules)?;
    let n = corpus.shingles.len();
    let truth = exhaustive::similar_pairs(&corpus.shingles, |_| false, p.threshold);
    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{total} records read, {n} compared ({:.1} MB of text; repeated exact keys and records without shingles left out); \
         {} pairs with exact Jaccard >= {}; {} permutations, {} bands x {} rows; throughput best of {reps} runs, accuracy the mean over {seeds} seeds; load average {}",
        corpus.bytes as f64 / 1e6,
        truth.len(),
        p.threshold,
        p.bands * p.rows,
        p.bands,
        p.rows,
        load_avg.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );

    let wanted = |key: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == key));
    let mut rows: Vec<Row> = Vec::new();
    let perms = p.bands * p.rows;
    macro_rules! run {
        ($key:expr, $lib:expr) => {
            if wanted($key) {
                eprintln!("{} ...", $key);
                rows.push(measure(&$lib, &corpus, &truth, p, reps, seeds)?);
            }
        };
    }
    run!(
        "curate",
        Curate {
            h: MinHasher::new(perms, cfg.near.ngram, p.seed),
            p
        }
    );
    run!(
        "gaoya32",
        Gaoya32 {
            h: gaoya::minhash::MinHasher32::new_with_hasher_and_seed(perms, IdentityBuild::default(), p.seed),
            p
        }
    );
    run!(
        "gaoya64",
        Gaoya64 {
            h: gaoya::minhash::MinHasher64V1::new_with_hasher_and_seed(perms, IdentityBuild::default(), p.seed),
            p
        }
    );
    run!("optdens", ProbDens { p });
    run!("superminhash", ProbSuper { p });
    if wanted("datasketch") {
        eprintln!("datasketch ...");
        let lib = Datasketch::new(p);
        rows.push(measure(&lib, &corpus, &truth, p, reps, seeds)?);
    }
    match (perms, p.bands) {
        (126, 21) => {
            run!("minhash-rs", MinhashRs::<126, 21>);
            run!("txtfp", Txtfp::<126>::new(p));
        }
        (128, 16) => {
            run!("minhash-rs", MinhashRs::<128, 16>);
            run!("txtfp", Txtfp::<128>::new(p));
        }
        _ => eprintln!("minhash-rs and txtfp need their sizes at compile time: only the two presets are built"),
    }

    println!();
    println!("| library | rec/s 1 thread | rec per CPU-s 1 thread | MB/s 1 thread | rec/s 2 threads | LSH build+query s | signature B/rec | index B/rec | peak B/rec | candidate pairs | candidate recall | estimate recall | estimate precision | estimate - J (bias / rms) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.0} | {:.0} | {:.1} | {:.0} | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} | {:.3} | {:.3} | {:.3} | {:+.3} / {:.3} |",
            r.name,
            n as f64 / r.sig_s[0],
            n as f64 / r.sig_cpu,
            corpus.bytes as f64 / 1e6 / r.sig_s[0],
            n as f64 / r.sig_s[1],
            r.lsh_s,
            r.sig_bytes,
            r.index_bytes,
            r.peak_bytes,
            r.acc.candidates,
            r.acc.cand_recall,
            r.acc.est_recall,
            r.acc.est_precision,
            r.acc.est_bias,
            r.acc.est_rms
        );
    }
    println!();
    for r in rows.iter().filter(|r| !r.note.is_empty()) {
        println!("- {}: {}", r.name, r.note);
    }
    Ok(())
}
