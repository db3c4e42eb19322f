//! `lang-mismatch`: instruction and answer in different languages.
//!
//! ## What it measures
//! 1 when the instruction and the answer are both clearly in a language and
//! the languages differ, 0 when they agree (with `pairs`, the number of
//! user→assistant pairs that differ); not measured when either is not
//! clear (fewer than `min_letters` letters, only digits or symbols, mostly code) or when the
//! instruction asks for a translation or names a language (`exempt`).
//!
//! Languages come from scripts ([`crate::text::Lang::detect`]: Han -> zh,
//! kana -> ja, Hangul -> ko, Latin -> en): offline, no model. That separates
//! Chinese from English, the pair the corpora mix, but not English from
//! French; a part counts as clear when it has at least `min_letters` letters.
//!
//! ## Why scripts and not a language identifier
//! Two offline identifiers were compared on what this rule would ask of them
//! (`scripts/eval/langid_compare.py`, both limited to English, French, German,
//! Spanish, Italian, Portuguese and Dutch, on the first 400 characters):
//! - on the 82,081 English-script first turns and last answers of
//!   `../shared/corpora` (at least 24 letters, no Han, not code), `whatlang`
//!   calls 1,036 another language, 24 when its `is_reliable` flag is set
//!   (7 of them foreign text: Spanish, French, German, Romanian and Finnish
//!   answers; 17 English lists, bash scripts and option lists, precision 0.29);
//!   `lingua` calls 225 another language;
//! - on the 17 answers of "translate … into French/Spanish/German" records,
//!   both name the asked language 13 times, `whatlang` with `is_reliable` once;
//! - speed, one core: `whatlang` 7.1 MB/s, `lingua` 0.7 MB/s, where the whole
//!   quality stage runs at about 16 MB/s.
//!
//! Instruction data is short, lists, names, code and option lists, where both
//! guess; a Latin-language identifier would drop many more good records than
//! the few real switches between Latin languages it would catch, so the rule
//! keeps languages by script and neither crate is a dependency.
//!
//! ## Why
//! Machine-translated sets (Chinese Alpaca) carry answers left in English,
//! and chat logs carry answers in the wrong language; both teach the model to
//! switch language.
//!
//! ## Example
//! `{"instruction": "描述一下太阳系。", "output": "The solar system consists
//! of the Sun and the objects that orbit it."}` measures 1.
//!
//! ## Measured
//! Judged development set: 13 of 14 drops right (the rules before: 15 of 17);
//! blind spot check: 2 of 4 before quoted-value turns and code answers were
//! left out.
//!
//! ## Parameters
//! Instructions that mix Han and Latin text (quoting English words to use in
//! a sentence, e.g. llamafactory_alpaca_zh_demo 'use "shimmer", "keepsake"
//! and "breadth" in a sentence') are not measured either.
//!
//! A pair whose user turn is mostly quoted values, or whose answer opens as
//! code (`SELECT …`, `def …`), is not measured.
//!
//! An English answer that is a list of names or titles (most words capitalised)
//! to a question in another language is not measured either: names are not
//! translated (llamafactory_alpaca_zh_demo: the characters of Harry Potter).
//!
//! - `exempt`: phrases of the instruction that make a language switch
//!   expected ("translate", "翻译", "in English", …), ASCII case-insensitive.
//! - `min_letters`: letters a part needs to count as clear (default 24, so
//!   that a name or an identifier such as `IronyQueen_Sarah` is not a language).
//! - `code_share`: an answer whose share of code-like characters
//!   (`{}[]();=<>`) exceeds this is code and not measured (default 0.03).
//! - `pairs`: measure every user turn against the assistant turn answering it,
//!   and the first question against the last answer (a switch midway); the value
//!   is the number of such pairs in different languages; `exempt` is read in the
//!   first user turn and in each pair's own. Otherwise only the first instruction
//!   against the scoped answer (default false; the shipped rule sets it: a chat
//!   that answers its first Chinese question in English and the rest in Chinese
//!   is caught).

use aho_corasick::AhoCorasick;

use crate::record::Role;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};
use crate::text::Lang;

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "lang-mismatch",
    "1 when instruction and answer are in different languages",
    build,
)
.fraction();

fn min_letters() -> usize {
    24
}

fn code_share() -> f64 {
    0.03
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    exempt: Vec<String>,
    #[serde(default = "min_letters")]
    min_letters: usize,
    #[serde(default = "code_share")]
    code_share: f64,
    #[serde(default)]
    pairs: bool,
}

struct LangMismatch {
    scope: Scope,
    exempt: Option<AhoCorasick>,
    min_letters: usize,
    code_share: f64,
    pairs: bool,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    let exempt = crate::filters::phrase_set("exempt", &p.exempt)?;
    Ok(Box::new(LangMismatch {
        scope: ctx.scope.unwrap_or(Scope::Response),
        exempt,
        min_letters: p.min_letters,
        code_share: p.code_share,
        pairs: p.pairs,
    }))
}

