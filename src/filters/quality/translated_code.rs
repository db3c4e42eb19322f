//! `translated-code`: code whose keywords, names or tags were machine-translated.
//!
//! ## What it measures
//! The number of lines of the scoped text (by default every turn) that read as
//! code passed through a translator:
//! - a markup tag named in Han characters: `<表>`, `</选择>`, `‹头>`;
//! - a line that opens with a translated keyword (`定义`, `返回`, `如果`, `对于`,
//!   `导入`, `打印`, `别的`, `否则`, `函数`, `类`, …) and carries code syntax: it ends
//!   with a colon, holds `=`, `(`, `（`, `[`, or `;`, or is indented;
//! - a built-in or snake_case function name glued to a full-width bracket
//!   (`print（`, `def calculate_sum（数字）：`; not `Python（编程语言）`), or `def`
//!   or `return` followed by a Han name;
//! - a keyword argument with a Han name (`randint(1, 100, 大小=(3, 3, 3))`), an
//!   import turned around (`随机导入` for `import random`), or a keyword glued
//!   to a translated name before a comparison (`如果玩家 1 == 玩家 2：`).
//!
//! Code that cannot run as written counts as two lines: SQL whose clauses
//! hold full-width punctuation (`SELECT * FROM customers ORDER BY 名字，姓氏`),
//! a definition glued to its translated name (`定义平方（x）：`), a translated
//! method chain (`。分裂（" "）`), and a translated line right under a line of
//! real code that opens a block (`def mean(a, b):` then `    返回 (a + b) / 2`).
//!
//! One other line can be a Chinese rewrite of an expression (`如果 x 大于 0：`), so
//! the shipped rule drops from two lines on. Records whose first user turn asks
//! for pseudocode or a translation (`unless_prompt`) are not measured.
//!
//! ## Why
//! Machine-translated sets translate code like prose: about 260 records of the
//! Chinese Alpaca translation hold Python, C, JavaScript or HTML whose keywords
//! became Chinese words (`返回 总和`, `对于 我 在 范围（10）：`). It does not run,
//! and a model trained on it learns to write it.
//!
//! ## Example
//! alpaca_chinese_carbonz0: `定义 阶乘（数量）：\n    如果 数量 == 0：\n        返回 1`
//! measures 3.
//!
//! ## Measured
//! Judged development set: 32 of 32 drops right (25 of 25 before the
//! cannot-run and under-a-header signs, which add 36 drops over
//! ../shared/corpora, every one translated code on reading; a sign for list
//! literals with full-width commas was tried and left out: 2 of its 3 new
//! drops were word lists given as data); 22 of 22 before the keyword-argument,
//! turned-around import and glued-comparison signs. Blind spot check of a
//! full run: 19 of 20 (the miss, maths prose opening with 当, led to dropping
//! that keyword).
//!
//! ## Parameters
//! - `keywords`: translated keywords that open a line of code.
//! - `unless_prompt`: phrases of the first user turn (ASCII case-insensitive)
//!   that make Chinese code expected.

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "translated-code",
    "lines of code with machine-translated keywords, names or tags",
    build,
)
.scope(Some(Scope::Conversation));

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    keywords: Vec<String>,
    #[serde(default)]
    unless_prompt: Vec<String>,
}

struct TranslatedCode {
    scope: Scope,
    keywords: Vec<String>,
    unless_prompt: Option<AhoCorasick>,
    tag: Regex,
    glued: Regex,
    broken: Regex,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    if p.keywords.iter().any(|k| k.trim().is_empty()) {
        return Err(("keywords".into(), "keywords must not be empty".into()));
    }
    let unless_prompt = crate::filters::phrase_set("unless_prompt", &p.unless_prompt)?;
    let re = |pattern: &str| Regex::new(pattern).map_err(|e| ("keywords".to_string(), e.to_string()));
    Ok(Box::new(TranslatedCode {
        scope: ctx.scope.unwrap_or(Scope::Conversation),
        keywords: p.keywords,
        unless_prompt,
        tag: re(r"[<‹]/?\p{Han}+[^<>\n]{0,40}>")?,
        glued: re(GLUED)?,
        broken: re(concat!(
            // SQL whose clauses hold full-width punctuation (`ORDER BY 名字，姓氏`, `FROM 书籍；`).
            r"(?i)^(?:\d+[.)]\s*)?(?:select\b.*\bfrom|insert\s+into|update\b.*\bset|delete\s+from|create\s+table)\b[^。]*[，；（）][^。]*$",
            // A definition glued to its translated name (`定义平方（x）：`).
            r"|^(?:定义|函数|类)\p{Han}{1,12}[（(][^）)\n]*[）)]\s*[：:]$",
            // A method chain whose dots and names were translated (`。分裂（" "）`).
            r"|^。\p{Han}{1,6}[（(]",
        ))?,
    }))
}

