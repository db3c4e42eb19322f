//! What a selection covers, against random samples of the same size, and
//! the per-record table of the choices.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Builder, StringBuilder, UInt32Builder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema};
use serde::Serialize;

use super::{Options, Selection, Status};
use crate::error::Result;

/// Coverage of a set of records.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Coverage {
    /// Records.
    pub records: u64,
    /// Distinct tasks.
    pub tasks: f64,
    /// Distinct `domain:` tags.
    pub domains: f64,
    /// Distinct languages.
    pub languages: f64,
    /// Task entropy over its maximum (1: every task equally often).
    pub task_evenness: f64,
    /// Mean score.
    pub mean_score: f64,
}

/// `select.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SelectReport {
    /// Records asked for.
    pub budget: u64,
    /// The similarity bound.
    pub max_similarity: f32,
    /// The share exponent.
    pub alpha: f64,
    /// The quality metric, if any.
    pub quality: Option<String>,
    /// Kept records of the run.
    pub kept: u64,
    /// Records embedded.
    pub embedded: u64,
    /// Records passed over as too similar to a chosen one.
    pub similar: u64,
    /// The selection.
    pub selected: Coverage,
    /// The mean of the random samples.
    pub random_mean: Coverage,
    /// Each random sample (seeds 1, 2, …).
    pub random: Vec<Coverage>,
    /// Chosen records per group (`lang/task`, after the quota's name with quotas).
    pub per_group: BTreeMap<String, u64>,
    /// With quotas (`--mix`): what each target asked and got, then `others`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quotas: Vec<QuotaReport>,
}

/// One quota of a selection.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuotaReport {
    /// The target's name, or `others`.
    pub name: String,
    /// Its share of the budget (`None` for `others`: what the targets leave).
    pub share: Option<f64>,
    /// Records of the budget it was given (0 for dropped others).
    pub quota: u64,
    /// Kept records it covers.
    pub available: u64,
    /// Records chosen.
    pub selected: u64,
}

/// The coverage of the items `pick` holds.
pub fn coverage(sel: &Selection, pick: impl Iterator<Item = usize>) -> Coverage {
    let (mut tasks, mut domains, mut langs) = (BTreeMap::new(), BTreeSet::new(), BTreeSet::new());
    let (mut n, mut score) = (0u64, 0.0f64);
    for i in pick {
        let it = &sel.items[i];
        n += 1;
        score += it.score;
        *tasks.entry(it.task.as_str()).or_insert(0u64) += 1;
        domains.extend(it.domains.iter().map(String::as_str));
        langs.insert(it.lang.as_str());
    }
    let h = crate::text::entropy(tasks.values().copied());
    Coverage {
        records: n,
        tasks: tasks.len() as f64,
        domains: domains.len() as f64,
        languages: langs.len() as f64,
        task_evenness: if tasks.len() > 1 {
            h / (tasks.len() as f64).log2()
        } else {
            0.0
        },
        mean_score: if n > 0 { score / n as f64 } else { 0.0 },
    }
}

/// A seeded random sample of `n` of the `len` items: those with the
/// smallest hash of (seed, input-order number).
pub fn random_sample(len: usize, n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<(u64, usize)> = (0..len)
        .map(|i| {
            (
                crate::seeded::mix(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64),
                i,
            )
        })
        .collect();
    order.sort_unstable();
    order.into_iter().take(n).map(|(_, i)| i).collect()
}

/// The report of a selection.
pub fn report(sel: &Selection, opts: &Options) -> SelectReport {
    let picked = || {
        sel.items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.status == Status::Selected)
            .map(|(i, _)| i)
    };
    let selected = coverage(sel, picked());
    let n = selected.records as usize;
    let random: Vec<Coverage> = (1..=u64::from(opts.baselines))
        .map(|seed| coverage(sel, random_sample(sel.items.len(), n, seed).into_iter()))
        .collect();
    let k = random.len().max(1) as f64;
    let mean = |f: &dyn Fn(&Coverage) -> f64| random.iter().map(f).sum::<f64>() / k;
    let random_mean = Coverage {
        records: n as u64,
        tasks: mean(&|c| c.tasks),
        domains: mean(&|c| c.domains),
        languages: mean(&|c| c.languages),
        task_evenness: mean(&|c| c.task_evenness),
        mean_score: mean(&|c| c.mean_score),
    };
    let mut quotas = Vec::new();
    if let Some(mix) = &opts.mix {
        let count = |q: Option<u32>, chosen: bool| {
            sel.items
                .iter()
                .filter(|it| it.quota == q && (!chosen || it.status == Status::Selected))
                .count() as u64
        };
        for (q, t) in mix.targets.iter().enumerate() {
            let q = Some(q as u32);
            quotas.push(QuotaReport {
                name: t.name.clone(),
                share: Some(t.share),
                quota: sel.quota_budgets.get(q.map_or(0, |q| q as usize)).copied().unwrap_or(0),
                available: count(q, false),
                selected: count(q, true),
            });
        }
        quotas.push(QuotaReport {
            name: "others".into(),
            share: None,
            quota: sel.others_budget.unwrap_or(0),
            available: count(None, false),
            selected: count(None, true),
        });
    }
    let mut per_group = BTreeMap::new();
    for i in picked() {
        *per_group
            .entry(sel.groups[sel.items[i].group as usize].clone())
            .or_insert(0) += 1;
    }
    SelectReport {
        budget: opts.budget,
        max_similarity: opts.max_similarity,
        alpha: opts.alpha,
        quality: opts.quality.as_ref().map(|q| q.0.clone()),
        kept: sel.items.len() as u64,
        embedded: sel.embedded,
        similar: sel.items.iter().filter(|it| it.status == Status::Similar).count() as u64,
        selected,
        random_mean,
        random,
        per_group,
        quotas,
    }
}

