//! The diversity and complexity section of the report (`report.json` →
//! `diversity`), accumulated over the records that pass the per-record
//! stages: the kept records, or with dedup (and mixing) the records that
//! reach it (`of` in the report says which).
//!
//! Why: a corpus that is 80% one task, or whose instructions never carry a
//! constraint, trains a narrow model, and no single record shows it. InsTag
//! measured diversity as the spread of tags and complexity as the number of
//! tags per instruction; we report both from the `tag` stage's output
//! (tasks, `domain:` and user tags, `lang:`), plus cheap complexity signals
//! computed here: turns, lengths, constraints and sub-questions in the
//! instruction.
//!
//! Memory stays bounded whatever the corpus size: distributions are counts
//! per name, and each signal is a histogram with exact buckets below 100 and
//! two significant digits above (so quantiles are exact for counts and
//! within 10% for lengths).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::record::{Record, Role};

/// One name's count and share.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Share {
    /// Records.
    pub count: u64,
    /// `count / records`.
    pub share: f64,
}

/// A distribution of tasks and tags over some records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// Records counted.
    pub records: u64,
    /// Records per primary task (`none` when the tag stage did not run).
    pub tasks: BTreeMap<String, Share>,
    /// Shannon entropy of the task distribution, in bits.
    pub task_entropy_bits: f64,
    /// Task entropy over its maximum (log2 of the number of tasks seen); 1 = even.
    pub task_evenness: f64,
    /// Records per tag (every tag but `task:`; a record counts once per tag).
    pub tags: BTreeMap<String, Share>,
    /// Entropy of the topic tags (`domain:` and user tags, not `lang:`), in bits.
    pub tag_entropy_bits: f64,
    /// Distinct topic tags seen.
    pub distinct_tags: usize,
}

/// Summary of one per-record signal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Mean.
    pub mean: f64,
    /// Median (bucketed).
    pub p50: f64,
    /// 90th percentile (bucketed).
    pub p90: f64,
    /// Largest value.
    pub max: f64,
}

/// `report.json` → `diversity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiversityReport {
    /// Which records are counted.
    pub of: String,
    /// Over every kept record.
    pub overall: Distribution,
    /// Per source file.
    pub per_file: BTreeMap<String, Distribution>,
    /// Per language (`lang:` tag, or detected).
    pub per_language: BTreeMap<String, Distribution>,
    /// Complexity signals per record: `turns` (user turns), `instruction_chars`,
    /// `response_chars` (all assistant turns), `constraints` (cues such as
    /// "at least", "in 3 words", "不超过" in the instruction), `sub_questions`
    /// (question marks and numbered items in the instruction), `tags` (topic
    /// tags per record, InsTag's complexity measure).
    pub complexity: BTreeMap<String, Signal>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Counter {
    records: u64,
    tasks: BTreeMap<String, u64>,
    tags: BTreeMap<String, u64>,
}

impl Counter {
    fn absorb(&mut self, o: &Counter) {
        self.records += o.records;
        for (k, c) in &o.tasks {
            *self.tasks.entry(k.clone()).or_default() += c;
        }
        for (k, c) in &o.tags {
            *self.tags.entry(k.clone()).or_default() += c;
        }
    }

    fn add(&mut self, task: &str, rec: &Record) {
        self.records += 1;
        update(&mut self.tasks, task, |n| *n += 1);
        for t in rec.tags.iter().filter(|t| !t.starts_with("task:")) {
            update(&mut self.tags, t, |n| *n += 1);
        }
    }