/// A built-in name glued to a full-width bracket (`打印（`… as `print（`,
/// `len（`), a definition of one, or `def` / `return` before a Han name.
/// Each form opens with a word character after the start of the line or a
/// character that is not one: `\b` written as `(?:^|\W)`, which only
/// `is_match` reads, so that the fast automaton runs on Chinese lines (a
/// Unicode `\b` sends a line with any non-ASCII character to the slowest
/// engine). A test checks it matches where the `\b` form does.
const GLUED: &str = r"(?:^|\W)(?:(?:print|len|range|input|str|int|float|append|printf|main|sum|sorted|open|format|split|join|console\.log|[a-z]+_[a-z_]+)（|def\s+[A-Za-z_]\w*（|(?:def|return)\s+\p{Han})";

fn is_han(c: char) -> bool {
    crate::text::is_han(u32::from(c))
}

/// A keyword argument with a Han name (`randint(1, 100, 大小=(3, 3, 3))`): a
/// `=` (not `==`) after 1 to 6 Han characters that follow `(` or `,`.
fn han_keyword_argument(l: &str) -> bool {
    memchr::memchr_iter(b'=', l.as_bytes()).any(|i| {
        let b = l.as_bytes();
        if b.get(i + 1) == Some(&b'=') || (i > 0 && matches!(b[i - 1], b'=' | b'!' | b'<' | b'>')) {
            return false;
        }
        let before = l[..i].trim_end();
        let name: Vec<char> = before.chars().rev().take_while(|&c| is_han(c)).collect();
        if name.is_empty() || name.len() > 6 {
            return false;
        }
        let rest = before[..before.len() - name.iter().map(|c| c.len_utf8()).sum::<usize>()].trim_end();
        rest.ends_with(['(', ','])
    })
}

/// An import turned around by a translator (`随机导入` for `import random`):
/// the line is 1 to 6 Han characters and `导入`.
fn turned_import(l: &str) -> bool {
    l.strip_suffix("导入").is_some_and(|name| {
        let n = name.chars().count();
        (1..=6).contains(&n) && name.chars().all(is_han)
    })
}

/// Whether a line may open as the SQL of `broken`: after an optional list
/// number (`3.`, `2)`), a first letter of `select`, `insert`, `update`,
/// `delete` or `create`, in any case (`ſ` is a case form of `s`).
fn sql_start(l: &str) -> bool {
    let after = l.trim_start_matches(char::is_numeric);
    let rest = match after.strip_prefix(['.', ')']) {
        Some(r) if after.len() < l.len() => r.trim_start(),
        _ => l,
    };
    rest.starts_with(['s', 'S', 'ſ', 'i', 'I', 'u', 'U', 'd', 'D', 'c', 'C'])
}

impl TranslatedCode {
    /// How much a line counts: 2 for code that cannot run as written (SQL
    /// with full-width punctuation, a definition glued to its
    /// translated name, a translated method chain) or for a translated line
    /// right under a line of real code that opens a block (`def f(x):` then
    /// `    返回 x`); 1 for another translated line; 0 otherwise.
    fn weight(&self, line: &str, after_block_header: bool) -> usize {
        if line.is_ascii() {
            return 0;
        }
        let l = line.trim();
        // Each alternative of `broken` needs one of these (a cheap test first:
        // most lines of a Chinese answer are prose, many with a `，`).
        // (The prefix tests first: a search of every character is the slow part.)
        let may_break = (sql_start(l) && l.contains(['，', '；', '（', '）']))
            || ["定义", "函数", "类", "。"].iter().any(|p| l.starts_with(p));
        if may_break && self.broken.is_match(l) {
            return 2;
        }
        match (self.line_is_translated(line), after_block_header) {
            (false, _) => 0,
            (true, true) => 2,
            (true, false) => 1,
        }
    }

