//! The per-record stage contract.
//!
//! A [`Filter`] only *measures*: it turns a record into a number (a count, a
//! ratio, a number of matches). The rule that owns it holds the [`Threshold`]
//! and decides; the stage machinery ([`FilterStage`]) evaluates every rule on
//! every record that reaches the stage, so the audit can list every rule that
//! would have dropped a record, and the pipeline counts, times and routes the
//! dropped records with the measured value and the bound they crossed. Keeping
//! measuring apart from deciding is what lets thresholds be re-tuned later from
//! stored measurements without re-reading the corpus.
//!
//! Stages that change records (redaction) or add tags implement
//! [`RecordStage`] directly.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;

use crate::record::{Record, Role};
use crate::text::Lang;
use crate::tokenize::{Span, Tokenizer};

/// Which part of a record a rule measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// The first user turn without its `input` part.
    Instruction,
    /// The Alpaca `input` / Dolly `context` part (empty for chats).
    Input,
    /// The first user turn in full.
    Prompt,
    /// The last assistant turn.
    Response,
    /// Every assistant turn, joined by newlines.
    Responses,
    /// Every turn (not the system prompt), joined by newlines.
    Conversation,
    /// The system prompt.
    System,
}

impl Scope {
    /// The name used in rule files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Instruction => "instruction",
            Scope::Input => "input",
            Scope::Prompt => "prompt",
            Scope::Response => "response",
            Scope::Responses => "responses",
            Scope::Conversation => "conversation",
            Scope::System => "system",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Keep a record when `min <= value <= max`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Threshold {
    /// Smallest value kept.
    pub min: Option<f64>,
    /// Largest value kept.
    pub max: Option<f64>,
}

pub use crate::verdict::{num, Crossed};

impl Threshold {
    /// Which bound `value` crosses, if any.
    pub fn check(&self, value: f64) -> Option<Crossed> {
        if let Some(min) = self.min {
            if value < min {
                return Some(Crossed::Min(min));
            }
        }
        if let Some(max) = self.max {
            if value > max {
                return Some(Crossed::Max(max));
            }
        }
        None
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.min, self.max) {
            (Some(a), Some(b)) => write!(f, "{a} <= value <= {b}"),
            (Some(a), None) => write!(f, "value >= {a}"),
            (None, Some(b)) => write!(f, "value <= {b}"),
            (None, None) => f.write_str("always kept"),
        }
    }
}

/// What a filter measured on one record.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// The number compared with the threshold.
    pub value: f64,
    /// What was matched, when the value counts matches (shown in the reason).
    pub detail: Option<String>,
}

impl From<f64> for Measure {
    fn from(value: f64) -> Self {
        Measure { value, detail: None }
    }
}

/// Per-record view shared by the filters of one stage: the record's texts per
/// scope, its language and the words of each scope, computed once.
///
/// Words are cached per (scope, tokenizer) as byte spans into the scope's
/// text, so the ten or so word-based rules of the quality stage tokenize a
/// part once between them. The default tokenizer's words of a whole turn
/// are kept by turn too: the answer, the first request and the scopes that
/// join turns (the conversation, the answers) share them, since a line
/// break always ends a word.
pub struct Analysis<'r> {
    rec: &'r Record,
    joined: [Option<String>; 2],
    words: Vec<(Scope, Tokenizer, Vec<Span>)>,
    turn_words: Vec<(usize, Vec<Span>)>,
}

/// The words of one scope: spans into its text.
pub struct Words<'a> {
    text: &'a str,
    spans: &'a [Span],
}

impl<'a> Words<'a> {
    /// The text the words were cut from.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// How many words.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there is no word.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The last word.
    pub fn last(&self) -> Option<&'a str> {
        let &(a, b) = self.spans.last()?;
        Some(&self.text[a as usize..b as usize])
    }

    /// The words, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + Clone + 'a {
        let text = self.text;
        self.spans.iter().map(move |&(a, b)| &text[a as usize..b as usize])
    }
}

