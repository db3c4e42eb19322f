//! `curate eval-pairs`: how the dedup stage decides on pairs of records that
//! a person labelled duplicate or distinct by reading
//! (`fixtures/judged_pairs/`).
//!
//! Each pair names two corpus lines as the judged records do (source, line
//! and the first 16 hex digits of the line's SHA-256). Both records go
//! through the per-record stages of the rules (repair changes the text dedup
//! sees), then the dedup settings compare them as a verified candidate pair:
//! the pair is called a duplicate when their exact keys are equal
//! (`dedup/exact`) or `[near]` calls them near-duplicates (`dedup/near`,
//! [`crate::dedup::similarity`]). LSH, which decides which pairs are compared at all, is
//! left out: `examples/near_accuracy.rs` measures it against all pairs.
//! - **precision**: of the pairs called duplicates, the share labelled
//!   `duplicate`;
//! - **recall**: of the pairs labelled `duplicate`, the share called so.
//!
//! The pairs were drawn per corpus and similarity band, so the plain figures
//! give every stratum the same say; the `weighted` row counts each pair as
//! the candidate pairs of the draw's run it stands for (`weight`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use crate::audit::judged::CorpusLines;
use crate::dedup::{decontam, Engine, PairScore};
use crate::error::{Error, Result};
use crate::ruleset::Rules;

/// One corpus line of a pair.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// Path of the corpus file, relative to the corpora folder.
    pub source: String,
    /// 1-based line in that file.
    pub line: usize,
    /// First 16 hex digits of the SHA-256 of the line.
    pub sha: String,
}

/// One labelled pair.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    /// Number in the draw.
    pub pair: usize,
    /// The record that came first in input order.
    pub a: Line,
    /// The other.
    pub b: Line,
    /// `duplicate` or `distinct`.
    pub label: String,
    /// The guideline's category (`copy`, `reworded`, `other-question`, ...).
    pub category: String,
    /// One sentence, in the labeller's words.
    pub reason: String,
    /// How the pair was drawn (`<corpus> <similarity band>`); not shown to
    /// whoever labelled it.
    #[serde(default)]
    pub stratum: String,
    /// Candidate pairs of the draw's run that this pair stands for (its
    /// stratum's pairs per pair drawn); 1 when absent.
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

impl Pair {
    /// Labelled `duplicate`.
    pub fn is_duplicate(&self) -> bool {
        self.label == "duplicate"
    }

    /// The corpus (or benchmark file) the pair was drawn from.
    pub fn corpus(&self) -> &str {
        self.stratum.split(' ').next().unwrap_or("")
    }
}

/// A labelled pair and how the stage compares it.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The pair.
    pub pair: Pair,
    /// The comparison; `None` when a record is malformed or has no text.
    pub score: Option<PairScore>,
    /// Called a duplicate.
    pub called: bool,
    /// Cosine similarities of the two records' sentence embeddings (whole,
    /// request, answer), when an encoder was given; the whole is the text
    /// `dedup/semantic` embeds.
    pub semantic: Option<[f32; 3]>,
    /// Whether the two records are of the same language.
    pub same_language: bool,
}

/// A record's dedup text (what `dedup/semantic` embeds), its request (every
/// turn but the answer's) and its answer (the assistant's turns and tool
/// calls).
fn parts_text(engine: &Engine, rec: &crate::record::Record) -> [String; 3] {
    use crate::record::Role;
    let (mut request, mut answer) = (Vec::new(), Vec::new());
    for t in &rec.turns {
        match t.role {
            Role::Assistant | Role::FunctionCall => answer.push(t.content.as_str()),
            _ => request.push(t.content.as_str()),
        }
    }
    let (request, answer) = (request.join("\n"), answer.join("\n"));
    [engine.semantic_text(rec), request, answer]
}

/// The figure `--write` records: of `dedup/near` (pairs exact or near dedup
/// calls duplicates) or, with `semantic`, of `dedup/semantic` at the rules'
/// threshold (same-language pairs only unless `cross-language`).
pub fn figure(scored: &[Scored], rules: &Rules, semantic: bool, set: &str) -> crate::rules::measured::PairFigure {
    let sc = rules.dedup.as_ref().map(|d| d.semantic.clone()).unwrap_or_default();
    let called = |s: &Scored| {
        if semantic {
            s.semantic.is_some_and(|x| f64::from(x[0]) >= sc.threshold) && (sc.cross_language || s.same_language)
        } else {
            s.called
        }
    };
    crate::rules::measured::PairFigure {
        set: set.to_string(),
        fingerprint: crate::rules::measured::dedup_fingerprint(&rules.files).unwrap_or_default(),
        pairs: scored.len(),
        duplicates: scored.iter().filter(|s| s.pair.is_duplicate()).count(),
        called: scored.iter().filter(|s| called(s)).count(),
        right: scored.iter().filter(|s| called(s) && s.pair.is_duplicate()).count(),
    }
}