    fn line_is_translated(&self, line: &str) -> bool {
        // Every sign needs a Han character or a full-width bracket or colon.
        if line.is_ascii() {
            return false;
        }
        let l = line.trim();
        // `tag` needs an angle bracket pair, `glued` a full-width bracket or a
        // `def`/`return`: tested first, so prose lines skip both regexes.
        let may_tag = l.contains('>') && l.contains(['<', '‹']);
        // `glued`'s first form needs a name (ending in `a`-`z` or `_`) right
        // before the full-width bracket, its others `def` or `return`.
        let may_glue = l.contains("def")
            || l.contains("return")
            || l.match_indices('（')
                .any(|(i, _)| matches!(l.as_bytes()[..i].last(), Some(b'a'..=b'z' | b'_')));
        if (may_tag && self.tag.is_match(l))
            || (may_glue && self.glued.is_match(l))
            || han_keyword_argument(l)
            || turned_import(l)
        {
            return true;
        }
        let Some(kw) = self.keywords.iter().find(|k| l.starts_with(k.as_str())) else {
            return false;
        };
        let rest = &l[kw.len()..];
        // A comparison of code (`如果玩家 1 == 玩家 2：`): the keyword glued
        // to a translated name.
        if ["==", "!=", "<=", ">="].iter().any(|op| rest.contains(op)) {
            return true;
        }
        // The keyword starts a statement: a space, a bracket or the end follows.
        let statement = rest.is_empty() || rest.starts_with([' ', '（', '(', '：', ':']);
        // Code syntax, or the indentation of a block (prose is not indented).
        let indented = line.starts_with("  ") || line.starts_with('\t');
        let syntax = l.ends_with([':', '：'])
            || rest.contains(['=', '(', '（', '[', ';', '；'])
            || rest.trim().is_empty()
            || indented;
        statement && syntax && !l.ends_with(['。', '！', '？'])
    }
}

