//! Line-level boilerplate (opt-in, `[lines]` in `dedup.toml`): lines repeated
//! across many records, such as a fixed sign-off or a template header,
//! reported and, with `strip = true`, removed from the kept records.
//!
//! Why: a line that hundreds of answers end with teaches a model nothing but
//! to repeat it. Whole-record dedup cannot see it, since the rest of each
//! record differs.
//!
//! Counting (phase 1): each line of a record's messages (every role; trimmed,
//! whitespace collapsed, at least `min-chars` columns wide, a Han or other
//! wide character counting two) is hashed; a line
//! counts once per record. Every record that reaches dedup is counted,
//! duplicates included. The writer keeps one counter per distinct line (12
//! bytes) and the text of a line once it reaches `min-records`; the tasks of
//! a distributed run send their counts to the merge step, which adds them.
//! A line seen in at least `min-records` records is *boilerplate*. The set is
//! thus decided over the whole corpus before any record is written, whatever
//! the thread count, input order or number of tasks.
//!
//! Report: the boilerplate lines, most frequent first (at most `top`), go to
//! `OUT/dedup/boilerplate.json`, each with the records containing it, whether
//! it was stripped and from how many kept records.
//!
//! Stripping (`strip = true`, phase 2, kept records only): in each message
//! whose role is in `strip-roles`, the boilerplate lines of at least
//! `strip-min-words` words ([`crate::text::words`]: a Han character is one
//! word) at the start and at the end of the message are removed, each with
//! its line break, together with the blank lines between them and the rest.
//! Other lines stay, boilerplate or not: on the shared corpora the repeated
//! lines inside answers are code (`public static void main(String[] args) {`)
//! and the short ones at their ends are final answers of chain-of-thought
//! records (`So, the answer is no.`, 483 records), which are content, while a
//! sign-off or a template header is a sentence at an edge. A message made
//! only of boilerplate stays as it is (counted as
//! `boilerplate_unstripped_messages`), so no answer is emptied. The message
//! keeps a final line break only if it had one (`\n` or `\r\n`); `pii`
//! spans move with the text, and spans inside a stripped line are dropped.
//! The stripped lines (trimmed, in order) go to the record's `stripped_lines`
//! column; `raw` keeps the record as read. Dedup decisions are made on the
//! text before stripping, so stripping changes no drop: two records that
//! differ only by a sign-off are not exact duplicates. The dedup stage counts
//! `boilerplate_stripped_records` and `boilerplate_stripped_lines`.
//!
//! Example: with `min-records = 20`, when 500 answers end with
//!
//! ```text
//! ...the rest of the answer.
//!
//! I hope this helps! Let me know if you have any other questions.
//! ```
//!
//! the kept answers end with `...the rest of the answer.`, and their
//! `stripped_lines` is `["I hope this helps! Let me know if you have any other
//! questions."]`.
//!
//! Parameters: `enabled`, `min-records` (20), `min-chars` (20), `top` (50),
//! `strip` (false), `strip-roles` (`["assistant"]`: system prompts and user
//! turns repeat lines that define the task, such as a tool list or "Use
//! reasoning to lead to the answer of the following question:"),
//! `strip-min-words` (8).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ListArray, RecordBatch, StringArray, StructArray, UInt32Array};
use serde::Serialize;

use crate::output::schema::{append_str, append_u32, messages_builder, pii_builder, strings_builder, STRIPPED_LINES};
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
    /// Whether boilerplate lines are stripped from kept records.
    pub strip: bool,
    /// The roles (`messages.role`) of the messages lines are stripped from.
    pub strip_roles: Vec<String>,
    /// Boilerplate lines with fewer words ([`crate::text::words`]) are not stripped.
    pub strip_min_words: usize,
}

impl Default for LinesConfig {
    fn default() -> Self {
        LinesConfig {
            enabled: false,
            min_records: 20,
            min_chars: 20,
            top: 50,
            strip: false,
            strip_roles: vec!["assistant".into()],
            strip_min_words: 8,
        }
    }
}

/// One reported line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// The line (whitespace collapsed).
    pub text: String,
    /// Records containing it (every record that reached dedup).
    pub records: u32,
    /// Whether it was stripped from at least one kept record.
    pub stripped: bool,
    /// Kept records it was stripped from.
    pub stripped_records: u32,
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

