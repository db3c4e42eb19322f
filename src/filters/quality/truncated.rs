//! `truncated`: signs that an answer was cut off.
//!
//! ## What it measures
//! 1 when the scoped text shows a sign of truncation, 0 otherwise; the sign
//! is named in the reason:
//! - an odd number of code fences (a ```` ``` ```` block never closed);
//! - more opening than closing brackets of a kind, `()`, `[]`, `{}` and the
//!   full-width `（）`, `【】`, `《》` (outside of code fences only the
//!   count matters, so a list marker `1)` does not open anything);
//! - an ending that cannot end a sentence: a comma, a colon, a dash, an
//!   opening bracket, or (`end_words`) a word such as "the", "and", "和" as
//!   the very last word after at least `min_words` words.
//!
//! ## Why
//! Generation stopped by a length limit, or text cut by a scraper, ends in
//! the middle of a sentence or of a code block; training on it teaches the
//! model to stop mid-thought.
//!
//! ## Example
//! `"To install the package, run:\n```bash\npip install requests"` has one
//! fence: dropped (`unclosed code fence`).
//!
//! ## Parameters
//! - `end_words`: words that cannot end an answer (compared lowercased).
//! - `min_words`: answers with fewer words are only checked for fences and
//!   brackets (default 8).

use std::collections::HashSet;

use crate::registry::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};
use crate::tokenize::Tokenizer;

/// Registry entry.
pub const KIND: FilterKind = FilterKind {
    name: "truncated",
    stage: "quality",
    default_scope: Some(Scope::Response),
    range: (0.0, 1.0),
    summary: "1 when the text looks cut off (open code fence or bracket, mid-sentence end)",
    build,
};

fn eight() -> usize {
    8
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    end_words: Vec<String>,
    #[serde(default = "eight")]
    min_words: usize,
}

struct Truncated {
    scope: Scope,
    end_words: HashSet<String>,
    min_words: usize,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    Ok(Box::new(Truncated {
        scope: ctx.scope.unwrap_or(Scope::Response),
        end_words: p.end_words.iter().map(|w| w.to_lowercase()).collect(),
        min_words: p.min_words,
    }))
}

/// Bracket kinds; ASCII and full-width parentheses are one kind, since
/// Chinese text often opens with one and closes with the other.
const PAIRS: [(&str, &str); 5] = [("(（", ")）"), ("[", "]"), ("{", "}"), ("【", "】"), ("《", "》")];

/// The truncation sign found in `text`, if any.
fn sign(text: &str) -> Option<String> {
    if text.matches("```").count() % 2 == 1 {
        return Some("unclosed code fence".into());
    }
    for (open, close) in PAIRS {
        let (mut o, mut c) = (0usize, 0usize);
        for ch in text.chars() {
            if open.contains(ch) {
                o += 1;
            } else if close.contains(ch) {
                c += 1;
            }
        }
        if o > c {
            return Some(format!("unclosed {}", open.chars().next().unwrap_or('(')));
        }
    }
    let last = text.trim_end().chars().last()?;
    if matches!(
        last,
        ',' | '，' | '、' | ':' | '：' | '(' | '[' | '{' | '（' | '–' | '—'
    ) {
        return Some(format!("ends with {last:?}"));
    }
    None
}

impl Filter for Truncated {
    fn metric(&self) -> &str {
        "truncation (1 = cut off)"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let text = cx.text(self.scope).into_owned();
        if text.trim().is_empty() {
            return None;
        }
        let mut found = sign(&text);
        if found.is_none() && !self.end_words.is_empty() {
            let words = cx.words(self.scope, Tokenizer::Unicode);
            let ends_in_word = text.trim_end().chars().last().is_some_and(char::is_alphanumeric);
            if words.len() >= self.min_words && ends_in_word {
                if let Some(w) = words.iter().last() {
                    if self.end_words.contains(&w.to_lowercase()) {
                        found = Some(format!("ends with {w:?}"));
                    }
                }
            }
        }
        Some(Measure {
            value: if found.is_some() { 1.0 } else { 0.0 },
            detail: found,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn fences_brackets_and_dangling_ends() {
        let f = build(
            &KIND,
            r#"end_words = ["the", "and", "和"]
min_words = 4"#,
            None,
        );
        let fence = record(
            r#"{"instruction": "Install requests.", "input": "", "output": "Run:\n```bash\npip install requests"}"#,
        );
        let paren = record(
            r#"{"instruction": "Define.", "input": "", "output": "A function (a mapping from inputs to outputs"}"#,
        );
        let dangling = record(
            r#"{"instruction": "Explain.", "input": "", "output": "Photosynthesis turns light into energy and the"}"#,
        );
        let zh = record(r#"{"instruction": "解释。", "input": "", "output": "光合作用是植物把光能转化为化学能和"}"#);
        let ok = record(r#"{"instruction": "List.", "input": "", "output": "1) Apples\n2) Pears"}"#);
        // llamafactory_alpaca_zh_demo: full-width open, ASCII close.
        let mixed = record(
            r#"{"instruction": "写一个描述。", "input": "", "output": "巴西利斯克（Basilisk)是一种奇特的生物。"}"#,
        );
        assert_eq!(value(f.as_ref(), &mixed), Some(0.0));
        assert_eq!(value(f.as_ref(), &fence), Some(1.0));
        assert_eq!(value(f.as_ref(), &paren), Some(1.0));
        assert_eq!(value(f.as_ref(), &dangling), Some(1.0));
        assert_eq!(value(f.as_ref(), &zh), Some(1.0));
        assert_eq!(value(f.as_ref(), &ok), Some(0.0));
    }
}
