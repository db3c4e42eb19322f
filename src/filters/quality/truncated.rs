//! `truncated`: signs that an answer was cut off.
//!
//! ## What it measures
//! 1 when the scoped text shows a sign of truncation, 0 otherwise; the sign
//! is named in the reason:
//! - an odd number of code fences (a ```` ``` ```` block never closed);
//! - a bracket of a kind, `()`, `[]`, `{}` and the full-width `（）`, `【】`,
//!   `《》`, opened on the last line, followed by prose and never closed;
//! - a last line that is only a list number (`10.`): the item never came;
//! - an ending that cannot end a sentence: a comma, a colon, a dash, an
//!   opening bracket, or (`end_words`, compared as written) a word such as
//!   "the", "and", "和" as the very last word after at least `min_words` words.
//!
//! Not signs: a last line that reads as code (`echo $a`, `return a;`), a
//! colon ending a form whose other fields end with one or a questionnaire whose
//! other items are questions, a bracket glued inside a word (`p[laces`), a comma after a
//! letter's closing word (`Sincerely,`), an unclosed bracket earlier in the
//! text (a typo in a derivation), a capital `A` ending an answer key.
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
//! ## Measured
//! Judged development set: 12 of 13 drops right (the rules before: 16 of 27);
//! blind spot check of a full run: 11 of 16 before the fixes that followed it
//! (questionnaires, typos inside words, endings of short answers).
//!
//! ## Parameters
//! - `end_words`: words that cannot end an answer (compared as written).
//! - `min_words`: answers with fewer words are only checked for fences,
//!   brackets and list markers, not for their last character or word (default 8).

use std::collections::HashSet;

use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};
use crate::tokenize::Tokenizer;

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "truncated",
    "1 when the text looks cut off (open code fence or bracket, mid-sentence end)",
    build,
)
.fraction();

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
        end_words: p.end_words.iter().cloned().collect(),
        min_words: p.min_words,
    }))
}

/// Bracket kinds; ASCII and full-width parentheses are one kind, since
/// Chinese text often opens with one and closes with the other.
const PAIRS: [(&[char], &[char]); 5] = [
    (&['(', '（'], &[')', '）']),
    (&['['], &[']']),
    (&['{'], &['}']),
    (&['【'], &['】']),
    (&['《'], &['》']),
];

/// Whether `c` is one of [`PAIRS`].
fn is_bracket(c: char) -> bool {
    matches!(
        c,
        '(' | '（' | '[' | '{' | '【' | '《' | ')' | '）' | ']' | '}' | '】' | '》'
    )
}

/// Whether a line reads as code rather than prose: it holds an assignment, a
/// statement end, a brace, a shell variable or a call.
fn code_like(line: &str) -> bool {
    let l = line.trim();
    l.ends_with(';')
        || l.contains(" = ")
        || l.contains('{')
        || l.contains('}')
        || l.contains('$')
        || l.contains("()")
        || l.starts_with("return ")
        || l.starts_with('#')
        || l.starts_with("//")
}

/// The truncation sign found in `text`, if any.
///
/// Brackets: only an opening bracket left open on the last line counts, and
/// only when prose (a space) follows it: a typo earlier in a derivation
/// (`(1-(2/3)of distance`) or a password (`B9u(h#-g7`) is no truncation.
/// Endings: a colon is a form's field when two other lines end with one too
/// (`- Delivery speed:`); a comma on a short last line after a few paragraphs
/// is a letter's closing (`Sincerely,`, `真挚地，`); code lines are not read
/// for endings.
fn sign(text: &str, long: bool) -> Option<String> {
    if fences(text) % 2 == 1 {
        return Some("unclosed code fence".into());
    }
    let trimmed = text.trim_end();
    // The non-blank lines, read from the end: most texts need only the last.
    let lines = || trimmed.lines().filter(|l| !l.trim().is_empty());
    let last_line = lines().next_back().unwrap_or("");
    let at_least = |n: usize| lines().nth(n - 1).is_some();
    if code_like(last_line) {
        return None;
    }
    // One pass over the last line: per bracket kind, the openings not yet closed.
    let mut depth: [Vec<usize>; PAIRS.len()] = Default::default();
    for (i, ch) in last_line.char_indices() {
        // Most characters are no bracket: one test, not a search of the pairs.
        if !is_bracket(ch) {
            continue;
        }
        if let Some(k) = PAIRS.iter().position(|(open, _)| open.contains(&ch)) {
            depth[k].push(i);
        } else if let Some(k) = PAIRS.iter().position(|(_, close)| close.contains(&ch)) {
            depth[k].pop();
        }
    }
    for ((open, _), depth) in PAIRS.iter().zip(&depth) {
        if let Some(&at) = depth.first() {
            // A bracket inside a word is a typo (`p[laces`), not an opening.
            let glued = last_line[..at].chars().next_back().is_some_and(char::is_alphanumeric)
                && last_line[at..].chars().nth(1).is_some_and(char::is_alphanumeric);
            if !glued && last_line[at..].trim_end().contains(' ') {
                return Some(format!("unclosed {}", open[0]));
            }
        }
    }
    let marker = last_line.trim();
    if marker.len() <= 4
        && marker.ends_with(['.', ')', '、'])
        && marker[..marker.len() - 1].chars().all(|c| c.is_ascii_digit())
        && marker.len() > 1
        && at_least(2)
    {
        return Some(format!("ends with the list marker {marker:?}"));
    }
    if !long {
        return None;
    }
    let last = trimmed.chars().last()?;
    let colon = |l: &&str| l.trim_end().ends_with([':', '：']);
    let question = |l: &&str| l.trim_end().ends_with(['?', '？']);
    let form = matches!(last, ':' | '：')
        && (lines().rev().skip(1).filter(colon).count() >= 2 || lines().rev().skip(1).filter(question).count() >= 2);
    let closing = matches!(last, ',' | '，') && last_line.trim().chars().count() <= 20 && at_least(3);
    if !form
        && !closing
        && matches!(
            last,
            ',' | '，' | '、' | ':' | '：' | '(' | '[' | '{' | '（' | '–' | '—'
        )
    {
        return Some(format!("ends with {last:?}"));
    }
    None
}

