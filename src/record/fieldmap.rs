//! User-declared formats: a field map for shapes the built-in adapters do not
//! know, declared in `rules/formats.toml`.
//!
//! The vocabulary follows LLaMA-Factory's `dataset_info.json`, which users
//! already know: `formatting` (`alpaca` or `sharegpt`), `columns` (`prompt`,
//! `query`, `response`, `history`, `system`, `messages`, plus `id`) and `tags`
//! (`role_tag`, `content_tag`, `user_tag`, `assistant_tag`, `system_tag`,
//! `function_tag`, `observation_tag`). A third formatting, `turn-objects`,
//! covers files where each turn is an object keyed by speaker (MOSS:
//! `chat: {turn_1: {Human, MOSS, …}}`), with `turn_roles` naming the role of
//! each key in order, `strip` regexes removing speaker markers from every
//! value, and `skip_values` listing values that mean "nothing said".
//!
//! ```toml
//! [format.pclue]
//! detect = ["input", "target", "type"]   # a record matches when it has all these keys
//! formatting = "alpaca"
//! columns = { prompt = "input", response = "target" }
//! ```

use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::adapt::{alpaca, content_text, id_value, join_path, kind_of, opt_str, push_turn, AlpacaKeys};
use super::template::Template;
use super::{AdaptError, Adapters, Record, Role, Turn};

/// How a declared format lays out its turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Formatting {
    /// Prompt / query / response columns.
    Alpaca,
    /// A list of `{role_tag, content_tag}` objects.
    Sharegpt,
    /// A list (or an object keyed `turn_1`, `turn_2`, …) of objects keyed by speaker.
    TurnObjects,
    /// A list of strings, one per turn; roles from `list_role`.
    TextList,
}

/// Column names, as in LLaMA-Factory's `dataset_info.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// The instruction.
    pub prompt: Option<String>,
    /// The input appended to the instruction.
    pub query: Option<String>,
    /// The answer.
    pub response: Option<String>,
    /// Earlier `[prompt, answer]` pairs.
    pub history: Option<String>,
    /// The system prompt.
    pub system: Option<String>,
    /// The turns (`sharegpt` and `turn-objects`).
    pub messages: Option<String>,
    /// The user's record id.
    pub id: Option<String>,
}

/// Role and content keys and role names, as in LLaMA-Factory's `dataset_info.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tags {
    /// Key holding the speaker.
    #[serde(default = "default_role_tag")]
    pub role_tag: String,
    /// Key holding the text.
    #[serde(default = "default_content_tag")]
    pub content_tag: String,
    /// Speaker name of the user.
    pub user_tag: Option<String>,
    /// Speaker name of the assistant.
    pub assistant_tag: Option<String>,
    /// Speaker name of an in-conversation system prompt.
    pub system_tag: Option<String>,
    /// Speaker name of a tool call.
    pub function_tag: Option<String>,
    /// Speaker name of a tool result.
    pub observation_tag: Option<String>,
}

fn default_role_tag() -> String {
    "from".into()
}
fn default_content_tag() -> String {
    "value".into()
}

impl Default for Tags {
    fn default() -> Self {
        Tags {
            role_tag: default_role_tag(),
            content_tag: default_content_tag(),
            user_tag: None,
            assistant_tag: None,
            system_tag: None,
            function_tag: None,
            observation_tag: None,
        }
    }
}

/// Templates composing the prompt or the response from several fields
/// (`formatting = "alpaca"` only; see [`super::template`]).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    /// The user turn, replacing `columns.prompt` (and `columns.query`).
    pub prompt: Option<String>,
    /// The answer, replacing `columns.response`.
    pub response: Option<String>,
}