/// The language of `text` when it is clear.
fn clear_lang(text: &str, min_letters: usize) -> Option<Lang> {
    // Counted up to the bound only: past it the count decides nothing.
    let letters = text
        .chars()
        .take(4096)
        .filter(|c| c.is_alphabetic())
        .take(min_letters)
        .count();
    if letters < min_letters {
        return None;
    }
    match Lang::detect(text) {
        Lang::Other => None,
        l => Some(l),
    }
}

/// Whether an instruction mixes Han and Latin text (it quotes English words
/// to use, or Chinese words to explain): either language may answer it.
fn mixed(text: &str) -> bool {
    let (mut han, mut latin) = (0usize, 0usize);
    for c in text.chars().take(4096) {
        if c.is_ascii_alphabetic() {
            latin += 1;
        } else if ('\u{4E00}'..='\u{9FFF}').contains(&c) {
            han += 1;
        }
    }
    han >= 3 && latin >= 10
}

/// The languages of a question and of its answer, when the rule judges the pair.
type Judged = Option<(Lang, Lang)>;

impl Filter for LangMismatch {
    fn metric(&self) -> &str {
        "language mismatch (1 = different)"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let prompt = cx.text(Scope::Prompt).into_owned();
        if self.exempt.as_ref().is_some_and(|ac| ac.is_match(&prompt)) {
            return None;
        }
        if !self.pairs {
            let instruction = cx.text(Scope::Instruction).into_owned();
            let answer = cx.text(self.scope);
            let (instr, resp) = self.pair(&instruction, &answer)?;
            return Some(Measure {
                value: if instr == resp { 0.0 } else { 1.0 },
                detail: (instr != resp).then(|| format!("{instr} -> {resp}")),
            });
        }
        // Every user turn and the assistant turn that answers it; the first
        // user turn without its `input` part (the input may be the text to
        // translate or work on, in any language).
        let rec = cx.record();
        let mut measured = false;
        let (mut n, mut first) = (0usize, None);
        let mut asked: Option<&str> = None;
        let mut first_user = true;
        // The last pair judged: a one-turn record's first question and last
        // answer are that pair again, judged once.
        let mut last: Option<(&str, &str, Judged)> = None;
        for t in &rec.turns {
            match t.role {
                Role::User => {
                    asked = Some(if first_user { rec.instruction() } else { &t.content });
                    first_user = false;
                }
                Role::Assistant => {
                    let Some(q) = asked.take() else { continue };
                    if self.exempt.as_ref().is_some_and(|ac| ac.is_match(q)) {
                        continue;
                    }
                    let judged = self.pair(q, &t.content);
                    last = Some((q, t.content.as_str(), judged));
                    if let Some((instr, resp)) = judged {
                        measured = true;
                        if instr != resp {
                            n += 1;
                            first.get_or_insert_with(|| format!("{instr} -> {resp}"));
                        }
                    }
                }
                _ => {}
            }
        }
        // A conversation that starts in one language and ends in another
        // switched midway, whichever pair did it.
        let same = |a: &str, b: &str| std::ptr::eq(a, b);
        let whole = rec.response().and_then(|a| match last {
            Some((q, l, judged)) if same(q, rec.instruction()) && same(l, a) => judged,
            _ => self.pair(rec.instruction(), a),
        });
        if let Some((instr, resp)) = whole {
            measured = true;
            if instr != resp {
                n += 1;
                first.get_or_insert_with(|| format!("{instr} -> {resp} (first question, last answer)"));
            }
        }
        measured.then_some(Measure {
            value: n as f64,
            detail: first,
        })
    }
}

impl LangMismatch {
    /// The languages of a question and its answer, when both are clear and
    /// the pair is one the rule judges.
    fn pair(&self, question: &str, answer: &str) -> Judged {
        if mixed(question) || quoted(question) || code_start(answer) {
            return None;
        }
        let instr = clear_lang(question, self.min_letters)?;
        // Characters counted by the library's fast count, code signs (all
        // ASCII, so never a byte of another character) by byte.
        let n = answer.chars().count().max(1);
        let code = answer
            .bytes()
            .filter(|b| matches!(b, b'{' | b'}' | b'[' | b']' | b'(' | b')' | b';' | b'=' | b'<' | b'>'))
            .count();
        if answer.contains("```") || code as f64 / n as f64 > self.code_share {
            return None;
        }
        let resp = clear_lang(answer, self.min_letters)?;
        if resp == Lang::En && instr != Lang::En && names_only(answer) {
            return None;
        }
        Some((instr, resp))
    }
}

/// Whether a user turn is mostly quoted values (`"Grocery Shopping"` given to
/// fill a form in a Chinese chat): data to act on, not the language of the chat.
fn quoted(text: &str) -> bool {
    let (mut inside, mut all, mut open) = (0usize, 0usize, false);
    for c in text.chars() {
        if matches!(c, '"' | '“' | '”') {
            open = !open;
        } else if c.is_alphabetic() {
            all += 1;
            inside += usize::from(open);
        }
    }
    all > 0 && inside * 10 >= all * 6
}

