//! `curate tune`: re-decide every record of a run from its stored metrics
//! under changed thresholds, in seconds, without reading the corpus.
//!
//! Each record's fate is recomputed exactly as the run decided it: stages in
//! order, the first stage with a failing rule drops the record, and within it
//! the first failing rule is the reason. Drops by stages that are not
//! per-record rules (dedup) are taken as they were in the run.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::time::Instant;

use arrow::array::Array;

use crate::audit::run_dir::{str_at, str_col, u64_col, RunDir};
use crate::error::{Error, Result};
use crate::output::table;
use crate::stage::{num, RuleInfo};
use crate::text::Lang;

/// One record's stored measurements.
pub struct Metrics {
    /// Record ids.
    pub ids: Vec<String>,
    /// `file:line` of each record.
    pub origins: Vec<String>,
    /// Language of each record.
    pub langs: Vec<Lang>,
    /// Per rule (in `rules` order): the values (`NaN` when not measured).
    pub values: Vec<Vec<f64>>,
    /// Records dropped by a stage that is not in `rules` (kept dropped).
    pub fixed_drop: Vec<bool>,
}

/// A run's per-record rules, in decision order, with their stage index.
#[derive(Debug, Clone)]
pub struct Decider {
    /// `(stage index, rule, enabled)`, in evaluation order.
    pub rules: Vec<(usize, RuleInfo, bool)>,
}

impl Decider {
    /// The run's rules from its snapshot, for the stages it ran.
    pub fn of_run(run: &RunDir) -> Result<Decider> {
        Ok(Decider::from_rules(&run.rules()?, &run.report.stages_run))
    }

    /// The per-record rules of `rules` for the stages named in `stages` (in that order).
    pub fn from_rules(rules: &crate::ruleset::Rules, stages: &[String]) -> Decider {
        let mut out = Vec::new();
        for (si, name) in stages.iter().enumerate() {
            if let Some(stage) = rules.record_stages.iter().find(|s| s.name() == name) {
                out.extend(stage.rules().into_iter().map(|r| (si, r, true)));
            }
        }
        Decider { rules: out }
    }

    /// Applies one `RULE.KEY=VALUE` change.
    pub fn set(&mut self, change: &str) -> Result<()> {
        let (lhs, value) = change
            .rsplit_once('=')
            .ok_or_else(|| Error::Usage(format!("--set {change}: expected RULE.KEY=VALUE")))?;
        let (idx, key) = self.split_rule(lhs)?;
        let rule = &mut self.rules[idx];
        if key == "enabled" {
            rule.2 = value
                .parse()
                .map_err(|_| Error::Usage(format!("--set {change}: enabled takes true or false")))?;
            return Ok(());
        }
        let v: Option<f64> = if value == "none" {
            None
        } else {
            Some(
                value
                    .parse()
                    .map_err(|_| Error::Usage(format!("--set {change}: `{value}` is not a number")))?,
            )
        };
        let (th, bound) = match key.strip_prefix("lang.") {
            Some(rest) => {
                let (code, bound) = rest
                    .split_once('.')
                    .ok_or_else(|| Error::Usage(format!("--set {change}: expected lang.CODE.min or lang.CODE.max")))?;
                let lang = Lang::from_code(code)
                    .ok_or_else(|| Error::Usage(format!("--set {change}: unknown language `{code}`")))?;
                let pos = match rule.1.by_lang.iter().position(|(l, _)| *l == lang) {
                    Some(p) => p,
                    None => {
                        rule.1.by_lang.push((lang, rule.1.threshold));
                        rule.1.by_lang.len() - 1
                    }
                };
                (&mut rule.1.by_lang[pos].1, bound)
            }
            None => (&mut rule.1.threshold, key),
        };
        let bound = match bound {
            "threshold" => match (th.min.is_some(), th.max.is_some()) {
                (true, false) => "min",
                (false, true) => "max",
                _ => {
                    return Err(Error::Usage(format!(
                        "--set {change}: the rule has both or neither bound; use .min or .max"
                    )))
                }
            },
            b => b,
        };
        match bound {
            "min" => th.min = v,
            "max" => th.max = v,
            other => {
                return Err(Error::Usage(format!(
                    "--set {change}: unknown key `{other}` (min, max, threshold, enabled, lang.CODE.min|max)"
                )))
            }
        }
        Ok(())
    }

