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
//!   `{"function": {...}}`, or an array of them), the arguments compared as
//!   JSON (key order and spacing aside; arguments given as a JSON string are
//!   read as JSON). A `function_call` turn that is not such JSON leaves the
//!   record without a mark: it cannot be compared;
//! - in an answer's text, `name('argument')` or `name("argument")` where the
//!   request declares `name(` (Toolformer-style records list their tools as
//!   `shell(shellcommand)`), so that code in an answer (`print('hi')`) is not
//!   read as a tool call.
//!
//! Measured on the judged pairs (docs/dedup.md): 15 more duplicates found and
//! 3 pairs wrongly called, all tool conversations whose tool results differ
//! (two labelled with doubt); on the unseen pairs 2 more found, none wrongly;
//! on the semantic pairs 18 more found, none wrongly.

use std::sync::LazyLock;

use serde_json::Value;

/// `name('argument')` or `name("argument")`.
static INLINE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r#"\b([A-Za-z_][A-Za-z0-9_]*)\((?:'([^'\n]*)'|"([^"\n]*)")\)"#).expect("call pattern")
});

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
                // Compact, with object keys sorted: serde_json's map is ordered
                // by key (the crate is built without `preserve_order`).
                self.calls.push((name.clone(), args.to_string()));
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
}
