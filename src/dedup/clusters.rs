//! From candidates to decisions: verified pairs, survivors, clusters.
//!
//! ## Why not union-find
//! Union-find over candidate pairs chains records that are not alike (A~B,
//! B~C, A≁C) into one cluster and then drops C for A. Here a record is only
//! ever dropped for a survivor it is itself similar to:
//!
//! 1. Exact groups: the best member by the survivor policy stays, the others
//!    are dropped for it (similarity 1).
//! 2. Near pairs: every LSH bucket's members (exact duplicates already
//!    removed) are compared pairwise on their full signatures, in parallel;
//!    pairs with estimated Jaccard >= threshold are edges.
//! 3. Records are visited in policy order (references first, then by policy,
//!    ties by input order). A record with an edge to a record that stayed is
//!    dropped for the most similar such survivor (ties: the better-ranked);
//!    otherwise it stays. Every survivor is decided before anything ranked
//!    after it, so `duplicate_of` always names a record that stays and is
//!    above the threshold with the dropped one.
//!
//! Everything is sorted before it is decided, so the result does not depend
//! on the thread count or on how buckets were batched.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Builder, RecordBatch, StringBuilder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;

use crate::dedup::config::{DedupConfig, Policy};
use crate::dedup::exact;
use crate::dedup::minhash::estimate;
use crate::dedup::state::Collected;
use crate::error::{Error, Result};

/// Why a record was dropped by dedup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropRule {
    /// Same normalised key.
    Exact,
    /// Estimated Jaccard similarity at or above the threshold.
    Near,
}

impl DropRule {
    /// The rule id.
    pub fn id(self) -> &'static str {
        match self {
            DropRule::Exact => "dedup/exact",
            DropRule::Near => "dedup/near",
        }
    }
}

/// One dropped record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drop {
    /// The dropped record.
    pub seq: u32,
    /// The record it duplicates, which stays (or is a reference record).
    pub survivor: u32,
    /// Their similarity.
    pub similarity: f64,
    /// Which rule dropped it.
    pub rule: DropRule,
}

/// The decision: drops sorted by sequence number, and figures.
#[derive(Debug, Default)]
pub struct Decision {
    /// Dropped records, by sequence number.
    pub drops: Vec<Drop>,
    /// Candidate pairs compared (counting a pair once per shared bucket).
    pub candidate_pairs: u64,
    /// Pairs at or above the threshold.
    pub verified_pairs: u64,
    /// Buckets of two or more records.
    pub buckets: u64,
    /// The verified pairs `(a, b, similarity)`, `a < b`, when asked for.
    pub pairs: Vec<(u32, u32, f64)>,
}

/// Verified pairs of one bucket `(a, b, similarity key)` and pairs compared.
type BucketPairs = (Vec<(u32, u32, u32)>, u64);

/// Rank of each record: references first, then by policy, ties by input order.
fn ranks(c: &Collected, n: u32, policy: Policy) -> Option<Vec<u32>> {
    match policy {
        Policy::First => None,
        Policy::LongestResponse => {
            let r = c.references;
            let mut order: Vec<u32> = (0..n).collect();
            order.sort_by_key(|&s| {
                let len = if s < r {
                    u32::MAX
                } else {
                    c.response_len.get(s as usize).copied().unwrap_or(0)
                };
                (s >= r, std::cmp::Reverse(len), s)
            });
            let mut rank = vec![0u32; n as usize];
            for (i, s) in order.into_iter().enumerate() {
                rank[s as usize] = i as u32;
            }
            Some(rank)
        }
    }
}

/// Decides every record of `c` (`n` records); runs the pair checks on `pool`.
pub fn decide(c: Collected, n: u32, cfg: &DedupConfig, pool: &rayon::ThreadPool) -> Result<Decision> {
    decide_keeping_pairs(c, n, cfg, pool, false)
}