    fn finish(&self) -> Distribution {
        let n = self.records.max(1) as f64;
        let shares = |m: &BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, c)| {
                    (
                        k.clone(),
                        Share {
                            count: *c,
                            share: *c as f64 / n,
                        },
                    )
                })
                .collect()
        };
        let task_h = entropy(self.tasks.values().copied());
        let topics: Vec<u64> = self
            .tags
            .iter()
            .filter(|(k, _)| !k.starts_with("lang:"))
            .map(|(_, c)| *c)
            .collect();
        Distribution {
            records: self.records,
            tasks: shares(&self.tasks),
            task_entropy_bits: task_h,
            task_evenness: if self.tasks.len() > 1 {
                task_h / (self.tasks.len() as f64).log2()
            } else {
                0.0
            },
            tags: shares(&self.tags),
            tag_entropy_bits: entropy(topics.iter().copied()),
            distinct_tags: topics.len(),
        }
    }
}

pub use crate::text::entropy;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Histogram {
    n: u64,
    sum: f64,
    max: u64,
    buckets: BTreeMap<u64, u64>,
}

fn bucket(v: u64) -> u64 {
    if v < 100 {
        return v;
    }
    let mut scale = 1;
    let mut x = v;
    while x >= 100 {
        x /= 10;
        scale *= 10;
    }
    x * scale
}

impl Histogram {
    fn absorb(&mut self, o: &Histogram) {
        self.n += o.n;
        self.sum += o.sum;
        self.max = self.max.max(o.max);
        for (b, c) in &o.buckets {
            *self.buckets.entry(*b).or_default() += c;
        }
    }

    fn add(&mut self, v: u64) {
        self.n += 1;
        self.sum += v as f64;
        self.max = self.max.max(v);
        *self.buckets.entry(bucket(v)).or_default() += 1;
    }

    fn quantile(&self, q: f64) -> f64 {
        let want = (q * self.n as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, c) in &self.buckets {
            seen += c;
            if seen >= want {
                return *b as f64;
            }
        }
        self.max as f64
    }

    fn finish(&self) -> Signal {
        Signal {
            mean: self.sum / self.n.max(1) as f64,
            p50: self.quantile(0.5),
            p90: self.quantile(0.9),
            max: self.max as f64,
        }
    }
}

/// The English cues are bounded by ASCII word boundaries: a Unicode `\b`
/// makes the regex engine leave its fast automaton on any non-ASCII text,
/// which made this count several percent of a Chinese run. (A cue next to a
/// Han character now counts, as in `请must`.)
fn constraint_cues() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)(?-u:\b)(?:must|should not|do not|don't|never|only|exactly|at least|at most|no more than|no less than|fewer than|less than|more than|within|without|avoid|make sure|ensure|in (?:\d+|one|two|three|five|ten) (?:words|sentences|paragraphs|lines|bullet points|characters)|under \d+|in (?:json|a table|markdown|bullet points|a list)|format|start (?:every|each) |end with|begin with)(?-u:\b)|必须|不要|不得|不能|至少|至多|最多|不超过|不少于|确保|限制|只能|仅|以内|字左右|格式",
        )
        .ok()
    })
    .as_ref()
}

fn numbered_items() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?m)^\s*(?:\d{1,2}[.)、]|[a-e][.)]|[-*•])\s+\S").ok())
        .as_ref()
}

/// Constraint cues in an instruction.
pub fn constraints(instruction: &str) -> u64 {
    constraint_cues().map_or(0, |re| re.find_iter(instruction).count() as u64)
}

/// Question marks and numbered or bulleted items in an instruction.
pub fn sub_questions(instruction: &str) -> u64 {
    let q = instruction.chars().filter(|c| *c == '?' || *c == '？').count() as u64;
    q + numbered_items().map_or(0, |re| re.find_iter(instruction).count() as u64)
}

/// The complexity signals, in the order [`Diversity`] holds them.
const SIGNALS: [&str; 6] = [
    "turns",
    "instruction_chars",
    "response_chars",
    "constraints",
    "sub_questions",
    "tags",
];

/// Accumulates [`DiversityReport`] over the records a run keeps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Diversity {
    overall: Counter,
    per_file: BTreeMap<String, Counter>,
    per_lang: BTreeMap<String, Counter>,
    /// One histogram per signal of [`SIGNALS`] (found by place, not by
    /// name, for every record); stored as a map of the names of those
    /// with a record.
    #[serde(with = "by_name")]
    signals: [Histogram; SIGNALS.len()],
}