/// A format as written in `rules/formats.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormatSpec {
    /// Keys that must all be present for a record to match this format.
    pub detect: Vec<String>,
    /// How the turns are laid out.
    pub formatting: Formatting,
    /// Column names.
    #[serde(default)]
    pub columns: Columns,
    /// Role and content keys (`sharegpt`).
    #[serde(default)]
    pub tags: Tags,
    /// Speaker key -> role, in turn order (`turn-objects`).
    #[serde(default)]
    pub turn_roles: indexmap_like::OrderedRoles,
    /// Regexes removed from every turn's text.
    #[serde(default)]
    pub strip: Vec<String>,
    /// Turn texts (after stripping) that mean "nothing said" and are skipped.
    #[serde(default)]
    pub skip_values: Vec<String>,
    /// `text-list`: `alternate` (user, assistant, user, …; the default) or one
    /// role for every turn (`user`).
    pub list_role: Option<String>,
    /// Prompt and response composed from several fields (`alpaca` only).
    #[serde(default)]
    pub template: Templates,
    /// A benchmark's test items: a run that reads records of this format
    /// warns that they are kept as training data.
    #[serde(default)]
    pub benchmark: bool,
}

/// Ordered `key = "role"` pairs, kept in the order written.
pub mod indexmap_like {
    use serde::Deserialize;

    /// Speaker key -> role name, in file order.
    #[derive(Debug, Clone, Default)]
    pub struct OrderedRoles(pub Vec<(String, String)>);

    impl<'de> Deserialize<'de> for OrderedRoles {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let table = toml::Table::deserialize(d)?;
            let mut out = Vec::with_capacity(table.len());
            for (k, v) in table {
                match v {
                    toml::Value::String(s) => out.push((k, s)),
                    other => {
                        return Err(serde::de::Error::custom(format!(
                            "turn_roles.{k} must be a role name string, found {}",
                            other.type_str()
                        )))
                    }
                }
            }
            Ok(OrderedRoles(out))
        }
    }
}

/// A compiled declared format.
#[derive(Debug, Clone)]
pub struct Declared {
    /// The format's name (the `[format.NAME]` table).
    pub name: String,
    /// A benchmark's test items (`benchmark = true`).
    pub benchmark: bool,
    detect: Vec<String>,
    formatting: Formatting,
    columns: Columns,
    tag_roles: Vec<(String, Role)>,
    role_tag: String,
    content_tag: String,
    turn_roles: Vec<(String, Role)>,
    strip: Vec<Regex>,
    skip_values: Vec<String>,
    list_role: Option<Role>,
    prompt_template: Option<Template>,
    response_template: Option<Template>,
}

/// Keys under which rendered templates are handed to the Alpaca mapping.
const PROMPT_KEY: &str = "\u{0}prompt";
const RESPONSE_KEY: &str = "\u{0}response";

impl Declared {
    /// Validates a spec. Errors are `(key, message)` relative to the format's table.
    pub fn compile(name: &str, spec: FormatSpec) -> Result<Declared, (String, String)> {
        if spec.detect.is_empty() {
            return Err(("detect".into(), "must list at least one key".into()));
        }
        let mut turn_roles = Vec::new();
        for (key, role) in &spec.turn_roles.0 {
            if role == "skip" {
                continue;
            }
            let r = Role::parse(role).ok_or_else(|| {
                (
                    format!("turn_roles.{key}"),
                    format!("unknown role `{role}` (user, assistant, system, function_call, observation or skip)"),
                )
            })?;
            turn_roles.push((key.clone(), r));
        }
        match spec.formatting {
            Formatting::Alpaca if spec.columns.prompt.is_none() => {
                return Err(("columns.prompt".into(), "required when formatting = \"alpaca\"".into()))
            }
            Formatting::Sharegpt | Formatting::TurnObjects | Formatting::TextList
                if spec.columns.messages.is_none() =>
            {
                return Err(("columns.messages".into(), "required for this formatting".into()))
            }
            Formatting::TurnObjects if turn_roles.is_empty() => {
                return Err((
                    "turn_roles".into(),
                    "required when formatting = \"turn-objects\"".into(),
                ))
            }
            _ => {}
        }
        let list_role = match spec.list_role.as_deref() {
            None | Some("alternate") => None,
            Some(r) => Some(Role::parse(r).ok_or_else(|| {
                (
                    "list_role".to_string(),
                    format!("unknown role `{r}` (alternate or a role name)"),
                )
            })?),
        };
        let mut strip = Vec::new();
        for (i, pat) in spec.strip.iter().enumerate() {
            strip.push(Regex::new(pat).map_err(|e| (format!("strip[{i}]"), crate::error::regex_error(pat, &e)))?);
        }
        let compile = |key: &str, t: &Option<String>| -> Result<Option<Template>, (String, String)> {
            t.as_deref()
                .map(|t| Template::parse(t).map_err(|m| (format!("template.{key}"), m)))
                .transpose()
        };
        let prompt_template = compile("prompt", &spec.template.prompt)?;
        let response_template = compile("response", &spec.template.response)?;
        if (prompt_template.is_some() || response_template.is_some()) && spec.formatting != Formatting::Alpaca {
            return Err(("template".into(), "only formatting = \"alpaca\" takes templates".into()));
        }
        let t = &spec.tags;
        let tag_roles = [
            (&t.user_tag, Role::User),
            (&t.assistant_tag, Role::Assistant),
            (&t.system_tag, Role::System),
            (&t.function_tag, Role::FunctionCall),
            (&t.observation_tag, Role::Observation),
        ]
        .into_iter()
        .filter_map(|(tag, role)| tag.clone().map(|n| (n, role)))
        .collect();
        Ok(Declared {
            name: name.to_string(),
            benchmark: spec.benchmark,
            detect: spec.detect,
            formatting: spec.formatting,
            tag_roles,
            role_tag: spec.tags.role_tag,
            content_tag: spec.tags.content_tag,
            columns: spec.columns,
            turn_roles,
            strip,
            skip_values: spec.skip_values,
            list_role,
            prompt_template,
            response_template,
        })
    }