/// How many times "```" occurs in `text`, counted left to right without
/// overlap (as `str::matches` counts): a search for the backtick byte, not a
/// substring search over the whole text.
fn fences(text: &str) -> usize {
    let b = text.as_bytes();
    let mut n = 0;
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'`', &b[from..]) {
        let at = from + i;
        if b[at..].starts_with(b"```") {
            n += 1;
            from = at + 3;
        } else {
            from = at + 1;
        }
    }
    n
}

impl Filter for Truncated {
    fn metric(&self) -> &str {
        "truncation (1 = cut off)"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        if cx.text(self.scope).trim().is_empty() {
            return None;
        }
        // Endings are read from `min_words` words on: a short answer may be
        // the fragment asked for (a connector "此外，", a poem's next line).
        let (long, last_word) = {
            let words = cx.words(self.scope, Tokenizer::Unicode);
            let long = words.len() >= self.min_words;
            let last = words.last().filter(|_| long && !self.end_words.is_empty());
            (long, last.map(str::to_string))
        };
        let text = cx.text(self.scope);
        let mut found = sign(&text, long);
        if found.is_none() {
            let ends_in_word = text.trim_end().chars().last().is_some_and(char::is_alphanumeric);
            if let Some(w) = last_word.filter(|_| ends_in_word) {
                // Compared as written: a capital `A` ends a quiz answer key.
                let last_line = text.trim_end().lines().last().unwrap_or("");
                if self.end_words.contains(&w) && !code_like(last_line) {
                    found = Some(format!("ends with {w:?}"));
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
    fn the_bracket_test_knows_every_pair() {
        for (open, close) in super::PAIRS {
            assert!(open.iter().chain(close).all(|&c| super::is_bracket(c)));
        }
        let n: usize = super::PAIRS.iter().map(|(o, c)| o.len() + c.len()).sum();
        assert_eq!(
            (0..0x11000)
                .filter_map(char::from_u32)
                .filter(|&c| super::is_bracket(c))
                .count(),
            n
        );
    }

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

    #[test]
    fn code_forms_letters_typos_and_answer_keys_are_not_cut() {
        let f = build(&KIND, r#"end_words = ["the", "a", "and"]"#, None);
        // gpteacher codegen-instruct: a shell script ending on `$a`.
        let shell = record(
            r#"{"instruction": "GCD in shell.", "input": "", "output": "a=$1\nb=$2\nwhile [ $b -ne 0 ]; do\n  a=$b\ndone\necho 'GCD:' $a"}"#,
        );
        // alpaca_5000: a survey whose fields end with colons.
        let form = record(
            r#"{"instruction": "Design a survey.", "input": "", "output": "Rate each item:\n- Product quality:\n- Delivery speed:\n- Overall satisfaction:"}"#,
        );
        // alpaca_chinese_carbonz0: a letter's closing line.
        let letter = record(
            r#"{"instruction": "写一封道歉信。", "input": "", "output": "尊敬的老师：\n\n我为迟交作业而道歉。\n\n再次，我为这个错误道歉。\n\n真挚地，"}"#,
        );
        // alpaca_cot aqua_train: an unclosed bracket in a derivation, then the answer.
        let typo = record(
            r#"{"instruction": "Solve.", "input": "", "output": "(1-(3/4))(1-(2/3)of distance = 12 km\nHence distance = 144 km\nThe final answer: (C)."}"#,
        );
        let password = record(r#"{"instruction": "生成一个复杂密码。", "input": "", "output": "B9u(h#-g7WH1y"}"#);
        // llamafactory_alpaca_zh_demo: an answer key ending on a capital A.
        let key = record(
            r#"{"instruction": "创建一个测验。", "input": "", "output": "1. 哪个城市是首都？\nA. 罗马\nB. 米兰\n\n正确答案：\n1. A"}"#,
        );
        for (name, rec) in [
            ("shell", shell),
            ("form", form),
            ("letter", letter),
            ("typo", typo),
            ("password", password),
            ("key", key),
        ] {
            assert_eq!(value(f.as_ref(), &rec), Some(0.0), "{name}");
        }
        // llamafactory alpaca_en_demo: a list cut before its tenth item.
        let list = record(r#"{"instruction": "Name ten characters.", "input": "", "output": "1. Harry\n2. Ron\n10."}"#);
        assert_eq!(value(f.as_ref(), &list), Some(1.0));
        // A letter that is only its salutation is cut off.
        let salutation = record(r#"{"instruction": "写一封信。", "input": "", "output": "亲爱的史密斯博士，"}"#);
        assert_eq!(value(f.as_ref(), &salutation), Some(1.0));
    }
}