impl<'r> Analysis<'r> {
    /// A fresh view of `rec`.
    pub fn new(rec: &'r Record) -> Self {
        Analysis {
            rec,
            joined: [None, None],
            words: Vec::new(),
            turn_words: Vec::new(),
        }
    }

    /// The record.
    pub fn record(&self) -> &'r Record {
        self.rec
    }

    /// The text of a scope (empty when the record has no such part).
    pub fn text(&mut self, scope: Scope) -> Cow<'_, str> {
        let rec = self.rec;
        match scope {
            Scope::Instruction => Cow::Borrowed(rec.instruction()),
            Scope::Input => Cow::Borrowed(rec.input()),
            Scope::Prompt => Cow::Borrowed(rec.prompt()),
            Scope::Response => Cow::Borrowed(rec.response().unwrap_or("")),
            Scope::System => Cow::Borrowed(rec.system.as_deref().unwrap_or("")),
            Scope::Responses => Cow::Borrowed(self.joined(0, |t| t == Role::Assistant)),
            Scope::Conversation => Cow::Borrowed(self.joined(1, |_| true)),
        }
    }

    /// The words of a scope, by `tok`, tokenized once per record.
    pub fn words(&mut self, scope: Scope, tok: Tokenizer) -> Words<'_> {
        let i = match self.words.iter().position(|(s, t, _)| *s == scope && *t == tok) {
            Some(i) => i,
            None => {
                let spans = match tok {
                    Tokenizer::Unicode => self.turns_spans(scope),
                    _ => None,
                };
                // The scope's text, joined here if it joins turns.
                let text = self.text(scope);
                let spans = spans.unwrap_or_else(|| {
                    let mut spans = Vec::with_capacity(text.len() / 5);
                    tok.spans(&text, &mut spans);
                    spans
                });
                self.words.push((scope, tok, spans));
                self.words.len() - 1
            }
        };
        Words {
            text: self.text_ref(scope),
            spans: &self.words[i].2,
        }
    }

    /// The default tokenizer's words of a scope made of whole turns, from
    /// the words of each turn (`None`: another scope). The turns of a
    /// joined scope are joined by `"\n"`, where every word ends, so its
    /// words are its turns' words in order.
    fn turns_spans(&mut self, scope: Scope) -> Option<Vec<Span>> {
        let turns = &self.rec.turns;
        match scope {
            Scope::Response => {
                let k = turns.iter().rposition(|t| t.role == Role::Assistant)?;
                Some(self.turn_spans(k).to_vec())
            }
            Scope::Prompt => {
                let k = turns.iter().position(|t| t.role == Role::User)?;
                Some(self.turn_spans(k).to_vec())
            }
            Scope::Conversation | Scope::Responses => {
                let mut out = Vec::new();
                let mut at = None;
                for (k, t) in turns.iter().enumerate() {
                    if t.content.is_empty() || scope == Scope::Responses && t.role != Role::Assistant {
                        continue;
                    }
                    // Past the previous turn and its line break.
                    let base = at.map_or(0, |a: u32| a + 1);
                    out.extend(self.turn_spans(k).iter().map(|&(a, b)| (a + base, b + base)));
                    at = Some(base + t.content.len() as u32);
                }
                Some(out)
            }
            _ => None,
        }
    }

    /// The default tokenizer's words of turn `k`, tokenized once.
    fn turn_spans(&mut self, k: usize) -> &[Span] {
        let i = match self.turn_words.iter().position(|(t, _)| *t == k) {
            Some(i) => i,
            None => {
                let text = &self.rec.turns[k].content;
                let mut spans = Vec::with_capacity(text.len() / 5);
                Tokenizer::Unicode.spans(text, &mut spans);
                self.turn_words.push((k, spans));
                self.turn_words.len() - 1
            }
        };
        &self.turn_words[i].1
    }

    /// The text of a scope whose joined text (if any) is already computed.
    fn text_ref(&self, scope: Scope) -> &str {
        let rec = self.rec;
        match scope {
            Scope::Instruction => rec.instruction(),
            Scope::Input => rec.input(),
            Scope::Prompt => rec.prompt(),
            Scope::Response => rec.response().unwrap_or(""),
            Scope::System => rec.system.as_deref().unwrap_or(""),
            Scope::Responses => self.joined[0].as_deref().unwrap_or(""),
            Scope::Conversation => self.joined[1].as_deref().unwrap_or(""),
        }
    }

    fn joined(&mut self, slot: usize, keep: impl Fn(Role) -> bool) -> &str {
        let rec = self.rec;
        self.joined[slot].get_or_insert_with(|| {
            let len = rec
                .turns
                .iter()
                .filter(|t| keep(t.role))
                .map(|t| t.content.len() + 1)
                .sum();
            let mut s = String::with_capacity(len);
            for t in rec.turns.iter().filter(|t| keep(t.role) && !t.content.is_empty()) {
                if !s.is_empty() {
                    s.push('\n');
                }
                s.push_str(&t.content);
            }
            s
        })
    }

    /// The record's main language, from the scripts of its turns.
    pub fn lang(&mut self) -> Lang {
        self.rec.lang
    }
}

