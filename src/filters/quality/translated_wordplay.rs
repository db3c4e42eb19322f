//! `translated-wordplay`: tasks about the letters and sounds of English words,
//! translated into Chinese and answered in Chinese.
//!
//! ## What it measures
//! 1 when the instruction is Chinese (it holds a Han character), names a
//! property of how words are spelt or sound (`cues`: 字母, 押韵, 头韵, 首字母,
//! 回文, 字谜, 音节, …) and the answer holds no Latin letter; 0 when it holds
//! one; not measured without a cue, without Chinese in the instruction, or
//! when the instruction asks about the concept rather than for an instance
//! (`unless`: 定义, 解释, 算法, 正则, 代码, …).
//!
//! ## Why
//! Machine translation of an English instruction set keeps the task and
//! loses what it is about: "Generate a word that rhymes with 'bark'" becomes
//! 用"树皮"这个词创造一个押韵 answered with a Chinese word that rhymes with
//! nothing, "list words starting with the letter B" is answered with Chinese
//! words, "an acronym for these words" with Chinese characters. The answer
//! looks fluent and is wrong. An answer that keeps English words (the
//! letters, the rhyming words, the acronym) may still do the task and is not
//! counted, and neither is a single letter ("A", "F").
//!
//! ## Example
//! alpaca_chinese_carbonz0: `"找出三个以字母 B 开头的单词。"` answered
//! `"面包、香蕉、篮子"` measures 1; answered `"bread, banana, basket"`, 0.
//! `"用一句话描述文学手段“头韵”。"` (a definition) is not measured.
//!
//! ## Measured
//! Every record of the non-benchmark corpora outside the other labelled sets
//! with a Chinese instruction holding a cue (243, nearly all in
//! alpaca_chinese_carbonz0; `fixtures/judged/wordplay.jsonl`, labelled
//! blind): 187 labelled `drop`. The rule, its Latin-letter test and `unless` set
//! after reading those labels (a development figure), drops 151 of them, 132
//! right (0.874); in the other labelled sets, 3 of 4. Below the 0.90 the
//! default rules are held to, so it ships off: the wrong drops are Chinese
//! answers that still do the task (a rhyme that holds in Chinese, names whose
//! pinyin starts with the letter, the states in English order, a classical
//! poem for "a rhyming poem").
//!
//! ## Parameters
//! - `cues`: phrases of an instruction about spelling or sound (substrings).
//! - `unless`: phrases of an instruction about the concept itself.

use aho_corasick::AhoCorasick;

use crate::filters::phrase_set;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "translated-wordplay",
    "1 when a Chinese instruction about spelling or rhyme is answered without a Latin letter",
    build,
)
.fraction()
.scope(None);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    cues: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
}

struct TranslatedWordplay {
    cues: AhoCorasick,
    unless: Option<AhoCorasick>,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    let Some(cues) = phrase_set("cues", &p.cues)? else {
        return Err(("cues".into(), "cues must name at least one phrase".into()));
    };
    Ok(Box::new(TranslatedWordplay {
        cues,
        unless: phrase_set("unless", &p.unless)?,
    }))
}

/// Whether `text` holds a Latin letter.
fn latin(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_alphabetic())
}

impl Filter for TranslatedWordplay {
    fn metric(&self) -> &str {
        "Chinese spelling or rhyme task answered without a Latin letter"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let rec = cx.record();
        let instruction = rec.instruction();
        let cue = self.cues.find(instruction)?;
        if !instruction.chars().any(|c| crate::text::is_han(c as u32))
            || self.unless.as_ref().is_some_and(|u| u.is_match(instruction))
        {
            return None;
        }
        let answer = rec.response()?;
        Some(if latin(answer) {
            Measure::from(0.0)
        } else {
            Measure {
                value: 1.0,
                detail: Some(instruction[cue.range()].to_string()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{record, shipped, value};

    /// Records of alpaca_chinese_carbonz0 (labelled in
    /// `fixtures/judged/wordplay.jsonl`).
    #[test]
    fn chinese_answers_to_english_word_tasks_measure_one() {
        let f = shipped(&KIND, "quality/instruction.toml", "translated-wordplay");
        let rhyme = record(
            r#"{"instruction": "用“树皮”这个词创造一个押韵。", "input": "", "output": "树皮上的斑点，像星星一样闪耀。"}"#,
        );
        assert_eq!(value(f.as_ref(), &rhyme), Some(1.0));
        let english = record(
            r#"{"instruction": "找出三个以字母 B 开头的单词。", "input": "", "output": "bread, banana, basket"}"#,
        );
        assert_eq!(value(f.as_ref(), &english), Some(0.0));
        // A single letter is an answer about letters.
        let letter = record(r#"{"instruction": "从字母表中随机选择一个字母。", "input": "", "output": "F"}"#);
        assert_eq!(value(f.as_ref(), &letter), Some(0.0));
        // The concept itself, not an instance of it.
        let definition = record(
            r#"{"instruction": "用一句话描述文学手段“头韵”。", "input": "", "output": "头韵是句子或短语中一系列单词中开头辅音的重复。"}"#,
        );
        assert_eq!(value(f.as_ref(), &definition), None);
        let english_task =
            record(r#"{"instruction": "Find a word that rhymes with cat.", "input": "", "output": "hat"}"#);
        assert_eq!(value(f.as_ref(), &english_task), None);
    }
}