/// Reads the pairs file (JSON Lines).
pub fn read_pairs(path: &Path) -> Result<Vec<Pair>> {
    crate::audit::judged::read_labelled(path, |p: &Pair| &p.label, &["duplicate", "distinct"])
}

/// Compares every pair under `rules` (their per-record stages, then their
/// dedup settings), reading the records from the corpus files under
/// `corpora`.
pub fn evaluate(
    rules: &Rules,
    pairs: Vec<Pair>,
    corpora: &Path,
    encoder: Option<&crate::embed::Encoder>,
) -> Result<Vec<Scored>> {
    let Some(cfg) = rules.dedup.clone() else {
        return Err(Error::Usage("the rules have no dedup.toml".into()));
    };
    let engine = Engine::new(cfg, decontam::Index::default());
    let mut corpus = CorpusLines::new(corpora);
    let mut out = Vec::with_capacity(pairs.len());
    for pair in pairs {
        let mut recs = Vec::with_capacity(2);
        for l in [&pair.a, &pair.b] {
            if let Some(mut rec) = corpus.record(rules, &l.source, l.line, &l.sha)? {
                for stage in rules.record_stages.iter().filter(|s| !s.opt_in()) {
                    stage.process(&mut rec);
                }
                recs.push(rec);
            }
        }
        let score = (recs.len() == 2).then(|| engine.compare(&recs[0], &recs[1]));
        let called = score.is_some_and(|s| s.exact || s.near.is_some());
        let same_language = match &recs[..] {
            [a, b] => a.lang == b.lang,
            _ => false,
        };
        let semantic = match (encoder, &recs[..]) {
            (Some(enc), [a, b]) => {
                let (a, b) = (parts_text(&engine, a), parts_text(&engine, b));
                let texts: Vec<&str> = a.iter().chain(&b).map(String::as_str).collect();
                let v = enc.encode_batch(&texts);
                Some([0, 1, 2].map(|i| crate::embed::cosine(&v[i], &v[i + 3])))
            }
            _ => None,
        };
        out.push(Scored {
            pair,
            score,
            called,
            semantic,
            same_language,
        });
    }
    Ok(out)
}

fn ratio(a: usize, b: usize) -> String {
    if b == 0 {
        "-".into()
    } else {
        format!("{:.3}", a as f64 / b as f64)
    }
}

/// Counts of one slice: (pairs, labelled duplicate, called duplicate,
/// called and labelled duplicate).
fn counts<'a>(pairs: impl Iterator<Item = &'a Scored>) -> (usize, usize, usize, usize) {
    let mut c = (0, 0, 0, 0);
    for s in pairs {
        c.0 += 1;
        c.1 += usize::from(s.pair.is_duplicate());
        c.2 += usize::from(s.called);
        c.3 += usize::from(s.called && s.pair.is_duplicate());
    }
    c
}

