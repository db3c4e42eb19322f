//! Shape detection and the built-in adapters.

use serde_json::{Map, Value};

use super::fieldmap::Declared;
use super::{Origin, Record, Role, Shape, Turn};
use crate::text::Lang;

/// Why a record could not be mapped. `field` is a JSON path such as
/// `conversations[2].from`.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptError {
    /// The field at fault (empty for the record as a whole).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl AdaptError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        AdaptError {
            field: field.into(),
            message: message.into(),
        }
    }

    fn wrong_type(field: &str, v: &Value, expected: &str) -> Self {
        AdaptError::new(field, format!("field `{field}` is {}, expected {expected}", kind_of(v)))
    }
}

impl std::fmt::Display for AdaptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// How records are mapped: declared formats first, then the built-in shapes.
#[derive(Debug, Clone, Default)]
pub struct Adapters {
    /// Formats declared in `rules/formats.toml`, tried in file order.
    pub declared: Vec<Declared>,
    /// Alpaca `input` values that mean "no input" (compared after trimming,
    /// lower-casing and removing `<`, `>`, spaces and `&lt;`/`&gt;`).
    pub input_placeholders: Vec<String>,
    /// Fields that hold the user's own record id, tried in order.
    pub id_fields: Vec<String>,
}

impl Adapters {
    /// The names of the declared formats that hold benchmark test items.
    pub fn benchmark_formats(&self) -> Vec<&str> {
        self.declared
            .iter()
            .filter(|d| d.benchmark)
            .map(|d| d.name.as_str())
            .collect()
    }
}

/// Describes a JSON value's type for error messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads an optional string field: missing or null give `None`.
pub(crate) fn opt_str<'a>(obj: &'a Map<String, Value>, key: &str, path: &str) -> Result<Option<&'a str>, AdaptError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(AdaptError::wrong_type(&join_path(path, key), v, "a string")),
    }
}

pub(crate) fn join_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Reads an id value: strings as they are, numbers in their JSON form.
pub(crate) fn id_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Adapters {
    /// Whether an `input` only says there is none: compared lower-cased,
    /// without spaces, quotes, brackets, `&lt;`/`&gt;` or final punctuation
    /// (`<noinput>`, `` `<noinput>` ``, `“&lt;无输入&gt;”`, `没有输入。`).
    fn is_placeholder(&self, input: &str) -> bool {
        if input.len() > 40 {
            return false;
        }
        let norm: String = input
            .trim()
            .replace("&lt;", "")
            .replace("&gt;", "")
            .chars()
            .filter(|c| !c.is_whitespace() && !"<>\"'`“”‘’()（）[]【】「」".contains(*c))
            .flat_map(char::to_lowercase)
            .collect();
        let norm = norm.trim_end_matches(['.', '。', '!', '！']);
        self.input_placeholders.iter().any(|p| p == norm)
    }

    fn user_id(&self, obj: &Map<String, Value>) -> Option<String> {
        self.id_fields
            .iter()
            .find_map(|f| obj.get(f.as_str()).and_then(id_value))
    }
}

/// Maps one parsed JSON value to a [`Record`].
///
/// `file_key` names the source file in the record's key (`file:line`, also
/// its id when the data gives none; [`crate::read::InputFile::key`]). The
/// record's `raw` is left empty for the caller to fill.
pub fn map_record(adapters: &Adapters, value: &Value, origin: Origin, file_key: &str) -> Result<Record, AdaptError> {
    let Value::Object(obj) = value else {
        return Err(AdaptError::new(
            "",
            format!("expected a JSON object, found {}", kind_of(value)),
        ));
    };
    let mut rec = Record {
        id: String::new(),
        key: format!("{file_key}:{}", origin.line),
        user_id: false,
        origin,
        shape: Shape::Alpaca,
        system: None,
        turns: Vec::new(),
        input_at: None,
        raw: String::new(),
        lang: Lang::Other,
        task: None,
        tags: Vec::new(),
        pii: Vec::new(),
        words: crate::record::TurnWords::default(),
    };
    let mut declared_id = None;
    if let Some(d) = adapters.declared.iter().find(|d| d.matches(obj)) {
        rec.shape = Shape::Declared(d.name.clone());
        declared_id = d.map(obj, &mut rec, adapters)?;
    } else if obj.contains_key("messages") {
        rec.shape = Shape::OpenAi;
        openai(obj, &mut rec)?;
    } else if obj.contains_key("conversations") {
        rec.shape = Shape::ShareGpt;
        sharegpt(obj, &mut rec)?;
    } else if obj.contains_key("instruction") && obj.contains_key("instances") {
        rec.shape = Shape::SelfInstruct;
        self_instruct(obj, &mut rec, adapters)?;
    } else if obj.contains_key("instruction") {
        let input_key = if obj.contains_key("context") && !obj.contains_key("input") {
            rec.shape = Shape::Dolly;
            "context"
        } else {
            "input"
        };
        let keys = AlpacaKeys {
            prompt: "instruction",
            input: input_key,
            answers: &["output", "response"],
            system: "system",
            history: "history",
        };
        alpaca(obj, &mut rec, adapters, &keys)?;
    } else if obj.contains_key("prompt") && obj.contains_key("completion") {
        rec.shape = Shape::PromptCompletion;
        let keys = AlpacaKeys {
            prompt: "prompt",
            input: "",
            answers: &["completion"],
            system: "system",
            history: "",
        };
        alpaca(obj, &mut rec, adapters, &keys)?;
    } else {
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.truncate(12);
        return Err(AdaptError::new(
            "",
            format!(
                "unknown record shape (keys: {}); declare its fields in rules/formats.toml",
                keys.join(", ")
            ),
        ));
    }
    rec.lang = Lang::detect_parts(rec.turns.iter().map(|t| t.content.as_str()));
    match declared_id.or_else(|| adapters.user_id(obj)) {
        Some(id) => {
            rec.id = id;
            rec.user_id = true;
        }
        None => rec.id = rec.key.clone(),
    }
    Ok(rec)
}

