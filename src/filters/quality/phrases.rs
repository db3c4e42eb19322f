//! `phrases`: how many listed phrases a part contains.
//!
//! ## What it measures
//! The number of occurrences of the rule's phrases in the scoped text (one
//! pass of an Aho-Corasick automaton over all phrases, non-overlapping,
//! case-insensitive for ASCII by default). The first match is shown in the
//! reason. Options narrow where a match counts (only at the start, only near
//! the end) and when the rule applies at all (only when another part is
//! empty).
//!
//! ## Why
//! Many failure modes of instruction data are fixed phrases: refusals and AI
//! disclaimers ("As an AI language model", "抱歉，我无法"), instructions that
//! point at content the record does not carry ("the following text" with an
//! empty input), mojibake ("â€™", "锟斤拷", U+FFFD), and C4's web boilerplate
//! ("lorem ipsum", "javascript", cookie and privacy lines). The phrase lists
//! live in the rule files, English and Chinese side by side.
//!
//! ## Example
//! The gpteacher answer `"As an AI language model, I don't have personal
//! opinions..."` matches `"as an ai language model"` once and is dropped by
//! `quality/refusal` (`max = 0`).
//!
//! ## Parameters
//! - `phrases`: the list of phrases.
//! - `ignore_case`: ASCII case-insensitive matching (default `true`).
//! - `within_first`: count a match only if it starts within this many
//!   characters of the text's start.
//! - `max_after`: count a match only if at most this many non-space
//!   characters follow it (the phrase ends the text, give or take a colon),
//!   and no colon or opening quote followed by text (inline content).
//! - `only_if_empty`: a scope (e.g. `input`); the rule measures nothing when
//!   that part is not empty.
//! - `unless_in`: a scope (e.g. `prompt`); the rule measures nothing when
//!   that part holds one of the phrases too (the user asked about it).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality("phrases", "number of listed phrases found in the scoped text", build);

fn yes() -> bool {
    true
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    phrases: Vec<String>,
    #[serde(default = "yes")]
    ignore_case: bool,
    within_first: Option<usize>,
    max_after: Option<usize>,
    only_if_empty: Option<Scope>,
    unless_in: Option<Scope>,
}

struct Phrases {
    scope: Scope,
    ac: AhoCorasick,
    within_first: Option<usize>,
    max_after: Option<usize>,
    only_if_empty: Option<Scope>,
    unless_in: Option<Scope>,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    if p.phrases.is_empty() || p.phrases.iter().any(String::is_empty) {
        return Err(("phrases".into(), "list at least one non-empty phrase".into()));
    }
    let ac = AhoCorasickBuilder::new()
        .ascii_case_insensitive(p.ignore_case)
        .match_kind(MatchKind::LeftmostLongest)
        .build(&p.phrases)
        .map_err(|e| ("phrases".to_string(), e.to_string()))?;
    Ok(Box::new(Phrases {
        scope: ctx.scope.unwrap_or(Scope::Response),
        ac,
        within_first: p.within_first,
        max_after: p.max_after,
        only_if_empty: p.only_if_empty,
        unless_in: p.unless_in,
    }))
}

/// Whether `rest` carries the content itself: a colon or an opening quote
/// followed by text ("rewrite the following sentence: 昨天他们打开了门。").
fn inline_content(rest: &str) -> bool {
    rest.find([':', '：', '“', '"', '「'])
        .is_some_and(|i| rest[i..].chars().skip(1).any(|c| c.is_alphanumeric()))
}

impl Filter for Phrases {
    fn metric(&self) -> &str {
        "number of listed phrases"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        if let Some(s) = self.only_if_empty {
            if !cx.text(s).trim().is_empty() {
                return None;
            }
        }
        if let Some(s) = self.unless_in {
            if self.ac.is_match(cx.text(s).as_ref()) {
                return None;
            }
        }
        let text = cx.text(self.scope);
        let mut n = 0usize;
        let mut first = None;
        for m in self.ac.find_iter(text.as_ref()) {
            if let Some(k) = self.within_first {
                if text[..m.start()].chars().count() > k {
                    break;
                }
            }
            if let Some(k) = self.max_after {
                let rest = &text[m.end()..];
                if rest.chars().filter(|c| !c.is_whitespace()).count() > k || inline_content(rest) {
                    continue;
                }
            }
            n += 1;
            first.get_or_insert_with(|| text[m.start()..m.end()].to_string());
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
    use crate::stage::Scope;

    #[test]
    fn refusals_in_english_and_chinese() {
        let f = build(
            &KIND,
            r#"phrases = ["as an AI language model", "作为一个人工智能"]"#,
            None,
        );
        // gpteacher toolformer and alpaca_chinese_carbonz0.
        let en = record(
            r#"{"instruction": "What is your favorite color?", "input": "", "output": "As an AI language model, I don't have personal preferences."}"#,
        );
        let zh = record(
            r#"{"instruction": "你最喜欢什么颜色？", "input": "", "output": "作为一个人工智能，我没有个人喜好。"}"#,
        );
        let ok = record(r#"{"instruction": "Name a color.", "input": "", "output": "Blue."}"#);
        assert_eq!(value(f.as_ref(), &en), Some(1.0));
        assert_eq!(value(f.as_ref(), &zh), Some(1.0));
        assert_eq!(value(f.as_ref(), &ok), Some(0.0));
    }

    #[test]
    fn missing_content_only_when_input_is_empty() {
        let f = build(
            &KIND,
            r#"phrases = ["the following text", "以下"]
only_if_empty = "input"
max_after = 10"#,
            Some(Scope::Instruction),
        );
        // alpaca_5000: instruction pointing at an input that is not there.
        let missing = record(
            r#"{"instruction": "Summarize the following text.", "input": "", "output": "The text is about..."}"#,
        );
        let present = record(
            r#"{"instruction": "Summarize the following text.", "input": "Cats sleep a lot.", "output": "Cats sleep."}"#,
        );
        let inline = record(
            r#"{"instruction": "Summarize the following text: cats sleep most of the day and hunt at night.", "input": "", "output": "Cats sleep."}"#,
        );
        assert_eq!(value(f.as_ref(), &missing), Some(1.0));
        assert_eq!(value(f.as_ref(), &present), None);
        assert_eq!(value(f.as_ref(), &inline), Some(0.0));
        // alpaca_chinese_carbonz0: the sentence follows the colon.
        let zh_inline = record(
            r#"{"instruction": "用过去完成时转换以下句子：昨天他们打开了门。", "input": "", "output": "昨天他们已经打开了门。"}"#,
        );
        assert_eq!(value(f.as_ref(), &zh_inline), Some(0.0));
    }
}
