//! Benchmark decontamination: drop records that contain a benchmark item.
//!
//! Every user turn of every benchmark item is cut into n-grams of `ngram` words
//! (13 by default, as in the GPT-3 and Llama 2 contamination studies; words
//! per script via [`crate::text::words`], so Chinese gets character n-grams),
//! hashed to 64 bits and indexed. A turn shorter than `ngram` words but with at
//! least `min-words` is indexed whole, as one n-gram of its own length. A record
//! is contaminated when any n-gram of its conversation (of any indexed length)
//! is in the index; it is dropped with `duplicate_of` = the benchmark file and
//! item. One shared n-gram of 13 words is rare by chance and survives light
//! edits (a changed word every 14 words still leaves one intact).
//!
//! The index holds 12 bytes per n-gram of the benchmarks (a few MB for the
//! usual sets); records are checked in the parallel phase, one hash lookup per
//! n-gram.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::dedup::config::DecontamConfig;
use crate::dedup::minhash::MinHasher;
use crate::error::{Error, Result};
use crate::read::{expand_inputs, read_file, ReadOptions};
use crate::record::{map_record, Adapters, Origin, Record};

/// A benchmark item found in a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Index into [`Index::items`].
    pub item: u32,
}

/// The n-gram index of the benchmark items.
#[derive(Debug, Default)]
pub struct Index {
    grams: HashMap<u64, u32>,
    /// `file:line (id)` of each item.
    pub items: Vec<String>,
    /// N-gram lengths indexed (the configured one and shorter whole turns).
    lengths: BTreeSet<usize>,
    hashers: Vec<(usize, MinHasher)>,
}

impl Index {
    /// Builds the index from benchmark files (paths, folders or globs).
    pub fn load(paths: &[String], cfg: &DecontamConfig, adapters: &Adapters) -> Result<Index> {
        let mut idx = Index::default();
        if paths.is_empty() {
            return Ok(idx);
        }
        let files = expand_inputs(paths)?;
        for (fi, f) in files.iter().enumerate() {
            let mut recs: Vec<Record> = Vec::new();
            let mut bad = None;
            read_file(f, ReadOptions::default(), Arc::new(AtomicU64::new(0)), &mut |item| {
                if item.error.is_some() {
                    return true;
                }
                let v: serde_json::Value = match serde_json::from_slice(&item.bytes) {
                    Ok(v) => v,
                    Err(e) => {
                        bad = Some(format!("{}:{}: {e}", f.label, item.line));
                        return false;
                    }
                };
                let origin = Origin {
                    file: fi as u32,
                    line: item.line,
                };
                if let Ok(r) = map_record(adapters, &v, origin, &f.label) {
                    recs.push(r);
                }
                true
            });
            if let Some(b) = bad {
                return Err(Error::Usage(format!("benchmark file is not JSON: {b}")));
            }
            for r in recs {
                let name = if r.user_id {
                    format!("{}:{} ({})", f.label, r.origin.line, r.id)
                } else {
                    format!("{}:{}", f.label, r.origin.line)
                };
                // Only what is asked is indexed: reference answers (code
                // solutions above all) share generic n-grams with unrelated
                // records.
                idx.add(
                    &name,
                    r.messages().filter(|(role, _)| *role == "user").map(|(_, t)| t),
                    cfg,
                );
            }
        }
        Ok(idx)
    }

    /// Adds one item given as its turns.
    pub fn add<'t>(&mut self, name: &str, turns: impl Iterator<Item = &'t str>, cfg: &DecontamConfig) {
        let item = self.items.len() as u32;
        self.items.push(name.to_string());
        let full = MinHasher::new(0, cfg.ngram, 0);
        for t in turns {
            let n_words = crate::text::words(t).take(cfg.ngram).count();
            if n_words < cfg.min_words.max(1) {
                continue;
            }
            let len = n_words.min(cfg.ngram);
            if len == cfg.ngram {
                for g in full.shingles([t]) {
                    self.grams.entry(g).or_insert(item);
                }
            } else {
                for g in MinHasher::new(0, len, 0).shingles([t]) {
                    self.grams.entry(g).or_insert(item);
                }
            }
            if self.lengths.insert(len) {
                self.hashers = self.lengths.iter().map(|&l| (l, MinHasher::new(0, l, 0))).collect();
            }
        }
    }

    /// Whether there is anything to look for.
    pub fn is_empty(&self) -> bool {
        self.grams.is_empty()
    }

    /// The first benchmark item (lowest index) whose n-gram occurs in `rec`.
    pub fn check(&self, rec: &Record) -> Option<Hit> {
        if self.grams.is_empty() {
            return None;
        }
        let mut best: Option<u32> = None;
        for (_, h) in &self.hashers {
            let grams = h.shingles(rec.messages().map(|(_, t)| t));
            for g in grams {
                if let Some(&i) = self.grams.get(&g) {
                    best = Some(best.map_or(i, |b| b.min(i)));
                }
            }
        }
        best.map(|item| Hit { item })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(text: &str) -> Record {
        Record {
            id: "r".into(),
            key: "r".into(),
            ..Record::exchange(text, "ok")
        }
    }

    #[test]
    fn finds_items_inside_records() {
        let cfg = DecontamConfig {
            benchmarks: vec![],
            ngram: 13,
            min_words: 8,
        };
        let mut idx = Index::default();
        let q = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.";
        idx.add("gsm8k:1", [q].into_iter(), &cfg);
        idx.add(
            "short:2",
            ["What is the capital city of the country France today"].into_iter(),
            &cfg,
        );
        assert_eq!(
            idx.check(&rec(&format!("Please solve: {q} Show work."))),
            Some(Hit { item: 0 })
        );
        let edited = q.replace("May", "June");
        assert_eq!(idx.check(&rec(&edited)), Some(Hit { item: 0 }));
        assert_eq!(
            idx.check(&rec("what is the capital city of the country france today?")),
            Some(Hit { item: 1 })
        );
        assert_eq!(idx.check(&rec("Natalia sold clips to friends.")), None);
    }
}
