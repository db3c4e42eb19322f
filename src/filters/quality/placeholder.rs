//! `placeholder`: answers that are a placeholder or hold an unfilled template
//! variable.
//!
//! ## What it measures
//! The number of assistant turns that either
//! - open, once trimmed and with `&lt;`/`&gt;`/`&amp;` decoded, with one of the
//!   listed `placeholders` (ASCII case-insensitive: `<nooutput`, `<无输出`, …)
//!   followed by at most `rest_max` characters (the generator's note "GPT 模型无法
//!   完成此类指令" is no answer; a placeholder before a whole answer is left to
//!   other rules); or
//! - hold a template variable `{{name}}` outside code (fenced blocks and inline
//!   backticks are skipped) when no user turn holds `{{` (the user did not ask
//!   for a template);
//!
//! plus 1 when the record's `input` is only a bracketed stand-in for content it
//! does not carry (`[插入图片]`, `（插入文章）`, `<附照片>`, `(Link to photo)`): one
//! bracketed token of at most 40 characters holding one of `input_markers`.
//!
//! ## Why
//! Generated sets mark answers the generator could not give with a
//! placeholder (`<nooutput>` in the Alpaca generation prompt, `&lt;无输入&gt;`
//! escaped in translations), and identity sets ship answers to be filled in
//! (`I am {{name}}, an AI assistant developed by {{author}}`). Trained on, the
//! model learns to answer with the placeholder. Code answers (Jinja, Vue,
//! Handlebars) use `{{ }}` legitimately, so code is not read.
//!
//! ## Example
//! llamafactory v1_sft_demo: `"Hello! I am {{name}}, an AI assistant developed
//! by {{author}}."` measures 1; alpaca_5000: `"<nooutput>"` measures 1.
//!
//! ## Measured
//! Judged development set: 24 of 24 drops right; blind spot check of a full
//! run: 20 of 20.
//!
//! ## Parameters
//! - `placeholders`: what a placeholder answer opens with.
//! - `rest_max`: characters after the placeholder still counted as a placeholder answer (default 60).
//! - `template_vars`: look for `{{name}}` variables (default true).
//! - `input_markers`: words of a stand-in input (ASCII case-insensitive; none by default).

use regex::Regex;

use crate::record::Role;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "placeholder",
    "assistant turns that are a placeholder or hold an unfilled {{variable}}",
    build,
)
.scope(None);

fn yes() -> bool {
    true
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    placeholders: Vec<String>,
    #[serde(default = "rest_max")]
    rest_max: usize,
    #[serde(default = "yes")]
    template_vars: bool,
    #[serde(default)]
    input_markers: Vec<String>,
}

fn rest_max() -> usize {
    60
}

struct Placeholder {
    /// Lower-cased placeholders.
    placeholders: Vec<String>,
    rest_max: usize,
    /// Bytes beyond which an answer cannot be a placeholder and `rest_max`
    /// characters (entities and 4-byte characters allowed for).
    max_bytes: usize,
    var: Option<Regex>,
    /// Lower-cased.
    input_markers: Vec<String>,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    if p.placeholders.iter().any(|s| s.trim().is_empty()) {
        return Err(("placeholders".into(), "placeholders must not be empty".into()));
    }
    let var = if p.template_vars {
        // A literal pattern: it compiles (checked by the tests).
        Some(
            Regex::new(r"\{\{\s*[A-Za-z_][A-Za-z0-9_.]*\s*\}\}")
                .map_err(|e| ("template_vars".to_string(), e.to_string()))?,
        )
    } else {
        None
    };
    Ok(Box::new(Placeholder {
        placeholders: p.placeholders.iter().map(|s| s.trim().to_lowercase()).collect(),
        rest_max: p.rest_max,
        max_bytes: p.placeholders.iter().map(|s| s.len() * 5).max().unwrap_or(0) + p.rest_max * 4 + 16,
        var,
        input_markers: p.input_markers.iter().map(|m| m.to_lowercase()).collect(),
    }))
}

/// The text outside fenced code blocks and inline code spans.
fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                out.push_str(part);
                out.push(' ');
            }
        }
        out.push('\n');
    }
    out
}

/// `text` with its HTML entities decoded (the repair stage's decoder: an
/// escaped `&lt;无输出&gt;` is a placeholder even when the repair stage is off).
fn unescaped(text: &str) -> String {
    crate::repair::entities::repair(text).unwrap_or_else(|| text.to_string())
}

/// Whether an input is one bracketed stand-in for missing content.
fn stand_in(input: &str, markers: &[String]) -> bool {
    let input = input.trim();
    // At most 40 characters once decoded; an entity is at most 10 bytes.
    if input.is_empty() || input.len() > 400 {
        return false;
    }
    let t = unescaped(input);
    let chars: Vec<char> = t.chars().collect();
    let (Some(&first), Some(&last)) = (chars.first(), chars.last()) else {
        return false;
    };
    let inner: String = chars[1..chars.len().saturating_sub(1).max(1)]
        .iter()
        .collect::<String>()
        .to_lowercase();
    "[（(<【‹「".contains(first)
        && "]）)>】›」".contains(last)
        && chars.len() <= 40
        && !inner.contains(['<', '>', '[', ']'])
        && markers.iter().any(|m| inner.contains(m.as_str()))
}