/// The hash of a line as counted (`None`: narrower than `min_chars` columns,
/// a wide character counting two), and its
/// normalised text.
fn line_key(line: &str, min_chars: usize) -> Option<(u64, String)> {
    let line = line.trim();
    if crate::text::columns(line) < min_chars {
        return None;
    }
    let norm = collapse(line);
    Some((xxhash_rust::xxh3::xxh3_64(norm.as_bytes()), norm))
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
                let Some((h, norm)) = line_key(line, self.cfg.min_chars) else {
                    continue;
                };
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

    /// The boilerplate lines: those seen in at least `min-records` records.
    pub fn boilerplate(&self) -> HashSet<u64> {
        let min = self.cfg.min_records.max(1);
        self.counts
            .iter()
            .filter(|(_, c)| **c >= min)
            .map(|(h, _)| *h)
            .collect()
    }

    /// The most frequent lines, most frequent first (ties by text), with
    /// what `stripper` (if any) stripped.
    pub fn report(&self, stripper: Option<&Stripper>) -> Vec<Line> {
        let mut out: Vec<Line> = self
            .texts
            .iter()
            .map(|(h, t)| {
                let stripped_records = stripper.map_or(0, |s| s.per_line.get(h).copied().unwrap_or(0));
                Line {
                    text: t.clone(),
                    records: self.counts.get(h).copied().unwrap_or(0),
                    stripped: stripped_records > 0,
                    stripped_records,
                }
            })
            .filter(|l| l.records >= self.cfg.min_records.max(1))
            .collect();
        out.sort_by(|a, b| b.records.cmp(&a.records).then_with(|| a.text.cmp(&b.text)));
        out.truncate(self.cfg.top);
        out
    }
}

/// What stripping did to one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Stripped {
    /// No boilerplate line at its start or end.
    Unchanged,
    /// Only boilerplate (and blank) lines: left as it is.
    WouldEmpty,
    /// Boilerplate lines removed.
    Changed {
        /// The message without them.
        text: String,
        /// The removed lines, trimmed, in order.
        lines: Vec<String>,
        /// Their hashes (as counted).
        hashes: Vec<u64>,
        /// Characters removed before the text that remains.
        head_chars: usize,
    },
}

#[derive(Clone, Copy)]
enum Kind {
    Blank,
    Boilerplate(u64),
    Other,
}

/// A line without its line break (`\n` or `\r\n`).
fn body(seg: &str) -> &str {
    let s = seg.strip_suffix('\n').unwrap_or(seg);
    s.strip_suffix('\r').unwrap_or(s)
}

/// Removes the lines of `text` for which `boilerplate` gives a hash from its
/// start and end.
fn strip_text(text: &str, boilerplate: &dyn Fn(&str) -> Option<u64>) -> Stripped {
    let segs: Vec<&str> = text.split_inclusive('\n').collect();
    let kinds: Vec<Kind> = segs
        .iter()
        .map(|seg| {
            let l = body(seg);
            if l.trim().is_empty() {
                return Kind::Blank;
            }
            match boilerplate(l) {
                Some(h) => Kind::Boilerplate(h),
                None => Kind::Other,
            }
        })
        .collect();
    let boilerplate = |ks: &[Kind]| ks.iter().any(|k| matches!(k, Kind::Boilerplate(_)));
    let Some(first) = kinds.iter().position(|k| matches!(k, Kind::Other)) else {
        return if boilerplate(&kinds) {
            Stripped::WouldEmpty
        } else {
            Stripped::Unchanged
        };
    };
    let last = kinds.iter().rposition(|k| matches!(k, Kind::Other)).unwrap_or(first);
    let lo = if boilerplate(&kinds[..first]) { first } else { 0 };
    let hi = if boilerplate(&kinds[last + 1..]) {
        last + 1
    } else {
        segs.len()
    };
    if lo == 0 && hi == segs.len() {
        return Stripped::Unchanged;
    }
    let mut out: String = segs[lo..hi].concat();
    if hi < segs.len() && !text.ends_with('\n') {
        // The message ends with a line break only if it did.
        let end = segs[hi - 1];
        out.truncate(out.len() - (end.len() - body(end).len()));
    }
    let (mut removed, mut hashes) = (Vec::new(), Vec::new());
    for (seg, kind) in segs.iter().zip(&kinds).take(lo).chain(segs.iter().zip(&kinds).skip(hi)) {
        if let Kind::Boilerplate(h) = kind {
            removed.push(body(seg).trim().to_string());
            hashes.push(*h);
        }
    }
    Stripped::Changed {
        text: out,
        lines: removed,
        hashes,
        head_chars: segs[..lo].iter().map(|s| s.chars().count()).sum(),
    }
}

/// One message changed by stripping: its text and where it lies in the old one.
struct Change {
    text: String,
    head_chars: u32,
    chars: u32,
}

