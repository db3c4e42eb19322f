//! `curate select RUN_DIR --budget N --out DIR`: the best N kept records that
//! cover every kind of task, language and topic.
//!
//! ## How records are chosen
//! 1. **Groups and shares.** Kept records are grouped by language and task
//!    (`lang:` tag × `task`); the budget is shared between the groups in
//!    proportion to `size^alpha` with at least one record per group
//!    ([`allocate`]).
//! 2. **Score first.** Within a group, records are visited from the best
//!    [`score`] down (ties by input order).
//! 3. **Diversity.** A visited record is chosen when its most similar
//!    already chosen record (of any group; cosine of their sentence
//!    embeddings, [`crate::embed`]) is below `--max-similarity`; otherwise
//!    it is passed over as `similar` to that record. This is the
//!    score-first, diversity-aware selection of Deita (Liu et al. 2024),
//!    with the multilingual encoder so that English and Chinese records
//!    are compared alike.
//! 4. **Shortfalls.** A group that runs out of dissimilar records gives its
//!    unused count back, and the budget is shared again between the groups
//!    that still have candidates.
//! 5. **Quotas** (`--mix FILE`, a `mix.toml`). Each target (a task, a tag
//!    such as `domain:health`, or a source file) gets its share of the
//!    budget, the records no target covers the rest (none with `others =
//!    "drop"`); groups are then language x task within each quota, and a
//!    quota's records are shared between its groups as above. A quota
//!    whose records run out falls short: its count is not given to another
//!    quota, as `curate run`'s mix falls short of a target.
//!
//! Only the records a group may reach are embedded: its best
//! `OVERSAMPLE` × share by score (every record when the group is smaller),
//! in score order and in batches, so selecting 1,000 records from millions
//! embeds a few thousand. Groups are visited in name order and every
//! tie is broken by input order, so the same run and options give the same
//! selection on any thread count.
//!
//! ## What it writes
//! - `DIR/selected/`: the chosen records, in the kept schema, in input order;
//! - `DIR/selection.parquet`: one row per kept record with its group, score,
//!   status (`selected`, `similar`, `not-reached`), its rank among the
//!   chosen, the most similar chosen record (`nearest`) and their cosine,
//!   the group's share, its quota (with `--mix`), and the score's parts
//!   (`answer_chars`, `complexity`, `quality`);
//! - `DIR/select.json`: options, counts per group, and the coverage of the
//!   selection (tasks, domains, languages, task evenness, mean score)
//!   against ten seeded random samples of the same size; with `--mix`,
//!   each quota's share, records, kept records and chosen records.
//!
//! ## Memory
//! About 100 bytes per kept record (its key, group, score and status) plus
//! the text and a 2 KB vector of each record embedded.

pub mod allocate;
pub mod coverage;
pub mod score;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, BooleanArray, RecordBatch};
use rayon::prelude::*;

use crate::embed::{Encoder, EMB_DIM};
use crate::error::{Error, Result};
use crate::output::read_back::{messages_at, str_at, str_col, strings_at, Batches};

/// Candidates read per group, as a multiple of its share.
pub const OVERSAMPLE: u64 = 8;

/// Tokens of a record the encoder reads: long conversations that share
/// their opening turns differ further on (as in `dedup/semantic`).
pub const MAX_TOKENS: usize = 4096;

/// Records embedded at a time.
const EMBED_BATCH: usize = 64;

/// The options of a selection.
#[derive(Debug, Clone)]
pub struct Options {
    /// Records to choose.
    pub budget: u64,
    /// Most similar a chosen record may be to another chosen one (cosine).
    pub max_similarity: f32,
    /// Exponent of group sizes in the budget's shares.
    pub alpha: f64,
    /// The metric scaled into the score's quality factor, and whether its
    /// higher values are better.
    pub quality: Option<(String, bool)>,
    /// Random samples the selection is compared with.
    pub baselines: u32,
    /// Quotas: `mix.toml`'s targets (by task, tag or source file) as shares
    /// of the budget, its `others` for the records no target covers (its
    /// `enabled` and `total` are not read: the budget is the total).
    pub mix: Option<crate::mix::config::MixConfig>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            budget: 1000,
            max_similarity: 0.9,
            alpha: 0.5,
            quality: None,
            baselines: 10,
            mix: None,
        }
    }
}

/// What happened to a kept record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Not visited: its group's share was filled first.
    NotReached,
    /// Visited and passed over: too similar to a chosen record.
    Similar,
    /// Chosen.
    Selected,
}

impl Status {
    /// The name written to `selection.parquet`.
    pub fn name(self) -> &'static str {
        match self {
            Status::NotReached => "not-reached",
            Status::Similar => "similar",
            Status::Selected => "selected",
        }
    }
}

