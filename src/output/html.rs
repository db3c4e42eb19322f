//! `report.html`: a self-contained page (inline SVG and CSS, no network, no
//! external scripts) with the funnel per stage, drops per rule, example
//! records of each rule's drops ([`crate::output::examples`]), histograms of
//! every rule's measurements with its thresholds marked, task and tag
//! distributions, duplicate cluster sizes, PII findings and per-file counts.
//!
//! The charts are drawn by `plotters` (its SVG backend: axes with ticks, a log
//! scale for values over two decades or more). A histogram that would show
//! fewer than two populated bins, or values of six distinct kinds or fewer,
//! is a sentence with the counts instead; values mostly at their minimum
//! are said, and the rest charted; thresholds beyond the axis are named.
//!
//! It is built from the report and the run's own tables (`metrics/`, `kept/`,
//! `dedup/clusters.parquet`), so `curate report OUT` can rebuild it at any time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use arrow::array::{Array, ListArray, StringArray};

use crate::error::Result;
use crate::output::charts::{bars, histogram};
use crate::output::read_back::{for_each_batch, str_col};
use crate::output::Report;
use crate::stage::num;

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The colour of a chart's bars, `#rrggbb`.
fn counts_of_list(dir: &Path, column: &str) -> Result<BTreeMap<String, u64>> {
    let mut m: BTreeMap<String, u64> = BTreeMap::new();
    for_each_batch(dir, Some(&[column]), |b| {
        let Some(col) = b.column_by_name(column) else {
            return;
        };
        if let Some(list) = col.as_any().downcast_ref::<ListArray>() {
            if let Some(v) = list.values().as_any().downcast_ref::<StringArray>() {
                for i in 0..v.len() {
                    *m.entry(v.value(i).to_string()).or_default() += 1;
                }
            }
        } else if let Some(s) = col.as_any().downcast_ref::<StringArray>() {
            for i in 0..s.len() {
                if !s.is_null(i) {
                    *m.entry(s.value(i).to_string()).or_default() += 1;
                }
            }
        }
    })?;
    Ok(m)
}

/// At most this many values per rule feed a histogram: a deterministic
/// stride sample beyond that, so the page costs bounded memory.
const HISTOGRAM_SAMPLE: u64 = 200_000;

fn top(m: BTreeMap<String, u64>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// Each rule's `description` from the run's rules snapshot (`OUT/rules/<stage>/*.toml`),
/// by rule id: what it is for and, where measured, its precision.
fn rule_descriptions(out: &Path) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let Ok(stages) = std::fs::read_dir(out.join("rules")) else {
        return m;
    };
    let mut stages: Vec<_> = stages.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    stages.sort();
    for dir in stages {
        let stage = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Ok(files) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<_> = files
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for f in files {
            let Ok(t) = std::fs::read_to_string(&f).map(|t| toml::from_str::<toml::Table>(&t)) else {
                continue;
            };
            for (name, v) in t.into_iter().flatten() {
                if let Some(d) = v.get("description").and_then(toml::Value::as_str) {
                    m.insert(format!("{stage}/{name}"), d.to_string());
                }
            }
        }
    }
    m
}