/// [`Diversity::signals`] as a map from name to histogram.
mod by_name {
    use super::{Histogram, SIGNALS};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(h: &[Histogram; SIGNALS.len()], s: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<&str, &Histogram> = SIGNALS.iter().copied().zip(h).filter(|(_, h)| h.n > 0).collect();
        map.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[Histogram; SIGNALS.len()], D::Error> {
        let mut map = BTreeMap::<String, Histogram>::deserialize(d)?;
        Ok(SIGNALS.map(|name| map.remove(name).unwrap_or_default()))
    }
}

/// Calls `f` with the value at `key`, inserted when missing: one search of
/// the map when the key is there (most calls), the key copied only when not.
pub(crate) fn update<V: Default>(map: &mut BTreeMap<String, V>, key: &str, f: impl FnOnce(&mut V)) {
    match map.get_mut(key) {
        Some(v) => f(v),
        None => f(map.entry(key.to_string()).or_default()),
    }
}

impl Diversity {
    /// Adds the counts of another part of the run (a task of a distributed run).
    pub fn absorb(&mut self, o: &Diversity) {
        self.overall.absorb(&o.overall);
        for (k, c) in &o.per_file {
            self.per_file.entry(k.clone()).or_default().absorb(c);
        }
        for (k, c) in &o.per_lang {
            self.per_lang.entry(k.clone()).or_default().absorb(c);
        }
        for (h, o) in self.signals.iter_mut().zip(&o.signals) {
            h.absorb(o);
        }
    }

    /// Counts one kept record read from `file`.
    pub fn add(&mut self, rec: &Record, file: &str) {
        let task = rec.task.as_deref().unwrap_or("none");
        let lang = rec
            .tags
            .iter()
            .find_map(|t| t.strip_prefix("lang:"))
            .unwrap_or(rec.lang.code());
        self.overall.add(task, rec);
        update(&mut self.per_file, file, |c| c.add(task, rec));
        update(&mut self.per_lang, lang, |c| c.add(task, rec));
        let instruction = rec.instruction();
        let response: usize = rec
            .turns
            .iter()
            .filter(|t| t.role == Role::Assistant)
            .map(|t| t.content.chars().count())
            .sum();
        let topic_tags = rec
            .tags
            .iter()
            .filter(|t| !t.starts_with("task:") && !t.starts_with("lang:"))
            .count();
        let values = [
            rec.turns.iter().filter(|t| t.role == Role::User).count() as u64,
            instruction.chars().count() as u64,
            response as u64,
            constraints(instruction),
            sub_questions(instruction),
            topic_tags as u64,
        ];
        for (h, v) in self.signals.iter_mut().zip(values) {
            h.add(v);
        }
    }