/// The fields of an Alpaca-like record; an empty name means "not present".
pub(crate) struct AlpacaKeys<'a> {
    pub prompt: &'a str,
    pub input: &'a str,
    pub answers: &'a [&'a str],
    pub system: &'a str,
    pub history: &'a str,
}

/// Alpaca-like: a prompt field, an optional input field, one of several answer
/// fields, plus the optional `system` and `history` of LLaMA-Factory.
pub(crate) fn alpaca(
    obj: &Map<String, Value>,
    rec: &mut Record,
    adapters: &Adapters,
    keys: &AlpacaKeys<'_>,
) -> Result<(), AdaptError> {
    let instruction = opt_str(obj, keys.prompt, "")?.unwrap_or("");
    let input = if keys.input.is_empty() {
        None
    } else {
        opt_str(obj, keys.input, "")?
    };
    let mut answer = None;
    for key in keys.answers {
        if let Some(a) = opt_str(obj, key, "")? {
            answer = Some(a);
            break;
        }
    }
    if let Some(system) = opt_str(obj, keys.system, "")? {
        if !system.is_empty() {
            rec.system = Some(system.to_string());
        }
    }
    if let Some(history) = obj.get(keys.history) {
        history_turns(history, &mut rec.turns)?;
    }
    let first = rec.turns.is_empty();
    let mut prompt = instruction.to_string();
    match input {
        Some(inp) if !inp.trim().is_empty() && !adapters.is_placeholder(inp) => {
            prompt.push('\n');
            if first {
                rec.input_at = Some(prompt.len());
            }
            prompt.push_str(inp);
        }
        _ => {
            if first {
                rec.input_at = Some(prompt.len() + 1);
            }
        }
    }
    rec.turns.push(Turn::new(Role::User, prompt));
    if let Some(a) = answer {
        rec.turns.push(Turn::new(Role::Assistant, a));
    }
    Ok(())
}

fn history_turns(history: &Value, turns: &mut Vec<Turn>) -> Result<(), AdaptError> {
    let Value::Array(pairs) = history else {
        if history.is_null() {
            return Ok(());
        }
        return Err(AdaptError::wrong_type(
            "history",
            history,
            "an array of [prompt, answer] pairs",
        ));
    };
    for (i, pair) in pairs.iter().enumerate() {
        let path = format!("history[{i}]");
        match pair {
            Value::Array(p) if p.len() == 2 => {
                for (j, (v, role)) in p.iter().zip([Role::User, Role::Assistant]).enumerate() {
                    match v {
                        Value::String(s) => turns.push(Turn::new(role, s.as_str())),
                        other => return Err(AdaptError::wrong_type(&format!("{path}[{j}]"), other, "a string")),
                    }
                }
            }
            other => return Err(AdaptError::wrong_type(&path, other, "a [prompt, answer] pair")),
        }
    }
    Ok(())
}

/// Self-instruct seed tasks: each instance becomes a user turn (instruction +
/// input) and an assistant turn (output).
fn self_instruct(obj: &Map<String, Value>, rec: &mut Record, adapters: &Adapters) -> Result<(), AdaptError> {
    let instruction = opt_str(obj, "instruction", "")?.unwrap_or("");
    let instances = match obj.get("instances") {
        Some(Value::Array(a)) => a,
        Some(v) => return Err(AdaptError::wrong_type("instances", v, "an array")),
        None => return Err(AdaptError::new("instances", "missing field `instances`")),
    };
    if instances.is_empty() {
        rec.turns.push(Turn::new(Role::User, instruction));
        rec.input_at = Some(instruction.len() + 1);
        return Ok(());
    }
    for (i, inst) in instances.iter().enumerate() {
        let path = format!("instances[{i}]");
        let Value::Object(o) = inst else {
            return Err(AdaptError::wrong_type(&path, inst, "an object"));
        };
        let input = opt_str(o, "input", &path)?.unwrap_or("");
        let output = opt_str(o, "output", &path)?;
        let mut prompt = instruction.to_string();
        let has_input = !input.trim().is_empty() && !adapters.is_placeholder(input);
        if has_input {
            prompt.push('\n');
        }
        if i == 0 {
            rec.input_at = Some(prompt.len() + usize::from(!has_input));
        }
        if has_input {
            prompt.push_str(input);
        }
        rec.turns.push(Turn::new(Role::User, prompt));
        if let Some(out) = output {
            rec.turns.push(Turn::new(Role::Assistant, out));
        }
    }
    Ok(())
}