/// Every rule of the run: what it dropped here and how often its drops were
/// right on the judged development set (`rules/measured.json` of the run's
/// rules snapshot), when the run's rule is the measured one.
fn rules_section(out: &Path, report: &Report) -> String {
    use crate::rules::measured::{fingerprints, standing, Measured, Standing};
    let files = crate::rules::RuleFiles::from_dir(&out.join("rules")).ok();
    let measured = files.as_ref().and_then(Measured::of);
    let prints = files.as_ref().map(fingerprints).unwrap_or_default();
    let pairs = files.as_ref().and_then(crate::rules::measured::PairsMeasured::of);
    let mut h = String::from("<h2>Rules</h2>");
    if let Some(m) = &measured {
        let _ = write!(
            h,
            "<p class=\"muted\">judged: of the records of {} ({} records labelled keep or drop by reading) that the rule would drop, how many a curator drops</p>",
            esc(&m.set),
            m.records
        );
    }
    h.push_str("<table><tr><th>rule</th><th>threshold</th><th>dropped here</th><th>failed here</th><th>judged</th><th>en</th><th>zh</th></tr>");
    let frac = |p: [usize; 2]| {
        if p[1] == 0 {
            "-".to_string()
        } else {
            format!("{}/{}", p[0], p[1])
        }
    };
    for s in &report.stages {
        for r in &s.rules {
            let dropped = s.dropped_per_rule.get(&r.id).copied().unwrap_or(0);
            let failed = s.failed_per_rule.get(&r.id).copied().unwrap_or(0);
            let pair_figure = pairs
                .as_ref()
                .zip(files.as_ref())
                .and_then(|(p, f)| p.standing(f, &r.id));
            let (judged, en, zh) = match (pair_figure, standing(measured.as_ref(), &prints, &r.id)) {
                (Some(Ok(f)), _) => (
                    format!(
                        "{} ({}/{} judged pairs{})",
                        if f.called == 0 {
                            "-".to_string()
                        } else {
                            format!("{:.3}", f.right as f64 / f.called as f64)
                        },
                        f.right,
                        f.called,
                        f.set.rsplit('/').nth(1).map(|d| format!(", {d}")).unwrap_or_default()
                    ),
                    "-".into(),
                    "-".into(),
                ),
                (Some(Err(())), _) => ("changed since measured".to_string(), String::new(), String::new()),
                (None, standing) => match standing {
                    Standing::Measured(f) if f.drops == 0 => ("no drop on the set".to_string(), "-".into(), "-".into()),
                    Standing::Measured(f) => (
                        format!("{:.3} ({}/{})", f.right as f64 / f.drops as f64, f.right, f.drops),
                        frac(f.en),
                        frac(f.zh),
                    ),
                    Standing::Changed => ("changed since measured".to_string(), String::new(), String::new()),
                    Standing::Unmeasured => ("not measured".to_string(), String::new(), String::new()),
                },
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{dropped}</td><td>{failed}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.id),
                esc(&r.threshold),
                esc(&judged),
                esc(&en),
                esc(&zh)
            );
        }
    }
    h.push_str("</table>");
    h
}

/// Records each rule dropped (nearest its threshold, and the most extreme)
/// and the kept records nearest its threshold.
fn examples_section(out: &Path, report: &Report) -> Result<String> {
    let bounds: Vec<(String, Option<f64>, Option<f64>)> = report
        .stages
        .iter()
        .flat_map(|s| s.rules.iter())
        .filter(|r| r.min.is_some() || r.max.is_some())
        .map(|r| (r.id.clone(), r.min, r.max))
        .collect();
    let by_rule = crate::output::examples::gather(out)?;
    // A duplicate is shown beside the kept record it duplicates: those are
    // looked up in the same read of `kept/` as the kept examples.
    let survivors: std::collections::BTreeSet<&str> = by_rule
        .values()
        .flat_map(|r| r.nearest.iter().chain(&r.extreme))
        .filter_map(|e| e.duplicate_of.as_deref())
        .collect();
    let (kept, survivors) = crate::output::examples::gather_kept(out, &bounds, &survivors)?;
    let mut h = String::from(
        "<h2>Examples</h2><p class=\"muted\">Per rule, the dropped records whose value lies nearest its threshold (a looser threshold keeps these first), the most extreme drop, and the kept records nearest the threshold (a stricter one drops these first); the text is cut and shown as written.</p>",
    );
    if by_rule.is_empty() && kept.is_empty() {
        h.push_str("<p>no examples</p>");
        return Ok(h);
    }
    let row = |h: &mut String, tag: &str, e: &crate::output::examples::Example| {
        let _ = write!(
            h,
            "<tr><td class=\"ex\">{}<br><span class=\"muted\">{}</span></td><td>{}</td><td class=\"ex\">{}</td><td class=\"ex\"><b>request</b> {}<br><b>answer</b> {}</td></tr>",
            esc(&e.key),
            tag,
            e.value.map_or("-".to_string(), num),
            esc(&e.reason),
            esc(&e.request),
            esc(&e.answer)
        );
    };
    let pair = |h: &mut String, tag: &str, e: &crate::output::examples::Example| {
        row(h, tag, e);
        if let Some(s) = e.duplicate_of.as_deref().and_then(|k| survivors.get(k)) {
            let _ = write!(
                h,
                "<tr><td class=\"ex\">{}<br><span class=\"muted\">kept: the record it duplicates</span></td><td></td><td></td><td class=\"ex\"><b>request</b> {}<br><b>answer</b> {}</td></tr>",
                esc(&s.key),
                esc(&s.request),
                esc(&s.answer)
            );
        }
    };
    let rules: std::collections::BTreeSet<&String> = by_rule.keys().chain(kept.keys()).collect();
    let descriptions = rule_descriptions(out);
    for rule in rules {
        let _ = write!(h, "<h3>{}</h3>", esc(rule));
        if let Some(d) = descriptions.get(rule.as_str()) {
            let _ = write!(h, "<p class=\"muted\">{}</p>", esc(d));
        }
        h.push_str("<table><tr><th>record</th><th>value</th><th>reason</th><th>text</th></tr>");
        if let Some(ex) = by_rule.get(rule) {
            for e in &ex.nearest {
                pair(&mut h, "dropped, nearest the threshold", e);
            }
            if let Some(e) = &ex.extreme {
                pair(&mut h, "dropped, most extreme", e);
            }
        }
        for e in kept.get(rule).into_iter().flatten() {
            row(&mut h, "kept, nearest the threshold", e);
        }
        h.push_str("</table>");
    }
    Ok(h)
}