    /// Splits `quality/rule.key` into the rule's index and `key`.
    fn split_rule<'a>(&self, lhs: &'a str) -> Result<(usize, &'a str)> {
        let mut best: Option<(usize, usize)> = None;
        for (i, (_, r, _)) in self.rules.iter().enumerate() {
            if lhs.len() > r.id.len()
                && lhs.starts_with(&r.id)
                && lhs.as_bytes()[r.id.len()] == b'.'
                && best.is_none_or(|(_, l)| r.id.len() > l)
            {
                best = Some((i, r.id.len()));
            }
        }
        let (i, len) = best.ok_or_else(|| {
            let ids: Vec<&str> = self.rules.iter().map(|r| r.1.id.as_str()).collect();
            Error::Usage(format!("`{lhs}`: no such rule in this run (rules: {})", ids.join(", ")))
        })?;
        Ok((i, &lhs[len + 1..]))
    }

    /// Index of the first failing rule for record `i`, and every failing rule.
    pub fn decide(&self, m: &Metrics, i: usize, failing: &mut Vec<usize>) -> Option<usize> {
        failing.clear();
        let mut first: Option<usize> = None;
        let mut first_stage = usize::MAX;
        for (r, (stage, rule, enabled)) in self.rules.iter().enumerate() {
            if !enabled || *stage > first_stage {
                continue;
            }
            let v = m.values[r][i];
            if v.is_nan() {
                continue;
            }
            if rule.threshold_for(m.langs[i]).check(v).is_some() {
                failing.push(r);
                if first.is_none() {
                    first = Some(r);
                    first_stage = *stage;
                }
            }
        }
        first
    }
}

/// Loads the run's metrics for the decider's rules.
pub fn load_metrics(run: &RunDir, decider: &Decider) -> Result<Metrics> {
    // Read a batch at a time: only the columns kept below grow with the run.
    let n = run.report.totals.input as usize;
    let mut m = Metrics {
        ids: Vec::with_capacity(n),
        origins: Vec::with_capacity(n),
        langs: Vec::with_capacity(n),
        values: vec![Vec::with_capacity(n); decider.rules.len()],
        fixed_drop: Vec::with_capacity(n),
    };
    let per_record: HashSet<&str> = run
        .report
        .stages
        .iter()
        .filter(|s| {
            decider
                .rules
                .iter()
                .any(|r| run.report.stages_run.get(r.0) == Some(&s.name))
        })
        .map(|s| s.name.as_str())
        .collect();
    let mut fixed: HashSet<(String, u64)> = HashSet::new();
    for b in run
        .batches("rejected")
        .columns(&["stage", "source_file", "source_line"])
    {
        let b = b?;
        let (stage, file, line) = (
            str_col(&b, "stage"),
            str_col(&b, "source_file"),
            u64_col(&b, "source_line"),
        );
        for i in 0..b.num_rows() {
            if !per_record.contains(str_at(stage, i)) {
                fixed.insert((str_at(file, i).to_string(), line.map_or(0, |l| l.value(i))));
            }
        }
    }
    for b in run.batches("metrics") {
        let b = &b?;
        let (id, file, line, lang) = (
            str_col(b, "id"),
            str_col(b, "source_file"),
            u64_col(b, "source_line"),
            str_col(b, "lang"),
        );
        let cols: Vec<_> = decider
            .rules
            .iter()
            .map(|(_, r, _)| {
                crate::output::metrics::rule_values(b, &r.id)
                    .ok_or_else(|| Error::Usage(format!("metrics hold no column for rule `{}`", r.id)))
            })
            .collect::<Result<_>>()?;
        for i in 0..b.num_rows() {
            let f = str_at(file, i);
            let l = line.map_or(0, |c| c.value(i));
            m.ids.push(str_at(id, i).to_string());
            m.origins.push(format!("{f}:{l}"));
            m.langs.push(Lang::from_code(str_at(lang, i)).unwrap_or(Lang::Other));
            m.fixed_drop
                .push(!fixed.is_empty() && fixed.contains(&(f.to_string(), l)));
            for (r, c) in cols.iter().enumerate() {
                m.values[r].push(if c.is_null(i) { f64::NAN } else { c.value(i) });
            }
        }
    }
    Ok(m)
}

