//! Mixing: sample the surviving records so that groups of them (tasks, tags
//! or source files) reach target shares (`rules/mix.toml`, rule `mix/ratio`).
//!
//! ## Calling it
//! ```text
//! let Some(mix) = &rules.mix else { no mixing };            // None when absent or disabled
//! // while streaming, for every record that survived the other stages:
//! items.push(MixItem {
//!     seq,                                                   // its input-order number
//!     id_hash: mix::id_hash(&rec.id),
//!     group: mix::group_of(mix, rec.task.as_deref().unwrap_or(""), &rec.tags, source_label),
//! });
//! // once every record has been seen:
//! let decision = mix::decide(&items, mix);
//! for drop in &decision.drops {                              // sorted by seq
//!     let v = decision.verdict(drop);                        // group, reason, value, threshold
//!     // route record `drop.seq` to `rejected` with rule verdict::MIX_RULE
//! }
//! // report.json gets decision.report (a MixReport)
//! ```
//! An item is 24 bytes; [`decide`] adds 16 bytes per targeted item while it
//! sorts. With `by = "source"` the group is the same for a whole file, so it
//! can be computed once per file.
//!
//! ## Why it works this way
//! A corpus assembled from many sets is lopsided (an Alpaca dump is mostly
//! open questions and brainstorming); training on it teaches those shares.
//! Mixing keeps, per group, the records the targets call for and drops the
//! rest, with a reason, like any other rule, so `audit` and `diff` see them.
//!
//! - **Shares are of the mix total `T`.** Each targeted group gets its share
//!   of `T` ([`quota`]), rounded so that the counts (with the share no target
//!   claims) sum exactly to `T`; every count is its exact quota rounded down
//!   or up, so achieved counts are within one record of `share * T`.
//! - **No up-sampling.** A record is kept at most once. Without `total`, `T`
//!   is the largest total whose rounded target counts every group can fill,
//!   so the achieved counts equal the target counts exactly; the scarcest
//!   group relative to its share bounds it (`limited_by` in the report), and
//!   a targeted group with no record at all makes `T` zero. With `total`, a
//!   group with too few records keeps all of them and falls short; the
//!   others still get their counts.
//! - **Others.** Records whose group has no target are outside the mix:
//!   kept untouched (`others = "keep"`, the default) or all dropped
//!   (`others = "drop"`). The share left by the targets (`1 - sum`) is room
//!   no group claims, not a quota for them.
//! - **Deterministic sample** ([`sample`]): within a group the records with
//!   the smallest seeded hash of their id hash are kept, ties by sequence
//!   number, so the result does not depend on thread count, the order items
//!   were collected in, or the order of input files.
//! - **Several tags.** With `by = "tag"` a record's group is the first of its
//!   tags (in the record's tag order) that has the prefix and a target; the
//!   tagger writes domains by decreasing score, so that is its strongest
//!   targeted domain.
//! - **Sources** are matched by the file's label (`source_file`): a target
//!   names a file by its label or a trailing part of its path
//!   (`alpaca.jsonl`, `sets/alpaca.jsonl`), or a folder with a trailing `/`
//!   (`sharegpt/`, every file under it). The longest matching name wins,
//!   ties by target order.

pub mod config;
pub mod quota;
pub mod report;
pub mod sample;

pub use config::{By, MixConfig, Others, Target};
pub use report::{MixGroupReport, MixOthersReport, MixReport};
pub use sample::id_hash;

/// What the mix needs of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixItem {
    /// The record's sequence number (input order); unique per item.
    pub seq: u32,
    /// [`id_hash`] of the record's id.
    pub id_hash: u64,
    /// Its group: an index into the config's `targets` ([`group_of`]), or
    /// `None` when no target covers it.
    pub group: Option<u32>,
}

/// One record the mix drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixDrop {
    /// The record's sequence number.
    pub seq: u32,
    /// Its group (an index into `targets`), `None` for records of groups
    /// without a target when `others = "drop"`.
    pub group: Option<u32>,
}