/// The summary `curate select` prints.
pub fn summary(r: &SelectReport) -> String {
    let (s, m) = (&r.selected, &r.random_mean);
    let rows: [(&str, f64, f64, usize); 5] = [
        ("tasks", s.tasks, m.tasks, 1),
        ("domains", s.domains, m.domains, 1),
        ("languages", s.languages, m.languages, 1),
        ("task evenness", s.task_evenness, m.task_evenness, 3),
        ("mean score", s.mean_score, m.mean_score, 2),
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|&(name, a, b, p)| vec![name.to_string(), format!("{a:.p$}"), format!("{b:.p$}")])
        .collect();
    let mut out = format!(
        "selected {} of {} kept records ({} embedded, {} passed over as similar)\n",
        r.selected.records, r.kept, r.embedded, r.similar
    );
    out += &crate::output::table::plain(
        &["", "selected", &format!("random (mean of {})", r.random.len())],
        &body,
        0,
    );
    if !r.quotas.is_empty() {
        let body: Vec<Vec<String>> = r
            .quotas
            .iter()
            .map(|q| {
                vec![
                    q.name.clone(),
                    q.share.map_or("rest".into(), |s| format!("{s:.3}")),
                    q.quota.to_string(),
                    q.available.to_string(),
                    q.selected.to_string(),
                ]
            })
            .collect();
        out += "quotas (--mix):\n";
        out += &crate::output::table::plain(&["quota", "share", "records", "kept", "selected"], &body, 0);
    }
    out
}

/// Writes `selection.parquet`: one row per kept record.
pub fn write_table(path: &Path, sel: &Selection, opts: &Options) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("group", DataType::Utf8, false),
        Field::new("score", DataType::Float64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("rank", DataType::UInt32, true),
        Field::new("nearest", DataType::Utf8, true),
        Field::new("similarity", DataType::Float64, true),
        Field::new("group_share", DataType::UInt64, false),
        Field::new("quota", DataType::Utf8, true),
        Field::new("answer_chars", DataType::UInt64, false),
        Field::new("complexity", DataType::UInt64, false),
        Field::new("quality", DataType::Float64, false),
    ]));
    let (mut key, mut group, mut score, mut status) = (
        StringBuilder::new(),
        StringBuilder::new(),
        Float64Builder::new(),
        StringBuilder::new(),
    );
    let mut quota = StringBuilder::new();
    let (mut chars, mut complexity, mut quality) = (UInt64Builder::new(), UInt64Builder::new(), Float64Builder::new());
    let (mut rank, mut nearest, mut sim, mut share) = (
        UInt32Builder::new(),
        StringBuilder::new(),
        Float64Builder::new(),
        UInt64Builder::new(),
    );
    for it in &sel.items {
        key.append_value(&it.key);
        group.append_value(&sel.groups[it.group as usize]);
        score.append_value(it.score);
        status.append_value(it.status.name());
        rank.append_option(it.rank);
        nearest.append_option(it.nearest.map(|(j, _)| sel.items[j as usize].key.as_str()));
        sim.append_option(it.nearest.map(|(_, c)| f64::from(c)));
        share.append_value(sel.shares[it.group as usize]);
        quota.append_option(opts.mix.as_ref().map(|m| super::quota_name(m, it.quota)));
        chars.append_value(it.features.answer_chars);
        complexity.append_value(it.features.complexity);
        quality.append_value(it.quality);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(key.finish()),
        Arc::new(group.finish()),
        Arc::new(score.finish()),
        Arc::new(status.finish()),
        Arc::new(rank.finish()),
        Arc::new(nearest.finish()),
        Arc::new(sim.finish()),
        Arc::new(share.finish()),
        Arc::new(quota.finish()),
        Arc::new(chars.finish()),
        Arc::new(complexity.finish()),
        Arc::new(quality.finish()),
    ];
    crate::output::shard::write_table(path, schema, cols)
}
