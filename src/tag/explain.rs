//! Why a record got its task and tags: every cue that matched, where, and
//! what it weighed, and the runner-up tasks.
//!
//! A tag nobody can explain is a tag nobody can fix. The explanation lists
//! the same numbers the scorer summed, so editing a weight in
//! `rules/topics/` changes the explanation and the result in the same way.

use std::fmt;

use serde::Serialize;

use crate::record::Record;
use crate::stage::num;
use crate::tag::rules::TagKind;
use crate::tag::score::{Tagger, Tagging};

/// One cue that matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CueLine {
    /// The tag it counts for (`task:coding`, `domain:health`).
    pub tag: String,
    /// The cue (`keyword "python"`).
    pub cue: String,
    /// Where it was found.
    pub part: String,
    /// What it added.
    pub weight: f64,
}

/// A tag's total score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// The tag.
    pub tag: String,
    /// Its score.
    pub score: f64,
    /// The smallest score that adds it.
    pub min_score: f64,
}

/// Why a record got its task and tags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The record id.
    pub id: String,
    /// The primary task.
    pub task: String,
    /// Whether it is the fallback (no task rule scored enough).
    pub fallback: bool,
    /// Every tag given.
    pub tags: Vec<String>,
    /// Every tag rule that scored, highest first.
    pub scores: Vec<Score>,
    /// Every cue that matched, heaviest first.
    pub cues: Vec<CueLine>,
    /// Model predictions used: (classifier, label, probability, weight added).
    pub models: Vec<(String, String, f64, f64)>,
    /// Predictions of tag models that added no tag: (classifier, label,
    /// probability, why).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub untagged: Vec<(String, String, f64, String)>,
    /// Tag models whose tag came under their `min_probability`, because the
    /// keyword cues agreed (`cue_agreement_probability`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_cues: Vec<String>,
}

/// Explains a record with the built-in topic rules.
pub fn explain(rec: &Record) -> Explanation {
    match crate::tag::builtin() {
        Some(t) => explain_with(t, rec),
        // The built-in rules compile (a unit test proves it); this is unreachable in practice.
        None => Explanation {
            id: rec.id.clone(),
            task: "other".into(),
            fallback: true,
            tags: Vec::new(),
            scores: Vec::new(),
            cues: Vec::new(),
            models: Vec::new(),
            untagged: Vec::new(),
            by_cues: Vec::new(),
        },
    }
}

/// Explains a record with a given tagger.
pub fn explain_with(tagger: &Tagger, rec: &Record) -> Explanation {
    let t: Tagging = tagger.tag(rec);
    let r = tagger.rules();
    let mut scores: Vec<Score> = r
        .tags
        .iter()
        .enumerate()
        .filter(|(i, _)| t.scores[*i] != 0.0)
        .map(|(i, rule)| Score {
            tag: rule.tag.clone(),
            score: t.scores[i],
            min_score: if rule.kind == TagKind::Task {
                r.settings.task_min_score
            } else {
                rule.min_score
            },
        })
        .collect();
    scores.sort_by(|a, b| b.score.total_cmp(&a.score));
    let cues = t
        .hits
        .iter()
        .map(|h| {
            let c = &r.cues[h.cue];
            CueLine {
                tag: r.tags[c.tag].tag.clone(),
                cue: c.kind.describe(),
                part: h.part.as_str().into(),
                weight: h.weight,
            }
        })
        .collect();
    Explanation {
        id: rec.id.clone(),
        task: t.task,
        fallback: t.fallback,
        tags: t.tags,
        scores,
        cues,
        models: t
            .models
            .iter()
            .filter(|m| m.no_tag.is_none())
            .map(|m| (m.classifier.clone(), m.label.clone(), m.probability, m.weight))
            .collect(),
        untagged: t
            .models
            .iter()
            .filter_map(|m| {
                let why = m.no_tag?.to_string();
                Some((m.classifier.clone(), m.label.clone(), m.probability, why))
            })
            .collect(),
        by_cues: t
            .models
            .iter()
            .filter(|m| m.by_cues)
            .map(|m| m.classifier.clone())
            .collect(),
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "record {}", self.id)?;
        write!(f, "task: {}", self.task)?;
        if self.fallback {
            write!(f, " (fallback: no task rule reached its minimum score)")?;
        }
        writeln!(f)?;
        writeln!(f, "tags: {}", self.tags.join(", "))?;
        if !self.scores.is_empty() {
            writeln!(f, "scores:")?;
            for s in &self.scores {
                writeln!(f, "  {:<28} {:>7} (min {})", s.tag, num(s.score), num(s.min_score))?;
            }
        }
        if !self.cues.is_empty() {
            writeln!(f, "cues:")?;
            for c in &self.cues {
                let w = if c.weight >= 0.0 {
                    format!("+{}", num(c.weight))
                } else {
                    num(c.weight)
                };
                writeln!(f, "  {:<28} {w:>7}  {} in {}", c.tag, c.cue, c.part)?;
            }
        }
        for (name, label, p, w) in &self.models {
            writeln!(
                f,
                "model {name}: {label} (p = {}){}",
                num(*p),
                if *w != 0.0 {
                    format!(", adds {}", num(*w))
                } else if self.by_cues.contains(name) {
                    ", under min_probability; the keyword cues agree".to_string()
                } else {
                    String::new()
                }
            )?;
        }
        for (name, label, p, why) in &self.untagged {
            writeln!(f, "model {name}: {label} (p = {}), no tag: {why}", num(*p))?;
        }
        Ok(())
    }
}
