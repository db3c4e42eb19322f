//! `word-count`: how many words a part of the record has.
//!
//! ## What it measures
//! The number of words of the scoped text that are not made only of
//! punctuation, with the rule's tokenizer (`unicode` by default: UAX #29
//! words, one Han character per word; `spacy-en` for datatrove parity).
//!
//! ## Why
//! Gopher keeps documents of 50 to 100,000 words: fewer is usually a fragment,
//! more a dump. For instruction data the floor belongs on the answer and is
//! much lower (a one-word label can be a right answer), so the default rule
//! only caps the length; the parity rule set uses Gopher's range on the whole
//! conversation.
//!
//! ## Example
//! With `scope = "conversation"`, `min = 50` and the `spacy-en` tokenizer,
//! the alpaca_5000 record `{"instruction": "Name a type of fruit that is red.",
//! "output": "Strawberry."}` has 9 words and is dropped.
//!
//! ## Parameters
//! - `tokenizer`: `unicode` (default) or `spacy-en`.
//! - `unless_prompt`: phrases (ASCII case-insensitive); the rule measures
//!   nothing when the first user turn holds one. `response-too-short` uses it
//!   for answers the instruction asks to be symbols ("reply with an emoji",
//!   "用表情符号表示": an answer of only 🎉 is right).

use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};
use crate::tokenize::{is_symbol_word, Tokenizer};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "word-count",
    "number of words (not counting punctuation) of the scoped text",
    build,
);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    tokenizer: Tokenizer,
    #[serde(default)]
    unless_prompt: Vec<String>,
}

struct WordCount {
    scope: Scope,
    tokenizer: Tokenizer,
    unless_prompt: Option<aho_corasick::AhoCorasick>,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    p.tokenizer.check().map_err(|e| ("tokenizer".to_string(), e))?;
    let unless_prompt = crate::filters::phrase_set("unless_prompt", &p.unless_prompt)?;
    Ok(Box::new(WordCount {
        scope: ctx.scope.unwrap_or(Scope::Response),
        tokenizer: p.tokenizer,
        unless_prompt,
    }))
}

impl Filter for WordCount {
    fn metric(&self) -> &str {
        "word count"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        if let Some(ac) = &self.unless_prompt {
            if ac.is_match(cx.text(Scope::Prompt).as_ref()) {
                return None;
            }
        }
        let words = cx.words(self.scope, self.tokenizer);
        Some(Measure::from(words.iter().filter(|w| !is_symbol_word(w)).count() as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};
    use crate::stage::Scope;

    #[test]
    fn counts_words_not_punctuation() {
        // alpaca_5000 and alpaca_chinese_carbonz0.
        let en =
            record(r#"{"instruction": "Name a type of fruit that is red.", "input": "", "output": "Strawberry."}"#);
        let zh = record(r#"{"instruction": "什么是三原色？", "input": "", "output": "三原色是红、蓝、黄。"}"#);
        let uni = build(&KIND, "", Some(Scope::Conversation));
        let spacy = build(&KIND, r#"tokenizer = "spacy-en""#, Some(Scope::Conversation));
        assert_eq!(value(uni.as_ref(), &en), Some(9.0));
        assert_eq!(value(spacy.as_ref(), &en), Some(9.0));
        assert_eq!(value(uni.as_ref(), &zh), Some(13.0));
    }

    #[test]
    fn symbol_answers_that_were_asked_for_are_not_measured() {
        let f = build(&KIND, r#"unless_prompt = ["emoji", "表情"]"#, None);
        // alpaca_chinese_carbonz0: an emoji answer to an emoji request.
        let asked = record(r#"{"instruction": "用一个表情符号表示兴奋。", "input": "", "output": "🤩"}"#);
        let not_asked = record(r#"{"instruction": "法国的首都是哪里？", "input": "", "output": "🤩"}"#);
        assert_eq!(value(f.as_ref(), &asked), None);
        assert_eq!(value(f.as_ref(), &not_asked), Some(0.0));
    }
}
