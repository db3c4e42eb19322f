//! Topic rules: `rules/topics/*.toml` parsed, validated and compiled into cues.
//!
//! Tagging rules are data so that a team can add a domain, a language's cue
//! words or a tag of its own without touching code, and so that every tag can
//! be explained by the cues that chose it. A file holds up to five kinds of
//! tables; unknown keys are errors that name the file, the line and the key:
//!
//! ```toml
//! [settings]                 # at most once across all files
//! input_factor = 0.5         # cues found only in the input count this much
//! system_factor = 0.0        # and in the system prompt (default: input_factor)
//! task_min_score = 1.0       # below this the task is `fallback_task`
//! fallback_task = "other"
//! domain_min_score = 2.0     # a domain tag needs at least this score
//! max_domains = 2
//!
//! [task.translation]         # one of the task vocabulary
//! keywords = { translate = 4, "翻译" = 4 }      # whole words, case-insensitive
//! phrases = { "into english" = 3 }             # anywhere, case-insensitive
//! patterns = { '^\s*(translate|render)\b' = 2 } # regexes, case-insensitive
//! has_input = 1.5            # added when the record has an input/context
//! input_question = 2.0       # added when it has one and the instruction asks a question
//! multi_turn = 1.0           # added when the record has more than one user turn
//! has_tool_calls = 4.0       # added when the record has function calls or tool results
//!
//! [domain.health]            # tag `domain:health`
//! keywords = { symptom = 2, "健康" = 2 }
//!
//! [tag.politeness]           # user-defined tag `politeness`
//! min_score = 1              # (default: domain_min_score)
//! keywords = { please = 1 }
//!
//! [classifier.task]          # a trained model (see `curate train`)
//! model = "models/task.json" # in the rules folder, or a path on disk
//! weight = 4.0               # task scores get weight x P(task)
//!
//! [classifier.domain]        # a tag model: adds `domain:<label>`
//! model = "models/domain.json"
//! none = "none"              # the label that adds no tag
//! min_probability = 0.65     # tagged from this probability,
//! cue_agreement_probability = 0.3  # or from this one when the keyword
//! cue_agreement_score = 2.0  # tag `domain:<label>` scores this and highest
//! ```
//!
//! Chinese cues are written as they are: a keyword made of Han characters
//! matches anywhere (Chinese has no spaces to delimit words); a Latin keyword
//! matches only as a whole word, so `art` does not fire on `start`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

use crate::error::RulesError;
use crate::rules::{locate, params, RuleFiles};
use crate::tag::model::Model;

/// The primary task vocabulary, in tie-break order.
pub const TASKS: &[&str] = &[
    "open-qa",
    "closed-qa",
    "classification",
    "extraction",
    "summarization",
    "rewriting",
    "translation",
    "brainstorming",
    "creative-writing",
    "coding",
    "math",
    "reasoning",
    "roleplay",
    "chat",
    "other",
];

/// What a tag rule produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    /// A primary task candidate.
    Task,
    /// A `domain:` tag.
    Domain,
    /// A user-defined tag.
    User,
}

/// How a cue matches.
#[derive(Debug, Clone)]
pub enum CueKind {
    /// A whole word or phrase (word boundaries at Latin ends).
    Keyword(String),
    /// A substring anywhere.
    Phrase(String),
    /// A regular expression.
    Pattern(regex::Regex),
    /// The record has a non-empty input or context.
    HasInput,
    /// The record has an input and its instruction asks a question (ends
    /// with `?`/`？` or opens with a question word): a question about the
    /// given text.
    InputQuestion,
    /// The record has more than one user turn.
    MultiTurn,
    /// The record has tool or function calls or tool results.
    ToolCalls,
}

impl CueKind {
    /// How the cue is shown in explanations.
    pub fn describe(&self) -> String {
        match self {
            CueKind::Keyword(k) => format!("keyword {k:?}"),
            CueKind::Phrase(p) => format!("phrase {p:?}"),
            CueKind::Pattern(r) => format!("pattern /{}/", r.as_str()),
            CueKind::HasInput => "has an input/context".into(),
            CueKind::InputQuestion => "asks a question about its input".into(),
            CueKind::MultiTurn => "several user turns".into(),
            CueKind::ToolCalls => "has tool calls".into(),
        }
    }
}

/// One weighted cue of one tag rule.
#[derive(Debug, Clone)]
pub struct Cue {
    /// Index of the tag rule in [`TopicRules::tags`].
    pub tag: usize,
    /// What matches.
    pub kind: CueKind,
    /// What it adds to the tag's score.
    pub weight: f64,
}