/// One kept record, in input order.
#[derive(Debug, Clone)]
pub struct Item {
    /// Its unique key (`file:line`).
    pub key: String,
    /// Its group (`lang/task`).
    pub group: u32,
    /// Its score.
    pub score: f64,
    /// What the score is made of: answer characters and complexity.
    pub features: score::Features,
    /// The score's quality factor (1 without `--quality`).
    pub quality: f64,
    /// Its language, task and domain tags, for coverage.
    pub lang: String,
    /// Its task.
    pub task: String,
    /// Its `domain:` tags.
    pub domains: Vec<String>,
    /// Its quota: the `mix.toml` target that covers it (`None`: none does,
    /// or no quotas).
    pub quota: Option<u32>,
    /// What selection did with it.
    pub status: Status,
    /// Its place among the chosen (0-based), when chosen.
    pub rank: Option<u32>,
    /// The most similar chosen record when it was visited, and their cosine.
    pub nearest: Option<(u32, f32)>,
}

/// The outcome of a selection.
#[derive(Debug)]
pub struct Selection {
    /// Every kept record, in input order.
    pub items: Vec<Item>,
    /// Group names, by group number.
    pub groups: Vec<String>,
    /// Each group's final share of the budget.
    pub shares: Vec<u64>,
    /// Each group's quota (see [`Item::quota`]).
    pub group_quota: Vec<Option<u32>>,
    /// Each quota's records of the budget, and the others' (`None`: they
    /// are dropped, or there are no quotas).
    pub quota_budgets: Vec<u64>,
    /// The records of the budget for groups without a quota.
    pub others_budget: Option<u64>,
    /// Records embedded.
    pub embedded: u64,
}

/// Reads the kept records of `run` with their scores.
fn read_items(run: &Path, opts: &Options) -> Result<(Vec<Item>, Vec<String>)> {
    let quality = match &opts.quality {
        Some((rule, _)) => Some(quality_values(run, rule)?),
        None => None,
    };
    let (lo, hi) = quality.as_ref().map_or((0.0, 0.0), |q| {
        q.values().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
    });
    let higher = opts.quality.as_ref().is_some_and(|q| q.1);
    let mut groups: BTreeMap<String, u32> = BTreeMap::new();
    let mut items = Vec::new();
    let mut group_of = Vec::new();
    let mix = opts.mix.as_ref();
    for b in Batches::of(&run.join("kept")).columns(&["key", "messages", "task", "tags", "source_file"]) {
        let b = b?;
        let rows: Vec<(Item, String)> = (0..b.num_rows())
            .into_par_iter()
            .map(|i| {
                let key = str_at(str_col(&b, "key"), i).to_string();
                let tags = strings_at(&b, "tags", i).unwrap_or_default();
                let task = match str_at(str_col(&b, "task"), i) {
                    "" => "none".to_string(),
                    t => t.to_string(),
                };
                let lang = tags
                    .iter()
                    .find_map(|t| t.strip_prefix("lang:"))
                    .unwrap_or("other")
                    .to_string();
                let f = score::features(&messages_at(&b, i), &tags);
                let q = match &quality {
                    Some(q) => score::scaled_quality(q.get(&key).copied(), lo, hi, higher),
                    None => 1.0,
                };
                let domains = tags.iter().filter(|t| t.starts_with("domain:")).cloned().collect();
                let source = str_at(str_col(&b, "source_file"), i);
                let quota = mix.and_then(|m| crate::mix::group_of(m, str_at(str_col(&b, "task"), i), &tags, source));
                let group = match mix {
                    None => format!("{lang}/{task}"),
                    Some(m) => format!("{}: {lang}/{task}", quota_name(m, quota)),
                };
                let item = Item {
                    key,
                    group: 0,
                    score: score::score(f, q),
                    features: f,
                    quality: q,
                    lang,
                    task,
                    domains,
                    quota,
                    status: Status::NotReached,
                    rank: None,
                    nearest: None,
                };
                (item, group)
            })
            .collect();
        for (item, group) in rows {
            let n = groups.len() as u32;
            group_of.push(*groups.entry(group).or_insert(n));
            items.push(item);
        }
    }
    // Group numbers in name order.
    let names: Vec<String> = groups.keys().cloned().collect();
    let renumber: BTreeMap<u32, u32> = groups.values().enumerate().map(|(i, &g)| (g, i as u32)).collect();
    for (item, g) in items.iter_mut().zip(group_of) {
        item.group = renumber[&g];
    }
    Ok((items, names))
}