/// Measures one property of a record. See the module docs.
pub trait Filter: Send + Sync {
    /// What is measured, in words, for reasons (e.g. `"character count"`).
    fn metric(&self) -> &str;
    /// The record's value, or `None` when the rule does not apply to it
    /// (e.g. a conversation rule on a single-turn record).
    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure>;
    /// An expression of the rule compiled when first needed that does not
    /// compile: one met so far, or, with `compile`, any (compiled now).
    fn compile_error(&self, _compile: bool) -> Option<String> {
        None
    }
}

/// A compiled rule: an id, the part it measures, its threshold and its filter.
pub struct Rule {
    /// `stage/name`, e.g. `quality/empty-response`.
    pub id: String,
    /// The part of the record measured, when the filter is scoped.
    pub scope: Option<Scope>,
    /// Default threshold.
    pub threshold: Threshold,
    /// Per-language thresholds that replace the default.
    pub by_lang: Vec<(Lang, Threshold)>,
    /// The measuring half.
    pub filter: Box<dyn Filter>,
}

impl Rule {
    /// What it measures, as reasons say it: the scope then the metric
    /// (`response char-length`).
    pub fn subject(&self) -> String {
        match self.scope {
            Some(s) => format!("{s} {}", self.filter.metric()),
            None => self.filter.metric().to_string(),
        }
    }

    /// Id and thresholds.
    pub fn info(&self) -> RuleInfo {
        RuleInfo {
            id: self.id.clone(),
            subject: self.subject(),
            threshold: self.threshold,
            by_lang: self.by_lang.clone(),
        }
    }

    /// The threshold for a record in `lang`.
    pub fn threshold_for(&self, lang: Lang) -> &Threshold {
        self.by_lang
            .iter()
            .find(|(l, _)| *l == lang)
            .map_or(&self.threshold, |(_, t)| t)
    }
}

/// A rule a record failed, with what was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Index of the rule in its stage.
    pub rule: usize,
    /// The measured value.
    pub value: f64,
    /// The bound it crossed.
    pub threshold: f64,
    /// A sentence a person understands.
    pub reason: String,
}

/// What a stage did to one record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageOutcome {
    /// Every rule the record failed, in rule order; the first one drops it.
    pub failed: Vec<Failure>,
    /// One value per rule of the stage (`NaN` when not measured).
    pub values: Vec<f64>,
    /// Named counters the stage adds to its report (e.g. `pii/email/redact`),
    /// summed over every record that reached the stage.
    pub counts: Vec<(String, u64)>,
}