/// Builds the page for the run in `out`.
pub fn render(out: &Path, report: &Report) -> Result<String> {
    let t = &report.totals;
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>curate report</title><style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}}
h1{{font-size:22px}}h2{{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}}
table{{border-collapse:collapse}}td,th{{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}}
td:first-child,th:first-child{{text-align:left}}svg text{{font-size:12px;fill:#333}}.muted{{color:#777}}.warning{{color:#8a4b00;background:#fff4e0;padding:4px 8px}}td.ex{{text-align:left;vertical-align:top;max-width:420px;white-space:pre-wrap;word-break:break-word;font-size:12px}}
</style></head><body>
<h1>curate report</h1><p class="muted">curate {} · rules {} ({}) · {} threads · {:.1} s · {} input bytes</p>"#,
        esc(&report.curate_version),
        esc(&report.rules_hash),
        esc(&report.rules_origin),
        report.threads,
        report.seconds,
        report.input_bytes
    );
    for w in &report.warnings {
        let _ = write!(h, "<p class=\"warning\">warning: {}</p>", esc(w));
    }

    h.push_str("<h2>Funnel</h2>");
    let mut funnel = vec![
        ("input".to_string(), t.input),
        ("readable".to_string(), t.input - t.malformed),
    ];
    for s in &report.stages {
        funnel.push((format!("after {}", s.name), s.kept));
    }
    funnel.push(("kept".into(), t.kept));
    h.push_str(&bars(&funnel, "#59a14f"));
    let _ = write!(
        h,
        "<table><tr><th></th><th>records</th></tr><tr><td>input</td><td>{}</td></tr><tr><td>kept</td><td>{}</td></tr><tr><td>rejected</td><td>{}</td></tr><tr><td>malformed</td><td>{}</td></tr></table>",
        t.input, t.kept, t.rejected, t.malformed
    );

    h.push_str("<h2>Drops per rule</h2>");
    let drops: Vec<(String, u64)> = report
        .stages
        .iter()
        .flat_map(|s| s.dropped_per_rule.iter().map(|(r, n)| (r.clone(), *n)))
        .chain(report.malformed_by_error.iter().map(|(r, n)| (r.clone(), *n)))
        .filter(|r| r.1 > 0)
        .collect();
    if drops.is_empty() {
        h.push_str("<p>nothing dropped</p>");
    } else {
        h.push_str(&bars(&top(drops.into_iter().collect(), 40), "#e15759"));
    }

    h.push_str(&rules_section(out, report));
    // The examples and the sections after them read the output shards
    // apart: side by side, on the pool of the caller.
    let (examples, rest) = rayon::join(|| examples_section(out, report), || later_sections(out, report));
    h.push_str(&examples?);
    h.push_str(&rest?);
    Ok(h)
}