/// Fates of every record under one set of rules.
struct Fates {
    first: Vec<Option<usize>>,
    kept: usize,
    by_rule: Vec<usize>,
}

fn fates(d: &Decider, m: &Metrics, failing_sets: Option<&mut Vec<Vec<usize>>>) -> Fates {
    let n = m.ids.len();
    let mut first = Vec::with_capacity(n);
    let mut by_rule = vec![0; d.rules.len()];
    let mut kept = 0;
    let mut failing = Vec::new();
    let mut sets = failing_sets;
    for i in 0..n {
        let f = d.decide(m, i, &mut failing);
        if let Some(r) = f {
            by_rule[r] += 1;
        } else if !m.fixed_drop[i] {
            kept += 1;
        }
        if let Some(s) = sets.as_deref_mut() {
            s.push(failing.clone());
        }
        first.push(f);
    }
    Fates { first, kept, by_rule }
}

/// Runs `curate tune` and returns its printed report.
pub fn tune(run: &RunDir, sets: &[String], sweep: Option<&str>, examples: usize) -> Result<String> {
    let t0 = Instant::now();
    let old = Decider::of_run(run)?;
    let mut new = old.clone();
    for s in sets {
        new.set(s)?;
    }
    let m = load_metrics(run, &old)?;
    let loaded = t0.elapsed().as_secs_f64();
    let mut out = String::new();
    if let Some(spec) = sweep {
        sweep_table(&new, &m, spec, &mut out)?;
        let _ = writeln!(
            out,
            "{} records re-decided per value; metrics loaded in {loaded:.2} s, total {:.2} s",
            m.ids.len(),
            t0.elapsed().as_secs_f64()
        );
        return Ok(out);
    }
    let before = fates(&old, &m, None);
    let mut sets_new = Vec::with_capacity(m.ids.len());
    let after = fates(&new, &m, Some(&mut sets_new));
    let n = m.ids.len();
    let rej = |f: &Fates| n - f.kept;
    let _ = writeln!(out, "{n} records (metrics of {})", run.path.display());
    for s in sets {
        let _ = writeln!(out, "  with {s}");
    }
    let change = |name: String, a: usize, b: usize| {
        vec![name, a.to_string(), b.to_string(), format!("{:+}", b as i64 - a as i64)]
    };
    let totals = vec![
        change("kept".into(), before.kept, after.kept),
        change("rejected".into(), rej(&before), rej(&after)),
    ];
    out.push('\n');
    out.push_str(&table::plain(&["", "before", "after", "change"], &totals, 0));
    let _ = writeln!(out, "\ndrops by rule (first failing rule)");
    let mut by_rule: Vec<Vec<String>> = new
        .rules
        .iter()
        .enumerate()
        .map(|(r, (_, rule, enabled))| {
            let flag = if *enabled { "" } else { " (disabled)" };
            change(format!("{}{flag}", rule.id), before.by_rule[r], after.by_rule[r])
        })
        .collect();
    let fixed = m.fixed_drop.iter().filter(|f| **f).count();
    if fixed > 0 {
        by_rule.push(change("(dropped by dedup, unchanged)".into(), fixed, fixed));
    }
    out.push_str(&table::plain(&[""], &by_rule, 2));
    let show =
        |title: &str, pick: &dyn Fn(usize) -> bool, rule_of: &dyn Fn(usize) -> Option<usize>, out: &mut String| {
            let idx: Vec<usize> = (0..n).filter(|&i| pick(i)).collect();
            let _ = writeln!(out, "\n{title}: {}", idx.len());
            for &i in idx.iter().take(examples) {
                let rule = rule_of(i).map_or(String::from("-"), |r| {
                    format!("{} = {}", new.rules[r].1.id, num(m.values[r][i]))
                });
                let origin = if m.ids[i] == m.origins[i] {
                    String::new()
                } else {
                    format!(" ({})", m.origins[i])
                };
                let _ = writeln!(out, "  {}{origin}: {rule}", m.ids[i]);
            }
        };
    show(
        "newly dropped",
        &|i| before.first[i].is_none() && after.first[i].is_some() && !m.fixed_drop[i],
        &|i| after.first[i],
        &mut out,
    );
    show(
        "newly kept",
        &|i| before.first[i].is_some() && after.first[i].is_none() && !m.fixed_drop[i],
        &|i| before.first[i],
        &mut out,
    );
    show(
        "dropped by another rule",
        &|i| before.first[i].is_some() && after.first[i].is_some() && before.first[i] != after.first[i],
        &|i| after.first[i],
        &mut out,
    );

    let mut unique = vec![0usize; new.rules.len()];
    let mut pairs: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for f in &sets_new {
        if f.len() == 1 {
            unique[f[0]] += 1;
        }
        for (a, x) in f.iter().enumerate() {
            for y in &f[a + 1..] {
                *pairs.entry((*x, *y)).or_default() += 1;
            }
        }
    }
    let _ = writeln!(out, "\ndrops unique to each rule (records no other rule would drop)");
    let unique: Vec<Vec<String>> = unique
        .iter()
        .enumerate()
        .filter(|(_, u)| **u > 0)
        .map(|(r, u)| vec![new.rules[r].1.id.clone(), u.to_string()])
        .collect();
    out.push_str(&table::plain(&[""], &unique, 2));
    let mut pairs: Vec<_> = pairs.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if !pairs.is_empty() {
        let _ = writeln!(out, "\noverlaps (records failing both rules)");
        for ((a, b), c) in pairs.iter().take(10) {
            let _ = writeln!(out, "  {} & {}: {c}", new.rules[*a].1.id, new.rules[*b].1.id);
        }
    }
    let _ = writeln!(
        out,
        "\nre-decided {n} records in {:.2} s (metrics loaded in {loaded:.2} s)",
        t0.elapsed().as_secs_f64()
    );
    Ok(out)
}