/// The metrics column of a rule: its id with `/` as `__` and `-` as `_`, so
/// that SQL, polars and pandas users name it without quotes
/// (`quality/top-2-gram` is `quality__top_2_gram`).
pub fn metric_column(rule_id: &str) -> String {
    rule_id.replace('/', "__").replace('-', "_")
}

/// A rule as the rest of the program sees it: its id and thresholds. Enough to
/// re-decide from stored measurements (`curate tune`).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInfo {
    /// `stage/name`.
    pub id: String,
    /// What it measures, as reasons say it ([`Rule::subject`]).
    pub subject: String,
    /// Default threshold.
    pub threshold: Threshold,
    /// Per-language thresholds that replace the default.
    pub by_lang: Vec<(Lang, Threshold)>,
}

impl RuleInfo {
    /// The threshold for a record in `lang`.
    pub fn threshold_for(&self, lang: Lang) -> &Threshold {
        self.by_lang
            .iter()
            .find(|(l, _)| *l == lang)
            .map_or(&self.threshold, |(_, t)| t)
    }

    /// The thresholds in words.
    pub fn describe(&self) -> String {
        let mut t = self.threshold.to_string();
        for (lang, th) in &self.by_lang {
            t.push_str(&format!("; {lang}: {th}"));
        }
        t
    }
}

/// A per-record stage, run in parallel over records.
pub trait RecordStage: Send + Sync {
    /// The stage name (`quality`, `sensitive`, `tag`).
    fn name(&self) -> &str;
    /// The stage's rules, in order (`Failure::rule` and `StageOutcome::values` index this).
    fn rules(&self) -> Vec<RuleInfo>;
    /// Processes one record; it may change the record (redaction, tags).
    fn process(&self, rec: &mut Record) -> StageOutcome;

    /// Whether the stage runs only when named in `--stages` (the model stage:
    /// it calls an endpoint). Commands that judge records without a run
    /// (`explain`, `eval-judged`) leave such stages out.
    fn opt_in(&self) -> bool {
        false
    }

    /// Called once per run (or task) before any record, with the output
    /// folder and this writer's name (`run`, `task-00003`): where a stage
    /// keeps what should outlive the run (the model stage's answers).
    fn attach(&self, _out: &std::path::Path, _writer: &str) -> crate::error::Result<()> {
        Ok(())
    }

    /// Called with a batch's records that reach this stage (every earlier
    /// stage kept them), before [`RecordStage::process`] runs on each: a
    /// stage that answers many records at once (the model stage's calls)
    /// does it here. A stage with this step runs after every stage without it.
    fn prepare(&self, _recs: &[&Record]) {}

    /// Whether the stage has a [`RecordStage::prepare`] step.
    fn batched(&self) -> bool {
        self.opt_in()
    }

    /// An error that must fail the run, found while processing.
    fn fatal(&self) -> Option<String> {
        self.compile_error(false)
    }

    /// An expression the stage compiles when first needed that does not
    /// compile: one met so far, or, with `compile`, any (compiled now, as
    /// `check-rules` does).
    fn compile_error(&self, _compile: bool) -> Option<String> {
        None
    }

    /// Counters of the run as a whole (calls, cache hits), added to the
    /// stage's report at the end.
    fn run_counts(&self) -> Vec<(String, u64)> {
        Vec::new()
    }
}

/// A stage made of measuring rules and nothing else.
pub struct FilterStage {
    name: String,
    rules: Vec<Rule>,
}

impl FilterStage {
    /// A stage from its compiled rules, in order.
    pub fn new(name: impl Into<String>, rules: Vec<Rule>) -> Self {
        FilterStage {
            name: name.into(),
            rules,
        }
    }

    /// The stage's compiled rules.
    pub fn compiled(&self) -> &[Rule] {
        &self.rules
    }
}

impl RecordStage for FilterStage {
    fn name(&self) -> &str {
        &self.name
    }

    fn rules(&self) -> Vec<RuleInfo> {
        self.rules.iter().map(Rule::info).collect()
    }

