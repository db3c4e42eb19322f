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
//!    dropped record names a kept record it is itself similar to. With
//!    `[semantic]` on, the records exact and near dedup kept then go through
//!    the same steps on their sentence embeddings ([`semantic`]).
//! 4. **Routing** (in the pipeline): the staging shards are streamed to `kept/`
//!    or `rejected/` (`rule` = `dedup/exact`, `dedup/near`, `dedup/semantic`, `dedup/decontam`,
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
pub mod calls;
pub mod choice;
pub mod clusters;
pub mod config;
pub mod decontam;
pub mod exact;
pub mod keys;
pub mod lsh;
pub mod minhash;
pub mod names;
pub mod normalize;
pub mod route;
pub mod semantic;
pub mod similarity;
pub mod spill;
pub mod state;

pub use config::{Compare, DedupConfig};
pub use state::Keys;

use crate::record::Record;

thread_local! {
    /// Per thread: word hashes, shingle hashes, the answer's shingle hashes
    /// and a lower-casing buffer, reused from record to record.
    static SCRATCH: std::cell::RefCell<Scratch> = const {
        std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new(), String::new()))
    };
}

type Scratch = (Vec<u64>, Vec<u64>, Vec<u64>, String);

/// Mixed into the hash of every shingle of an answer under
/// `compare = "parts"`: the same words in a request and in an answer are
/// different shingles of the signature.
const ANSWER: u64 = 0x5851_F42D_4C95_7F2D;

/// Whether a message of `role` is part of the answer (the assistant's words
/// and its tool calls) rather than the request.
fn is_answer(role: &str) -> bool {
    matches!(role, "assistant" | "function_call")
}

/// The compiled dedup stage: settings, permutations and benchmark index.
pub struct Engine {
    /// Settings.
    pub cfg: DedupConfig,
    hasher: minhash::MinHasher,
    /// The benchmark n-gram index.
    pub benchmarks: decontam::Index,
    /// The semantic rule, when `[semantic]` is enabled.
    pub semantic: Option<semantic::Semantic>,
}

impl Engine {
    /// An engine for `cfg` and a (possibly empty) benchmark index.
    pub fn new(cfg: DedupConfig, benchmarks: decontam::Index) -> Self {
        let hasher = minhash::MinHasher::new(cfg.near.permutations, cfg.near.ngram, cfg.near.seed);
        Engine {
            cfg,
            hasher,
            benchmarks,
            semantic: None,
        }
    }

