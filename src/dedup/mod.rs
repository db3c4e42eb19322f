//! The global `dedup` stage: exact duplicates, near-duplicates (MinHash LSH)
//! and benchmark decontamination, across every input (and `--reference`
//! corpora), deterministic and with bounded memory.
//!
//! ## Phases
//! Dedup needs every record before it can decide, so the pipeline runs in
//! two passes with plain data in between, each step usable on its own:
//!
//! 1. **Signatures** (parallel, per record, in the same pass as the per-record
//!    stages): [`Engine::keys`] computes the exact hash ([`exact`]), the MinHash
//!    signature ([`minhash`]) and the decontamination check ([`decontam`]).
//!    The writer gives each surviving record a sequence number (input order),
//!    appends its signature and id to files, keeps its exact hash and band keys
//!    ([`state`]) and writes the record to `OUT/.staging/`.
//! 2. **Band buckets** ([`lsh`]): band keys sorted (spilled to sorted runs on
//!    disk past the memory budget, then merged) give buckets of candidates.
//! 3. **Pairs and decisions** ([`clusters`]): candidates are checked on their
//!    full signatures in parallel; survivors are chosen by policy so that every
//!    dropped record names a kept record it is itself similar to.
//! 4. **Routing** (in the pipeline): the staging shards are streamed to `kept/`
//!    or `rejected/` (`rule` = `dedup/exact`, `dedup/near`, `dedup/decontam`,
//!    `duplicate_of`, `similarity`), `OUT/dedup/clusters.parquet` is written
//!    and `.staging` is removed.
//!
//! ## Bytes per record
//! In memory: 16 bytes (the exact entry; 20 with the response length the
//! `longest-response` policy needs, or with the metric value the
//! `best-metric` policy needs), plus
//! band entries of 16 bytes per band (336 bytes at 21 bands): the exact and
//! band entries together are held up to half the memory budget, beyond which
//! band entries spill to sorted runs (the rest of the budget is for batches in
//! flight, the writers and the decision). The staged records of a local run
//! (their Arrow data: about twice the record's text) stay in memory while
//! they and that state fit in the same half, and go to `.staging` once they
//! do not ([`crate::output::staging`]); a corpus that fits is never written
//! and read back. The signature (4 bytes per permutation, 504 bytes), the
//! shingle set (4 bytes per distinct shingle), the id and 16 bytes of
//! offsets are held in memory while they fit in a quarter of the budget (and
//! count towards the half above), and go to `.staging` past it. The
//! decision adds 1 byte per record (dropped flag) and 12 bytes per verified
//! pair.
//!
//! ## Library choice
//! See `docs/dedup.md` for the comparison of MinHash LSH crates with this
//! implementation.

pub mod boilerplate;
pub mod clusters;
pub mod config;
pub mod decontam;
pub mod exact;
pub mod keys;
pub mod lsh;
pub mod minhash;
pub mod normalize;
pub mod route;
pub mod state;

pub use config::DedupConfig;
pub use state::Keys;

use crate::record::Record;

thread_local! {
    /// Per thread: word hashes, shingle hashes and a lower-casing buffer,
    /// reused from record to record.
    static SCRATCH: std::cell::RefCell<(Vec<u64>, Vec<u64>, String)> = const {
        std::cell::RefCell::new((Vec::new(), Vec::new(), String::new()))
    };
}

/// The compiled dedup stage: settings, permutations and benchmark index.
pub struct Engine {
    /// Settings.
    pub cfg: DedupConfig,
    hasher: minhash::MinHasher,
    /// The benchmark n-gram index.
    pub benchmarks: decontam::Index,
}

impl Engine {
    /// An engine for `cfg` and a (possibly empty) benchmark index.
    pub fn new(cfg: DedupConfig, benchmarks: decontam::Index) -> Self {
        let hasher = minhash::MinHasher::new(cfg.near.permutations, cfg.near.ngram, cfg.near.seed);
        Engine {
            cfg,
            hasher,
            benchmarks,
        }
    }

    /// Everything phase 1 computes for one record.
    pub fn keys(&self, rec: &Record) -> Keys {
        let contaminated = self.benchmarks.check(rec);
        if contaminated.is_some() {
            return Keys {
                contaminated,
                ..Keys::default()
            };
        }
        let exact = self.cfg.exact.enabled.then(|| exact::key_hash(rec, &self.cfg.exact));
        let mut sig = Vec::new();
        let mut bands = Vec::new();
        let mut shingles = Vec::new();
        if self.cfg.near.enabled {
            SCRATCH.with_borrow_mut(|(wh, sh, buf)| {
                wh.clear();
                keys::for_each_part(rec, self.cfg.near.key, |_, t| self.hasher.word_hashes(t, wh, buf));
                self.hasher.shingles_of(wh, sh);
                self.hasher.signature(sh, &mut sig);
                if !sig.is_empty() {
                    lsh::band_keys(&sig, self.cfg.near.bands, self.cfg.near.rows, &mut bands);
                }
                if self.cfg.near.verify == config::Verify::Exact {
                    shingles = sh.iter().map(|&h| h as u32).collect();
                    shingles.sort_unstable();
                    shingles.dedup();
                }
            });
        }
        Keys {
            exact,
            sig,
            bands,
            shingles,
            response_len: rec.response().map_or(0, |r| r.len()) as u32,
            metric: f32::NAN,
            contaminated: None,
        }
    }

    /// The shingles a record is compared on (for checks and tools).
    pub fn shingles(&self, rec: &Record) -> Vec<u64> {
        let mut parts = Vec::new();
        keys::for_each_part(rec, self.cfg.near.key, |_, t| parts.push(t));
        self.hasher.shingles(parts)
    }
}