/// Why the records of one group were dropped: shared by every drop of the
/// group, for the `rejected` row.
#[derive(Debug, Clone, PartialEq)]
pub struct MixVerdict {
    /// The group's name; `None` for records without a targeted group.
    pub group: Option<String>,
    /// A sentence for the `reason` column.
    pub reason: String,
    /// The `value` column: the group's share of the records before mixing.
    pub value: f64,
    /// The `threshold` column: its target share (0 for others dropped).
    pub threshold: f64,
}

/// What [`decide`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct MixDecision {
    /// Records to drop, sorted by sequence number.
    pub drops: Vec<MixDrop>,
    /// One verdict per target, in target order, then one for others.
    pub verdicts: Vec<MixVerdict>,
    /// The report section.
    pub report: MixReport,
}

impl MixDecision {
    /// The verdict of a drop: its group's.
    pub fn verdict(&self, drop: &MixDrop) -> &MixVerdict {
        // `decide` always ends `verdicts` with the others' verdict, so `last`
        // is the only fallback needed; the index is in range for its drops.
        let others = self.verdicts.len().saturating_sub(1);
        let i = drop.group.map_or(others, |g| (g as usize).min(others));
        &self.verdicts[i]
    }

    /// The verdict of record `seq` when the mix drops it.
    pub fn dropped(&self, seq: u32) -> Option<&MixVerdict> {
        let i = self.drops.binary_search_by_key(&seq, |d| d.seq).ok()?;
        Some(self.verdict(&self.drops[i]))
    }
}

/// The group of a record with primary task `task` (empty when it has none),
/// tags `tags` and input file label `source`: an index into `cfg.targets`,
/// or `None` when no target covers it.
pub fn group_of(cfg: &MixConfig, task: &str, tags: &[String], source: &str) -> Option<u32> {
    match &cfg.by {
        By::Task => cfg.target(task),
        By::Tag { prefix } => tags
            .iter()
            .filter_map(|t| t.strip_prefix(prefix.as_str()))
            .find_map(|name| cfg.target(name)),
        By::Source => source_group(cfg, source),
    }
}

/// The target naming file `label`: its label, a trailing part of its path,
/// or (ending in `/`) a folder on its path; the longest wins.
fn source_group(cfg: &MixConfig, label: &str) -> Option<u32> {
    let is_sep = |b: u8| b == b'/' || b == b'\\';
    let matches = |name: &str| {
        let name = name.strip_prefix("./").unwrap_or(name);
        if name.ends_with('/') {
            // A folder: the label starts with it, or has it after a separator.
            let l = label.as_bytes();
            let n = name.len();
            (0..l.len())
                .filter(|&i| i == 0 || is_sep(l[i - 1]))
                .any(|i| l.len() >= i + n && same_path(&l[i..i + n], name.as_bytes()))
        } else {
            let (l, n) = (label.as_bytes(), name.as_bytes());
            l.len() >= n.len()
                && same_path(&l[l.len() - n.len()..], n)
                && (l.len() == n.len() || is_sep(l[l.len() - n.len() - 1]))
        }
    };
    cfg.targets
        .iter()
        .enumerate()
        .filter(|(_, t)| matches(&t.name))
        .min_by_key(|(i, t)| (std::cmp::Reverse(t.name.len()), *i))
        .map(|(i, _)| i as u32)
}

/// Byte-equal paths, with `\` and `/` the same separator.
fn same_path(a: &[u8], b: &[u8]) -> bool {
    let norm = |c: u8| if c == b'\\' { b'/' } else { c };
    a.iter().zip(b).all(|(&x, &y)| norm(x) == norm(y))
}

