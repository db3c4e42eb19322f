//! The scorer: finds the cues of the topic rules in a record and turns their
//! weights into one primary task, domain tags and user tags.
//!
//! Scoring is a sum of weights, each cue counted once per record, because a
//! sum can be explained line by line ("task coding: keyword `python` +3,
//! pattern `def \w+\(` +2") and tuned by editing a number. Cues found in the
//! instruction count in full; cues found only in the input (the passage to
//! work on) or the system prompt count `input_factor` of their weight, since
//! the input says what the text is about more than what is asked.
//!
//! Matching is one pass per part: single Latin words are looked up in a hash
//! map from the part's words; other keywords, phrases and Chinese cues are
//! searched as substrings; patterns run as regexes.

use std::collections::HashMap;

use crate::record::{Record, Role};
use crate::tag::rules::{CueKind, TagKind, TopicRules, TASKS};
use crate::text::{words, Lang};

/// Where a cue was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// The instruction (first user turn without its input).
    Instruction,
    /// The input or context.
    Input,
    /// The system prompt.
    System,
    /// The record's structure (has an input, several turns).
    Record,
}

impl Part {
    /// Its name in explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Instruction => "instruction",
            Part::Input => "input",
            Part::System => "system",
            Part::Record => "record",
        }
    }
}

/// A cue that matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index into [`TopicRules::cues`].
    pub cue: usize,
    /// Where it was found (the part giving the highest weight).
    pub part: Part,
    /// What it added.
    pub weight: f64,
}

/// What a trained model added.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelHit {
    /// The classifier's name (`task`, or a tag family).
    pub classifier: String,
    /// The predicted label.
    pub label: String,
    /// Its probability.
    pub probability: f64,
    /// What it added to the task score (0 for tag classifiers).
    pub weight: f64,
    /// For a tag classifier that added no tag, why; `None` otherwise.
    pub no_tag: Option<NoTag>,
    /// For a tag classifier: its tag came under `min_probability`, from the
    /// keyword cues' agreement (`cue_agreement_probability`).
    pub by_cues: bool,
}

/// Why a tag classifier's prediction added no tag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NoTag {
    /// The predicted label is the classifier's `none` label.
    NoneLabel,
    /// The probability is below the classifier's `min_probability`.
    Below(f64),
}

impl std::fmt::Display for NoTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoTag::NoneLabel => f.write_str("the none label"),
            NoTag::Below(min) => write!(f, "below min_probability {min}"),
        }
    }
}

/// The result of tagging one record.
#[derive(Debug, Clone, PartialEq)]
pub struct Tagging {
    /// The primary task.
    pub task: String,
    /// Whether no rule scored enough and the fallback task was used.
    pub fallback: bool,
    /// Score per tag rule (index of [`TopicRules::tags`]).
    pub scores: Vec<f64>,
    /// Cues that matched.
    pub hits: Vec<Hit>,
    /// Model predictions used.
    pub models: Vec<ModelHit>,
    /// The record's language.
    pub lang: Lang,
    /// Every tag, in order: `task:`, `domain:`, user tags, model tags, `lang:`.
    pub tags: Vec<String>,
}

/// Compiled rules ready to tag records.
#[derive(Debug, Clone)]
pub struct Tagger {
    rules: TopicRules,
    by_word: HashMap<String, Vec<usize>, BuildWordHasher>,
    /// The longest of those keywords, in bytes.
    longest_word: usize,
    /// Keywords that are not plain ASCII words, and phrases, in one automaton
    /// over the lower-cased text: (automaton, (cue, needs word boundaries) per pattern).
    literals: Option<(aho_corasick::AhoCorasick, Vec<(usize, bool)>)>,
    /// Cues run one by one: patterns with a counted repetition, and every
    /// cue of a kind that did not fit its automaton.
    scanned: Vec<usize>,
    /// Every pattern cue in one automaton (one pass per part), and the cue of each member.
    patterns: Option<(regex::RegexSet, Vec<usize>)>,
    /// The cues on the record's shape (an input, a question of it, turns,
    /// tool calls), in rule order: the few a record is checked for without
    /// walking every cue.
    record_cues: Vec<usize>,
    /// For each label of each classifier, its place in [`TASKS`] (labels
    /// that are no task: `None`).
    label_task: Vec<Vec<Option<usize>>>,
    /// For each tag rule, its place in [`TASKS`] when it is a task rule.
    rule_task: Vec<Option<usize>>,
    /// For each label of each classifier, the tag rule named
    /// `<prefix><label>` (the keyword cues of the same tag), if any.
    label_rule: Vec<Vec<Option<usize>>>,
}

