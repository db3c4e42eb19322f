//! `approx-tokens`: the length of a part in approximate model tokens.
//!
//! ## What it measures
//! An estimate of the number of tokens a BPE tokenizer (GPT, Llama, Qwen
//! class) makes of the scoped text, without a vocabulary: each CJK, kana or
//! Hangul character counts 1, and every other run of non-space characters
//! counts one token per 4 characters, rounded up.
//!
//! ## Why
//! Training sequence lengths are set in tokens, not characters: a record
//! longer than the context window is truncated at training time and teaches a
//! cut answer. Characters per token differ by script (about 4 in English, 1
//! to 1.5 in Chinese), so a character limit is either too loose for English
//! or too tight for Chinese; this estimate is within about 20 % of real
//! tokenizers on both.
//!
//! ## Example
//! `"Give three tips for staying healthy."` measures 1+2+1+1+2+2 = 9;
//! `"保持健康的三个秘诀。"` measures 9 + 1 = 10.
//!
//! ## Parameters
//! None besides the common `scope` (default `conversation`), `min` and `max`.

use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "approx-tokens",
    "approximate number of model tokens of the scoped text",
    build,
)
.scope(Some(Scope::Conversation));

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {}

struct ApproxTokens {
    scope: Scope,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let _: Params = ctx.parse()?;
    Ok(Box::new(ApproxTokens {
        scope: ctx.scope.unwrap_or(Scope::Conversation),
    }))
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FA1F}')
}

/// The estimate for `text`.
pub fn approx_tokens(text: &str) -> usize {
    let (mut tokens, mut run) = (0usize, 0usize);
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        // ASCII (most of most texts) a byte at a time: white space is
        // `\t`..`\r` and the space, and no ASCII character is CJK.
        if b < 0x80 {
            i += 1;
            if matches!(b, b' ' | b'\t'..=b'\r') {
                tokens += run.div_ceil(4);
                run = 0;
            } else {
                run += 1;
            }
            continue;
        }
        let Some(c) = text[i..].chars().next() else { break };
        i += c.len_utf8();
        if c.is_whitespace() || is_cjk(c) {
            tokens += run.div_ceil(4);
            run = 0;
            if !c.is_whitespace() {
                tokens += 1;
            }
        } else {
            run += 1;
        }
    }
    tokens + run.div_ceil(4)
}

impl Filter for ApproxTokens {
    fn metric(&self) -> &str {
        "approximate tokens"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        Some(Measure::from(approx_tokens(&cx.text(self.scope)) as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::approx_tokens;

    /// The same count as a plain pass over the characters, on texts of
    /// ASCII, white space of every kind and CJK.
    #[test]
    fn the_byte_path_counts_as_the_characters_do() {
        let plain = |text: &str| {
            let (mut tokens, mut run) = (0usize, 0usize);
            for c in text.chars() {
                if c.is_whitespace() || super::is_cjk(c) {
                    tokens += run.div_ceil(4);
                    run = 0;
                    tokens += usize::from(!c.is_whitespace());
                } else {
                    run += 1;
                }
            }
            tokens + run.div_ceil(4)
        };
        let mut text = String::new();
        for c in (0..0x80)
            .chain([0x85, 0xa0, 0x2003, 0x3000, 0x4e00, 0x3042, 0xe9, 0x20000])
            .filter_map(char::from_u32)
        {
            for n in 1..6 {
                text.extend(std::iter::repeat_n(c, n));
                text.push_str("word");
                assert_eq!(approx_tokens(&text), plain(&text), "{text:?}");
            }
        }
    }

    #[test]
    fn estimates_by_script() {
        // alpaca_5000 / alpaca_chinese_carbonz0 first record.
        assert_eq!(approx_tokens("Give three tips for staying healthy."), 9);
        assert_eq!(approx_tokens("保持健康的三个秘诀。"), 10);
        assert_eq!(approx_tokens(""), 0);
    }
}