    /// Whether a record has every `detect` key.
    pub fn matches(&self, obj: &Map<String, Value>) -> bool {
        self.detect.iter().all(|k| obj.contains_key(k))
    }

    /// Maps a matching record; returns the user's id when `columns.id` is set.
    pub fn map(
        &self,
        obj: &Map<String, Value>,
        rec: &mut Record,
        adapters: &Adapters,
    ) -> Result<Option<String>, AdaptError> {
        let c = &self.columns;
        match self.formatting {
            Formatting::Alpaca => {
                let mut answers: Vec<&str> = c.response.iter().map(String::as_str).collect();
                let mut keys = AlpacaKeys {
                    prompt: c.prompt.as_deref().unwrap_or(""),
                    input: c.query.as_deref().unwrap_or(""),
                    answers: &[],
                    system: c.system.as_deref().unwrap_or(""),
                    history: c.history.as_deref().unwrap_or(""),
                };
                if self.prompt_template.is_none() && self.response_template.is_none() {
                    keys.answers = &answers;
                    alpaca(obj, rec, adapters, &keys)?;
                } else {
                    // The rendered texts join the record under keys no JSON
                    // field can clash with, and map as plain columns.
                    let mut o = obj.clone();
                    if let Some(t) = &self.prompt_template {
                        o.insert(PROMPT_KEY.into(), Value::String(t.render(obj)?));
                        keys.prompt = PROMPT_KEY;
                        keys.input = "";
                    }
                    if let Some(t) = &self.response_template {
                        o.insert(RESPONSE_KEY.into(), Value::String(t.render(obj)?));
                        answers = vec![RESPONSE_KEY];
                    }
                    keys.answers = &answers;
                    alpaca(&o, rec, adapters, &keys)?;
                }
            }
            Formatting::Sharegpt => {
                self.system(obj, rec)?;
                let key = c.messages.as_deref().unwrap_or("");
                let Some(Value::Array(list)) = obj.get(key) else {
                    let v = obj.get(key).unwrap_or(&Value::Null);
                    return Err(AdaptError::new(
                        key,
                        format!("field `{key}` is {}, expected an array", kind_of(v)),
                    ));
                };
                for (i, m) in list.iter().enumerate() {
                    let path = format!("{key}[{i}]");
                    let Value::Object(o) = m else {
                        return Err(AdaptError::new(
                            &path,
                            format!("`{path}` is {}, expected an object", kind_of(m)),
                        ));
                    };
                    let role_name = opt_str(o, &self.role_tag, &path)?.unwrap_or("");
                    let role = self
                        .tag_roles
                        .iter()
                        .find(|(n, _)| n == role_name)
                        .map(|(_, r)| *r)
                        .or_else(|| Role::parse(role_name))
                        .ok_or_else(|| {
                            let p = join_path(&path, &self.role_tag);
                            AdaptError::new(&p, format!("unknown role `{role_name}` in `{p}`"))
                        })?;
                    let text = content_text(
                        o.get(&self.content_tag).unwrap_or(&Value::Null),
                        &join_path(&path, &self.content_tag),
                    )?;
                    if let Some(t) = self.clean(&text) {
                        push_turn(rec, Turn::new(role, t));
                    }
                }
            }
            Formatting::TextList => {
                self.system(obj, rec)?;
                let key = c.messages.as_deref().unwrap_or("");
                let Some(Value::Array(list)) = obj.get(key) else {
                    let v = obj.get(key).unwrap_or(&Value::Null);
                    return Err(AdaptError::new(
                        key,
                        format!("field `{key}` is {}, expected an array of strings", kind_of(v)),
                    ));
                };
                for (i, v) in list.iter().enumerate() {
                    let Value::String(text) = v else {
                        let path = format!("{key}[{i}]");
                        return Err(AdaptError::new(
                            &path,
                            format!("`{path}` is {}, expected a string", kind_of(v)),
                        ));
                    };
                    let role = self
                        .list_role
                        .unwrap_or(if i % 2 == 0 { Role::User } else { Role::Assistant });
                    if let Some(t) = self.clean(text) {
                        push_turn(rec, Turn::new(role, t));
                    }
                }
            }
            Formatting::TurnObjects => {
                self.system(obj, rec)?;
                let key = c.messages.as_deref().unwrap_or("");
                let turns: Vec<(String, &Value)> = match obj.get(key) {
                    Some(Value::Array(a)) => a.iter().enumerate().map(|(i, v)| (format!("{key}[{i}]"), v)).collect(),
                    Some(Value::Object(o)) => {
                        let mut v: Vec<(&String, &Value)> = o.iter().collect();
                        v.sort_by(|a, b| natural_key(a.0).cmp(&natural_key(b.0)));
                        v.into_iter().map(|(k, v)| (format!("{key}.{k}"), v)).collect()
                    }
                    other => {
                        let v = other.unwrap_or(&Value::Null);
                        return Err(AdaptError::new(
                            key,
                            format!("field `{key}` is {}, expected a list or object of turns", kind_of(v)),
                        ));
                    }
                };
                for (path, t) in turns {
                    let Value::Object(o) = t else {
                        return Err(AdaptError::new(
                            &path,
                            format!("`{path}` is {}, expected an object", kind_of(t)),
                        ));
                    };
                    for (speaker, role) in &self.turn_roles {
                        if let Some(text) = opt_str(o, speaker, &path)? {
                            if let Some(t) = self.clean(text) {
                                push_turn(rec, Turn::new(*role, t));
                            }
                        }
                    }
                }
            }
        }
        Ok(c.id.as_ref().and_then(|k| obj.get(k)).and_then(id_value))
    }

    fn system(&self, obj: &Map<String, Value>, rec: &mut Record) -> Result<(), AdaptError> {
        if let Some(key) = &self.columns.system {
            if let Some(s) = opt_str(obj, key, "")? {
                if let Some(s) = self.clean(s) {
                    rec.system = Some(s);
                }
            }
        }
        Ok(())
    }

    /// Applies `strip` and `skip_values`; `None` means the turn is skipped.
    fn clean(&self, text: &str) -> Option<String> {
        let mut s = text.to_string();
        for re in &self.strip {
            if re.is_match(&s) {
                s = re.replace_all(&s, "").into_owned();
            }
        }
        if !self.strip.is_empty() {
            s = s.trim().to_string();
        }
        if self.skip_values.contains(&s) {
            None
        } else {
            Some(s)
        }
    }
}

/// Sort key for `turn_2` < `turn_10`: the text before the trailing number, then the number.
fn natural_key(k: &str) -> (&str, u64) {
    let digits = k.len() - k.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (head, tail) = k.split_at(k.len() - digits);
    (head, tail.parse().unwrap_or(0))
}