    /// The engine with its semantic rule loaded when `[semantic]` is
    /// enabled (the encoder's files missing or damaged is an error that says
    /// how to get them).
    pub fn with_semantic(mut self) -> crate::error::Result<Self> {
        if self.cfg.semantic.enabled {
            let s = semantic::Semantic::load(&self.cfg.semantic).map_err(crate::error::Error::Usage)?;
            self.semantic = Some(s);
        }
        Ok(self)
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
            SCRATCH.with_borrow_mut(|(wh, sh, ans, buf)| {
                let exact_sets = self.cfg.near.verify == config::Verify::Exact;
                match self.cfg.near.compare {
                    Compare::Whole => {
                        wh.clear();
                        keys::for_each_part(rec, self.cfg.near.key, &self.cfg.near.ignore_lines, |_, t| {
                            self.word_hashes(rec, t, wh, buf)
                        });
                        self.hasher.shingles_of(wh, sh);
                        if exact_sets {
                            shingles = sorted_set(sh);
                        }
                    }
                    Compare::Parts => {
                        let (choice, calls) = self.part_shingles(rec, wh, sh, ans, buf);
                        let mut request = sorted_set(sh);
                        let answer = sorted_set(ans);
                        let names = self.names(rec, request.len());
                        shingles.reserve(similarity::HEADER + request.len() + answer.len());
                        shingles.extend([request.len() as u32, names, choice, calls]);
                        shingles.append(&mut request);
                        shingles.extend(answer);
                        sh.extend(ans.iter().map(|&h| h ^ ANSWER));
                    }
                }
                self.hasher.signature(sh, &mut sig);
                if !sig.is_empty() {
                    lsh::band_keys(&sig, self.cfg.near.bands, self.cfg.near.rows, &mut bands);
                }
            });
        }
        Keys {
            exact,
            sig,
            bands,
            shingles,
            sem: Vec::new(),
            sem_bands: Vec::new(),
            response_len: rec.response().map_or(0, |r| r.len()) as u32,
            metric: f32::NAN,
            contaminated: None,
        }
    }

    /// The text `dedup/semantic` embeds: the parts `near` shingles (system
    /// prompts and declared boilerplate left out), one per line.
    pub fn semantic_text(&self, rec: &Record) -> String {
        let mut text = String::new();
        keys::for_each_part(rec, self.cfg.near.key, &self.cfg.near.ignore_lines, |_, t| {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(t)
        });
        text
    }

    /// The semantic rule's keys of a batch of records, each with the keys
    /// [`Engine::keys`] gave it (records found in a benchmark are left
    /// alone); the texts are embedded together ([`crate::embed::Encoder::encode_batch`]).
    pub fn add_semantic(&self, batch: &mut [(&Record, &mut Keys)]) {
        let Some(s) = &self.semantic else { return };
        let texts: Vec<(String, u8)> = batch
            .iter()
            .map(|(rec, k)| {
                if k.contaminated.is_some() {
                    return (String::new(), 0);
                }
                (self.semantic_text(rec), semantic::lang_byte(rec.lang))
            })
            .collect();
        for ((_, k), (sem, bands)) in batch.iter_mut().zip(s.keys_batch(&texts)) {
            k.sem = sem;
            k.sem_bands = bands;
        }
    }

    /// The request's shingle hashes into `sh` and the answer's into `ans`
    /// (`wh` and `buf` are scratch); returns the choice mark (the option the
    /// answer chooses, whose list is then left out of the request's
    /// shingles, and the question's numbers: [`choice`], 0 for none) and the
    /// mark of its tool calls ([`calls`], 0 for none).
    fn part_shingles(
        &self,
        rec: &Record,
        wh: &mut Vec<u64>,
        sh: &mut Vec<u64>,
        ans: &mut Vec<u64>,
        buf: &mut String,
    ) -> (u32, u32) {
        let near = &self.cfg.near;
        let ((list, mark), calls) = if near.choices || near.tool_calls {
            self.marks(rec)
        } else {
            ((None, 0), 0)
        };
        wh.clear();
        let mut part = 0;
        keys::for_each_part(rec, near.key, &near.ignore_lines, |role, t| {
            if !is_answer(role) {
                match &list {
                    Some((i, span)) if *i == part => {
                        self.hasher.word_hashes(&t[..span.start], wh, buf);
                        self.hasher.word_hashes(&t[span.end..], wh, buf);
                    }
                    _ => self.word_hashes(rec, t, wh, buf),
                }
            }
            part += 1;
        });
        self.hasher.shingles_of(wh, sh);
        wh.clear();
        keys::for_each_part(rec, near.key, &near.ignore_lines, |role, t| {
            if is_answer(role) {
                self.word_hashes(rec, t, wh, buf);
            }
        });
        self.hasher.shingles_of(wh, ans);
        (mark, calls)
    }

    /// The word hashes of `text`, a part of `rec`: from the words an earlier
    /// stage cut when `text` is a turn's text as it was then, else cut now.
    fn word_hashes(&self, rec: &Record, text: &str, wh: &mut Vec<u64>, buf: &mut String) {
        let turn = rec
            .turns
            .iter()
            .position(|t| t.content.as_ptr() == text.as_ptr() && t.content.len() == text.len());
        match turn.and_then(|k| rec.words.get(k, text)) {
            Some(spans) => self.hasher.word_hashes_of_spans(text, spans, wh, buf),
            None => self.hasher.word_hashes(text, wh, buf),
        }
    }

    /// The option list a record's answer chooses from (under `choices`):
    /// the last list of the request parts (its part's index and its bytes
    /// there) and the record's choice mark ([`choice::record_mark`]: the
    /// option the next answer part chooses and the question's numbers),
    /// `(None, 0)` when the record has no list or its answer chooses none;
    /// and the mark of its tool calls (under `tool-calls`, else 0).
    #[allow(clippy::type_complexity)]
    fn marks(&self, rec: &Record) -> ((Option<(usize, std::ops::Range<usize>)>, u32), u32) {
        let near = &self.cfg.near;
        let mut pending: Option<(usize, std::ops::Range<usize>, Vec<u32>)> = None;
        let mut found = (None, 0);
        let mut calls = calls::Calls::default();
        let mut part = 0;
        // A tool is declared by any turn but the answer's (a system prompt
        // listing tools too); looked up only for a call found in an answer.
        let declared = |name: &str| {
            rec.turns
                .iter()
                .any(|t| !is_answer(t.role.as_str()) && calls::declares(&t.content, name))
        };
        keys::for_each_part(rec, near.key, &near.ignore_lines, |role, t| {
            if !is_answer(role) {
                if let Some(o) = near.choices.then(|| choice::options(t)).flatten() {
                    let marks = (0..o.texts.len()).map(|k| choice::mark(t, &o, k)).collect();
                    pending = Some((part, o.span, marks));
                }
            } else {
                if near.tool_calls {
                    calls.answer(role, t, &declared);
                }
                if let Some((i, span, marks)) = pending.take() {
                    found = match choice::chosen(t, marks.len()) {
                        Some(k) => (Some((i, span)), marks[k]),
                        None => (None, 0),
                    };
                }
            }
            part += 1;
        });
        // The question's numbers: of every request part, the list aside.
        if let (Some((i, span)), option) = &mut found {
            let mut nums = Vec::new();
            let mut part = 0;
            keys::for_each_part(rec, near.key, &near.ignore_lines, |role, t| {
                if !is_answer(role) {
                    if part == *i {
                        choice::numbers(&t[..span.start], &mut nums);
                        choice::numbers(&t[span.end..], &mut nums);
                    } else {
                        choice::numbers(t, &mut nums);
                    }
                }
                part += 1;
            });
            *option = choice::record_mark(*option, &mut nums);
        }
        (found, if near.tool_calls { calls.mark() } else { 0 })
    }

    /// The names mark of a request of `shingles` shingles when it is thin
    /// and `thin-requests` is on ([`names`]), else 0.
    fn names(&self, rec: &Record, shingles: usize) -> u32 {
        let near = &self.cfg.near;
        if !near.thin_requests || !similarity::thin(shingles, near.ngram) {
            return 0;
        }
        let mut n = names::Names::default();
        keys::for_each_part(rec, near.key, &near.ignore_lines, |role, t| {
            if !is_answer(role) {
                n.add(t);
            }
        });
        n.mark()
    }

    /// The shingles a record is compared on, as one list (for checks and
    /// tools): under `compare = "parts"` the request's and the answer's,
    /// the answer's marked apart.
    pub fn shingles(&self, rec: &Record) -> Vec<u64> {
        SCRATCH.with_borrow_mut(|(wh, sh, ans, buf)| match self.cfg.near.compare {
            Compare::Whole => {
                wh.clear();
                keys::for_each_part(rec, self.cfg.near.key, &self.cfg.near.ignore_lines, |_, t| {
                    self.word_hashes(rec, t, wh, buf)
                });
                self.hasher.shingles_of(wh, sh);
                sh.clone()
            }
            Compare::Parts => {
                self.part_shingles(rec, wh, sh, ans, buf);
                sh.iter().copied().chain(ans.iter().map(|&h| h ^ ANSWER)).collect()
            }
        })
    }

    /// How two records compare as the stage would compare them, were they a
    /// candidate pair: whether their exact keys are equal, and their
    /// similarity on exact shingle sets (the whole texts', the requests'
    /// and the answers' under `compare = "parts"`).
    pub fn compare(&self, a: &Record, b: &Record) -> PairScore {
        let (ka, kb) = (self.keys(a), self.keys(b));
        let near = &self.cfg.near;
        let exact = ka.exact.is_some() && ka.exact == kb.exact;
        let (whole, request, answer) = match (near.verify, near.compare) {
            (config::Verify::Estimate, _) => {
                let e = minhash::estimate(&ka.sig, &kb.sig);
                (e, e, e)
            }
            (_, Compare::Whole) => {
                let j = minhash::jaccard_sorted(&ka.shingles, &kb.shingles);
                (j, j, j)
            }
            (_, Compare::Parts) => similarity::parts(&ka.shingles, &kb.shingles),
        };
        let near_dup = match near.verify {
            config::Verify::Estimate => Some(whole).filter(|&e| e >= near.threshold),
            config::Verify::Exact => similarity::duplicate(&ka.shingles, &kb.shingles, near),
        };
        let short = |x: &[u32]| match near.compare {
            Compare::Parts => similarity::short_parts(x),
            Compare::Whole => (false, false),
        };
        PairScore {
            exact,
            near: near_dup.filter(|_| near.enabled),
            whole,
            request,
            answer,
            short: (short(&ka.shingles), short(&kb.shingles)),
        }
    }
}