/// A quota's name: its target's, or `others`.
pub fn quota_name(mix: &crate::mix::config::MixConfig, quota: Option<u32>) -> &str {
    quota
        .and_then(|q| mix.targets.get(q as usize))
        .map_or("others", |t| t.name.as_str())
}

/// The records of `budget` per quota, and the others' (see [`Selection`]):
/// the targets' counts as `curate run`'s mix apportions a total
/// ([`crate::mix::quota::plan`]; `avail`: the kept records each target
/// covers), the rest to the records no target covers unless they are dropped.
fn budgets(opts: &Options, avail: &[u64]) -> (Vec<u64>, Option<u64>) {
    match &opts.mix {
        None => (Vec::new(), Some(opts.budget)),
        Some(m) => {
            let parts = crate::mix::config::parts(&m.targets);
            let per = crate::mix::quota::plan(&parts, avail, Some(opts.budget)).counts;
            let rest = opts.budget - per.iter().sum::<u64>().min(opts.budget);
            let others = (m.others == crate::mix::config::Others::Keep).then_some(rest);
            (per, others)
        }
    }
}

/// The values of `rule` in the run's metrics, by record key.
fn quality_values(run: &Path, rule: &str) -> Result<std::collections::HashMap<String, f64>> {
    let mut out = std::collections::HashMap::new();
    let mut found = false;
    for b in Batches::of(&run.join("metrics")) {
        let b = b?;
        let Some(col) = crate::output::metrics::rule_values(&b, rule) else {
            continue;
        };
        found = true;
        let keys = str_col(&b, "key");
        for i in 0..b.num_rows() {
            if !col.is_null(i) && col.value(i).is_finite() {
                out.insert(str_at(keys, i).to_string(), col.value(i));
            }
        }
    }
    if !found {
        return Err(Error::Usage(format!(
            "--quality {rule}: the run's metrics have no column for that rule"
        )));
    }
    Ok(out)
}

/// The text a record is embedded by: its messages (no system prompt), one
/// per line.
fn embed_text(messages: &[(String, String)]) -> String {
    let parts: Vec<&str> = messages
        .iter()
        .filter(|m| m.0 != "system")
        .map(|m| m.1.as_str())
        .collect();
    parts.join("\n")
}

/// Reads the texts of the records at `wanted` (input-order numbers, sorted).
fn read_texts(run: &Path, wanted: &[usize]) -> Result<BTreeMap<usize, String>> {
    let mut out = BTreeMap::new();
    let mut at = 0usize;
    let mut next = wanted.iter().peekable();
    for b in Batches::of(&run.join("kept")).columns(&["messages"]) {
        let b = b?;
        let end = at + b.num_rows();
        while let Some(&&w) = next.peek() {
            if w >= end {
                break;
            }
            out.insert(w, embed_text(&messages_at(&b, w - at)));
            next.next();
        }
        at = end;
    }
    Ok(out)
}

/// The most similar of `chosen` to `v` (index, cosine); vectors are unit length.
fn nearest(chosen: &[[f32; EMB_DIM]], v: &[f32; EMB_DIM]) -> Option<(u32, f32)> {
    let dot = |c: &[f32; EMB_DIM]| c.iter().zip(v).map(|(a, b)| a * b).sum::<f32>();
    let best = |a: (u32, f32), b: (u32, f32)| if b.1 > a.1 || (b.1 == a.1 && b.0 < a.0) { b } else { a };
    if chosen.len() >= 4096 {
        chosen
            .par_iter()
            .enumerate()
            .map(|(i, c)| (i as u32, dot(c)))
            .reduce_with(best)
    } else {
        chosen.iter().enumerate().map(|(i, c)| (i as u32, dot(c))).reduce(best)
    }
}

