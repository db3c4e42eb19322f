//! `unchanged-input`: answers that hand back the text they were asked to
//! change.
//!
//! ## What it measures
//! 1 when the answer, trimmed, is byte for byte the text the user gave to
//! work on, trimmed, and the instruction asks to transform it (one of
//! `asks`: rewrite, paraphrase, translate, convert, 改写, 翻译, 变成, …); 0
//! when the answer differs. The text given to work on is the record's
//! `input` (Alpaca `input`, Dolly `context`) when it has one; otherwise the
//! one quoted span of the instruction (`“…”`, `"…"`, `「…」`, `『…』`, at least
//! two characters) or the text after its first colon (0 without such a
//! text). Not measured on records with more than one user turn or without
//! an answer; nor on an unchanged answer when the instruction asks for none of
//! `asks`, or holds one of `unless`: asked for the text back (repeat, copy),
//! or asked to correct or edit it (correct, grammar, 改正, 编辑, …), since a
//! text without errors rightly comes back unchanged.
//!
//! ## Why
//! "Rewrite this sentence in the passive voice: 他写了一封信。" answered with
//! "他写了一封信。" teaches that the task is done by changing nothing. Machine
//! translation makes many such records: the English input had the error or
//! the form the task was about (a typo, "it's", a tense), the translation
//! smoothed it away, and input and output became the same Chinese sentence.
//! The comparison is exact: a changed space, a comma added or a line break
//! (dividing a text into paragraphs) is a change.
//!
//! ## Example
//! alpaca_chinese_carbonz0: `{"instruction": "把给定的句子变成被动语态。",
//! "input": "他写了一封信。", "output": "他写了一封信。"}` measures 1 and is
//! dropped; `"改写以下句子：“我很高兴。”"` answered `"我很高兴。"` measures 1
//! (the quoted text). `"Correct the grammar." / "She go to school." / "She
//! goes to school."` measures 0.
//!
//! ## Measured
//! Every record of the non-benchmark corpora whose answer is its given text
//! (239 outside the other labelled sets; `fixtures/judged/unchanged.jsonl`,
//! labelled blind): 171 labelled `drop`. The readers kept corrections of
//! text without errors (41 of the 68 keeps) and orders already right. With
//! the shipped lists, set after reading those labels (so a development
//! figure), the rule drops 87 of them, 83 right (0.954); over all the
//! corpora it drops 90 records, 86 labelled `drop` (the other three in the
//! development set and the second spot check). The four kept ones ask for a
//! tense (future, present) or pronouns the text already has, or for words
//! to be removed from a sentence with none to spare. Judged development
//! set: 2 of 2.
//!
//! ## Parameters
//! - `asks`: phrases of an instruction that asks for a change (ASCII
//!   case-insensitive substrings); empty: every instruction.
//! - `unless`: phrases of an instruction that asks for the text back
//!   (repeat, copy): not measured.

use aho_corasick::AhoCorasick;

use crate::filters::phrase_set;
use crate::record::Role;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "unchanged-input",
    "1 when the answer is the text it was asked to transform, unchanged",
    build,
)
.fraction()
.scope(None);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    asks: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
}

struct UnchangedInput {
    asks: Option<AhoCorasick>,
    unless: Option<AhoCorasick>,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    Ok(Box::new(UnchangedInput {
        asks: phrase_set("asks", &p.asks)?,
        unless: phrase_set("unless", &p.unless)?,
    }))
}

/// Quotation marks that open a quoted span, with the mark that closes it.
const QUOTES: [(char, char); 4] = [('“', '”'), ('"', '"'), ('「', '」'), ('『', '』')];

/// The one quoted span of `text` of at least two characters, trimmed
/// (`None` when there is none or more than one).
fn quoted(text: &str) -> Option<&str> {
    let mut found = None;
    let mut rest = text;
    while let Some((at, open)) = rest.char_indices().find(|(_, c)| QUOTES.iter().any(|q| q.0 == *c)) {
        let close = QUOTES.iter().find(|q| q.0 == open).map_or(open, |q| q.1);
        let inner_from = at + open.len_utf8();
        let Some(len) = rest[inner_from..].find(close) else {
            break;
        };
        let inner = &rest[inner_from..inner_from + len];
        if inner.chars().nth(1).is_some() {
            if found.is_some() {
                return None;
            }
            found = Some(inner.trim());
        }
        rest = &rest[inner_from + len + close.len_utf8()..];
    }
    found
}

/// The text after the first colon (ASCII or full-width), trimmed.
fn after_colon(text: &str) -> Option<&str> {
    let at = text.find([':', '：'])?;
    let colon = if text[at..].starts_with(':') {
        1
    } else {
        '：'.len_utf8()
    };
    Some(text[at + colon..].trim()).filter(|t| !t.is_empty())
}