/// FNV-1a over a word's bytes: the keyword table is looked up once per word
/// of every record, and its keys are short ASCII words that no one chooses
/// to collide (SipHash's defence is not needed, its cost is).
#[derive(Debug, Clone, Copy, Default)]
struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

type BuildWordHasher = std::hash::BuildHasherDefault<WordHasher>;

fn is_word_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `needle` occurs in `hay` with word boundaries at its Latin ends.
fn find_bounded(hay: &str, needle: &str, bounded: bool) -> bool {
    if !bounded {
        return hay.contains(needle);
    }
    let first_w = is_word_char(needle.chars().next());
    let last_w = is_word_char(needle.chars().next_back());
    let mut from = 0;
    while let Some(i) = hay[from..].find(needle) {
        let at = from + i;
        let end = at + needle.len();
        let before_ok = !first_w || !is_word_char(hay[..at].chars().next_back());
        let after_ok = !last_w || !is_word_char(hay[end..].chars().next());
        if before_ok && after_ok {
            return true;
        }
        from = at + hay[at..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

impl Tagger {
    /// A tagger for compiled rules.
    pub fn new(rules: TopicRules) -> Tagger {
        let mut by_word: HashMap<String, Vec<usize>, BuildWordHasher> = HashMap::default();
        let mut scanned = Vec::new();
        let mut pattern_cues = Vec::new();
        let mut needles: Vec<String> = Vec::new();
        let mut needle_cues = Vec::new();
        let mut record_cues = Vec::new();
        for (i, c) in rules.cues.iter().enumerate() {
            match &c.kind {
                CueKind::Keyword(k) if k.chars().all(|ch| ch.is_ascii_alphanumeric()) => {
                    by_word.entry(k.clone()).or_default().push(i)
                }
                CueKind::Pattern(_) => pattern_cues.push(i),
                CueKind::Keyword(k) => {
                    needles.push(k.clone());
                    needle_cues.push((i, true));
                }
                CueKind::Phrase(p) => {
                    needles.push(p.clone());
                    needle_cues.push((i, false));
                }
                CueKind::HasInput | CueKind::InputQuestion | CueKind::MultiTurn | CueKind::ToolCalls => {
                    record_cues.push(i)
                }
            }
        }
        let literals = if needles.is_empty() {
            None
        } else {
            match aho_corasick::AhoCorasick::new(&needles) {
                Ok(ac) => Some((ac, needle_cues)),
                Err(_) => {
                    scanned.extend(needle_cues.iter().map(|(i, _)| *i));
                    None
                }
            }
        };
        // A counted repetition (`.{0,60}`, `[^\d]{1,40}`) multiplies the
        // states of an automaton over every pattern, which a set then keeps
        // building as texts go by: such patterns run on their own (the tag
        // stage alone on the real mix, one thread: 0.956x the CPU time).
        let counted = regex::Regex::new(r"\{\d*,\d*\}").ok();
        let (alone, pattern_cues): (Vec<usize>, Vec<usize>) = pattern_cues.into_iter().partition(|&i| {
            matches!(&rules.cues[i].kind, CueKind::Pattern(r) if counted.as_ref().is_some_and(|c| c.is_match(r.as_str())))
        });
        scanned.extend(alone);
        let sources: Vec<&str> = pattern_cues
            .iter()
            .filter_map(|&i| match &rules.cues[i].kind {
                CueKind::Pattern(r) => Some(r.as_str()),
                _ => None,
            })
            .collect();
        let set = regex::RegexSetBuilder::new(sources)
            .case_insensitive(true)
            .size_limit(16 << 20)
            .dfa_size_limit(16 << 20)
            .build()
            .ok();
        let patterns = match set {
            Some(set) => Some((set, pattern_cues)),
            // Too large for one automaton: run the patterns one by one.
            None => {
                scanned.extend(pattern_cues);
                None
            }
        };
        let longest_word = by_word.keys().map(String::len).max().unwrap_or(0);
        let task_of = |name: &str| TASKS.iter().position(|t| *t == name);
        let label_task = rules
            .classifiers
            .iter()
            .map(|c| c.model.labels.iter().map(|l| task_of(l)).collect())
            .collect();
        let rule_task = rules
            .tags
            .iter()
            .map(|t| {
                if t.kind == TagKind::Task {
                    task_of(&t.name)
                } else {
                    None
                }
            })
            .collect();
        let label_rule = rules
            .classifiers
            .iter()
            .map(|c| {
                c.model
                    .labels
                    .iter()
                    .map(|l| rules.tags.iter().position(|t| t.tag == format!("{}{l}", c.prefix)))
                    .collect()
            })
            .collect();
        Tagger {
            rules,
            by_word,
            longest_word,
            literals,
            scanned,
            patterns,
            record_cues,
            label_task,
            rule_task,
            label_rule,
        }
    }

    /// The rules.
    pub fn rules(&self) -> &TopicRules {
        &self.rules
    }

    fn match_part(&self, text: &str, part: Part, factor: f64, best: &mut Vec<Hit>) {
        if text.trim().is_empty() {
            return;
        }
        let lower = crate::text::lowercase(text);
        // A cue found again keeps the first (part, weight) unless the new
        // weight is larger, so finding it twice changes nothing.
        let mut found = |i: usize| {
            let w = self.rules.cues[i].weight * factor;
            match best.iter_mut().find(|h| h.cue == i) {
                Some(h) if w.abs() > h.weight.abs() => (h.part, h.weight) = (part, w),
                Some(_) => {}
                None => best.push(Hit {
                    cue: i,
                    part,
                    weight: w,
                }),
            }
        };
        // Keyword words are short ASCII words: other words need no lookup.
        for w in words(&lower) {
            if w.len() > self.longest_word || !w.is_ascii() {
                continue;
            }
            if let Some(cues) = self.by_word.get(w) {
                for &i in cues {
                    found(i);
                }
            }
        }
        if let Some((set, cues)) = &self.patterns {
            for m in set.matches(text).iter() {
                found(cues[m]);
            }
        }
        if let Some((ac, cues)) = &self.literals {
            let mut hit = vec![false; cues.len()];
            for m in ac.find_overlapping_iter(&lower) {
                let p = m.pattern().as_usize();
                if hit[p] {
                    continue;
                }
                let (cue, bounded) = cues[p];
                if bounded {
                    let needle = &lower[m.start()..m.end()];
                    let first_w = is_word_char(needle.chars().next());
                    let last_w = is_word_char(needle.chars().next_back());
                    let before_ok = !first_w || !is_word_char(lower[..m.start()].chars().next_back());
                    let after_ok = !last_w || !is_word_char(lower[m.end()..].chars().next());
                    if !(before_ok && after_ok) {
                        continue;
                    }
                }
                hit[p] = true;
                found(cue);
            }
        }
        for &i in &self.scanned {
            let hit = match &self.rules.cues[i].kind {
                CueKind::Keyword(k) => find_bounded(&lower, k, true),
                CueKind::Phrase(p) => find_bounded(&lower, p, false),
                CueKind::Pattern(r) => r.is_match(text),
                _ => false,
            };
            if hit {
                found(i);
            }
        }
    }

    /// Tags a record without changing it.
    pub fn tag(&self, rec: &Record) -> Tagging {
        let s = &self.rules.settings;
        let mut best: Vec<Hit> = Vec::new();
        self.match_part(rec.instruction(), Part::Instruction, 1.0, &mut best);
        self.match_part(rec.input(), Part::Input, s.input_factor, &mut best);
        let system_factor = s.system_factor.unwrap_or(s.input_factor);
        if let Some(sys) = rec.system.as_ref().filter(|_| system_factor != 0.0) {
            self.match_part(sys, Part::System, system_factor, &mut best);
        }
        let has_input = !rec.input().trim().is_empty();
        let input_question = has_input && asks_a_question(rec.instruction());
        let user_turns = rec.turns.iter().filter(|t| t.role == Role::User).count();
        let tool_calls = rec
            .turns
            .iter()
            .any(|t| matches!(t.role, Role::FunctionCall | Role::Observation));
        for &i in &self.record_cues {
            let c = &self.rules.cues[i];
            let on = match c.kind {
                CueKind::HasInput => has_input,
                CueKind::InputQuestion => input_question,
                CueKind::MultiTurn => user_turns > 1,
                CueKind::ToolCalls => tool_calls,
                _ => false,
            };
            if on {
                let hit = Hit {
                    cue: i,
                    part: Part::Record,
                    weight: c.weight,
                };
                match best.iter_mut().find(|h| h.cue == i) {
                    Some(h) => *h = hit,
                    None => best.push(hit),
                }
            }
        }
        let mut hits = best;
        hits.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()).then(a.cue.cmp(&b.cue)));
        let mut scores = vec![0.0; self.rules.tags.len()];
        for h in &hits {
            scores[self.rules.cues[h.cue].tag] += h.weight;
        }

        // Trained models.
        let mut models = Vec::new();
        let mut model_tags = Vec::new();
        // Per task of [`TASKS`]: `None` until a model label or a rule names it.
        let mut task_scores: Vec<Option<f64>> = vec![None; TASKS.len()];
        if !self.rules.classifiers.is_empty() {
            let raw =
                crate::tag::train::model_fields(&rec.raw, self.rules.classifiers.iter().flat_map(|c| &c.model.text));
            for ((c, label_task), label_rule) in self
                .rules
                .classifiers
                .iter()
                .zip(&self.label_task)
                .zip(&self.label_rule)
            {
                let text = crate::tag::train::record_text(rec, raw.as_ref(), &c.model);
                let p = c.model.predict(&text);
                let (bi, bp) = crate::tag::model::argmax(&p);
                if c.name == "task" {
                    for (t, pr) in label_task.iter().zip(&p) {
                        if let Some(t) = *t {
                            *task_scores[t].get_or_insert(0.0) += c.weight * f64::from(*pr);
                        }
                    }
                    models.push(ModelHit {
                        classifier: c.name.clone(),
                        label: c.model.labels[bi].clone(),
                        probability: f64::from(bp),
                        weight: c.weight * f64::from(bp),
                        no_tag: None,
                        by_cues: false,
                    });
                } else {
                    let label = &c.model.labels[bi];
                    let below = f64::from(bp) < c.min_probability;
                    let by_cues = below
                        && c.cue_agreement.is_some_and(|(p, min)| {
                            f64::from(bp) >= p && label_rule[bi].is_some_and(|i| self.cues_agree(&scores, i, min))
                        });
                    let no_tag = if c.none.as_deref() == Some(label.as_str()) {
                        Some(NoTag::NoneLabel)
                    } else if below && !by_cues {
                        Some(NoTag::Below(c.min_probability))
                    } else {
                        model_tags.push(format!("{}{label}", c.prefix));
                        None
                    };
                    // Kept either way, so an explanation shows what the model thought.
                    models.push(ModelHit {
                        classifier: c.name.clone(),
                        label: label.clone(),
                        probability: f64::from(bp),
                        weight: 0.0,
                        no_tag,
                        by_cues: by_cues && no_tag.is_none(),
                    });
                }
            }
        }

        // The primary task: the best task score, ties to the earlier rule.
        let mut task: Option<(&str, f64)> = None;
        for (i, t) in self.rule_task.iter().enumerate() {
            if let Some(t) = *t {
                *task_scores[t].get_or_insert(0.0) += scores[i];
            }
        }
        for (name, sc) in TASKS.iter().zip(&task_scores) {
            if let Some(sc) = *sc {
                if task.is_none_or(|(_, b)| sc > b) {
                    task = Some((name, sc));
                }
            }
        }
        let (task, fallback) = match task {
            Some((name, sc)) if sc >= s.task_min_score => (name.to_string(), false),
            _ => (s.fallback_task.clone(), true),
        };

        let mut tags = Vec::new();
        if s.task_tag {
            tags.push(format!("task:{task}"));
        }
        let mut domains: Vec<(usize, f64)> = self
            .rules
            .tags
            .iter()
            .enumerate()
            .filter(|(i, t)| t.kind == TagKind::Domain && scores[*i] >= t.min_score)
            .map(|(i, _)| (i, scores[i]))
            .collect();
        domains.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        domains.truncate(s.max_domains);
        tags.extend(domains.iter().map(|(i, _)| self.rules.tags[*i].tag.clone()));
        for (i, t) in self.rules.tags.iter().enumerate() {
            if t.kind == TagKind::User && scores[i] >= t.min_score {
                tags.push(t.tag.clone());
            }
        }
        tags.extend(model_tags);
        let lang = rec.lang;
        if s.lang_tag {
            tags.push(format!("lang:{}", lang.code()));
        }
        Tagging {
            task,
            fallback,
            scores,
            hits,
            models,
            lang,
            tags,
        }
    }

    /// Whether tag rule `i` scores at least `min` and highest of its kind
    /// (ties to the earlier rule, as domains are ordered).
    fn cues_agree(&self, scores: &[f64], i: usize, min: f64) -> bool {
        let kind = self.rules.tags[i].kind;
        scores[i] >= min
            && self
                .rules
                .tags
                .iter()
                .enumerate()
                .all(|(j, t)| j == i || t.kind != kind || scores[j] < scores[i] || (scores[j] == scores[i] && j > i))
    }

    /// Tags a record: sets its `task` and appends its tags (no duplicates).
    pub fn apply(&self, rec: &mut Record) -> Tagging {
        let t = self.tag(rec);
        rec.task = Some(t.task.clone());
        for tag in &t.tags {
            if !rec.tags.contains(tag) {
                rec.tags.push(tag.clone());
            }
        }
        t
    }
}

/// Whether an instruction asks a question: it ends with `?` or `？`, or
/// opens with an English or Chinese question word.
fn asks_a_question(instruction: &str) -> bool {
    let t = instruction.trim();
    if t.ends_with(['?', '？']) {
        return true;
    }
    let lower = t.to_ascii_lowercase();
    let first = lower.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
    matches!(
        first,
        "what"
            | "who"
            | "whom"
            | "whose"
            | "why"
            | "how"
            | "when"
            | "where"
            | "which"
            | "is"
            | "are"
            | "does"
            | "do"
            | "did"
            | "can"
    ) || ["什么", "为什么", "谁", "哪", "如何", "怎么", "是否", "多少", "几"]
        .iter()
        .any(|w| t.starts_with(w))
}

#[cfg(test)]
mod tests {
    use super::find_bounded;
    use crate::filters::testing::record;

    #[test]
    fn latin_keywords_need_word_boundaries() {
        assert!(find_bounded("the art of war", "art", true));
        assert!(!find_bounded("start the engine", "art", true));
        assert!(find_bounded("用python写", "python", true));
        assert!(find_bounded("translate into english.", "into english", true));
        assert!(find_bounded("请翻译这句话", "翻译", true));
        assert!(find_bounded("start", "art", false));
    }

    fn task_of(json: &str) -> (String, Vec<String>) {
        let t = crate::tag::builtin().expect("built-in topic rules compile");
        let mut rec = record(json);
        let tagging = t.apply(&mut rec);
        assert_eq!(rec.task.as_deref(), Some(tagging.task.as_str()));
        (tagging.task, rec.tags)
    }

    #[test]
    fn real_instructions_get_their_task() {
        // LLaMA-Factory alpaca_en_demo / alpaca_zh_demo, GPTeacher, Alpaca-CoT, MT-bench,
        // InstructionWild v2_user_1.
        let cases = [
            (
                r#"{"instruction": "Write a C++ program that calculates the area of a rectangle, given its width and height.", "input": "width: 5, height: 8"}"#,
                "coding",
            ),
            (
                r#"{"instruction": "Reword this sentence to increase clarity", "input": "The idea of her being so brave made me smile"}"#,
                "rewriting",
            ),
            (
                r#"{"instruction": "Imagine you are an ambassador from a planet called Zogaria, and write a speech introducing your planet and its culture."}"#,
                "roleplay",
            ),
            (
                r#"{"instruction": "Imagine you are writing a blog post comparing two popular smartphone models. Develop an outline for the blog post, including key points and subheadings to effectively compare and contrast the features, performance, and user experience of the two models. Please answer in fewer than 200 words."}"#,
                "creative-writing",
            ),
            (r#"{"instruction": "What do you know about Iraq"}"#, "open-qa"),
            (
                r#"{"instruction": "Given the parameters of a triangle, find out its perimeter.", "input": "Side 1 = 4 Side 2 = 6 Side 3 = 8"}"#,
                "math",
            ),
            (
                r#"{"instruction": "Explain the differences between birds and mammals"}"#,
                "open-qa",
            ),
            (
                r#"{"instruction": "列出一个应该在野营应急包中的7件物品。"}"#,
                "brainstorming",
            ),
            (r#"{"instruction": "帮我分类以下动物：猪、鸡、牛。"}"#, "classification"),
            (
                r#"{"instruction": "Of the following two sentences, which one is against common sense?\\nOptions:\\n- Sentence A: \"He poured orange juice on his cereal.\"\\n- Sentence B: \"He poured milk on his cereal.\"\\n Let's be accurate as possible. So think first."}"#,
                "reasoning",
            ),
            (
                r#"{"instruction": "Compose an engaging travel blog post about a recent trip to Hawaii, highlighting cultural experiences and must-see attractions."}"#,
                "creative-writing",
            ),
            (
                r#"{"instruction": "Translate the following sentence into French.", "input": "Where is the train station?"}"#,
                "translation",
            ),
            (
                r#"{"instruction": "Summarize the following article in two sentences.", "input": "The city council voted on Tuesday to expand the bike lane network."}"#,
                "summarization",
            ),
        ];
        for (json, want) in cases {
            assert_eq!(task_of(json).0, want, "{json}");
        }
    }

    #[test]
    fn tags_carry_task_domain_and_language() {
        let (task, tags) = task_of(
            r#"{"instruction": "描述一个可以从人工智能技术中受益的医疗应用。", "input": "", "output": "人工智能可以帮助医生诊断疾病。"}"#,
        );
        assert_eq!(tags.first().map(String::as_str), Some(format!("task:{task}").as_str()));
        // The domain model gives the one domain it is surest of.
        assert!(tags.contains(&"domain:health".to_string()), "{tags:?}");
        assert_eq!(tags.iter().filter(|t| t.starts_with("domain:")).count(), 1, "{tags:?}");
        assert_eq!(tags.last().map(String::as_str), Some("lang:zh"));
    }

    #[test]
    fn input_marks_closed_qa_and_nothing_falls_back() {
        let (task, _) = task_of(
            r#"{"instruction": "Who founded the company?", "input": "Acme was founded in 1901 by Jane Doe in Ohio.", "output": "Jane Doe"}"#,
        );
        assert_eq!(task, "closed-qa");
        // No cue: the trained model alone decides; without it, the fallback.
        let nothing = record(r#"{"instruction": "zxqv", "output": "ok"}"#);
        let tagging = crate::tag::builtin().expect("built-in rules").tag(&nothing);
        assert!(!tagging.fallback);
        let model = tagging
            .models
            .iter()
            .find(|m| m.classifier == "task")
            .expect("the task model");
        assert_eq!(tagging.task, model.label);
        let embedded = crate::rules::RuleFiles::embedded();
        let tasks = embedded.get("topics/tasks.toml").expect("tasks.toml");
        let without_model = &tasks[..tasks.find("\n[classifier.task]").expect("a task model")];
        let files = crate::rules::RuleFiles::from_pairs("t", [("topics/tasks.toml", without_model)]);
        let rules_only = crate::tag::tagger(&files).expect("compiles").expect("has rules");
        let tagging = rules_only.tag(&nothing);
        assert!(tagging.fallback);
        assert_eq!(tagging.task, "open-qa");
    }

    #[test]
    fn chain_of_thought_templates_add_the_step_by_step_tag() {
        // Alpaca-CoT sensemaking_train / aqua_train prompts, each ending in one of
        // its templates; then a how-to guide and a role's "thought process"
        // (alpaca_chinese, GPTeacher roleplay), which ask for no reasoning.
        let sbs = |json: &str| task_of(json).1.iter().any(|t| t == "step-by-step");
        for tail in [
            "Reason slowly and give your answer.",
            "Let's solve this gradually.",
            "Hmmm, let me think. I want to lay out the solution in details.",
            "Let me think hard. Detailed solution:",
            "Please answer this question gradually:",
        ] {
            let json = format!(
                r#"{{"instruction": "Which of the following sentences is nonsensical?\nOptions:\n- Sentence A: \"Jessica put the car in the microwave.\"\n- Sentence B: \"Jessica put the popcorn in the microwave.\"\n {tail}"}}"#
            );
            assert!(sbs(&json), "{tail}");
        }
        assert!(!sbs(r#"{"instruction": "生成烘焙蛋糕的分步指南。"}"#));
        assert!(!sbs(
            r#"{"instruction": "You are Leonardo da Vinci working on your latest invention. Explain your thought process behind designing a flying machine."}"#
        ));
    }

    #[test]
    fn tool_calls_add_the_tool_use_tag() {
        // LLaMA-Factory glaive_toolcall_en_demo (Apache-2.0).
        let (_, tags) = task_of(
            r#"{"conversations": [{"from": "human", "value": "Hi, I need help with calculating the tip for my bill. The total bill amount is $100 and I want to give a 15% tip."}, {"from": "function_call", "value": "{\"name\": \"calculate_tip\", \"arguments\": {\"bill_amount\": 100, \"tip_percentage\": 15}}"}, {"from": "observation", "value": "{\"tip_amount\": 15}"}, {"from": "gpt", "value": "The tip amount for your bill is $15."}]}"#,
        );
        assert!(tags.contains(&"tool-use".to_string()), "{tags:?}");
    }

    #[test]
    fn explanation_lists_the_cues() {
        let rec = record(r#"{"instruction": "Write a Python function to reverse a string."}"#);
        let x = crate::tag::explain(&rec);
        assert_eq!(x.task, "coding");
        assert!(
            x.cues
                .iter()
                .any(|c| c.tag == "task:coding" && c.cue == "keyword \"python\""),
            "{x}"
        );
        let text = x.to_string();
        assert!(text.contains("task: coding"), "{text}");
        // The domain model shows what it thought, tag or no tag.
        assert_eq!(text.matches("model domain: ").count(), 1, "{text}");
        assert_eq!(x.models.len() + x.untagged.len(), 2, "{text}");
    }
}