/// ShareGPT: `conversations: [{from, value}]`, an optional top-level `system`,
/// and for preference data a `chosen` answer appended as the last turn.
fn sharegpt(obj: &Map<String, Value>, rec: &mut Record) -> Result<(), AdaptError> {
    if let Some(system) = opt_str(obj, "system", "")? {
        if !system.is_empty() {
            rec.system = Some(system.to_string());
        }
    }
    let conv = match obj.get("conversations") {
        Some(Value::Array(a)) => a,
        Some(v) => return Err(AdaptError::wrong_type("conversations", v, "an array")),
        None => return Err(AdaptError::new("conversations", "missing field `conversations`")),
    };
    for (i, m) in conv.iter().enumerate() {
        let path = format!("conversations[{i}]");
        let turn = role_content_turn(m, &path, &["from", "role"], &["value", "content"])?;
        push_turn(rec, turn);
    }
    if let Some(chosen) = obj.get("chosen") {
        let turn = match chosen {
            Value::String(s) => Turn::new(Role::Assistant, s.as_str()),
            other => role_content_turn(other, "chosen", &["from", "role"], &["value", "content"])?,
        };
        push_turn(rec, turn);
    }
    Ok(())
}

/// A leading system turn becomes the system prompt; later ones stay turns.
pub(crate) fn push_turn(rec: &mut Record, turn: Turn) {
    if turn.role == Role::System && rec.turns.is_empty() && rec.system.is_none() {
        rec.system = Some(turn.content);
    } else {
        rec.turns.push(turn);
    }
}

fn role_content_turn(m: &Value, path: &str, role_keys: &[&str], content_keys: &[&str]) -> Result<Turn, AdaptError> {
    let Value::Object(o) = m else {
        return Err(AdaptError::wrong_type(path, m, "an object"));
    };
    let role_key = role_keys
        .iter()
        .find(|k| o.contains_key(**k))
        .ok_or_else(|| AdaptError::new(path, format!("`{path}` has no `{}` field", role_keys[0])))?;
    let role_name = opt_str(o, role_key, path)?.unwrap_or("");
    let role = Role::parse(role_name).ok_or_else(|| {
        AdaptError::new(
            join_path(path, role_key),
            format!("unknown role `{role_name}` in `{}`", join_path(path, role_key)),
        )
    })?;
    let content_key = content_keys
        .iter()
        .find(|k| o.contains_key(**k))
        .unwrap_or(&content_keys[0]);
    let content = content_text(
        o.get(*content_key).unwrap_or(&Value::Null),
        &join_path(path, content_key),
    )?;
    Ok(Turn::new(role, content))
}

/// Message content: a string, null, or a list of typed parts
/// (`{type: "text", text|value}`); other parts become `<type>` markers.
pub(crate) fn content_text(v: &Value, path: &str) -> Result<String, AdaptError> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Array(parts) => {
            let mut out = String::new();
            for (i, p) in parts.iter().enumerate() {
                let ppath = format!("{path}[{i}]");
                match p {
                    Value::String(s) => out.push_str(s),
                    Value::Object(po) => {
                        let kind = opt_str(po, "type", &ppath)?.unwrap_or("text");
                        if kind == "text" {
                            let text = match opt_str(po, "text", &ppath)? {
                                Some(t) => Some(t),
                                None => opt_str(po, "value", &ppath)?,
                            };
                            out.push_str(text.unwrap_or(""));
                        } else {
                            out.push('<');
                            out.push_str(kind);
                            out.push('>');
                        }
                    }
                    other => return Err(AdaptError::wrong_type(&ppath, other, "a content part object")),
                }
            }
            Ok(out)
        }
        other => Err(AdaptError::wrong_type(path, other, "a string or a list of parts")),
    }
}

/// OpenAI chat: `messages: [{role, content}]`, with `tool_calls` kept as a
/// function-call turn.
fn openai(obj: &Map<String, Value>, rec: &mut Record) -> Result<(), AdaptError> {
    let msgs = match obj.get("messages") {
        Some(Value::Array(a)) => a,
        Some(v) => return Err(AdaptError::wrong_type("messages", v, "an array")),
        None => return Err(AdaptError::new("messages", "missing field `messages`")),
    };
    for (i, m) in msgs.iter().enumerate() {
        let path = format!("messages[{i}]");
        let mut turn = role_content_turn(m, &path, &["role", "from"], &["content", "value"])?;
        if let Value::Object(o) = m {
            if let Some(calls) = o.get("tool_calls").filter(|c| !c.is_null()) {
                if !turn.content.is_empty() {
                    push_turn(rec, turn.clone());
                }
                turn = Turn::new(Role::FunctionCall, calls.to_string());
            }
        }
        push_turn(rec, turn);
    }
    Ok(())
}
