//! Recall and precision of `dedup/near` against an exhaustive all-pairs
//! Jaccard computation.
//!
//! ```text
//! cargo run --release --example near_accuracy -- [--rules DIR] INPUT...
//! ```
//!
//! Every record of the inputs is shingled exactly as `curate run` does. The
//! exhaustive side computes the exact Jaccard similarity of every pair of
//! records that shares at least one shingle (an inverted index over shingles:
//! pairs sharing none have similarity 0, so this is all pairs) and applies the
//! same survivor rule (first in input order, a record is dropped only for a
//! kept record it is similar to). The MinHash side runs the real dedup code
//! (signatures, LSH buckets, verification, decision). Printed:
//!
//! - pair recall: verified MinHash pairs among the true pairs (J >= threshold
//!   and, under `compare = "parts"`, the parts' conditions:
//!   [`curate::dedup::similarity`]);
//! - pair precision: verified pairs that are true pairs;
//! - drop recall: records the exhaustive decision drops that MinHash drops too;
//! - drop precision: MinHash drops that are a true pair with their survivor.

use std::collections::{HashMap, HashSet};

#[path = "support/exhaustive.rs"]
mod exhaustive;
#[path = "support/records.rs"]
mod records;

use curate::dedup::clusters::{decide_keeping_pairs, DropRule};
use curate::dedup::decontam::Index;
use curate::dedup::state::Collector;
use curate::dedup::Engine;
use curate::record::Record;
use curate::rules::RuleFiles;
use curate::ruleset::Rules;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut files = RuleFiles::embedded();
    if let Some(i) = args.iter().position(|a| a == "--rules") {
        let dir = args.get(i + 1).cloned().ok_or("--rules needs a folder")?;
        files = RuleFiles::from_dir(std::path::Path::new(&dir)).map_err(|e| format!("{e:?}"))?;
        args.drain(i..i + 2);
    }
    let rules = Rules::compile(files).map_err(|e| format!("{e:?}"))?;
    let cfg = rules.dedup.clone().ok_or("no dedup.toml")?;
    let t = cfg.near.threshold;
    let engine = Engine::new(cfg.clone(), Index::default());
    let recs: Vec<Record> = records::read_records(&args, &rules)?;
    let n = recs.len();
    eprintln!("{n} records");

    // MinHash side: the real code path.
    let tmp = std::env::temp_dir().join(format!("near-accuracy-{}", std::process::id()));
    let mut col = Collector::new(&tmp, &cfg)?;
    let shingles: Vec<Vec<u64>> = recs
        .iter()
        .map(|r| {
            let mut s = engine.shingles(r);
            s.sort_unstable();
            s.dedup();
            s
        })
        .collect();
    for r in &recs {
        col.push(&r.id, &engine.keys(r))?;
    }
    let (collected, _ids) = col.finish()?;
    let pool = rayon::ThreadPoolBuilder::new().build()?;
    let d = decide_keeping_pairs(collected, n as u32, &cfg, &pool, true)?;
    let _ = std::fs::remove_dir_all(&tmp);
    // Near-duplicates are looked for among the records exact dedup keeps
    // (step 1: the first of each group of equal keys). A record of an exact
    // group whose survivor is later dropped as a near-duplicate is reported
    // as `dedup/near` (it follows its survivor), so the drops alone do not
    // say which records step 1 removed.
    let mut first_of_key: HashSet<u128> = HashSet::new();
    let exact_dropped: HashSet<u32> = recs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let k = engine.keys(r).exact?;
            (!first_of_key.insert(k)).then_some(i as u32)
        })
        .collect();

    // Exhaustive side: exact Jaccard of every pair sharing a shingle, then
    // the rule the stage applies to a verified pair (under compare = "parts"
    // the whole similarity >= threshold is necessary, not sufficient).
    let stored: Vec<Vec<u32>> = recs.iter().map(|r| engine.keys(r).shingles).collect();
    let rule = |a: u32, b: u32| {
        curate::dedup::similarity::duplicate(&stored[a as usize], &stored[b as usize], &cfg.near).is_some()
    };
    let mut truth = exhaustive::similar_pairs(&shingles, |i| exact_dropped.contains(&i), t);
    truth.retain(|&(a, b), _| rule(a, b));
    let exact_j = |a: u32, b: u32| curate::dedup::minhash::jaccard(&shingles[a as usize], &shingles[b as usize]);

    let errs: Vec<f64> = d.pairs.iter().map(|&(a, b, e)| e - exact_j(a, b)).collect();
    let mean = errs.iter().sum::<f64>() / errs.len().max(1) as f64;
    let rms = (errs.iter().map(|e| e * e).sum::<f64>() / errs.len().max(1) as f64).sqrt();
    println!("estimate - exact over verified pairs: mean {mean:.4} rms {rms:.4}");
    let found: HashSet<(u32, u32)> = d.pairs.iter().map(|&(a, b, _)| (a, b)).collect();
    let tp = found.iter().filter(|p| truth.contains_key(p)).count();
    println!(
        "pairs: true {} found {} | recall {:.4} precision {:.4}",
        truth.len(),
        found.len(),
        tp as f64 / truth.len().max(1) as f64,
        tp as f64 / found.len().max(1) as f64
    );

    // Exhaustive decision: first in input order, dropped only for a kept similar record.
    let mut by_child: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(a, b) in truth.keys() {
        by_child.entry(b).or_default().push(a);
    }
    let mut dropped_true: HashSet<u32> = HashSet::new();
    for i in 0..n as u32 {
        if let Some(parents) = by_child.get(&i) {
            if parents.iter().any(|p| !dropped_true.contains(p)) {
                dropped_true.insert(i);
            }
        }
    }
    // Near drops of records step 1 kept; the others followed their exact
    // survivor, and are checked on the last line.
    let near: Vec<_> = d
        .drops
        .iter()
        .filter(|x| x.rule == DropRule::Near && !exact_dropped.contains(&x.seq))
        .collect();
    let ours: HashSet<u32> = near.iter().map(|x| x.seq).collect();
    let both = ours.intersection(&dropped_true).count();
    let right = near.iter().filter(|x| rule(x.seq, x.survivor)).count();
    println!(
        "drops: exhaustive {} minhash {} | recall {:.4} precision {:.4} (threshold {t}, {}x{} bands, {} candidate pairs)",
        dropped_true.len(),
        ours.len(),
        both as f64 / dropped_true.len().max(1) as f64,
        right as f64 / ours.len().max(1) as f64,
        cfg.near.bands,
        cfg.near.rows,
        d.candidate_pairs
    );
    let all: Vec<_> = d.drops.iter().filter(|x| x.rule == DropRule::Near).collect();
    let similar = all.iter().filter(|x| rule(x.seq, x.survivor)).count();
    println!(
        "every dedup/near drop (with exact duplicates that followed their survivor): {} of {} are a true pair with their survivor",
        similar,
        all.len()
    );
    Ok(())
}
