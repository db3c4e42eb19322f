//! Parsing `rules/sensitive/*.toml`: `pii.toml` (one table per PII type) and
//! the word-list rules of every other file. Errors name file, line and key.

use serde::Deserialize;

use super::scan::{Detector, PiiType};
use super::secret::Anchor;
use super::toxic::{ToxicRule, WordList, WordListParams, WordLists};
use crate::error::RulesError;
use crate::rules::{locate, params, KeyError, RuleFiles};
use crate::stage::Threshold;

/// The file holding the PII settings.
pub const PII_FILE: &str = "sensitive/pii.toml";
/// Provider token formats of the `secret` type, one table per kind.
pub const SECRET_FORMATS_FILE: &str = "sensitive/secrets/formats.toml";

/// One provider format of [`SECRET_FORMATS_FILE`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatParams {
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    regex: String,
    /// Where the format is documented (required, not used).
    #[allow(dead_code)]
    source: String,
    /// What that page says (not used).
    #[allow(dead_code)]
    quote: Option<String>,
    /// How a length the page does not state was chosen (not used).
    #[allow(dead_code)]
    length: Option<String>,
}

/// `kind` as a `&'static str`, the same one for the same text: kinds are
/// few and live as long as the process.
fn intern(kind: &str) -> &'static str {
    static SEEN: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(k) = seen.iter().find(|k| **k == kind) {
        return k;
    }
    let k: &'static str = Box::leak(kind.to_string().into_boxed_str());
    seen.push(k);
    k
}