fn sweep_table(base: &Decider, m: &Metrics, spec: &str, out: &mut String) -> Result<()> {
    let bad = || Error::Usage(format!("--sweep {spec}: expected RULE[.min|.max]=FROM..TO:STEP"));
    let (lhs, range) = spec.rsplit_once('=').ok_or_else(bad)?;
    let (span, step) = range.split_once(':').ok_or_else(bad)?;
    let (from, to) = span.split_once("..").ok_or_else(bad)?;
    let p = |s: &str| s.trim().parse::<f64>().map_err(|_| bad());
    let (from, to, step) = (p(from)?, p(to)?, p(step)?);
    if step <= 0.0 || to < from || (to - from) / step > 10_000.0 {
        return Err(bad());
    }
    let key = if base.split_rule(lhs).is_ok() {
        lhs.to_string()
    } else {
        format!("{lhs}.threshold")
    };
    let (ri, _) = base.split_rule(&key)?;
    let _ = writeln!(
        out,
        "{:>12}{:>18}{:>12}{:>12}",
        key.rsplit('.').next().unwrap_or("value"),
        "dropped_by_rule",
        "rejected",
        "kept"
    );
    let steps = ((to - from) / step).round() as usize;
    for k in 0..=steps {
        let v = from + step * k as f64;
        let mut d = base.clone();
        d.set(&format!("{key}={v}"))?;
        let f = fates(&d, m, None);
        let _ = writeln!(
            out,
            "{:>12}{:>18}{:>12}{:>12}",
            num(v),
            f.by_rule[ri],
            m.ids.len() - f.kept,
            f.kept
        );
    }
    Ok(())
}