/// Chooses records of the run in `run` (a `curate run` output folder).
pub fn select(run: &Path, encoder: &Encoder, opts: &Options) -> Result<Selection> {
    if !run.join("kept").is_dir() {
        return Err(Error::Usage(format!("{}: not a run folder (no kept/)", run.display())));
    }
    let (mut items, groups) = read_items(run, opts)?;
    // Each group's members, best score first, ties by input order.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); groups.len()];
    for (i, it) in items.iter().enumerate() {
        members[it.group as usize].push(i);
    }
    for m in &mut members {
        m.sort_by(|&a, &b| items[b].score.total_cmp(&items[a].score).then(a.cmp(&b)));
    }
    let sizes: Vec<u64> = members.iter().map(|m| m.len() as u64).collect();
    let mut group_quota = vec![None; groups.len()];
    for it in &items {
        group_quota[it.group as usize] = it.quota;
    }
    let targets = opts.mix.as_ref().map_or(0, |m| m.targets.len());
    let mut avail = vec![0u64; targets];
    for q in items.iter().filter_map(|it| it.quota) {
        avail[q as usize] += 1;
    }
    let (quota_budgets, others_budget) = budgets(opts, &avail);
    let share_out =
        |caps: &[u64]| allocate::allocate_within(caps, &group_quota, &quota_budgets, others_budget, opts.alpha);
    let first = share_out(&sizes);
    // The candidates a group may reach, and their texts.
    let reach: Vec<usize> = first
        .iter()
        .zip(&members)
        .map(|(&s, m)| ((s * OVERSAMPLE) as usize).max(s as usize + EMBED_BATCH).min(m.len()))
        .collect();
    let mut wanted: Vec<usize> = members
        .iter()
        .zip(&reach)
        .flat_map(|(m, &r)| m[..r].iter().copied())
        .collect();
    wanted.sort_unstable();
    let mut texts = read_texts(run, &wanted)?;

    let mut caps: Vec<u64> = reach.iter().map(|&r| r as u64).collect();
    let mut shares = first;
    let mut chosen: Vec<[f32; EMB_DIM]> = Vec::new();
    let mut chosen_item: Vec<usize> = Vec::new();
    let mut taken = vec![0u64; groups.len()];
    let mut visited = vec![0usize; groups.len()];
    let mut vectors: BTreeMap<usize, [f32; EMB_DIM]> = BTreeMap::new();
    let mut embedded = 0u64;
    loop {
        let mut short = false;
        for g in 0..groups.len() {
            while taken[g] < shares[g] && visited[g] < reach[g] {
                let i = members[g][visited[g]];
                if !vectors.contains_key(&i) {
                    let batch: Vec<usize> = members[g][visited[g]..reach[g]]
                        .iter()
                        .take(EMBED_BATCH)
                        .copied()
                        .collect();
                    let strs: Vec<String> = batch.iter().map(|j| texts.remove(j).unwrap_or_default()).collect();
                    let refs: Vec<&str> = strs.iter().map(String::as_str).collect();
                    for (j, v) in batch.iter().zip(encoder.encode_batch(&refs)) {
                        vectors.insert(*j, v);
                    }
                    embedded += batch.len() as u64;
                }
                let v = vectors.remove(&i).expect("embedded above");
                visited[g] += 1;
                let near = nearest(&chosen, &v);
                items[i].nearest = near.map(|(c, cos)| (chosen_item[c as usize] as u32, cos));
                if near.is_some_and(|(_, cos)| cos >= opts.max_similarity) {
                    items[i].status = Status::Similar;
                    continue;
                }
                items[i].status = Status::Selected;
                items[i].rank = Some(chosen.len() as u32);
                chosen.push(v);
                chosen_item.push(i);
                taken[g] += 1;
            }
            if taken[g] < shares[g] {
                // Out of candidates: the group keeps what it has.
                caps[g] = taken[g];
                short = true;
            }
        }
        if !short || chosen.len() as u64 >= opts.budget {
            break;
        }
        let again = share_out(&caps);
        if again == shares {
            break;
        }
        shares = again;
    }
    Ok(Selection {
        items,
        groups,
        shares: taken,
        group_quota,
        quota_budgets,
        others_budget,
        embedded,
    })
}

/// Writes the chosen records (`DIR/selected/`), the per-record table
/// (`DIR/selection.parquet`) and `DIR/select.json`; returns the report.
pub fn write(run: &Path, out: &Path, sel: &Selection, opts: &Options) -> Result<coverage::SelectReport> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let dir = out.join("selected");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    let mut w = crate::output::shard::ShardWriter::new(
        &dir,
        crate::output::schema::output_schema(),
        crate::pipeline::SHARD_BYTES,
    )?;
    let mut at = 0usize;
    for b in Batches::of(&run.join("kept")) {
        let b: RecordBatch = b?;
        let mask: BooleanArray = (0..b.num_rows())
            .map(|i| Some(sel.items[at + i].status == Status::Selected))
            .collect();
        at += b.num_rows();
        let picked = arrow::compute::filter_record_batch(&b, &mask).map_err(|e| Error::Usage(e.to_string()))?;
        if picked.num_rows() > 0 {
            w.write(&picked)?;
        }
    }
    w.finish()?;
    coverage::write_table(&out.join("selection.parquet"), sel, opts)?;
    let report = coverage::report(sel, opts);
    let path: PathBuf = out.join("select.json");
    let json = serde_json::to_string_pretty(&report).map_err(|e| Error::Usage(e.to_string()))?;
    std::fs::write(&path, json + "\n").map_err(|e| Error::io(&path, e))?;
    Ok(report)
}
