//! The tool calls of an answer, as one mark.
//!
//! Two tool-using records that make the same calls with the same arguments
//! ("Find the Python version installed" / "Verify the installed Python
//! version" → `shell('python --version')`; the same
//! `generate_random_password {"length": 12}` with another random password
//! in the reply) are the same lesson, though their requests are reworded and
//! their replies wrap the call in other words. Under `[near] tool-calls`
//! (`src/dedup/similarity.rs`) they are near-duplicates when their requests
//! also reach `part-threshold`, which keeps a request translated into
//! another language with the same call apart.
//!
//! A call is
//! - a `function_call` turn: a JSON object with `name` and `arguments` (or
//!   `{"function": {...}}`, or an array of them; arguments given as a JSON
//!   string are read as JSON), compared on its arguments' values in the
//!   order of their keys (strings trimmed and in lower case), not on the
//!   function's or the keys' names, which generated conversations rename
//!   freely (`generate_random_password {"length": 12}` /
//!   `generate_password {"length": 12}`); a call without values is its
//!   function's name. A `function_call` turn that is not such JSON leaves
//!   the record without a mark: it cannot be compared;
//! - in an answer's text, `name('argument')` or `name("argument")` where the
//!   request declares `name(` (Toolformer-style records list their tools as
//!   `shell(shellcommand)`), so that code in an answer (`print('hi')`) is not
//!   read as a tool call.
//!
//! Measured on the judged pairs (docs/dedup.md): 15 more duplicates found and
//! 3 pairs wrongly called, all tool conversations whose tool results differ
//! (two labelled with doubt); on the unseen pairs 2 more found, none wrongly;
//! on the semantic pairs 18 more found, none wrongly. Comparing values
//! rather than names then finds 4 more judged duplicates (a password
//! conversation whose function is renamed, an age query whose key is), none
//! wrongly (0.956 / 0.879 -> 0.957 / 0.902 with every rule on); the unseen
//! pairs do not change; over ../shared/corpora it drops 3 more records, the
//! renamed password conversations, which the judged pairs label duplicates.

use std::sync::LazyLock;

use serde_json::Value;

/// `name('argument')` or `name("argument")`.
static INLINE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r#"\b([A-Za-z_][A-Za-z0-9_]*)\((?:'([^'\n]*)'|"([^"\n]*)")\)"#).expect("call pattern")
});

/// The scalar values of a JSON value (strings trimmed and in lower case,
/// other values as JSON), depth first, an object's in the order of its keys
/// (serde_json's map is ordered by key: the crate is built without
/// `preserve_order`).
fn scalars(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => o.values().for_each(|x| scalars(x, out)),
        Value::Array(a) => a.iter().for_each(|x| scalars(x, out)),
        Value::String(s) => out.push(s.trim().to_lowercase()),
        Value::Null => {}
        x => out.push(x.to_string()),
    }
}

/// Gathers the calls of one record, answer part by answer part.
#[derive(Debug, Default)]
pub struct Calls {
    calls: Vec<(String, String)>,
    broken: bool,
}

/// Whether `request` declares the tool `name`: it holds `name(`.
pub fn declares(request: &str, name: &str) -> bool {
    request
        .match_indices(name)
        .any(|(i, n)| request[i + n.len()..].starts_with('('))
}

impl Calls {
    /// An answer part of role `role` (`assistant` or `function_call`);
    /// `declared` says whether the record's request declares a tool name
    /// (asked only for a `name('argument')` found in the answer).
    pub fn answer(&mut self, role: &str, text: &str, declared: &dyn Fn(&str) -> bool) {
        if role == "function_call" {
            match serde_json::from_str::<Value>(text) {
                Ok(v) if self.json(&v) => {}
                _ => self.broken = true,
            }
            return;
        }
        if !text.contains('(') {
            return;
        }
        for c in INLINE.captures_iter(text) {
            let (Some(name), Some(arg)) = (c.get(1), c.get(2).or_else(|| c.get(3))) else {
                continue;
            };
            if declared(name.as_str()) {
                self.calls
                    .push((name.as_str().to_string(), arg.as_str().trim().to_string()));
            }
        }
    }

    /// Reads one JSON call (or an array of them); false when it is none.
    fn json(&mut self, v: &Value) -> bool {
        match v {
            Value::Array(items) => !items.is_empty() && items.iter().all(|i| self.json(i)),
            Value::Object(o) => {
                if let Some(f) = o.get("function") {
                    return self.json(f);
                }
                let Some(Value::String(name)) = o.get("name") else {
                    return false;
                };
                let args = match o.get("arguments").or_else(|| o.get("parameters")) {
                    Some(Value::String(s)) => serde_json::from_str::<Value>(s).unwrap_or(Value::String(s.clone())),
                    Some(a) => a.clone(),
                    None => Value::Null,
                };
                // A call is its arguments' values, in the order of their
                // keys: the function's and the keys' names are the tool's
                // declaration, which generated conversations rename freely
                // (`generate_password` / `generate_random_password`, `dob` /
                // `birth_date`), while `from` / `to` keep their order as
                // `source` / `target` do. A call without values is its
                // function's name.
                let mut values = Vec::new();
                scalars(&args, &mut values);
                if values.is_empty() {
                    self.calls.push((name.clone(), String::new()));
                } else {
                    self.calls.push((String::new(), values.join("\u{1f}")));
                }
                true
            }
            _ => false,
        }
    }