/// The changes of one record: per message, and the stripped lines.
type RowChange = (Vec<Option<Change>>, Vec<String>);

/// Strips boilerplate lines from kept batches (phase 2) and counts what it did.
#[derive(Debug)]
pub struct Stripper {
    lines: HashSet<u64>,
    min_chars: usize,
    min_words: usize,
    roles: Vec<String>,
    /// Kept records each line was stripped from.
    per_line: HashMap<u64, u32>,
    /// Kept records changed.
    pub records: u64,
    /// Lines stripped (each occurrence).
    pub lines_stripped: u64,
    /// Messages left whole because they hold only boilerplate lines.
    pub unstripped_messages: u64,
}

fn downcast<'a, T: 'static>(a: &'a ArrayRef, what: &str) -> Result<&'a T, String> {
    a.as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| format!("{what} has an unexpected type"))
}

impl Stripper {
    /// A stripper of the boilerplate lines `lines` (hashes as counted), with
    /// the settings of `cfg`.
    pub fn with_lines(lines: HashSet<u64>, cfg: &LinesConfig) -> Self {
        Stripper {
            lines,
            min_chars: cfg.min_chars,
            min_words: cfg.strip_min_words,
            roles: cfg.strip_roles.clone(),
            per_line: HashMap::new(),
            records: 0,
            lines_stripped: 0,
            unstripped_messages: 0,
        }
    }

    /// A stripper of the boilerplate lines of `counter` (counted over every task).
    pub fn new(counter: &LineCounter) -> Self {
        Stripper::with_lines(counter.boilerplate(), &counter.cfg)
    }

    /// Removes the boilerplate lines of at least `strip-min-words` words from
    /// the start and end of `text`, with their line breaks and the blank
    /// lines around them (see the module documentation).
    pub fn strip_text(&self, text: &str) -> Stripped {
        strip_text(text, &|l| {
            line_key(l, self.min_chars)
                .map(|(h, _)| h)
                .filter(|h| self.lines.contains(h) && crate::text::words(l).count() >= self.min_words)
        })
    }

