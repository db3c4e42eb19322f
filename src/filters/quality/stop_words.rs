//! `stop-words`: how many different stop words a part uses.
//!
//! ## What it measures
//! The number of *distinct* stop words among the scoped text's words (as
//! datatrove: a set intersection, case-sensitive), with the list of the
//! record's language. Not measured for a language without a list.
//!
//! ## Why
//! Gopher keeps documents using at least 2 of "the, be, to, of, and, that,
//! have, with": real English prose cannot avoid them, while keyword lists,
//! code and tables do. In Chinese the equivalent function characters are
//! 的, 了, 是, 在, … (one Han character is one word with the `unicode`
//! tokenizer, so the Chinese list is of single characters).
//!
//! ## Example
//! `{"output": "Paris"}` uses none: 0, dropped with `min = 2` on a
//! conversation; `{"output": "巴黎是法国的首都。"}` uses 是 and 的: 2.
//!
//! ## Parameters
//! - `words`: a table from language code (`en`, `zh`, …, or `all` for every
//!   language without its own list) to its stop words.
//! - `ignore_case`: compare lowercased words (default `false`, as datatrove).
//! - `tokenizer`: `unicode` (default) or `spacy-en`.
//! - `min_words`: not measured on texts with fewer tokens (default 0): the
//!   web-text thresholds mean little on a one-line answer.

use std::collections::{BTreeMap, HashSet};

use crate::filters::WordScope;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};
use crate::text::Lang;
use crate::tokenize::Tokenizer;

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "stop-words",
    "number of distinct stop words of the record's language",
    build,
);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    words: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    ignore_case: bool,
    #[serde(default)]
    tokenizer: Tokenizer,
    #[serde(default)]
    min_words: usize,
}

struct StopWords {
    words: WordScope,
    by_lang: Vec<(Lang, HashSet<String>)>,
    all: Option<HashSet<String>>,
    ignore_case: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    let words = WordScope::new(ctx, p.tokenizer, p.min_words)?;
    let norm = |w: &String| if p.ignore_case { w.to_lowercase() } else { w.clone() };
    let mut by_lang = Vec::new();
    let mut all = None;
    for (code, list) in &p.words {
        let set: HashSet<String> = list.iter().map(norm).collect();
        if code == "all" {
            all = Some(set);
        } else {
            let lang = Lang::from_code(code).ok_or_else(|| {
                (
                    format!("words.{code}"),
                    format!("unknown language `{code}` (zh, ja, ko, en, other, all)"),
                )
            })?;
            by_lang.push((lang, set));
        }
    }
    Ok(Box::new(StopWords {
        words,
        by_lang,
        all,
        ignore_case: p.ignore_case,
    }))
}

impl Filter for StopWords {
    fn metric(&self) -> &str {
        "distinct stop words"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let lang = cx.lang();
        let list = match self.by_lang.iter().find(|(l, _)| *l == lang) {
            Some((_, s)) => s,
            None => self.all.as_ref()?,
        };
        let words = self.words.words(cx)?;
        let mut seen: HashSet<&str> = HashSet::new();
        let mut lower = String::new();
        for w in words.iter() {
            let hit = if self.ignore_case {
                lower.clear();
                lower.extend(w.chars().flat_map(char::to_lowercase));
                list.get(lower.as_str())
            } else {
                list.get(w)
            };
            if let Some(s) = hit {
                seen.insert(s.as_str());
                if seen.len() == list.len() {
                    break;
                }
            }
        }
        Some(Measure::from(seen.len() as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    const P: &str =
        r#"words = { en = ["the", "be", "to", "of", "and", "that", "have", "with"], zh = ["的", "了", "是", "在"] }"#;

    #[test]
    fn counts_distinct_stop_words_per_language() {
        let f = build(&KIND, P, None);
        // alpaca_5000 and alpaca_chinese_carbonz0.
        let en = record(
            r#"{"instruction": "What is the capital of France?", "input": "", "output": "The capital of France is Paris, the city of light."}"#,
        );
        let zh = record(r#"{"instruction": "法国的首都是哪里？", "input": "", "output": "法国的首都是巴黎。"}"#);
        // "The" differs from "the": case-sensitive, as datatrove.
        assert_eq!(value(f.as_ref(), &en), Some(2.0));
        assert_eq!(value(f.as_ref(), &zh), Some(2.0));
    }
}
