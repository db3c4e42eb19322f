//! Line-level boilerplate (opt-in, `[lines]` in `dedup.toml`): lines repeated
//! across many records, such as a fixed sign-off or a template header.
//!
//! Each line of a record's messages (trimmed, whitespace collapsed, at least
//! `min-chars` characters) is hashed; a line counts once per record. The
//! writer keeps one counter per distinct line (12 bytes) and the text of a line
//! once it reaches `min-records`. The lines seen in at least `min-records`
//! records are written, most frequent first, to `OUT/dedup/boilerplate.json`
//! (at most `top`). This step only reports: records are not changed.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::record::Record;

/// Settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LinesConfig {
    /// Whether the step runs.
    pub enabled: bool,
    /// A line is boilerplate when this many records contain it.
    pub min_records: u32,
    /// Shorter lines are ignored.
    pub min_chars: usize,
    /// At most this many lines are reported.
    pub top: usize,
}

impl Default for LinesConfig {
    fn default() -> Self {
        LinesConfig {
            enabled: false,
            min_records: 20,
            min_chars: 20,
            top: 50,
        }
    }
}

/// One reported line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// The line (whitespace collapsed).
    pub text: String,
    /// Records containing it.
    pub records: u32,
}

/// Counts lines across records.
#[derive(Debug, Default)]
pub struct LineCounter {
    cfg: LinesConfig,
    counts: HashMap<u64, u32>,
    texts: HashMap<u64, String>,
    /// Keep every line's text (a task of a distributed run, whose counts
    /// are merged with other tasks' before the threshold applies).
    keep_all: bool,
}

/// A [`LineCounter`]'s counts, to merge across tasks (sorted by hash).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct LineCounts {
    /// Records per line hash.
    pub counts: Vec<(u64, u32)>,
    /// Text per line hash.
    pub texts: Vec<(u64, String)>,
}

fn collapse(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl LineCounter {
    /// A counter for `cfg`.
    pub fn new(cfg: LinesConfig) -> Self {
        LineCounter {
            cfg,
            ..Default::default()
        }
    }

    /// A counter for one task of a distributed run: it keeps every line's
    /// text, since only the merged counts can say which lines are frequent.
    pub fn for_task(cfg: LinesConfig) -> Self {
        LineCounter {
            cfg,
            keep_all: true,
            ..Default::default()
        }
    }

    /// The counts, for merging.
    pub fn counts(&self) -> LineCounts {
        let mut counts: Vec<(u64, u32)> = self.counts.iter().map(|(h, c)| (*h, *c)).collect();
        counts.sort_unstable();
        let mut texts: Vec<(u64, String)> = self.texts.iter().map(|(h, t)| (*h, t.clone())).collect();
        texts.sort_unstable();
        LineCounts { counts, texts }
    }

    /// Adds another task's counts.
    pub fn absorb(&mut self, other: LineCounts) {
        for (h, c) in other.counts {
            *self.counts.entry(h).or_default() += c;
        }
        for (h, t) in other.texts {
            self.texts.entry(h).or_insert(t);
        }
    }

    /// Counts the lines of one record.
    pub fn add(&mut self, rec: &Record) {
        let mut seen = HashSet::new();
        for (_, text) in rec.messages() {
            for line in text.lines() {
                let line = line.trim();
                if line.chars().count() < self.cfg.min_chars {
                    continue;
                }
                let norm = collapse(line);
                let h = xxhash_rust::xxh3::xxh3_64(norm.as_bytes());
                if !seen.insert(h) {
                    continue;
                }
                let c = self.counts.entry(h).or_default();
                *c += 1;
                if *c == self.cfg.min_records.max(1) || (self.keep_all && *c == 1) {
                    self.texts.insert(h, norm);
                }
            }
        }
    }

    /// The most frequent lines, most frequent first (ties by text).
    pub fn report(&self) -> Vec<Line> {
        let mut out: Vec<Line> = self
            .texts
            .iter()
            .map(|(h, t)| Line {
                text: t.clone(),
                records: self.counts.get(h).copied().unwrap_or(0),
            })
            .filter(|l| l.records >= self.cfg.min_records.max(1))
            .collect();
        out.sort_by(|a, b| b.records.cmp(&a.records).then_with(|| a.text.cmp(&b.text)));
        out.truncate(self.cfg.top);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Origin, Role, Shape, Turn};

    fn rec(a: &str) -> Record {
        Record {
            id: "x".into(),
            user_id: false,
            origin: Origin { file: 0, line: 1 },
            shape: Shape::Alpaca,
            system: None,
            turns: vec![Turn::new(Role::User, "q"), Turn::new(Role::Assistant, a)],
            input_at: None,
            raw: String::new(),
            lang: crate::text::Lang::Other,
            task: None,
            tags: vec![],
            pii: vec![],
        }
    }

    #[test]
    fn reports_lines_repeated_across_records() {
        let mut c = LineCounter::new(LinesConfig {
            enabled: true,
            min_records: 3,
            min_chars: 10,
            top: 5,
        });
        for i in 0..4 {
            c.add(&rec(&format!(
                "answer {i}\nI hope  this helps you today!\nI hope this helps you today!"
            )));
        }
        c.add(&rec("something else entirely here"));
        let r = c.report();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].text, "I hope this helps you today!");
        assert_eq!(r[0].records, 4);
    }
}