/// The report `curate eval-pairs` prints: precision and recall overall and
/// per corpus, the share called duplicate per category; with `errors`,
/// every pair the stage and the label disagree on; with `scores`, every
/// pair's similarities.
pub fn summary(scored: &[Scored], errors: bool, scores: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<42} {:>5} {:>9} {:>6} {:>9} {:>6}",
        "pairs", "count", "duplicate", "called", "precision", "recall"
    );
    let mut corpora: BTreeMap<&str, Vec<&Scored>> = BTreeMap::new();
    for s in scored {
        corpora.entry(s.pair.corpus()).or_default().push(s);
    }
    let rows = std::iter::once(("all", scored.iter().collect::<Vec<_>>())).chain(corpora);
    let (mut wd, mut wc, mut wr) = (0.0, 0.0, 0.0);
    for s in scored {
        let w = s.pair.weight;
        wd += w * f64::from(u8::from(s.pair.is_duplicate()));
        wc += w * f64::from(u8::from(s.called));
        wr += w * f64::from(u8::from(s.called && s.pair.is_duplicate()));
    }
    let wratio = |a: f64, b: f64| if b > 0.0 { format!("{:.3}", a / b) } else { "-".into() };
    for (name, ps) in rows {
        let (n, dup, called, right) = counts(ps.into_iter());
        let _ = writeln!(
            out,
            "{:<42} {:>5} {:>9} {:>6} {:>9} {:>6}",
            name,
            n,
            dup,
            called,
            ratio(right, called),
            ratio(right, dup)
        );
        if name == "all" {
            let _ = writeln!(
                out,
                "{:<42} {:>5.0} {:>9.0} {:>6.0} {:>9} {:>6}",
                "all, weighted to the run's candidates",
                scored.iter().map(|s| s.pair.weight).sum::<f64>(),
                wd,
                wc,
                wratio(wr, wc),
                wratio(wr, wd)
            );
        }
    }
    let mut cats: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    for s in scored {
        let e = cats.entry((&s.pair.label, &s.pair.category)).or_default();
        e.0 += 1;
        e.1 += usize::from(s.called);
    }
    let _ = writeln!(out, "\ncalled duplicate, per category:");
    for ((label, cat), (n, called)) in cats {
        let _ = writeln!(out, "  {label:<9} {cat:<15} {called:>4} of {n:>4}");
    }
    let fmt = |s: &Scored| match s.score {
        Some(x) => format!(
            "{}whole {:.3} request {:.3} answer {:.3}",
            if x.exact { "exact, " } else { "" },
            x.whole,
            x.request,
            x.answer
        ),
        None => "no text".into(),
    };
    if errors {
        let _ = writeln!(out, "\npairs the stage and the label disagree on:");
        for s in scored.iter().filter(|s| s.called != s.pair.is_duplicate()) {
            let _ = writeln!(
                out,
                "  #{} {} {}:{} ~ {}:{} ({}; {}): {}",
                s.pair.pair,
                s.pair.label,
                s.pair.a.source,
                s.pair.a.line,
                s.pair.b.source,
                s.pair.b.line,
                s.pair.category,
                fmt(s),
                s.pair.reason
            );
        }
    }
    if scored.iter().any(|s| s.semantic.is_some()) {
        let _ = writeln!(
            out,
            "\nsentence-embedding similarity (cosine) at threshold t: precision / recall of"
        );
        let _ = writeln!(
            out,
            "{:>5}  {:>15}  {:>15}  {:>15}  {:>15}  {:>22}  {:>14}",
            "t", "whole", "request+answer", "dedup or whole", "dedup or parts", "same language: whole", "(weighted P)"
        );
        let pr = |f: &dyn Fn(&Scored) -> bool| {
            let called: Vec<&Scored> = scored.iter().filter(|s| f(s)).collect();
            let right = called.iter().filter(|s| s.pair.is_duplicate()).count();
            let dup = scored.iter().filter(|s| s.pair.is_duplicate()).count();
            format!("{} / {}", ratio(right, called.len()), ratio(right, dup))
        };
        let weighted = |f: &dyn Fn(&Scored) -> bool| {
            let called: Vec<&Scored> = scored.iter().filter(|s| f(s)).collect();
            let w: f64 = called.iter().map(|s| s.pair.weight).sum();
            let wd: f64 = called
                .iter()
                .filter(|s| s.pair.is_duplicate())
                .map(|s| s.pair.weight)
                .sum();
            if w > 0.0 {
                format!("{:.3}", wd / w)
            } else {
                "-".into()
            }
        };
        for t in [0.80f32, 0.84, 0.88, 0.90, 0.92, 0.94, 0.96, 0.97, 0.98, 0.99] {
            let whole = |s: &Scored| s.semantic.is_some_and(|x| x[0] >= t);
            // Both parts alike; a part empty in both records counts as alike.
            let parts = |s: &Scored| {
                s.semantic
                    .is_some_and(|x| x[1].min(if x[2].is_nan() { 1.0 } else { x[2] }) >= t)
            };
            let same = |s: &Scored| s.same_language && whole(s);
            let _ = writeln!(
                out,
                "{t:>5.2}  {:>15}  {:>15}  {:>15}  {:>15}  {:>22}  {:>14}",
                pr(&whole),
                pr(&parts),
                pr(&|s| s.called || whole(s)),
                pr(&|s| s.called || parts(s)),
                pr(&same),
                weighted(&same)
            );
        }
    }
    if scores {
        let _ = writeln!(
            out,
            "\npair\tlabel\tcategory\tcorpus\tweight\texact\twhole\trequest\tanswer\tcalled\tshort{}",
            if scored.iter().any(|s| s.semantic.is_some()) {
                "\tcosine_whole\tcosine_request\tcosine_answer"
            } else {
                ""
            }
        );
        for s in scored {
            let (e, w, r, a) = s
                .score
                .map_or((false, 0.0, 0.0, 0.0), |x| (x.exact, x.whole, x.request, x.answer));
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{w:.4}\t{r:.4}\t{a:.4}\t{}\t{:?}{}",
                s.pair.pair,
                s.pair.label,
                s.pair.category,
                s.pair.corpus(),
                s.pair.weight,
                e,
                s.called,
                s.score.map(|x| x.short),
                s.semantic
                    .map(|c| format!("\t{:.4}\t{:.4}\t{:.4}", c[0], c[1], c[2]))
                    .unwrap_or_default()
            );
        }
    }
    out
}