    /// A 32-bit mark of the calls (their order aside); 0 when the record
    /// makes none or one cannot be read.
    pub fn mark(mut self) -> u32 {
        if self.broken || self.calls.is_empty() {
            return 0;
        }
        self.calls.sort();
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for (name, args) in &self.calls {
            h.update(name.as_bytes());
            h.update(&[0]);
            h.update(args.as_bytes());
            h.update(&[1]);
        }
        (h.digest() as u32).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::{declares, Calls};

    fn mark(parts: &[(&str, &str)]) -> u32 {
        let request = |(r, _): &&(&str, &str)| matches!(*r, "user" | "observation");
        let declared = |name: &str| parts.iter().filter(request).any(|(_, t)| declares(t, name));
        let mut c = Calls::default();
        for part in parts.iter().filter(|p| !request(p)) {
            c.answer(part.0, part.1, &declared);
        }
        c.mark()
    }

    #[test]
    fn the_same_json_call_is_the_same_mark() {
        let a = mark(&[
            ("user", "I need a 12-character password."),
            (
                "function_call",
                r#"{"name": "generate_random_password", "arguments": {"length": 12}}"#,
            ),
            ("observation", r#"{"password": "aB3#fG7!kL9@"}"#),
            ("assistant", "Here is your new password: aB3#fG7!kL9@."),
        ]);
        let b = mark(&[
            ("user", "Can you make me a password of 12 characters?"),
            (
                "function_call",
                r#"{"arguments": "{\"length\":12}", "name": "generate_random_password"}"#,
            ),
            ("assistant", "Your password: aBcD1234EfGh."),
        ]);
        assert_ne!(a, 0);
        assert_eq!(a, b);
        // Arguments in another key order and spacing are the same arguments.
        let two = |args: &str| {
            mark(&[(
                "function_call",
                &format!(r#"{{"name": "search", "arguments": {args}}}"#),
            )])
        };
        assert_eq!(
            two(r#"{"query": "rust", "limit": 3}"#),
            two(r#"{"limit":3,"query":"rust"}"#)
        );
        assert_ne!(
            two(r#"{"query": "rust", "limit": 3}"#),
            two(r#"{"query": "rust", "limit": 4}"#)
        );
        let c = mark(&[(
            "function_call",
            r#"{"name": "generate_random_password", "arguments": {"length": 8}}"#,
        )]);
        assert_ne!(a, c);
        // Not a call that can be read: no mark.
        assert_eq!(mark(&[("function_call", "Text2Image(\"a cat\")")]), 0);
    }

    #[test]
    fn inline_calls_count_when_the_request_declares_the_tool() {
        let tools = "toolformer: enabled\nshell(shellcommand)\n";
        let a = mark(&[
            (
                "user",
                &format!("{tools}Find the Python version installed on the system."),
            ),
            (
                "assistant",
                "The Python version installed is: shell('python --version').",
            ),
        ]);
        let b = mark(&[
            ("user", &format!("{tools}Verify the installed Python version")),
            ("assistant", "It can be found here: shell(\"python --version\")."),
        ]);
        assert_ne!(a, 0);
        assert_eq!(a, b);
        // Code in an answer is not a tool call.
        assert_eq!(
            mark(&[("user", "Print hello in Python."), ("assistant", "print('hello')")]),
            0
        );
        assert_eq!(mark(&[("user", "Say hi"), ("assistant", "Hi!")]), 0);
    }

    #[test]
    fn a_json_call_is_its_values_in_the_order_of_their_keys() {
        let call = |json: &str| mark(&[("function_call", json)]);
        // A renamed function and renamed keys: the same call.
        assert_eq!(
            call(r#"{"name": "generate_random_password", "arguments": {"length": 12}}"#),
            call(r#"{"name": "generate_password", "arguments": {"length": 12}}"#)
        );
        assert_eq!(
            call(r#"{"name": "calculate_age", "arguments": {"birth_date": "1990-05-15"}}"#),
            call(r#"{"name": "get_age", "arguments": {"dob": " 1990-05-15"}}"#)
        );
        // From and to swapped: another call.
        assert_ne!(
            call(r#"{"name": "convert", "arguments": {"from": "USD", "to": "EUR"}}"#),
            call(r#"{"name": "convert", "arguments": {"from": "EUR", "to": "USD"}}"#)
        );
        // Without values, the function's name is the call.
        assert_ne!(
            call(r#"{"name": "get_news", "arguments": {}}"#),
            call(r#"{"name": "get_joke", "arguments": {}}"#)
        );
        assert_eq!(
            call(r#"{"name": "get_news", "arguments": {}}"#),
            call(r#"{"name": "get_news"}"#)
        );
    }
}