/// Whether an answer opens as code (a query, a definition, a tag), however
/// few brackets it has: `SELECT title FROM books WHERE author = '约翰'`.
fn code_start(answer: &str) -> bool {
    let a = answer.trim_start();
    const STARTS: [&str; 18] = [
        "SELECT ",
        "INSERT ",
        "UPDATE ",
        "DELETE ",
        "CREATE ",
        "WITH ",
        "ALTER ",
        "def ",
        "class ",
        "import ",
        "from ",
        "function ",
        "#include",
        "public ",
        "const ",
        "let ",
        "var ",
        "<",
    ];
    STARTS.iter().any(|s| a.starts_with(s))
}

/// Whether a Latin-script answer is a list of names or titles: at least 70 %
/// of its words of two or more letters start with a capital ("Harry Potter,
/// Hermione Granger, Ron Weasley" to a Chinese question about the characters).
fn names_only(text: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 2 && w.chars().all(|c| c.is_ascii_alphabetic()))
        .collect();
    let capital = words
        .iter()
        .filter(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
        .count();
    !words.is_empty() && capital * 10 >= words.len() * 7
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn every_pair_of_a_chat_is_measured() {
        let f = build(&KIND, "pairs = true\nmin_letters = 4", None);
        // glaive_toolcall_zh_demo: the first Chinese question answered in English.
        let chat = record(
            r#"{"conversations": [{"from": "human", "value": "请告诉我今天的天气怎么样"}, {"from": "gpt", "value": "The weather today is sunny and warm."}, {"from": "human", "value": "那明天呢？会下雨吗"}, {"from": "gpt", "value": "明天可能会下雨，请带伞。"}]}"#,
        );
        // The first pair differs; first question and last answer agree.
        assert_eq!(value(f.as_ref(), &chat), Some(1.0));
        let same = record(
            r#"{"conversations": [{"from": "human", "value": "请告诉我今天的天气怎么样"}, {"from": "gpt", "value": "今天天气晴朗温暖。"}]}"#,
        );
        assert_eq!(value(f.as_ref(), &same), Some(0.0));
        // glaive_toolcall_zh_demo: quoted values to fill a form; an SQL answer.
        let quoted = record(
            r#"{"conversations": [{"from": "human", "value": "\"Grocery Shopping\"\n\"Buy fruits, vegetables, and bread\""}, {"from": "gpt", "value": "好的，我已经为您创建了待办事项。"}]}"#,
        );
        assert_eq!(value(f.as_ref(), &quoted), None);
        let sql = record(
            r#"{"instruction": "构造一个查询以列出约翰所写的所有书籍的标题", "input": "", "output": "SELECT title FROM books WHERE author = 'John Smith'"}"#,
        );
        assert_eq!(value(f.as_ref(), &sql), None);
    }

    #[test]
    fn detects_switches_and_exempts_translation() {
        let f = build(&KIND, r#"exempt = ["translate", "翻译"]"#, None);
        let switch = record(
            r#"{"instruction": "请详细描述一下太阳系的组成，以及各个行星的主要特点和它们之间的关系。", "input": "", "output": "The solar system consists of the Sun and the objects that orbit it."}"#,
        );
        let same = record(
            r#"{"instruction": "请详细描述一下太阳系的组成，以及各个行星的主要特点和它们之间的关系。", "input": "", "output": "太阳系由太阳和围绕它运行的八大行星、矮行星、卫星以及小行星和彗星等天体组成。"}"#,
        );
        // llamafactory_alpaca_zh_demo: names stay in English.
        let names = record(
            r#"{"instruction": "列出《哈利·波特》中的五个主要角色。", "input": "", "output": "Harry Potter, Hermione Granger, Ron Weasley, Albus Dumbledore, Lord Voldemort"}"#,
        );
        assert_eq!(value(f.as_ref(), &names), None);
        let translate = record(
            r#"{"instruction": "把这句话翻译成英文：太阳系由太阳组成。", "input": "", "output": "The solar system is made of the Sun."}"#,
        );
        let quoting = record(
            r#"{"instruction": "用“shimmer”、“keepsake”和“breadth”这三个词构造一个复杂句子。", "input": "", "output": "As the sun sets, the shimmer of the horizon exudes a breathtaking view."}"#,
        );
        assert_eq!(value(f.as_ref(), &quoting), None);
        let code = record(
            r#"{"instruction": "用Python写一个函数，计算两个数的和。", "input": "", "output": "def add(a, b):\n    return a + b"}"#,
        );
        assert_eq!(value(f.as_ref(), &switch), Some(1.0));
        assert_eq!(value(f.as_ref(), &same), Some(0.0));
        assert_eq!(value(f.as_ref(), &translate), None);
        assert_eq!(value(f.as_ref(), &code), None);
    }
}