    /// The report section.
    pub fn finish(&self) -> DiversityReport {
        DiversityReport {
            of: "kept records".into(),
            overall: self.overall.finish(),
            per_file: self.per_file.iter().map(|(k, c)| (k.clone(), c.finish())).collect(),
            per_language: self.per_lang.iter().map(|(k, c)| (k.clone(), c.finish())).collect(),
            complexity: SIGNALS
                .iter()
                .zip(&self.signals)
                .filter(|(_, h)| h.n > 0)
                .map(|(k, h)| (k.to_string(), h.finish()))
                .collect(),
        }
    }
}

/// Names what a finished report covers: with the global stages (dedup,
/// mix) it is counted before them, over the records that reached dedup.
pub fn label(mut d: DiversityReport, report: &crate::output::Report) -> DiversityReport {
    if report.stages_run.iter().any(|s| s == crate::verdict::DEDUP_STAGE) {
        d.of = "records that passed the per-record stages (before dedup and mixing)".into();
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::testing::record;

    #[test]
    fn entropy_of_even_and_single_distributions() {
        assert_eq!(entropy([5u64, 5].into_iter()), 1.0);
        assert_eq!(entropy([7u64].into_iter()), 0.0);
        assert!((entropy([1u64, 1, 1, 1].into_iter()) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn counts_constraints_and_sub_questions_in_real_instructions() {
        // MT-bench question 81's follow-up and question 82 (FastChat, Apache-2.0).
        assert_eq!(
            constraints("Rewrite your previous response. Start every sentence with the letter A."),
            1
        );
        assert_eq!(
            constraints("Draft a professional email seeking your supervisor's feedback on the 'Quarterly Financial Report' you prepared. Ask specifically about the data analysis, presentation style, and the clarity of conclusions drawn. Keep the email short and to the point."),
            0
        );
        assert_eq!(constraints("用不超过50个字总结这段话，必须使用中文。"), 2);
        assert_eq!(
            sub_questions("What is a transformer? How does attention work?\n1. Explain keys\n2. Explain values"),
            4
        );
    }

    #[test]
    fn aggregates_tasks_tags_and_signals() {
        let mut d = Diversity::default();
        for (task, tags) in [
            ("coding", vec!["task:coding", "domain:technology", "lang:en"]),
            ("math", vec!["task:math", "lang:en"]),
            ("coding", vec!["task:coding", "lang:zh"]),
        ] {
            let mut r = record(
                r#"{"instruction": "Write a function. Use at least two loops?", "input": "", "output": "def f(): pass"}"#,
            );
            r.task = Some(task.into());
            r.tags = tags.into_iter().map(String::from).collect();
            d.add(&r, "a.jsonl");
        }
        let rep = d.finish();
        assert_eq!(rep.overall.records, 3);
        assert_eq!(rep.overall.tasks["coding"].count, 2);
        assert!((rep.overall.tasks["coding"].share - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(rep.overall.distinct_tags, 1);
        assert_eq!(rep.per_language["zh"].records, 1);
        assert_eq!(rep.per_file["a.jsonl"].records, 3);
        assert_eq!(rep.complexity["constraints"].max, 1.0);
        assert_eq!(rep.complexity["sub_questions"].p50, 1.0);
        assert_eq!(rep.complexity["turns"].mean, 1.0);
    }

    /// A task's counts (distributed runs) are stored with the signals by
    /// name, as before they were held by place, and read back the same.
    #[test]
    fn counts_round_trip_with_signals_by_name() {
        let empty = serde_json::to_value(Diversity::default()).expect("json");
        assert_eq!(empty["signals"], serde_json::json!({}));
        let mut d = Diversity::default();
        let r = record(r#"{"instruction": "用不超过50个字总结这段话。", "input": "", "output": "好的"}"#);
        d.add(&r, "a.jsonl");
        let v = serde_json::to_value(&d).expect("json");
        let names: Vec<&str> = v["signals"]
            .as_object()
            .expect("map")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            names,
            [
                "constraints",
                "instruction_chars",
                "response_chars",
                "sub_questions",
                "tags",
                "turns"
            ]
        );
        assert_eq!(v["signals"]["constraints"]["max"], 1);
        let back: Diversity = serde_json::from_value(v).expect("read back");
        assert_eq!(back.finish(), d.finish());
    }

    #[test]
    fn update_inserts_a_missing_key_once_then_changes_its_value() {
        let mut m: BTreeMap<String, u64> = BTreeMap::new();
        for k in ["zh", "en", "zh", "zh"] {
            update(&mut m, k, |n| *n += 1);
        }
        assert_eq!(
            m.into_iter().collect::<Vec<_>>(),
            [("en".to_string(), 1), ("zh".to_string(), 3)]
        );
    }

    #[test]
    fn buckets_keep_two_significant_digits() {
        assert_eq!(bucket(42), 42);
        assert_eq!(bucket(1234), 1200);
        assert_eq!(bucket(99_999), 99_000);
    }
}