/// [`decide`], also returning the verified pairs (for accuracy checks).
pub fn decide_keeping_pairs(
    c: Collected,
    n: u32,
    cfg: &DedupConfig,
    pool: &rayon::ThreadPool,
    keep_pairs: bool,
) -> Result<Decision> {
    let rank = ranks(&c, n, cfg.survivor);
    let rank_of = |s: u32| rank.as_ref().map_or(s, |r| r[s as usize]);
    let is_ref = |s: u32| s < c.references;
    let mut dropped = vec![false; n as usize];
    let mut drops = Vec::new();

    // 1. Exact groups.
    let mut entries = c.exact;
    exact::groups(&mut entries, |members| {
        let Some(&best) = members.iter().min_by_key(|&&s| rank_of(s)) else {
            return;
        };
        for &s in members {
            if s != best && !is_ref(s) {
                dropped[s as usize] = true;
                drops.push(Drop {
                    seq: s,
                    survivor: best,
                    similarity: 1.0,
                    rule: DropRule::Exact,
                });
            }
        }
    });
    drop(entries);

    // 2. Verified near pairs, bucket batch by bucket batch.
    let mut decision = Decision::default();
    let threshold = cfg.near.threshold;
    let mut edges: Vec<(u32, u32, u32)> = Vec::new();
    if cfg.near.enabled && c.sigs.perms() > 0 {
        let sigs = &c.sigs;
        let sets = c.sets.as_ref();
        let prefilter = cfg.near.prefilter;
        let mut batch: Vec<Vec<u32>> = Vec::new();
        let mut batch_len = 0usize;
        let run_batch = |batch: &mut Vec<Vec<u32>>, edges: &mut Vec<(u32, u32, u32)>, d: &mut Decision| -> Result<()> {
            let found: Vec<Result<BucketPairs>> = pool.install(|| {
                batch
                    .par_iter()
                    .map(|bucket| {
                        let mut s: Vec<Vec<u32>> = Vec::with_capacity(bucket.len());
                        for &seq in bucket {
                            let mut v = Vec::new();
                            sigs.read(seq, &mut v)?;
                            s.push(v);
                        }
                        let mut out = Vec::new();
                        let mut compared = 0u64;
                        let mut loaded: Vec<Option<Vec<u32>>> = vec![None; bucket.len()];
                        for i in 0..bucket.len() {
                            for j in i + 1..bucket.len() {
                                compared += 1;
                                let e = estimate(&s[i], &s[j]);
                                let Some(sets) = sets else {
                                    if e >= threshold {
                                        out.push((bucket[i], bucket[j], sim_key(e)));
                                    }
                                    continue;
                                };
                                if e < threshold - prefilter {
                                    continue;
                                }
                                for k in [i, j] {
                                    if loaded[k].is_none() {
                                        loaded[k] = Some(sets.get_u32s(bucket[k])?);
                                    }
                                }
                                if let (Some(a), Some(b)) = (&loaded[i], &loaded[j]) {
                                    let x = jaccard_sorted(a, b);
                                    if x >= threshold {
                                        out.push((bucket[i], bucket[j], sim_key(x)));
                                    }
                                }
                            }
                        }
                        Ok((out, compared))
                    })
                    .collect()
            });
            for r in found {
                let (e, compared) = r?;
                d.candidate_pairs += compared;
                edges.extend(e);
            }
            batch.clear();
            Ok(())
        };
        c.bands.buckets(|bucket| {
            let live: Vec<u32> = bucket.iter().copied().filter(|&s| !dropped[s as usize]).collect();
            if live.len() < 2 {
                return Ok(());
            }
            decision.buckets += 1;
            batch_len += live.len();
            batch.push(live);
            if batch_len >= 1 << 18 {
                batch_len = 0;
                run_batch(&mut batch, &mut edges, &mut decision)?;
                edges.sort_unstable();
                edges.dedup();
            }
            Ok(())
        })?;
        run_batch(&mut batch, &mut edges, &mut decision)?;
        edges.sort_unstable();
        edges.dedup();
    }
    decision.verified_pairs = edges.len() as u64;
    if keep_pairs {
        decision.pairs = edges.iter().map(|&(a, b, s)| (a, b, sim_value(s))).collect();
    }

    // 3. Greedy survivors in rank order: (child rank, -similarity, parent rank).
    let mut oriented: Vec<(u32, u32, u32)> = edges
        .into_iter()
        .map(|(a, b, sim)| {
            let (ra, rb) = (rank_of(a), rank_of(b));
            (ra.max(rb), u32::MAX - sim, ra.min(rb))
        })
        .collect();
    let unrank: Option<Vec<u32>> = rank.as_ref().map(|r| {
        let mut u = vec![0u32; r.len()];
        for (s, &k) in r.iter().enumerate() {
            u[k as usize] = s as u32;
        }
        u
    });
    let seq_of_rank = |k: u32| unrank.as_ref().map_or(k, |u| u[k as usize]);
    oriented.sort_unstable();
    let mut i = 0;
    while i < oriented.len() {
        let child_rank = oriented[i].0;
        let child = seq_of_rank(child_rank);
        let mut j = i;
        let mut chosen = None;
        while j < oriented.len() && oriented[j].0 == child_rank {
            let parent = seq_of_rank(oriented[j].2);
            if chosen.is_none() && !dropped[parent as usize] {
                chosen = Some((parent, u32::MAX - oriented[j].1));
            }
            j += 1;
        }
        if let Some((parent, sim)) = chosen {
            if !is_ref(child) && !dropped[child as usize] {
                dropped[child as usize] = true;
                drops.push(Drop {
                    seq: child,
                    survivor: parent,
                    similarity: sim_value(sim),
                    rule: DropRule::Near,
                });
            }
        }
        i = j;
    }
    drops.sort_by_key(|d| d.seq);
    decision.drops = drops;
    Ok(decision)
}