/// A compiled tag rule.
#[derive(Debug, Clone)]
pub struct TagRule {
    /// Task, domain or user tag.
    pub kind: TagKind,
    /// The name (`coding`, `health`, `politeness`).
    pub name: String,
    /// The tag written in the `tags` column (`task:coding`, `domain:health`, `politeness`).
    pub tag: String,
    /// Smallest score that adds the tag (domains and user tags).
    pub min_score: f64,
}

/// Global settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Factor for cues found only in the input.
    pub input_factor: f64,
    /// Factor for cues found only in the system prompt (`None`: `input_factor`).
    pub system_factor: Option<f64>,
    /// Smallest winning task score; below it the task is `fallback_task`.
    pub task_min_score: f64,
    /// The task when no rule scores enough.
    pub fallback_task: String,
    /// Smallest score for a domain tag.
    pub domain_min_score: f64,
    /// Most domain tags per record.
    pub max_domains: usize,
    /// Add the `task:<task>` tag next to the `task` column.
    pub task_tag: bool,
    /// Add the `lang:<code>` tag.
    pub lang_tag: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            input_factor: 0.5,
            system_factor: None,
            task_min_score: 1.0,
            fallback_task: "other".into(),
            domain_min_score: 2.0,
            max_domains: 2,
            task_tag: true,
            lang_tag: true,
        }
    }
}

/// A trained model used as a tagger.
#[derive(Debug, Clone)]
pub struct ClassifierRule {
    /// `task`, or the name of the tag family it predicts.
    pub name: String,
    /// The model.
    pub model: Model,
    /// For `task`: task scores get `weight * P(task)`.
    pub weight: f64,
    /// For tags: the tag `<prefix><label>` is added when `P(label) >= min_probability`.
    pub min_probability: f64,
    /// Prefix of the added tag (default `<name>:`).
    pub prefix: String,
    /// A label that means "none of them": its prediction adds no tag.
    pub none: Option<String>,
    /// For tags: `(probability, score)`: the tag is also added from this
    /// probability when the keyword cues agree, i.e. the tag rule named
    /// `<prefix><label>` scores at least `score` and highest of its kind.
    pub cue_agreement: Option<(f64, f64)>,
}

/// The compiled topic rules.
#[derive(Debug, Clone, Default)]
pub struct TopicRules {
    /// Settings.
    pub settings: Settings,
    /// Tag rules in file then table order.
    pub tags: Vec<TagRule>,
    /// Every cue.
    pub cues: Vec<Cue>,
    /// Trained models.
    pub classifiers: Vec<ClassifierRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTag {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    min_score: Option<f64>,
    #[serde(default)]
    keywords: BTreeMap<String, f64>,
    #[serde(default)]
    phrases: BTreeMap<String, f64>,
    #[serde(default)]
    patterns: BTreeMap<String, f64>,
    #[serde(default)]
    has_input: Option<f64>,
    #[serde(default)]
    input_question: Option<f64>,
    #[serde(default)]
    multi_turn: Option<f64>,
    #[serde(default)]
    has_tool_calls: Option<f64>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClassifier {
    model: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default = "default_weight")]
    weight: f64,
    #[serde(default = "default_min_p")]
    min_probability: f64,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    none: Option<String>,
    #[serde(default)]
    cue_agreement_probability: Option<f64>,
    #[serde(default)]
    cue_agreement_score: Option<f64>,
}

fn default_weight() -> f64 {
    4.0
}

fn default_min_p() -> f64 {
    0.5
}

/// The folder holding topic rule files.
pub const DIR: &str = "topics/";