impl Filter for UnchangedInput {
    fn metric(&self) -> &str {
        "answer equal to the text to transform"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let rec = cx.record();
        let mut users = rec.turns.iter().filter(|t| t.role == Role::User);
        if users.next().is_none() || users.next().is_some() {
            return None;
        }
        let answer = rec.response()?.trim();
        if answer.is_empty() {
            return None;
        }
        let instruction = rec.instruction();
        let input = rec.input().trim();
        let given: [(Option<&str>, &str); 2] = if input.is_empty() {
            // A text quoted in the instruction is shorter than it.
            if answer.len() >= instruction.len() {
                return Some(Measure::from(0.0));
            }
            [
                (quoted(instruction), "the quoted text"),
                (after_colon(instruction), "the text after the colon"),
            ]
        } else {
            [(Some(input), "the input"), (None, "")]
        };
        let Some((_, what)) = given.iter().find(|(t, _)| *t == Some(answer)) else {
            return Some(Measure::from(0.0));
        };
        // The instruction's phrases are read only for an answer that is its
        // given text: most records stop at the comparison.
        if self.asks.as_ref().is_some_and(|a| !a.is_match(instruction))
            || self.unless.as_ref().is_some_and(|u| u.is_match(instruction))
        {
            return None;
        }
        Some(Measure {
            value: 1.0,
            detail: Some(format!("{what}: {}", crate::text::head_chars(answer, 60).0)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{after_colon, quoted, KIND};
    use crate::filters::testing::{record, shipped, value};

    #[test]
    fn the_given_text_is_the_input_or_the_one_quote_or_after_the_colon() {
        assert_eq!(quoted("改写以下句子：“我很高兴。”"), Some("我很高兴。"));
        assert_eq!(quoted(r#"Is "their" or "there" right?"#), None);
        assert_eq!(quoted("“a” then 「我很高兴」"), Some("我很高兴"));
        assert_eq!(quoted("no quote “"), None);
        assert_eq!(
            after_colon("用过去完成时转换以下句子：昨天他们打开了门。"),
            Some("昨天他们打开了门。")
        );
        assert_eq!(after_colon("Rewrite:  "), None);
    }

    /// Records of alpaca_chinese_carbonz0 (`zh-data-part-NN.jsonl`, line),
    /// labelled in `fixtures/judged/unchanged.jsonl`.
    #[test]
    fn shipped_rule_drops_transforms_not_done_and_leaves_corrections_alone() {
        let f = shipped(&KIND, "quality/instruction.toml", "unchanged-input");
        // part-00 line 138: a plural asked for, the sentence handed back.
        let plural = record(
            r#"{"instruction": "将下列句子从单数形式改为复数形式。", "input": "猫在喝酒。", "output": "猫在喝酒。"}"#,
        );
        assert_eq!(value(f.as_ref(), &plural), Some(1.0));
        // part-00 line 342: a translation not done.
        let spanish =
            record(r#"{"instruction": "将下列句子翻译成西班牙语。", "input": "蓝天真美。", "output": "蓝天真美。"}"#);
        assert_eq!(value(f.as_ref(), &spanish), Some(1.0));
        // part-01 line 2382: the text is quoted in the instruction.
        let quote = record(r#"{"instruction": "改写以下句子：“我很高兴。”", "input": "", "output": "我很高兴。"}"#);
        assert_eq!(value(f.as_ref(), &quote), Some(1.0));
        // part-01 line 3726: the text follows the colon.
        let colon =
            record(r#"{"instruction": "将以下句子翻译成法语：我去了商店。", "input": "", "output": "我去了商店。"}"#);
        assert_eq!(value(f.as_ref(), &colon), Some(1.0));
        // part-00 line 193: a sentence without errors comes back unchanged
        // from a correction rightly (labelled keep): not measured.
        let correct = record(
            r#"{"instruction": "改正句子中的语法错误。", "input": "她来商店买用品。", "output": "她来商店买用品。"}"#,
        );
        assert_eq!(value(f.as_ref(), &correct), None);
        // part-00 line 8693: an order already right (labelled keep): no
        // request to transform, not measured.
        let order = record(
            r#"{"instruction": "将下列音符按音高由低到高的顺序排列。", "input": "G、A、B、C", "output": "G、A、B、C"}"#,
        );
        assert_eq!(value(f.as_ref(), &order), None);
        let done = record(
            r#"{"instruction": "Rewrite the sentence in the past tense.", "input": "She walks home.", "output": "She walked home."}"#,
        );
        assert_eq!(value(f.as_ref(), &done), Some(0.0));
        // A line break is a change (dividing a text into paragraphs).
        let split = record(
            r#"{"instruction": "Rewrite this as two paragraphs.", "input": "The sky is blue. The air is fresh.", "output": "The sky is blue.\n\nThe air is fresh."}"#,
        );
        assert_eq!(value(f.as_ref(), &split), Some(0.0));
    }

    #[test]
    fn not_measured_when_asked_for_the_text_back_or_over_several_turns() {
        let f = shipped(&KIND, "quality/instruction.toml", "unchanged-input");
        let repeat = record(r#"{"instruction": "Repeat and rewrite nothing.", "input": "Hello.", "output": "Hello."}"#);
        assert_eq!(value(f.as_ref(), &repeat), None);
        let chat = record(
            r#"{"messages": [{"role": "user", "content": "Rewrite: Hi."}, {"role": "assistant", "content": "Hi."}, {"role": "user", "content": "Rewrite: Hi."}, {"role": "assistant", "content": "Hi."}]}"#,
        );
        assert_eq!(value(f.as_ref(), &chat), None);
        let single = record(
            r#"{"messages": [{"role": "user", "content": "Rewrite: Hi there."}, {"role": "assistant", "content": "Hi there."}]}"#,
        );
        assert_eq!(value(f.as_ref(), &single), Some(1.0));
    }
}