/// The measurements, tags, languages, mix, clusters, PII, model calls and
/// input files sections.
fn later_sections(out: &Path, report: &Report) -> Result<String> {
    let mut h = String::new();
    h.push_str("<h2>Measurements</h2><p class=\"muted\">Every rule's measured value over the records it measured; red lines are thresholds.</p>");
    let rule_ids: Vec<&str> = report
        .stages
        .iter()
        .flat_map(|s| s.rules.iter().map(|r| r.id.as_str()))
        .collect();
    let rows = report.totals.input.max(1);
    let stride = rows.div_ceil(HISTOGRAM_SAMPLE).max(1);
    let mut samples: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut row = 0u64;
    let columns: Vec<String> = rule_ids
        .iter()
        .map(|id| crate::output::metrics::metric_column(id))
        .collect();
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    for_each_batch(&out.join("metrics"), Some(&columns), |b| {
        for id in &rule_ids {
            if let Some(c) = crate::output::metrics::rule_values(b, id) {
                let v = samples.entry(id).or_default();
                v.extend(
                    (0..c.len())
                        .filter(|i| (row + *i as u64).is_multiple_of(stride) && !c.is_null(*i))
                        .map(|i| c.value(i)),
                );
            }
        }
        row += b.num_rows() as u64;
    })?;
    for s in &report.stages {
        for rule in &s.rules {
            let values = samples.remove(rule.id.as_str()).unwrap_or_default();
            if values.is_empty() {
                continue;
            }
            let marks: Vec<(String, f64)> = rule
                .threshold
                .split(['<', '=', '>', ';', ':', ' '])
                .filter_map(|p| p.trim().parse::<f64>().ok())
                .map(|v| (format!("{} threshold {}", rule.id, num(v)), v))
                .collect();
            let _ = write!(
                h,
                "<h3>{} <span class=\"muted\">({})</span></h3>",
                esc(&rule.id),
                esc(&rule.threshold)
            );
            h.push_str(&histogram(&values, &marks));
        }
    }

    let tasks = counts_of_list(&out.join("kept"), "task")?;
    let tags = counts_of_list(&out.join("kept"), "tags")?;
    h.push_str("<h2>Tasks and tags of kept records</h2>");
    if tasks.is_empty() && tags.is_empty() {
        h.push_str("<p>no tags (the tag stage did not run)</p>");
    } else {
        h.push_str(&bars(&top(tasks, 20), "#76b7b2"));
        h.push_str(&bars(&top(tags, 30), "#b07aa1"));
    }

    if let Some(d) = report.diversity.as_ref().filter(|d| !d.per_language.is_empty()) {
        let _ = write!(
            h,
            "<h2>Languages</h2><p class=\"muted\">Of the {}: records per language, and each language's three largest tasks.</p>",
            esc(&d.of)
        );
        let mut langs: Vec<(String, u64)> = d.per_language.iter().map(|(l, x)| (l.clone(), x.records)).collect();
        langs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        h.push_str(&bars(&langs, "#9c755f"));
        h.push_str("<table><tr><th>language</th><th>records</th><th>largest tasks</th><th>task evenness</th></tr>");
        for (lang, n) in &langs {
            let x = &d.per_language[lang];
            let mut tasks: Vec<(&String, &crate::output::diversity::Share)> = x.tasks.iter().collect();
            tasks.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
            let top: Vec<String> = tasks
                .iter()
                .take(3)
                .map(|(t, s)| format!("{} {:.0}%", esc(t), 100.0 * s.share))
                .collect();
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{n}</td><td>{}</td><td>{}</td></tr>",
                esc(lang),
                top.join(", "),
                num(x.task_evenness)
            );
        }
        h.push_str("</table>");
    }

    if let Some(m) = &report.mix {
        h.push_str("<h2>Mix: target against achieved</h2>");
        let _ = write!(
            h,
            "<p class=\"muted\">by {}, seed {}, total {} ({}), {} dropped</p>",
            esc(&m.by),
            m.seed,
            m.total,
            if m.total_from_rules {
                "from the rules"
            } else {
                "the largest every group can fill"
            },
            m.dropped
        );
        h.push_str("<table><tr><th>group</th><th>available</th><th>target share</th><th>target</th><th>achieved</th><th>achieved share</th></tr>");
        for g in &m.groups {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{:.3}</td></tr>",
                esc(&g.name),
                g.available,
                g.target_share,
                g.target_count,
                g.achieved_count,
                g.achieved_share
            );
        }
        h.push_str("</table>");
    }

    h.push_str("<h2>Duplicate clusters</h2>");
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    for_each_batch(&out.join("dedup"), Some(&["cluster_id"]), |b| {
        if let Some(c) = str_col(b, "cluster_id") {
            for i in 0..c.len() {
                *sizes.entry(c.value(i).to_string()).or_default() += 1;
            }
        }
        if let Some(c) = b
            .column_by_name("cluster_id")
            .and_then(|c| c.as_any().downcast_ref::<arrow::array::UInt64Array>())
        {
            for i in 0..c.len() {
                *sizes.entry(c.value(i).to_string()).or_default() += 1;
            }
        }
    })?;
    if sizes.is_empty() {
        h.push_str("<p>no duplicate clusters</p>");
    } else {
        let mut by_size: BTreeMap<u64, u64> = BTreeMap::new();
        for n in sizes.values() {
            *by_size.entry(*n).or_default() += 1;
        }
        let rows: Vec<(String, u64)> = by_size.into_iter().map(|(k, v)| (format!("{k} records"), v)).collect();
        h.push_str(&bars(&rows, "#f28e2b"));
    }

    h.push_str("<h2>Personal information found</h2>");
    let pii: Vec<(String, u64)> = report
        .stages
        .iter()
        .flat_map(|s| s.counts.iter())
        .filter(|(k, _)| k.starts_with("pii/"))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    if pii.is_empty() {
        h.push_str("<p>none found (or the sensitive stage did not run)</p>");
    } else {
        h.push_str(&bars(&pii, "#edc948"));
    }

    if let Some(st) = report.stages.iter().find(|s| s.name == crate::llm::STAGE) {
        h.push_str("<h2>Model calls</h2><table><tr><th>what</th><th>count</th></tr>");
        for (k, v) in &st.counts {
            let shown = match k.as_str() {
                "cost-micro-usd" => format!("${:.2}", *v as f64 / 1e6),
                _ => v.to_string(),
            };
            let name = if k == "cost-micro-usd" {
                "estimated cost"
            } else {
                k.as_str()
            };
            h.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>", esc(name), esc(&shown)));
        }
        h.push_str("</table>");
    }

    h.push_str("<h2>Input files</h2><table><tr><th>file</th><th>input</th><th>kept</th><th>rejected</th><th>malformed</th><th>shapes</th></tr>");
    for f in &report.files {
        let shapes: Vec<String> = f.formats.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.path),
            f.counts.input,
            f.counts.kept,
            f.counts.rejected,
            f.counts.malformed,
            esc(&shapes.join(", "))
        );
    }
    h.push_str("</table>");
    // A check a browser test can read: every chart rendered with a size.
    h.push_str(
        "<script>document.addEventListener('DOMContentLoaded',function(){var c=document.querySelectorAll('svg.chart'),ok=0;\
         c.forEach(function(s){var r=s.getBoundingClientRect();if(r.width>0&&r.height>0)ok++;});\
         document.body.setAttribute('data-charts',c.length);document.body.setAttribute('data-charts-rendered',ok);});</script>",
    );
    h.push_str("</body></html>\n");
    Ok(h)
}

/// Writes `OUT/report.html`.
pub fn write(out: &Path, report: &Report) -> Result<()> {
    let html = render(out, report)?;
    crate::output::run_folder::write_atomic(&out.join("report.html"), html.as_bytes())
}