impl Placeholder {
    /// Whether an answer opens with a placeholder followed by at most
    /// `rest_max` characters. Long answers are not decoded or lower-cased.
    fn placeholder_answer(&self, text: &str) -> bool {
        let text = text.trim();
        if text.is_empty() || text.len() > self.max_bytes {
            return false;
        }
        let whole = unescaped(text).to_lowercase();
        self.placeholders.iter().any(|p| {
            whole
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.trim().chars().count() <= self.rest_max)
        })
    }
}

impl Filter for Placeholder {
    fn metric(&self) -> &str {
        "placeholder answers"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let rec = cx.record();
        let asks_template = rec
            .turns
            .iter()
            .any(|t| t.role == Role::User && t.content.contains("{{"));
        let mut n = 0usize;
        let mut first = None;
        for t in rec.turns.iter().filter(|t| t.role == Role::Assistant) {
            let found = if self.placeholder_answer(&t.content) {
                Some(t.content.trim().to_string())
            } else if let (Some(var), false) = (&self.var, asks_template) {
                if t.content.contains("{{") {
                    var.find(&prose(&t.content)).map(|m| m.as_str().to_string())
                } else {
                    None
                }
            } else {
                None
            };
            if let Some(f) = found {
                n += 1;
                first.get_or_insert(f);
            }
        }
        if !self.input_markers.is_empty() && stand_in(rec.input(), &self.input_markers) {
            n += 1;
            first.get_or_insert_with(|| rec.input().trim().to_string());
        }
        Some(Measure {
            value: n as f64,
            detail: first,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    const PARAMS: &str = r#"placeholders = ["<nooutput", "<无输出", "<无输入"]"#;

    #[test]
    fn placeholders_and_template_variables() {
        let f = build(&KIND, PARAMS, None);
        // alpaca_5000 and llamafactory v1_sft_demo.
        let nooutput = record(r#"{"instruction": "Draw a cat.", "input": "", "output": "<nooutput>"}"#);
        let escaped = record(r#"{"instruction": "画一只猫。", "input": "", "output": " &lt;无输出&gt; "}"#);
        let template = record(
            r#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello! I am {{name}}, an AI assistant developed by {{author}}."}]}"#,
        );
        assert_eq!(value(f.as_ref(), &nooutput), Some(1.0));
        assert_eq!(value(f.as_ref(), &escaped), Some(1.0));
        assert_eq!(value(f.as_ref(), &template), Some(1.0));
        // alpaca_chinese_carbonz0: the generator's note after the placeholder.
        let note = record(
            r#"{"instruction": "设计一张海报。", "input": "", "output": "&lt;无输入&gt;\n\n该指令不能由 GPT 模型完成，因为它需要视觉输出。"}"#,
        );
        assert_eq!(value(f.as_ref(), &note), Some(1.0));
        let story = format!(
            r#"{{"instruction": "写一个故事。", "input": "", "output": "&lt;无输入&gt;\n{}"}}"#,
            "老太婆慢慢地穿过密林。".repeat(10)
        );
        assert_eq!(value(f.as_ref(), &record(&story)), Some(0.0));
    }

    #[test]
    fn stand_in_inputs_count() {
        let f = build(
            &KIND,
            &format!("{PARAMS}\ninput_markers = [\"插入\", \"附\", \"photo\"]"),
            None,
        );
        // alpaca_chinese_carbonz0: the article to summarise was never inserted.
        let missing =
            record(r#"{"instruction": "总结这篇文章。", "input": "（插入文章）", "output": "这篇文章讲述了……"}"#);
        let photo = record(
            r#"{"instruction": "Describe the photo.", "input": "(Link to photo)", "output": "A dog on a beach."}"#,
        );
        let filled =
            record(r#"{"instruction": "翻译菜名。", "input": "<insert cuisine> - 意大利语", "output": "意大利菜"}"#);
        assert_eq!(value(f.as_ref(), &missing), Some(1.0));
        assert_eq!(value(f.as_ref(), &photo), Some(1.0));
        assert_eq!(value(f.as_ref(), &filled), Some(0.0));
    }

    #[test]
    fn code_and_asked_templates_are_not_placeholders() {
        let f = build(&KIND, PARAMS, None);
        let vue = record(
            r#"{"instruction": "Write a Vue template showing a message.", "input": "", "output": "```html\n<p>{{ message }}</p>\n```\nThe `{{ message }}` binding shows the text."}"#,
        );
        assert_eq!(value(f.as_ref(), &vue), Some(0.0));
        let asked = record(
            r#"{"instruction": "Fill in {{name}} with a name: Hello {{name}}!", "input": "", "output": "Hello {{name}} becomes Hello Ann!"}"#,
        );
        assert_eq!(value(f.as_ref(), &asked), Some(0.0));
        let fine = record(r#"{"instruction": "Say hi.", "input": "", "output": "No output is needed: hi!"}"#);
        assert_eq!(value(f.as_ref(), &fine), Some(0.0));
    }
}