impl Filter for TranslatedCode {
    fn metric(&self) -> &str {
        "lines of translated code"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        if let Some(ac) = &self.unless_prompt {
            if ac.is_match(cx.text(Scope::Prompt).as_ref()) {
                return None;
            }
        }
        let text = cx.text(self.scope);
        if text.is_ascii() {
            return Some(Measure::from(0.0));
        }
        let mut n = 0usize;
        let mut first = None;
        // The last non-empty line: real code that opens a block (`def f(x):`,
        // `for (…) {`).
        let mut header = false;
        for line in text.lines() {
            if line.trim().is_empty() {
                continue;
            }
            let indented = line.starts_with([' ', '\t']);
            let w = self.weight(line, header && indented);
            header = line.is_ascii() && line.trim_end().ends_with([':', '{']) && line.trim_start() != "{";
            if w > 0 {
                n += w;
                first.get_or_insert_with(|| line.trim().chars().take(60).collect::<String>());
            }
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

    const PARAMS: &str = r#"keywords = ["定义", "返回", "如果", "对于", "打印", "别的", "否则"]
unless_prompt = ["伪代码"]"#;

    /// alpaca_chinese_carbonz0 zh-data-part-00.jsonl:6877 and :4461.
    #[test]
    fn the_sql_test_before_the_pattern_keeps_every_sql_opening() {
        for l in [
            "SELECT 名字，姓氏 FROM 书籍；",
            "3. select * from t，",
            "2) Insert into 表（a）",
            "ſelect x from y，",
            "delete from 表；",
        ] {
            assert!(super::sql_start(l), "{l}");
        }
        for l in ["这是一个句子，很好。", "12.5 个苹果，", "(select) 一下，"] {
            assert!(!super::sql_start(l), "{l}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// The `glued` expression matches exactly where its `\b` form does.
        #[test]
        fn glued_matches_as_its_word_boundary_form(
            l in "(?:print|len|def|return|console\\.log|my_name|é|\u{301}|_|x|1|[ \t\u{3000}]|（|名字|。|\\.|a)*",
        ) {
            let bounded = regex::Regex::new(r"\b(?:print|len|range|input|str|int|float|append|printf|main|sum|sorted|open|format|split|join|console\.log|[a-z]+_[a-z_]+)（|\bdef\s+[A-Za-z_]\w*（|\b(?:def|return)\s+\p{Han}").expect("regex");
            let fast = regex::Regex::new(super::GLUED).expect("regex");
            proptest::prop_assert_eq!(fast.is_match(&l), bounded.is_match(&l), "{:?}", l);
        }
    }

    #[test]
    fn keyword_arguments_turned_imports_and_glued_comparisons_are_translated_code() {
        let f = build(&KIND, PARAMS, None);
        let game = record(
            r#"{"instruction": "在 python 中创建剪刀石头布游戏。", "input": "", "output": "随机导入\n\nplayer1 = input()\n如果玩家 1 == 玩家 2：\n    print(1)"}"#,
        );
        assert_eq!(value(f.as_ref(), &game), Some(2.0));
        let numpy = record(
            r#"{"instruction": "创建一个 3D 随机数数组。", "input": "", "output": "arr = np.random.randint(1, 100, 大小=(3, 3, 3))\nprint(arr)"}"#,
        );
        assert_eq!(value(f.as_ref(), &numpy), Some(1.0));
        // Prose: a comparison in words, an import of goods.
        let prose = record(
            r#"{"instruction": "介绍贸易。", "input": "", "output": "如果价格上涨，进口会减少。\n这些水果从智利导入中国。"}"#,
        );
        assert_eq!(value(f.as_ref(), &prose), Some(0.0));
    }

    #[test]
    fn translated_keywords_tags_and_glued_brackets() {
        let f = build(&KIND, PARAMS, None);
        // alpaca_chinese_carbonz0: Python and HTML passed through a translator.
        let python = record(
            r#"{"instruction": "编写一个计算阶乘的函数。", "input": "", "output": "定义 阶乘（数量）：\n    如果 数量 == 0：\n        返回 1\n    别的：\n        返回 数量 * 阶乘（数量 - 1）"}"#,
        );
        assert_eq!(value(f.as_ref(), &python), Some(5.0));
        let html =
            record(r#"{"instruction": "创建一个表格。", "input": "", "output": "<表>\n  <tr><td>1</td></tr>\n</表>"}"#);
        assert_eq!(value(f.as_ref(), &html), Some(2.0));
        let glued = record(r#"{"instruction": "打印数组。", "input": "", "output": "arr = [1, 2]\nprint（arr）"}"#);
        assert_eq!(value(f.as_ref(), &glued), Some(1.0));
    }

    /// alpaca_chinese_carbonz0 zh-data-part-00.jsonl:2485, zh-data-part-01.jsonl:2846,
    /// :3601 and :9646: one line of each is enough to drop.
    #[test]
    fn code_that_cannot_run_counts_twice() {
        let f = build(&KIND, PARAMS, None);
        let sql = record(
            r#"{"instruction": "构造一个 SQL 查询以按客户的名字和姓氏对客户进行排序。", "input": "", "output": "SELECT * FROM customers ORDER BY 名字，姓氏"}"#,
        );
        assert_eq!(value(f.as_ref(), &sql), Some(2.0));
        let glued = record(
            r#"{"instruction": "将以下函数转换为 lambda 表达式。", "input": "定义平方（x）：\n    返回 x**2", "output": "平方 = lambda x: x**2"}"#,
        );
        assert_eq!(value(f.as_ref(), &glued), Some(3.0));
        let under = record(
            r#"{"instruction": "创建一个函数来计算四个数字的平均值。", "input": "", "output": "def mean(num1, num2, num3, num4):\n    返回 (num1 + num2 + num3 + num4) / 4"}"#,
        );
        assert_eq!(value(f.as_ref(), &under), Some(2.0));
        let chain = record(
            r#"{"instruction": "编写一段代码来反转单词的顺序。", "input": "", "output": "const reverseString = str =>\n  海峡\n    。分裂（\" \"）"}"#,
        );
        assert_eq!(value(f.as_ref(), &chain), Some(2.0));
        // SQL explained in Chinese prose, a list of words given as data.
        let prose = record(
            r#"{"instruction": "解释 SQL。", "input": "", "output": "SELECT 语句从表中选取数据（例如 FROM 子句），结果存在结果集中。\n['鸟'，'苍蝇'，'A']"}"#,
        );
        assert_eq!(value(f.as_ref(), &prose), Some(0.0));
    }

    #[test]
    fn chinese_prose_real_code_and_pseudocode_are_not_counted() {
        let f = build(&KIND, PARAMS, None);
        let prose = record(
            r#"{"instruction": "怎样学习编程？", "input": "", "output": "如果你想学习编程，可以先学 Python。\n对于初学者来说，print() 函数最常用。"}"#,
        );
        assert_eq!(value(f.as_ref(), &prose), Some(0.0));
        let names = record(
            r#"{"instruction": "介绍几种语言。", "input": "", "output": "Python（一种编程语言）很流行。\n步骤 1：安装 Python。"}"#,
        );
        assert_eq!(value(f.as_ref(), &names), Some(0.0));
        let code = record(
            r#"{"instruction": "写一个函数。", "input": "", "output": "```python\ndef add(a, b):\n    return a + b\n```\n这个函数返回两数之和。"}"#,
        );
        assert_eq!(value(f.as_ref(), &code), Some(0.0));
        let pseudo = record(
            r#"{"instruction": "用中文写出冒泡排序的伪代码。", "input": "", "output": "对于 每个 元素：\n    如果 大于 下一个：\n        交换"}"#,
        );
        assert_eq!(value(f.as_ref(), &pseudo), None);
    }
}