    fn compile_error(&self, compile: bool) -> Option<String> {
        self.rules
            .iter()
            .find_map(|r| Some(format!("{}: {}", r.id, r.filter.compile_error(compile)?)))
    }

    fn process(&self, rec: &mut Record) -> StageOutcome {
        let mut cx = Analysis::new(rec);
        let mut out = StageOutcome {
            failed: Vec::new(),
            values: Vec::with_capacity(self.rules.len()),
            counts: Vec::new(),
        };
        for (i, rule) in self.rules.iter().enumerate() {
            let Some(m) = rule.filter.measure(&mut cx) else {
                out.values.push(f64::NAN);
                continue;
            };
            out.values.push(m.value);
            let lang = cx.lang();
            if let Some(crossed) = rule.threshold_for(lang).check(m.value) {
                out.failed.push(Failure {
                    rule: i,
                    value: m.value,
                    threshold: crossed.bound(),
                    reason: reason(rule, &m, crossed),
                });
            }
        }
        // The turns' words, for dedup's shingles.
        let cut = cx.turn_words;
        rec.words.store(&rec.turns, cut);
        out
    }
}

fn reason(rule: &Rule, m: &Measure, crossed: Crossed) -> String {
    crate::verdict::crossed(&rule.subject(), m.value, crossed, m.detail.as_deref())
}

#[cfg(test)]
mod tests {
    use super::{Analysis, Scope};
    use crate::record::{Record, Role, Turn};
    use crate::tokenize::Tokenizer;

    /// The words of `scope` tokenized from its whole text, as before turns
    /// shared their words.
    fn whole(rec: &Record, scope: Scope) -> Vec<String> {
        let mut cx = Analysis::new(rec);
        let text = cx.text(scope).into_owned();
        let mut spans = Vec::new();
        Tokenizer::Unicode.spans(&text, &mut spans);
        spans
            .iter()
            .map(|&(a, b)| text[a as usize..b as usize].to_string())
            .collect()
    }

    fn shared(rec: &Record, scope: Scope) -> Vec<String> {
        let mut cx = Analysis::new(rec);
        // The answer's words first, as the quality rules ask them.
        let _ = cx.words(Scope::Response, Tokenizer::Unicode).len();
        let words = cx.words(scope, Tokenizer::Unicode);
        words.iter().map(str::to_string).collect()
    }

    #[test]
    fn joined_scopes_have_their_turns_words() {
        let mut rec = Record::exchange("Name two rivers.\r", "\u{301}Nile and\u{200d}");
        rec.turns.push(Turn::new(Role::User, ""));
        rec.turns.push(Turn::new(Role::User, "Why 2.5?"));
        rec.turns.push(Turn::new(Role::Assistant, "因为\ndon't"));
        for scope in [Scope::Conversation, Scope::Responses, Scope::Response, Scope::Prompt] {
            assert_eq!(shared(&rec, scope), whole(&rec, scope), "{scope}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// Whatever the turns hold (line ends, joiners, combining marks,
        /// Han, numbers with points), the words of the scopes that join
        /// them are the words of their whole text.
        #[test]
        fn turn_words_equal_whole_text_words(
            turns in proptest::collection::vec(
                (proptest::bool::ANY, "[a-zA-Z0-9 .,'’\\-_\r\n\t\u{301}\u{200d}\u{fe0f}\u{4e00}-\u{4e05}\u{3002}\u{1f600}]{0,24}"),
                1..5,
            ),
        ) {
            let mut rec = Record::exchange("", "");
            rec.turns = turns
                .iter()
                .map(|(user, t)| Turn::new(if *user { Role::User } else { Role::Assistant }, t.as_str()))
                .collect();
            for scope in [Scope::Conversation, Scope::Responses, Scope::Response, Scope::Prompt] {
                proptest::prop_assert_eq!(shared(&rec, scope), whole(&rec, scope));
            }
        }
    }
}