/// [`Engine::compare`]'s result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairScore {
    /// Of each record, whether its request and its answer are short (one
    /// shingle or none) under `compare = "parts"`.
    pub short: ((bool, bool), (bool, bool)),
    /// Equal exact keys (`dedup/exact` would group them).
    pub exact: bool,
    /// The similarity when `dedup/near` would call them near-duplicates.
    pub near: Option<f64>,
    /// Jaccard similarity of the whole shingle sets (requests' and answers'
    /// shingles apart under `compare = "parts"`).
    pub whole: f64,
    /// Of the requests (the whole under `compare = "whole"`).
    pub request: f64,
    /// Of the answers (the whole under `compare = "whole"`).
    pub answer: f64,
}

/// Sorted distinct 32-bit forms of shingle hashes.
fn sorted_set(sh: &[u64]) -> Vec<u32> {
    let mut v: Vec<u32> = sh.iter().map(|&h| h as u32).collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::Engine;

    /// With the shipped rules, a record's dedup keys are the same whether
    /// its shingles come from the words the quality stage cut or are cut
    /// again: the sample's English, Chinese, tool-call and multi-turn
    /// records, and one whose answer changed after the quality stage (as a
    /// redaction changes it), whose words are cut again.
    #[test]
    fn keys_from_the_quality_stage_words_are_the_keys_of_the_text() {
        let rules = crate::ruleset::Rules::load(None).expect("shipped rules");
        let engine = Engine::new(
            rules.dedup.clone().expect("dedup.toml"),
            super::decontam::Index::default(),
        );
        let quality = rules
            .record_stages
            .iter()
            .find(|s| s.name() == "quality")
            .expect("quality stage");
        let mut reused = 0;
        for file in [
            "alpaca_en",
            "alpaca_zh",
            "glaive_toolcall_en",
            "sharegpt_identity",
            "cot_creak",
        ] {
            let path = format!("{}/fixtures/sample/{file}.jsonl", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).expect("fixture");
            for line in text.lines().take(20) {
                let plain = crate::filters::testing::record(line);
                let mut cut = plain.clone();
                quality.process(&mut cut);
                reused += usize::from(cut.words.get(0, &cut.turns[0].content).is_some());
                let (a, b) = (engine.keys(&plain), engine.keys(&cut));
                assert_eq!(
                    (a.exact, &a.sig, &a.shingles),
                    (b.exact, &b.sig, &b.shingles),
                    "{path}: {line}"
                );
            }
        }
        assert!(reused >= 90, "the stage's words were read: {reused}");
        let mut changed = crate::filters::testing::record(
            r#"{"instruction": "Call Ann.", "input": "", "output": "Her number is 555-0100, call her today."}"#,
        );
        quality.process(&mut changed);
        let last = changed.turns.len() - 1;
        changed.turns[last].content = "Her number is [PHONE], call her today.".into();
        let mut fresh = changed.clone();
        fresh.words.clear();
        assert_eq!(engine.keys(&changed).sig, engine.keys(&fresh).sig);
    }
}