/// Jaccard similarity of two sorted, distinct lists.
pub fn jaccard_sorted(a: &[u32], b: &[u32]) -> f64 {
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

/// Similarities are kept as integers (millionths) so edges sort and compare exactly.
fn sim_key(e: f64) -> u32 {
    (e * 1_000_000.0).round() as u32
}

fn sim_value(k: u32) -> f64 {
    k as f64 / 1_000_000.0
}

/// Schema of `dedup/clusters.parquet`.
pub fn clusters_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("cluster_id", DataType::UInt64, false),
        Field::new("member_id", DataType::Utf8, false),
        Field::new("survivor_id", DataType::Utf8, false),
        Field::new("similarity", DataType::Float64, false),
        Field::new("rule", DataType::Utf8, true),
    ]))
}

/// Writes `path`: one row per cluster member, the survivor first (rule null,
/// similarity 1). Clusters are numbered by their survivor's input order.
pub fn write_clusters(path: &Path, decision: &Decision, id: &dyn Fn(u32) -> Result<String>) -> Result<()> {
    let mut by_survivor: Vec<&Drop> = decision.drops.iter().collect();
    by_survivor.sort_by_key(|d| (d.survivor, d.seq));
    let (mut cid, mut mid, mut sid) = (UInt64Builder::new(), StringBuilder::new(), StringBuilder::new());
    let (mut sim, mut rule) = (Float64Builder::new(), StringBuilder::new());
    let mut cluster = 0u64;
    let mut last = None;
    let mut names: HashMap<u32, String> = HashMap::new();
    for d in by_survivor {
        if let std::collections::hash_map::Entry::Vacant(e) = names.entry(d.survivor) {
            e.insert(id(d.survivor)?);
        }
        let s = names.get(&d.survivor).cloned().unwrap_or_default();
        if last != Some(d.survivor) {
            if last.is_some() {
                cluster += 1;
            }
            last = Some(d.survivor);
            cid.append_value(cluster);
            mid.append_value(&s);
            sid.append_value(&s);
            sim.append_value(1.0);
            rule.append_null();
        }
        cid.append_value(cluster);
        mid.append_value(id(d.seq)?);
        sid.append_value(&s);
        sim.append_value(d.similarity);
        rule.append_value(d.rule.id());
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(cid.finish()),
        Arc::new(mid.finish()),
        Arc::new(sid.finish()),
        Arc::new(sim.finish()),
        Arc::new(rule.finish()),
    ];
    let pq = |e: &dyn std::fmt::Display| Error::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let batch = RecordBatch::try_new(clusters_schema(), cols).map_err(|e| pq(&e))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = parquet::arrow::ArrowWriter::try_new(f, clusters_schema(), None).map_err(|e| pq(&e))?;
    w.write(&batch).map_err(|e| pq(&e))?;
    w.close().map_err(|e| pq(&e))?;
    Ok(())
}
