//! Templates of declared formats: a prompt or a response composed from several
//! fields of the record (`rules/formats.toml`, `template = { prompt = …, response = … }`).
//!
//! A template is text with `{field}` references, replaced by the field's value
//! (a string as it is, a number or boolean written out); `{field|letter}` writes
//! a 0-based index as its letter (`0` → `A`, `"2"` → `C`), as multiple-choice
//! answers are given; `{{` and `}}` are literal braces. A field that is missing
//! or null makes the record malformed, naming the field.
//!
//! Example (MMLU, whose answer is the index of one of four choices):
//! `prompt = "{question}\n\nA. {choice0}\nB. {choice1}\nC. {choice2}\nD. {choice3}"`,
//! `response = "{answer|letter}"`.

use serde_json::{Map, Value};

use super::adapt::kind_of;
use super::AdaptError;

/// A compiled template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Field { name: String, letter: bool },
}

impl Template {
    /// Parses a template; the error says what is wrong in words.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => inner.push(c),
                            None => return Err(format!("`{{{inner}` is not closed with `}}`")),
                        }
                    }
                    let (name, filter) = match inner.split_once('|') {
                        Some((n, f)) => (n.trim(), Some(f.trim())),
                        None => (inner.trim(), None),
                    };
                    if name.is_empty() {
                        return Err("`{}` names no field".into());
                    }
                    let letter = match filter {
                        None => false,
                        Some("letter") => true,
                        Some(f) => return Err(format!("unknown filter `{f}` in `{{{inner}}}` (known: letter)")),
                    };
                    if !lit.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Field {
                        name: name.to_string(),
                        letter,
                    });
                }
                '}' => return Err("a lone `}` (write `}}` for a brace)".into()),
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        Ok(Template { parts })
    }

    /// The text of the template for one record.
    pub fn render(&self, obj: &Map<String, Value>) -> Result<String, AdaptError> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field { name, letter } => {
                    let v = obj.get(name).unwrap_or(&Value::Null);
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => {
                            return Err(AdaptError::new(
                                name,
                                format!("field `{name}` is {}, the template needs a value", kind_of(v)),
                            ))
                        }
                    };
                    if *letter {
                        let i: u32 = text.trim().parse().ok().filter(|i| *i < 26).ok_or_else(|| {
                            AdaptError::new(
                                name,
                                format!("field `{name}` is {text:?}, not an index 0..25 for `|letter`"),
                            )
                        })?;
                        out.push(char::from(b'A' + i as u8));
                    } else {
                        out.push_str(&text);
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::Template;

    fn obj(json: &str) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(json).expect("test JSON")
    }

    #[test]
    fn mmlu_question_with_lettered_choices_and_answer_letter() {
        // benchmarks/mmlu_test.jsonl, first record.
        let rec = obj(
            r#"{"question": "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.", "choice0": "0", "choice1": "4", "choice2": "2", "choice3": "6", "answer": "1", "subject": "abstract_algebra"}"#,
        );
        let prompt =
            Template::parse("{question}\n\nA. {choice0}\nB. {choice1}\nC. {choice2}\nD. {choice3}").expect("parses");
        assert_eq!(
            prompt.render(&rec).expect("renders"),
            "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\n\nA. 0\nB. 4\nC. 2\nD. 6"
        );
        let answer = Template::parse("{answer|letter}").expect("parses");
        assert_eq!(answer.render(&rec).expect("renders"), "B");
        assert_eq!(answer.render(&obj(r#"{"answer": 3}"#)).expect("renders"), "D");
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(Template::parse("{question")
            .expect_err("an error")
            .contains("not closed"));
        assert!(Template::parse("{answer|upper}")
            .expect_err("an error")
            .contains("unknown filter `upper`"));
        assert!(Template::parse("a } b").expect_err("an error").contains("lone"));
        assert_eq!(
            Template::parse("{{literal}}")
                .expect("parses")
                .render(&obj("{}"))
                .expect("renders"),
            "{literal}"
        );
        let t = Template::parse("{missing}").expect("parses");
        let e = t.render(&obj("{}")).expect_err("an error");
        assert!(e.to_string().contains("missing"), "{e}");
        let l = Template::parse("{answer|letter}").expect("parses");
        assert!(l
            .render(&obj(r#"{"answer": "B"}"#))
            .expect_err("an error")
            .to_string()
            .contains("index"));
    }
}