    /// Strips the records of a batch of the kept schema, filling their
    /// `stripped_lines` (the batch is returned as it is when nothing changes).
    pub fn strip_batch(&mut self, batch: RecordBatch) -> Result<RecordBatch, String> {
        let schema = batch.schema();
        let index = |name: &str| schema.index_of(name).map_err(|e| e.to_string());
        let (mi, pi, si) = (index("messages")?, index("pii")?, index(STRIPPED_LINES)?);
        let msgs: &ListArray = downcast(batch.column(mi), "messages")?;
        let pii: &ListArray = downcast(batch.column(pi), "pii")?;
        let mut rows: Vec<Option<RowChange>> = Vec::with_capacity(batch.num_rows());
        for i in 0..batch.num_rows() {
            let m = msgs.value(i);
            let s: &StructArray = downcast(&m, "messages")?;
            let roles: &StringArray = downcast(s.column(0), "messages.role")?;
            let texts: &StringArray = downcast(s.column(1), "messages.content")?;
            let (mut changes, mut stripped, mut seen) = (Vec::new(), Vec::new(), HashSet::new());
            for j in 0..s.len() {
                if !self.roles.iter().any(|r| r == roles.value(j)) {
                    changes.push(None);
                    continue;
                }
                changes.push(match self.strip_text(texts.value(j)) {
                    Stripped::Unchanged => None,
                    Stripped::WouldEmpty => {
                        self.unstripped_messages += 1;
                        None
                    }
                    Stripped::Changed {
                        text,
                        lines,
                        hashes,
                        head_chars,
                    } => {
                        self.lines_stripped += lines.len() as u64;
                        for h in hashes {
                            if seen.insert(h) {
                                *self.per_line.entry(h).or_default() += 1;
                            }
                        }
                        stripped.extend(lines);
                        Some(Change {
                            chars: text.chars().count() as u32,
                            text,
                            head_chars: head_chars as u32,
                        })
                    }
                });
            }
            rows.push(if stripped.is_empty() {
                None
            } else {
                self.records += 1;
                Some((changes, stripped))
            });
        }
        if rows.iter().all(Option::is_none) {
            return Ok(batch);
        }
        let (mut mb, mut pb, mut sb) = (messages_builder(), pii_builder(), strings_builder());
        for (i, row) in rows.iter().enumerate() {
            let m = msgs.value(i);
            let s: &StructArray = downcast(&m, "messages")?;
            let roles: &StringArray = downcast(s.column(0), "messages.role")?;
            let texts: &StringArray = downcast(s.column(1), "messages.content")?;
            let change = |j: usize| row.as_ref().and_then(|(c, _)| c.get(j).and_then(Option::as_ref));
            for j in 0..s.len() {
                let v = mb.values();
                append_str(v, 0, roles.value(j));
                append_str(v, 1, change(j).map_or(texts.value(j), |c| c.text.as_str()));
                v.append(true);
            }
            mb.append(true);
            let p = pii.value(i);
            let s: &StructArray = downcast(&p, "pii")?;
            let col = |k: usize| downcast::<UInt32Array>(s.column(k), "pii");
            let (turn, start, end) = (col(0)?, col(1)?, col(2)?);
            let kind: &StringArray = downcast(s.column(3), "pii.type")?;
            for k in 0..s.len() {
                let (t, a, e) = (turn.value(k), start.value(k), end.value(k));
                let (a, e) = match change(t as usize) {
                    None => (a, e),
                    // A span inside a stripped line goes with it.
                    Some(c) if a >= c.head_chars && e <= c.head_chars + c.chars => (a - c.head_chars, e - c.head_chars),
                    Some(_) => continue,
                };
                let v = pb.values();
                append_u32(v, 0, t);
                append_u32(v, 1, a);
                append_u32(v, 2, e);
                append_str(v, 3, kind.value(k));
                v.append(true);
            }
            pb.append(true);
            match row {
                Some((_, lines)) => {
                    for l in lines {
                        sb.values().append_value(l);
                    }
                    sb.append(true);
                }
                None => sb.append(false),
            }
        }
        let mut cols = batch.columns().to_vec();
        cols[mi] = Arc::new(mb.finish());
        cols[pi] = Arc::new(pb.finish());
        cols[si] = Arc::new(sb.finish());
        RecordBatch::try_new(schema, cols).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `min-chars` counts columns: a Chinese sign-off of 10 characters is as
    /// wide as an English one of 20.
    #[test]
    fn lines_are_measured_in_columns() {
        assert!(line_key("希望这对你有所帮助！", 20).is_some());
        assert!(line_key("希望对你有所帮助！", 20).is_none());
        assert!(line_key("I hope this helps you", 20).is_some());
        assert!(line_key("Hope this helps!", 20).is_none());
    }

    fn rec(a: &str) -> Record {
        Record::exchange("q", a)
    }

    #[test]
    fn reports_lines_repeated_across_records() {
        let mut c = LineCounter::new(LinesConfig {
            enabled: true,
            min_records: 3,
            min_chars: 10,
            top: 5,
            ..Default::default()
        });
        for i in 0..4 {
            c.add(&rec(&format!(
                "answer {i}\nI hope  this helps you today!\nI hope this helps you today!"
            )));
        }
        c.add(&rec("something else entirely here"));
        let r = c.report(None);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].text, "I hope this helps you today!");
        assert_eq!(r[0].records, 4);
        assert!(!r[0].stripped);
    }

    const SIGN_OFF: &str = "I hope this helps you today!";

    fn stripper(lines: &[&str], min_chars: usize, min_words: usize) -> Stripper {
        let set = lines
            .iter()
            .filter_map(|l| line_key(l, min_chars))
            .map(|(h, _)| h)
            .collect();
        Stripper::with_lines(
            set,
            &LinesConfig {
                min_chars,
                strip_min_words: min_words,
                ..Default::default()
            },
        )
    }

    fn set(lines: &[&str]) -> Stripper {
        stripper(lines, 10, 3)
    }

    fn changed(s: Stripped) -> (String, Vec<String>, usize) {
        match s {
            Stripped::Changed {
                text,
                lines,
                head_chars,
                ..
            } => (text, lines, head_chars),
            other => panic!("expected a change, got {other:?}"),
        }
    }

    #[test]
    fn strips_a_sign_off_with_its_line_break() {
        let b = set(&[SIGN_OFF]);
        let (t, l, head) = changed(b.strip_text(&format!("Paris is the capital.\n\n{SIGN_OFF}")));
        assert_eq!(t, "Paris is the capital.");
        assert_eq!(l, vec![SIGN_OFF.to_string()]);
        assert_eq!(head, 0);
        // A final line break stays when there was one; whitespace differences
        // match the counted (collapsed) line.
        let (t, _, _) = changed(b.strip_text("Paris.\n  I hope  this helps you today!  \n"));
        assert_eq!(t, "Paris.\n");
    }

    #[test]
    fn strips_crlf_lines_and_headers() {
        let b = set(&[SIGN_OFF, "Here is the answer you asked for:"]);
        let text = format!("Here is the answer you asked for:\r\n\r\nLine one\r\nLine two\r\n{SIGN_OFF}\r\n");
        let (t, l, head) = changed(b.strip_text(&text));
        assert_eq!(t, "Line one\r\nLine two\r\n");
        assert_eq!(
            l,
            vec!["Here is the answer you asked for:".to_string(), SIGN_OFF.to_string()]
        );
        assert_eq!(head, "Here is the answer you asked for:\r\n\r\n".chars().count());
        let (t, _, _) = changed(b.strip_text(&format!("Line one\r\n{SIGN_OFF}")));
        assert_eq!(t, "Line one");
    }

    #[test]
    fn keeps_boilerplate_between_other_lines() {
        let b = set(&["public static void main(String[] args) {"]);
        let text = "class A {\npublic static void main(String[] args) {\n}\n}";
        assert_eq!(b.strip_text(text), Stripped::Unchanged);
        assert_eq!(b.strip_text("nothing repeated here"), Stripped::Unchanged);
        assert_eq!(b.strip_text(""), Stripped::Unchanged);
    }

    #[test]
    fn keeps_short_boilerplate_lines() {
        // A final answer repeated across chain-of-thought records is content.
        let b = stripper(&["So, the answer is no."], 10, 8);
        assert_eq!(
            b.strip_text("Fish live in water.\nSo, the answer is no."),
            Stripped::Unchanged
        );
        let b = stripper(&["So, the answer is no."], 10, 5);
        assert!(matches!(
            b.strip_text("Fish live in water.\nSo, the answer is no."),
            Stripped::Changed { .. }
        ));
    }

    #[test]
    fn never_empties_a_message() {
        let b = set(&[SIGN_OFF]);
        assert_eq!(b.strip_text(SIGN_OFF), Stripped::WouldEmpty);
        assert_eq!(b.strip_text(&format!("\n{SIGN_OFF}\n\n")), Stripped::WouldEmpty);
    }

    #[test]
    fn strips_batches_moving_pii_spans() {
        let header = "Here is the answer you asked for, written out in full:";
        let mut r = rec(&format!("{header}\nMail a@b.co today.\n{SIGN_OFF} Write to c@d.co"));
        let signed = format!("{SIGN_OFF} Write to c@d.co");
        let span = |turn, start, end| crate::record::PiiSpan {
            turn,
            start,
            end,
            kind: "email".into(),
        };
        let at = header.chars().count() as u32 + 1 + 5;
        let late = at - 5 + 19 + signed.find("c@d").expect("found") as u32;
        r.pii = vec![span(0, 0, 1), span(1, at, at + 6), span(1, late, late + 6)];
        let mut rows = crate::output::RecordRows::new(false);
        rows.push(&r, "f", None);
        rows.push(&rec("nothing to strip here at all"), "f", None);
        let mut st = stripper(&[header, &signed], 10, 3);
        let b = st.strip_batch(rows.finish()).expect("strips");
        let (got, label) = crate::audit::run_dir::record_at(&b, 0);
        assert_eq!(label, "f");
        assert_eq!(got.turns[1].content, "Mail a@b.co today.");
        // The user turn's span stays, the answer's first moves, the one in
        // the stripped sign-off goes.
        assert_eq!(got.pii, vec![span(0, 0, 1), span(1, 5, 11)]);
        assert_eq!(
            crate::audit::run_dir::stripped_at(&b, 0),
            Some(vec![header.to_string(), signed.clone()])
        );
        assert_eq!(crate::audit::run_dir::stripped_at(&b, 1), None);
        assert_eq!((st.records, st.lines_stripped), (1, 2));
        let lc = LineCounter::new(LinesConfig::default());
        assert!(lc.report(Some(&st)).is_empty());
    }

    #[test]
    fn strips_chinese_lines() {
        // Eight words: a Han character is one.
        let b = stripper(&["以上就是全部内容，希望对你有所帮助！"], 5, 8);
        let (t, l, _) = changed(b.strip_text("北京是中国的首都。\n以上就是全部内容，希望对你有所帮助！"));
        assert_eq!(t, "北京是中国的首都。");
        assert_eq!(l, vec!["以上就是全部内容，希望对你有所帮助！".to_string()]);
        let (t, _, head) = changed(b.strip_text("以上就是全部内容，希望对你有所帮助！\n北京是中国的首都。"));
        assert_eq!(t, "北京是中国的首都。");
        // Characters, not bytes: `pii` spans count characters.
        assert_eq!(head, 19);
    }
}