/// Compiles [`SECRET_FORMATS_FILE`]: every provider format, its prefixes of
/// at least 3 characters, its expression compiled.
fn compile_secret_formats(files: &RuleFiles, errors: &mut Vec<RulesError>) -> Vec<super::secret::ProviderFormat> {
    let Some(text) = files.get(SECRET_FORMATS_FILE) else {
        return Vec::new();
    };
    let t = match table(SECRET_FORMATS_FILE, text) {
        Ok(t) => t,
        Err(e) => {
            errors.push(e);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (kind, value) in &t {
        let err = |e: KeyError| key_error(SECRET_FORMATS_FILE, text, kind, e);
        let toml::Value::Table(v) = value else {
            errors.push(err((
                String::new(),
                format!("`{kind}` must be a table: write it as [{kind}]"),
            )));
            continue;
        };
        let p: FormatParams = match params(v) {
            Ok(p) => p,
            Err(e) => {
                errors.push(err(e));
                continue;
            }
        };
        let anchor = match (p.prefixes.is_empty(), p.keywords.is_empty()) {
            (false, true) if p.prefixes.iter().all(|x| x.chars().count() >= 3) => Anchor::Prefixes(p.prefixes),
            (true, false)
                if p.keywords
                    .iter()
                    .all(|w| w.len() >= 4 && w.trim() == w && !w.bytes().any(|b| b.is_ascii_uppercase())) =>
            {
                Anchor::Keywords(p.keywords)
            }
            (false, false) => {
                errors.push(err((
                    "keywords".into(),
                    "give either `prefixes` (the token's literal start) or `keywords` (words before it), not both"
                        .into(),
                )));
                continue;
            }
            (false, true) | (true, true) => {
                errors.push(err((
                    "prefixes".into(),
                    "list the literal prefixes of the token, each of 3 characters or more (or `keywords` that name the provider)".into(),
                )));
                continue;
            }
            (true, false) => {
                errors.push(err((
                    "keywords".into(),
                    "keywords are written in lower case (they match in any case), 4 bytes or more, without spaces around".into(),
                )));
                continue;
            }
        };
        // The prefix scan decides which expressions run: a match that starts
        // with no listed prefix is only looked for in a text that holds one.
        let regex = match crate::filters::lazy::LazyRegex::new(&p.regex) {
            Ok(r) => std::sync::Arc::new(r),
            Err(e) => {
                errors.push(err(("regex".into(), e)));
                continue;
            }
        };
        out.push(super::secret::ProviderFormat {
            kind: intern(kind),
            anchor,
            regex,
        });
    }
    out
}

/// What happens to a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PiiAction {
    /// Replace it with the type's placeholder.
    Redact,
    /// Drop the record (rule `sensitive/pii-<type>`).
    Drop,
    /// Only record it (the `pii` column and a `pii:<type>` tag).
    Tag,
}

impl PiiAction {
    /// The name used in counters.
    pub fn as_str(self) -> &'static str {
        match self {
            PiiAction::Redact => "redact",
            PiiAction::Drop => "drop",
            PiiAction::Tag => "tag",
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PiiParams {
    action: PiiAction,
    placeholder: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[allow(dead_code)]
    description: Option<String>,
    public_only: Option<bool>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    task_words: Vec<String>,
}

/// `[task]` of `pii.toml`: what makes a value asked for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskParams {
    #[serde(default = "yes")]
    enabled: bool,
    verbs: Vec<String>,
}

fn yes() -> bool {
    true
}

/// One enabled PII type.
pub struct PiiSetting {
    /// The type.
    pub ty: PiiType,
    /// What is done with findings.
    pub action: PiiAction,
    /// The replacement text for `redact`.
    pub placeholder: String,
    /// The detector.
    pub detector: Box<dyn Detector>,
    /// Globs of example values (see [`super::examples`]).
    pub examples: Vec<String>,
    /// Words naming the type in an instruction (`phone number`, `邮箱`).
    pub task_words: Option<aho_corasick::AhoCorasick>,
}

impl PiiSetting {
    /// Whether a found value is an example or documentation value.
    pub fn is_example(&self, value: &str) -> bool {
        if self.examples.is_empty() {
            return false;
        }
        let v = super::examples::normalise(value, self.ty.kind().numeric_examples);
        self.examples.iter().any(|p| super::examples::glob(p, &v))
    }
}

/// The compiled `[task]` table: verbs that ask for a value.
pub struct TaskSetting {
    /// ASCII case-insensitive.
    pub verbs: aho_corasick::AhoCorasick,
}

/// Compiles the `[task]` table of `pii.toml`.
fn compile_task(text: &str, value: &toml::Value, errors: &mut Vec<RulesError>) -> Option<TaskSetting> {
    let toml::Value::Table(v) = value else {
        errors.push(key_error(
            PII_FILE,
            text,
            "task",
            (String::new(), "`task` must be a table".into()),
        ));
        return None;
    };
    let p: TaskParams = match params(v) {
        Ok(p) => p,
        Err(e) => {
            errors.push(key_error(PII_FILE, text, "task", e));
            return None;
        }
    };
    if !p.enabled {
        return None;
    }
    match crate::filters::phrase_set("verbs", &p.verbs) {
        Ok(verbs) => verbs.map(|verbs| TaskSetting { verbs }),
        Err(e) => {
            errors.push(key_error(PII_FILE, text, "task", e));
            None
        }
    }
}

fn default_placeholder(ty: PiiType) -> String {
    format!("<{}>", ty.as_str().replace('-', "_").to_ascii_uppercase())
}

fn table(path: &str, text: &str) -> Result<toml::Table, RulesError> {
    toml::from_str(text).map_err(|e: toml::de::Error| RulesError::from_toml(path, text, &e))
}

fn key_error(path: &str, text: &str, name: &str, (key, message): KeyError) -> RulesError {
    RulesError {
        file: path.to_string(),
        line: locate(text, name, (!key.is_empty()).then_some(key.as_str())),
        key: Some(if key.is_empty() {
            name.to_string()
        } else {
            format!("{name}.{key}")
        }),
        message,
    }
}

/// Compiles `pii.toml`: the enabled types in the fixed type order, and its
/// `[task]` table.
pub fn compile_pii(files: &RuleFiles, errors: &mut Vec<RulesError>) -> (Vec<PiiSetting>, Option<TaskSetting>) {
    let Some(text) = files.get(PII_FILE) else {
        return (Vec::new(), None);
    };
    let t = match table(PII_FILE, text) {
        Ok(t) => t,
        Err(e) => {
            errors.push(e);
            return (Vec::new(), None);
        }
    };
    let mut out = Vec::new();
    let mut task = None;
    for (name, value) in &t {
        if name == "task" {
            task = compile_task(text, value, errors);
            continue;
        }
        let Some(ty) = PiiType::parse(name) else {
            let known: Vec<&str> = PiiType::ALL.iter().map(|t| t.as_str()).collect();
            errors.push(key_error(
                PII_FILE,
                text,
                name,
                (
                    String::new(),
                    format!("unknown PII type `{name}`; types are: {}", known.join(", ")),
                ),
            ));
            continue;
        };
        let toml::Value::Table(v) = value else {
            errors.push(key_error(
                PII_FILE,
                text,
                name,
                (String::new(), format!("`{name}` must be a table: write it as [{name}]")),
            ));
            continue;
        };
        let p: PiiParams = match params(v) {
            Ok(p) => p,
            Err(e) => {
                errors.push(key_error(PII_FILE, text, name, e));
                continue;
            }
        };
        if p.public_only.is_some() && ty != PiiType::Ip {
            errors.push(key_error(
                PII_FILE,
                text,
                name,
                ("public_only".into(), "`public_only` applies to `ip` only".into()),
            ));
            continue;
        }
        if !p.enabled {
            continue;
        }
        let task_words = match crate::filters::phrase_set("task_words", &p.task_words) {
            Ok(a) => a,
            Err(e) => {
                errors.push(key_error(PII_FILE, text, name, e));
                continue;
            }
        };
        let options = super::kinds::DetectorOptions {
            public_only: p.public_only.unwrap_or(true),
            secret_formats: if ty == PiiType::Secret {
                compile_secret_formats(files, errors)
            } else {
                Vec::new()
            },
        };
        match (ty.kind().detector)(&options) {
            Ok(detector) => out.push(PiiSetting {
                ty,
                action: p.action,
                placeholder: p.placeholder.unwrap_or_else(|| default_placeholder(ty)),
                detector,
                examples: p.examples.iter().map(|e| e.to_lowercase()).collect(),
                task_words,
            }),
            Err(e) => errors.push(key_error(PII_FILE, text, name, (String::new(), e.to_string()))),
        }
    }
    out.sort_by_key(|s| PiiType::ALL.iter().position(|t| *t == s.ty));
    (out, task)
}

/// Compiles the word-list rules of every `sensitive/*.toml` but `pii.toml`.
pub fn compile_toxic(files: &RuleFiles, errors: &mut Vec<RulesError>) -> (Vec<ToxicRule>, Option<WordLists>) {
    let mut out: Vec<ToxicRule> = Vec::new();
    let mut lists: Vec<WordList> = Vec::new();
    let paths: Vec<&str> = files
        .paths()
        .filter(|p| p.starts_with("sensitive/") && p.ends_with(".toml") && *p != PII_FILE)
        .filter(|p| !p["sensitive/".len()..].contains('/'))
        .collect();
    for path in paths {
        let text = files.get(path).unwrap_or("");
        let t = match table(path, text) {
            Ok(t) => t,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for (name, value) in &t {
            let id = format!("sensitive/{name}");
            let toml::Value::Table(v) = value else {
                errors.push(key_error(
                    path,
                    text,
                    name,
                    (String::new(), format!("`{name}` must be a table: write it as [{name}]")),
                ));
                continue;
            };
            if out.iter().any(|r| r.id == id) || PiiType::ALL.iter().any(|t| format!("pii-{t}") == *name) {
                errors.push(key_error(
                    path,
                    text,
                    name,
                    (String::new(), format!("rule `{id}` is defined twice")),
                ));
                continue;
            }
            let p: WordListParams = match params(v) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(key_error(path, text, name, e));
                    continue;
                }
            };
            if p.min.is_none() && p.max.is_none() {
                errors.push(key_error(
                    path,
                    text,
                    name,
                    (
                        String::new(),
                        format!("rule `{name}` sets neither min nor max, so it can never fire"),
                    ),
                ));
                continue;
            }
            let filter = match WordList::build(&p, files) {
                Ok(f) => f,
                Err(e) => {
                    errors.push(key_error(path, text, name, e));
                    continue;
                }
            };
            if p.enabled {
                out.push(ToxicRule {
                    id,
                    name: name.clone(),
                    threshold: Threshold { min: p.min, max: p.max },
                    action: p.action,
                    metric: filter.metric().to_string(),
                });
                lists.push(filter);
            }
        }
    }
    if lists.is_empty() {
        return (out, None);
    }
    match WordLists::new(lists) {
        Ok(l) => (out, Some(l)),
        Err(e) => {
            errors.push(RulesError {
                file: "sensitive/".to_string(),
                line: None,
                key: None,
                message: format!("the word lists do not compile: {e}"),
            });
            (Vec::new(), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(pii: &str) -> Vec<RulesError> {
        let files = RuleFiles::from_pairs("t", [(PII_FILE, pii)]);
        let mut errors = Vec::new();
        let _ = compile_pii(&files, &mut errors);
        errors
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let e = errors("[email]\naction = \"redact\"\n\n[passport]\naction = \"drop\"\n");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, Some(4));
        assert_eq!(e[0].key.as_deref(), Some("passport"));
        let e = errors("[phone]\naction = \"redact\"\npublic_only = false\n");
        assert_eq!(e[0].key.as_deref(), Some("phone.public_only"));
        let e = errors("[phone]\nplaceholder = \"x\"\n");
        assert!(e[0].message.contains("action"), "{}", e[0].message);
    }

    /// The formats' expressions are compiled when a text first needs one:
    /// every shipped one compiles.
    #[test]
    fn every_shipped_provider_format_compiles() {
        let mut errors = Vec::new();
        let formats = compile_secret_formats(&RuleFiles::embedded(), &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(formats.len() >= 100, "{}", formats.len());
        for f in &formats {
            assert!(f.regex.get().is_ok(), "{}: {:?}", f.kind, f.regex.get().err());
        }
    }

    /// The secret type (dropped) with the provider formats `formats`.
    fn secret_with(formats: &str) -> Vec<PiiSetting> {
        let files = RuleFiles::from_pairs(
            "t",
            [
                (PII_FILE, "[secret]\naction = \"drop\"\n"),
                (SECRET_FORMATS_FILE, formats),
            ],
        );
        let mut errors = Vec::new();
        let (s, _) = compile_pii(&files, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        s
    }

    /// An expression of good syntax past the compiled size limit is found
    /// out when a text first needs it: nothing is found with it, and the
    /// detector names it as an error that fails the run.
    #[test]
    fn a_format_too_big_to_compile_is_a_fatal_error_naming_it() {
        let formats = "[huge-key]\nprefixes = [\"huge_\"]\nregex = 'huge_(?:[a-z]{1000}){1000}'\nsource = \"s\"\n";
        let s = secret_with(formats);
        assert_eq!(
            s[0].detector.compile_error(false),
            None,
            "not compiled before a text needs it"
        );
        let mut found = Vec::new();
        s[0].detector.find("token huge_abc", &mut found);
        assert!(found.is_empty());
        let fatal = s[0].detector.compile_error(false).expect("fatal once needed");
        assert!(fatal.contains("huge-key") && fatal.contains("size limit"), "{fatal}");
        // `check-rules` compiles it at once.
        let s = secret_with(formats);
        let now = s[0].detector.compile_error(true).expect("compiled now");
        assert!(now.contains(SECRET_FORMATS_FILE) && now.contains("[huge-key]"), "{now}");
    }

    #[test]
    fn provider_formats_come_from_their_file_and_errors_name_the_key() {
        let formats = "[acme-live-key]\nprefixes = [\"acme_live_\"]\nregex = 'acme_live_[0-9a-f]{32}'\nsource = \"https://docs.acme.test/keys\"\n";
        let s = secret_with(formats);
        let mut found = Vec::new();
        s[0].detector
            .find("key: acme_live_9f3a1c7e5b2d8046e1f7a3c9b5d2e8f4.", &mut found);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].sub, Some("acme-live-key"));
        // A placeholder is not a token, nor a match inside a longer word.
        found.clear();
        s[0].detector
            .find("acme_live_0123456789abcdef0123456789abcdef", &mut found);
        assert!(found.is_empty());
        found.clear();
        s[0].detector
            .find("xacme_live_9f3a1c7e5b2d8046e1f7a3c9b5d2e8f4", &mut found);
        assert!(found.is_empty());
        for (bad, key) in [
            (
                "[k]\nprefixes = [\"ab\"]\nregex = 'ab[0-9]{20}'\nsource = \"s\"\n",
                "k.prefixes",
            ),
            (
                "[k]\nprefixes = [\"abc_\"]\nregex = 'abc_[0-9'\nsource = \"s\"\n",
                "k.regex",
            ),
            ("[k]\nprefixes = [\"abc_\"]\nregex = 'abc_[0-9]{20}'\n", "k"),
        ] {
            let files = RuleFiles::from_pairs(
                "t",
                [(PII_FILE, "[secret]\naction = \"drop\"\n"), (SECRET_FORMATS_FILE, bad)],
            );
            let mut errors = Vec::new();
            let _ = compile_pii(&files, &mut errors);
            assert_eq!(errors.len(), 1, "{bad}");
            assert_eq!(errors[0].file, SECRET_FORMATS_FILE);
            assert!(
                errors[0].key.as_deref().is_some_and(|k| k.starts_with(key)),
                "{:?}",
                errors[0]
            );
        }
    }

    #[test]
    fn placeholders_default_to_the_type_in_capitals() {
        let files = RuleFiles::from_pairs("t", [(PII_FILE, "[cn-id]\naction = \"redact\"\n")]);
        let mut errors = Vec::new();
        let (s, _) = compile_pii(&files, &mut errors);
        assert_eq!(s[0].placeholder, "<CN_ID>");
    }
}