impl TopicRules {
    /// Compiles `topics/*.toml`; `Ok(None)` when there are none.
    pub fn compile(files: &RuleFiles) -> Result<Option<TopicRules>, Vec<RulesError>> {
        let mut out = TopicRules::default();
        let mut errors = Vec::new();
        let mut any = false;
        let mut settings_seen: Option<String> = None;
        let mut index: HashMap<String, usize> = HashMap::new();
        // The file holding [settings] first: a domain's or tag's default
        // min_score comes from them, whatever the files' names.
        let mut paths: Vec<&str> = files
            .paths()
            .filter(|p| p.starts_with(DIR) && p.ends_with(".toml"))
            .collect();
        paths.sort_by_key(|p| !files.get(p).unwrap_or("").lines().any(|l| l.trim() == "[settings]"));
        for path in paths {
            any = true;
            let text = files.get(path).unwrap_or("");
            let table: toml::Table = match toml::from_str(text) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(RulesError::from_toml(path, text, &e));
                    continue;
                }
            };
            let err = |table: &str, key: &str, message: String| RulesError {
                file: path.to_string(),
                line: locate(text, table, (!key.is_empty()).then_some(key)),
                key: Some(if key.is_empty() {
                    table.to_string()
                } else {
                    format!("{table}.{key}")
                }),
                message,
            };
            for (section, value) in table {
                if section == "settings" {
                    if let Some(first) = &settings_seen {
                        errors.push(err("settings", "", format!("[settings] is already set in {first}")));
                        continue;
                    }
                    settings_seen = Some(path.to_string());
                    let t = match value {
                        toml::Value::Table(t) => t,
                        _ => {
                            errors.push(err("settings", "", "must be a table".into()));
                            continue;
                        }
                    };
                    match params::<Settings>(&t) {
                        Ok(s) => {
                            if !TASKS.contains(&s.fallback_task.as_str()) {
                                errors.push(err(
                                    "settings",
                                    "fallback_task",
                                    format!("unknown task `{}`; tasks are: {}", s.fallback_task, TASKS.join(", ")),
                                ));
                            }
                            out.settings = s;
                        }
                        Err((k, m)) => errors.push(err("settings", &k, m)),
                    }
                    continue;
                }
                let kind = match section.as_str() {
                    "task" => Some(TagKind::Task),
                    "domain" => Some(TagKind::Domain),
                    "tag" => Some(TagKind::User),
                    "classifier" => None,
                    _ => {
                        errors.push(err(
                            &section,
                            "",
                            format!("unknown section `{section}`; expected settings, task, domain, tag or classifier"),
                        ));
                        continue;
                    }
                };
                let toml::Value::Table(entries) = value else {
                    errors.push(err(
                        &section,
                        "",
                        format!("`{section}` must hold tables such as [{section}.name]"),
                    ));
                    continue;
                };
                for (name, v) in entries {
                    let full = format!("{section}.{name}");
                    let toml::Value::Table(t) = v else {
                        errors.push(err(
                            &full,
                            "",
                            format!("`{full}` must be a table: write it as [{full}]"),
                        ));
                        continue;
                    };
                    let Some(kind) = kind else {
                        match compile_classifier(files, &name, &t) {
                            Ok(c) => out.classifiers.push(c),
                            Err((k, m)) => errors.push(err(&full, &k, m)),
                        }
                        continue;
                    };
                    if kind == TagKind::Task && !TASKS.contains(&name.as_str()) {
                        errors.push(err(
                            &full,
                            "",
                            format!("unknown task `{name}`; tasks are: {}", TASKS.join(", ")),
                        ));
                        continue;
                    }
                    if let Some(first) = index.get(&full) {
                        let _ = first;
                        errors.push(err(&full, "", format!("`[{full}]` is defined twice")));
                        continue;
                    }
                    match compile_tag(&mut out, kind, &name, &t) {
                        Ok(Some(i)) => {
                            index.insert(full, i);
                        }
                        Ok(None) => {}
                        Err((k, m)) => errors.push(err(&full, &k, m)),
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(any.then_some(out))
    }

    /// The index of the task rule named `name`.
    pub fn task_index(&self, name: &str) -> Option<usize> {
        self.tags.iter().position(|t| t.kind == TagKind::Task && t.name == name)
    }
}

fn check_weight(key: &str, w: f64) -> Result<(), (String, String)> {
    if !w.is_finite() {
        return Err((key.into(), format!("weight {w} is not a finite number")));
    }
    Ok(())
}

fn compile_tag(
    out: &mut TopicRules,
    kind: TagKind,
    name: &str,
    t: &toml::Table,
) -> Result<Option<usize>, (String, String)> {
    let raw: RawTag = params(t)?;
    let _ = raw.description;
    if !raw.enabled {
        return Ok(None);
    }
    let tag = match kind {
        TagKind::Task => format!("task:{name}"),
        TagKind::Domain => format!("domain:{name}"),
        TagKind::User => name.to_string(),
    };
    let min_score = raw.min_score.unwrap_or(match kind {
        TagKind::Task => out.settings.task_min_score,
        _ => out.settings.domain_min_score,
    });
    let idx = out.tags.len();
    let mut cues = Vec::new();
    for (k, w) in &raw.keywords {
        check_weight("keywords", *w)?;
        let k = k.trim().to_lowercase();
        if k.is_empty() {
            return Err(("keywords".into(), "empty keyword".into()));
        }
        cues.push(Cue {
            tag: idx,
            kind: CueKind::Keyword(k),
            weight: *w,
        });
    }
    for (p, w) in &raw.phrases {
        check_weight("phrases", *w)?;
        let p = p.to_lowercase();
        if p.trim().is_empty() {
            return Err(("phrases".into(), "empty phrase".into()));
        }
        cues.push(Cue {
            tag: idx,
            kind: CueKind::Phrase(p),
            weight: *w,
        });
    }
    for (p, w) in &raw.patterns {
        check_weight("patterns", *w)?;
        let re = regex::RegexBuilder::new(&ascii_word_boundaries(p))
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| ("patterns".to_string(), crate::error::regex_error(p, &e)))?;
        cues.push(Cue {
            tag: idx,
            kind: CueKind::Pattern(re),
            weight: *w,
        });
    }
    // Cues of the record's shape, not of its words.
    for (key, weight, kind) in [
        ("has_input", raw.has_input, CueKind::HasInput),
        ("input_question", raw.input_question, CueKind::InputQuestion),
        ("multi_turn", raw.multi_turn, CueKind::MultiTurn),
        ("has_tool_calls", raw.has_tool_calls, CueKind::ToolCalls),
    ] {
        if let Some(w) = weight {
            check_weight(key, w)?;
            cues.push(Cue {
                tag: idx,
                kind,
                weight: w,
            });
        }
    }
    out.tags.push(TagRule {
        kind,
        name: name.to_string(),
        tag,
        min_score,
    });
    out.cues.extend(cues);
    Ok(Some(idx))
}

/// `pattern` with its word boundaries (`\b`, `\B`) made ASCII ones
/// (`(?-u:\b)`): a Unicode word boundary stops the fast (lazy DFA) engine at
/// the first non-ASCII byte and the whole set then runs in the slow one (the
/// tag stage on the real mix, back to back: 0.82 s of CPU before, 0.53 s
/// after, with the task and domain models added). Cue patterns
/// put boundaries beside Latin words, where both agree; beside a Han
/// character an ASCII boundary holds and a Unicode one does not.
fn ascii_word_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(b @ ('b' | 'B')) => {
                out.push_str("(?-u:\\");
                out.push(b);
                out.push(')');
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Loads a model named in a rule: from the rule files first (so models ship
/// inside a rules folder), else from disk (relative to the rules folder when
/// it is one, else to the working directory).
pub fn load_model(files: &RuleFiles, path: &str) -> Result<Model, String> {
    if let Some(text) = files.get(path) {
        return Model::from_json(text);
    }
    let p = Path::new(path);
    let on_disk = if p.is_absolute() || files.origin == "built-in" {
        p.to_path_buf()
    } else {
        Path::new(&files.origin).join(p)
    };
    let text = std::fs::read_to_string(&on_disk)
        .or_else(|_| std::fs::read_to_string(p))
        .map_err(|e| format!("cannot read model {path:?} ({}): {e}", on_disk.display()))?;
    Model::from_json(&text).map_err(|e| format!("model {path:?}: {e}"))
}

fn compile_classifier(files: &RuleFiles, name: &str, t: &toml::Table) -> Result<ClassifierRule, (String, String)> {
    let raw: RawClassifier = params(t)?;
    let _ = raw.description;
    let model = load_model(files, &raw.model).map_err(|m| ("model".to_string(), m))?;
    if !(0.0..=1.0).contains(&raw.min_probability) {
        return Err((
            "min_probability".into(),
            format!("{} is out of range [0, 1]", raw.min_probability),
        ));
    }
    check_weight("weight", raw.weight)?;
    let cue_agreement = match (raw.cue_agreement_probability, raw.cue_agreement_score) {
        (None, None) => None,
        (Some(p), score) => {
            if !(0.0..=raw.min_probability).contains(&p) {
                return Err((
                    "cue_agreement_probability".into(),
                    format!("{p} is out of range [0, min_probability = {}]", raw.min_probability),
                ));
            }
            let score = score.unwrap_or(2.0);
            check_weight("cue_agreement_score", score)?;
            if name == "task" {
                return Err((
                    "cue_agreement_probability".into(),
                    "only a tag classifier adds tags when the cues agree; the task model adds to the task scores"
                        .into(),
                ));
            }
            Some((p, score))
        }
        (None, Some(_)) => return Err(("cue_agreement_score".into(), "needs cue_agreement_probability".into())),
    };
    if name == "task" {
        if let Some(bad) = model.labels.iter().find(|l| !TASKS.contains(&l.as_str())) {
            return Err((
                "model".into(),
                format!(
                    "a task classifier must predict tasks of the vocabulary; label `{bad}` is not one ({})",
                    TASKS.join(", ")
                ),
            ));
        }
    }
    Ok(ClassifierRule {
        name: name.to_string(),
        prefix: raw.prefix.unwrap_or_else(|| format!("{name}:")),
        model,
        weight: raw.weight,
        min_probability: raw.min_probability,
        none: raw.none,
        cue_agreement,
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn word_boundaries_become_ascii_and_escapes_stay() {
        assert_eq!(
            super::ascii_word_boundaries(r"^\s*(what|who)\b"),
            r"^\s*(what|who)(?-u:\b)"
        );
        assert_eq!(super::ascii_word_boundaries(r"\Bx\\b"), r"(?-u:\B)x\\b");
        let re = regex::Regex::new(&super::ascii_word_boundaries(r"\bdef\b")).expect("compiles");
        assert!(re.is_match("写一个 def 函数") && !re.is_match("undefined"));
    }

    #[test]
    fn settings_apply_to_domains_of_files_read_before_them() {
        // domains.toml sorts before tasks.toml, which holds [settings].
        let files = crate::rules::RuleFiles::from_pairs(
            "t",
            [
                ("topics/domains.toml", "[domain.health]\nkeywords = { health = 2.0 }\n"),
                (
                    "topics/tasks.toml",
                    "[settings]\ndomain_min_score = 5.0\n\n[task.open-qa]\nkeywords = { what = 1.0 }\n",
                ),
            ],
        );
        let rules = super::TopicRules::compile(&files)
            .expect("compiles")
            .expect("has rules");
        let health = rules.tags.iter().find(|t| t.tag == "domain:health").expect("domain");
        assert_eq!(health.min_score, 5.0);
    }

    use super::*;

    fn compile(text: &str) -> Result<Option<TopicRules>, Vec<RulesError>> {
        TopicRules::compile(&RuleFiles::from_pairs("t", [("topics/a.toml", text)]))
    }

    #[test]
    fn compiles_cues_of_every_kind() {
        let r = compile(
            "[task.translation]\nkeywords = { translate = 4, \"翻译\" = 4 }\nphrases = { \"into english\" = 3 }\npatterns = { '^\\s*render' = 2 }\nhas_input = 1\n[domain.health]\nkeywords = { symptom = 2 }\n",
        )
        .expect("compiles")
        .expect("has rules");
        assert_eq!(r.tags.len(), 2);
        assert_eq!(r.tags[1].tag, "domain:health");
        assert_eq!(r.cues.len(), 6);
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = compile("[task.coding]\nkeywords = { python = 2 }\nkeyword = { rust = 1 }\n").expect_err("unknown key");
        assert_eq!(e[0].file, "topics/a.toml");
        assert_eq!(e[0].key.as_deref(), Some("task.coding.keyword"));
        assert_eq!(e[0].line, Some(3));
        let e = compile("[task.cooking]\nkeywords = { soup = 2 }\n").expect_err("unknown task");
        assert!(e[0].message.contains("unknown task `cooking`"), "{}", e[0].message);
        assert_eq!(e[0].line, Some(1));
        let e = compile("[domain.x]\npatterns = { '(' = 2 }\n").expect_err("bad regex");
        assert_eq!(e[0].key.as_deref(), Some("domain.x.patterns"));
        assert_eq!(e[0].line, Some(2));
        let e = compile("[topic.x]\n").expect_err("unknown section");
        assert!(e[0].message.contains("unknown section"));
        let e = compile("[classifier.task]\nmodel = \"nowhere/model.json\"\n").expect_err("missing model");
        assert_eq!(e[0].key.as_deref(), Some("classifier.task.model"));
    }

    #[test]
    fn cue_agreement_is_checked() {
        let model = crate::rules::RuleFiles::embedded()
            .get("topics/models/domain.json")
            .expect("shipped domain model")
            .to_string();
        let with = |table: &str| {
            TopicRules::compile(&RuleFiles::from_pairs(
                "t",
                [("topics/a.toml", table), ("topics/models/domain.json", model.as_str())],
            ))
        };
        let head = "[classifier.domain]\nmodel = \"topics/models/domain.json\"\nmin_probability = 0.6\n";
        let ok = with(&format!("{head}cue_agreement_probability = 0.3\n"))
            .expect("valid")
            .expect("rules");
        assert_eq!(ok.classifiers[0].cue_agreement, Some((0.3, 2.0)));
        for (extra, key) in [
            (
                "cue_agreement_probability = 0.7\n",
                "classifier.domain.cue_agreement_probability",
            ),
            ("cue_agreement_score = 2.0\n", "classifier.domain.cue_agreement_score"),
        ] {
            let e = with(&format!("{head}{extra}")).expect_err("invalid");
            assert_eq!(e[0].key.as_deref(), Some(key), "{extra}");
        }
    }
}