/// Decides which items the mix drops under `cfg` (whose `enabled` is the
/// caller's business) and reports target against achieved shares.
pub fn decide(items: &[MixItem], cfg: &MixConfig) -> MixDecision {
    let n = cfg.targets.len();
    let mut avail = vec![0u64; n];
    let mut others = 0u64;
    for it in items {
        match it.group.and_then(|g| avail.get_mut(g as usize)) {
            Some(a) => *a += 1,
            None => others += 1,
        }
    }
    let parts = config::parts(&cfg.targets);
    let plan = quota::plan(&parts, &avail, cfg.total);
    let achieved: Vec<u64> = plan.counts.iter().zip(&avail).map(|(&c, &a)| c.min(a)).collect();

    let mut drops: Vec<MixDrop> = sample::sample_out(items, &achieved, cfg.seed)
        .into_iter()
        .map(|(seq, g)| MixDrop { seq, group: Some(g) })
        .collect();
    // Items whose group index is out of range count as others, as above.
    let is_other = |it: &MixItem| it.group.is_none_or(|g| g as usize >= n);
    if cfg.others == Others::Drop {
        drops.extend(items.iter().filter(|it| is_other(it)).map(|it| MixDrop {
            seq: it.seq,
            group: None,
        }));
    }
    drops.sort_unstable_by_key(|d| d.seq);

    let input = items.len() as u64;
    let others_kept = if cfg.others == Others::Keep { others } else { 0 };
    let kept = achieved.iter().sum::<u64>() + others_kept;
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let share_left = config::PARTS.saturating_sub(parts.iter().sum()) as f64 / config::PARTS as f64;
    let groups: Vec<MixGroupReport> = cfg
        .targets
        .iter()
        .enumerate()
        .map(|(g, t)| MixGroupReport {
            name: t.name.clone(),
            available: avail[g],
            target_share: t.share,
            target_count: plan.counts.get(g).copied().unwrap_or(0),
            achieved_count: achieved.get(g).copied().unwrap_or(0),
            achieved_share: ratio(achieved.get(g).copied().unwrap_or(0), plan.total),
            output_share: ratio(achieved.get(g).copied().unwrap_or(0), kept),
        })
        .collect();
    let what = |name: &str| match &cfg.by {
        By::Tag { prefix } => format!("tag `{prefix}{name}`"),
        by => format!("{} `{name}`", by.as_str()),
    };
    let mut verdicts: Vec<MixVerdict> = groups
        .iter()
        .map(|g| MixVerdict {
            group: Some(g.name.clone()),
            reason: format!(
                "sampled out to meet the mix: {} had {} of {} records ({}); its target is {} of {} = {} records",
                what(&g.name),
                g.available,
                input,
                percent(ratio(g.available, input)),
                percent(g.target_share),
                plan.total,
                g.target_count
            ),
            value: ratio(g.available, input),
            threshold: g.target_share,
        })
        .collect();
    verdicts.push(MixVerdict {
        group: None,
        reason: format!(
            "no mix target covers its {} and others = \"drop\" ({} of {} records had no target)",
            cfg.by.as_str(),
            others,
            input
        ),
        value: ratio(others, input),
        threshold: 0.0,
    });
    let report = MixReport {
        by: cfg.by.as_str().to_string(),
        prefix: match &cfg.by {
            By::Tag { prefix } => Some(prefix.clone()),
            _ => None,
        },
        seed: cfg.seed,
        input,
        total: plan.total,
        total_from_rules: cfg.total.is_some(),
        limited_by: plan.limited_by.and_then(|g| cfg.targets.get(g)).map(|t| t.name.clone()),
        groups,
        others: MixOthersReport {
            policy: cfg.others,
            available: others,
            kept: others_kept,
            share_left,
        },
        kept,
        dropped: drops.len() as u64,
    };
    MixDecision {
        drops,
        verdicts,
        report,
    }
}

/// A share as a percentage with up to two decimals (`30%`, `12.5%`).
fn percent(share: f64) -> String {
    let s = format!("{:.2}", share * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

#[cfg(test)]
mod tests;
