//! `flattened-code`: Python code in answers whose blocks lost their
//! indentation.
//!
//! ## What it measures
//! The number of Python block headers in the assistant turns (`def f(…):`,
//! `class C:`, `if …:`, `elif …:`, `else:`, `for … in …:`, `while …:`,
//! `try:`, `except …:`, `finally:`, `with …(…):` / `with … as …:`, each
//! ending its line with the colon) whose next line of code is indented no
//! deeper than the header: the block is missing, and Python stops with
//! `IndentationError`. Comment lines are skipped, a tab indents to the next
//! multiple of eight as in Python, and a no-break space (U+00A0) counts as a
//! space. A turn is read only when it looks like Python: a line opening
//! with `def name(`, `import `, `from … import ` or `print(`, or a
//! ```` ```python ```` fence.
//!
//! ## Why
//! Code copied from a rendered page (HTML that collapsed the leading
//! spaces, chat exports, machine translation) loses its indentation. In
//! Python the indentation is the syntax: `def sum(k, n):` followed by
//! `sum = 0` at the same depth does not run, and a model trained on it
//! learns code that does not run. Other languages' blocks are delimited by
//! braces or keywords, so their lost indentation is left alone.
//!
//! ## Example
//! belle_zh_seed_tasks line 116: `"def sum(k, n):\nsum = 0\nfor i in
//! range(k, n+1):\nsum += i\nreturn sum"` measures 2 (the `def` and the
//! `for`); the same code indented measures 0.
//!
//! ## Measured
//! Over every non-benchmark corpus the rule measures at least 1 on 25
//! records (glaive tool-call chats, BELLE seed tasks with no-break spaces,
//! gpteacher, Alpaca), and all 25 are labelled `drop`: 21 labelled blind
//! for this rule (`fixtures/judged/flattened.jsonl`), three in the judged
//! development set (`labels.jsonl`: 3 of 3) and one in the first spot
//! check. Of the 21, the readers named the flattened code in 14 and a
//! graver flaw in the others (wrong results, translated keywords).
//!
//! ## Parameters
//! None besides the threshold.

use crate::record::Role;
use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "flattened-code",
    "Python block headers in the answers whose block is not indented",
    build,
)
.scope(None);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {}

struct FlattenedCode;

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let _: Params = ctx.parse()?;
    Ok(Box::new(FlattenedCode))
}

/// Whitespace that indents a line: spaces, tabs and no-break spaces.
fn is_indent(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{a0}')
}

/// The line's indentation width, a tab going to the next multiple of 8.
fn indent(line: &str) -> usize {
    let mut w = 0;
    for c in line.chars().take_while(|&c| is_indent(c)) {
        w = if c == '\t' { (w / 8 + 1) * 8 } else { w + 1 };
    }
    w
}

/// Whether a line (without its indentation) opens with `word` followed by a
/// space or, when `bare`, by the colon.
fn opens(line: &str, word: &str, bare: bool) -> bool {
    line.strip_prefix(word)
        .is_some_and(|rest| rest.starts_with(is_indent) || bare && rest.trim_start_matches(is_indent).starts_with(':'))
}

/// Whether `line` (without its indentation) is a Python block header
/// ending with its colon, an optional comment after it.
fn header(line: &str) -> bool {
    let code = match line.find(" #") {
        Some(at) => &line[..at],
        None => line,
    };
    let code = code.trim_end_matches(is_indent);
    if !code.ends_with(':') {
        return false;
    }
    let word_rest = |word: &str| code.strip_prefix(word).map(|r| r.trim_start_matches(is_indent));
    if opens(code, "def", false)
        || opens(code, "async", false) && word_rest("async").is_some_and(|r| r.starts_with("def"))
    {
        return code.contains('(');
    }
    if opens(code, "class", false) {
        return word_rest("class").is_some_and(|r| r.starts_with(|c: char| c.is_alphabetic() || c == '_'));
    }
    if ["else", "try", "finally"].iter().any(|&w| word_rest(w) == Some(":")) {
        return true;
    }
    let has_word = |w: &str| code.split(is_indent).any(|t| t == w);
    if opens(code, "for", false) {
        return has_word("in");
    }
    if opens(code, "with", false) {
        return code.contains('(') || has_word("as");
    }
    opens(code, "if", false) || opens(code, "elif", false) || opens(code, "while", false) || opens(code, "except", true)
}

/// Whether a turn looks like Python: a line opening with `def name(`,
/// `import `, `from … import ` or `print(`, or a python fence.
fn pythonic(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start_matches(is_indent);
        (opens(l, "def", false) && l.contains('('))
            || opens(l, "import", false)
            || opens(l, "from", false) && l.contains(" import ")
            || l.starts_with("print(")
            || l.starts_with("```python")
            || l.starts_with("```py\n")
            || l == "```py"
    })
}

/// The flattened block headers of one turn, and the first of them.
fn flattened(text: &str) -> (usize, Option<&str>) {
    // A header ends its line with the colon (a comment after it aside: a
    // block of such headers alone is not read): most answers hold none, and
    // are not read line by line.
    if !(text.contains(":\n") || text.contains(":\r\n")) || !pythonic(text) {
        return (0, None);
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut n = 0;
    let mut first = None;
    for (k, line) in lines.iter().enumerate() {
        let code = line.trim_start_matches(is_indent);
        if !header(code) {
            continue;
        }
        let next = lines[k + 1..].iter().find(|l| {
            let t = l.trim_start_matches(is_indent);
            !t.is_empty() && !t.starts_with('#')
        });
        let Some(next) = next else { continue };
        // The end of a fenced block: nothing follows the header in the code.
        if next.trim_start_matches(is_indent).starts_with("```") {
            continue;
        }
        if indent(next) <= indent(line) {
            n += 1;
            first.get_or_insert(code);
        }
    }
    (n, first)
}

impl Filter for FlattenedCode {
    fn metric(&self) -> &str {
        "Python blocks without indentation"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let rec = cx.record();
        let mut n = 0;
        let mut first = None;
        for t in rec.turns.iter().filter(|t| t.role == Role::Assistant) {
            let (k, f) = flattened(&t.content);
            n += k;
            if first.is_none() {
                first = f.map(|s| crate::text::head_chars(s, 60).0.replace('\u{a0}', " "));
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
    use super::{flattened, header, indent, KIND};
    use crate::filters::testing::{build, record, value};

    #[test]
    fn headers_are_python_block_openings_ending_with_their_colon() {
        for h in [
            "def sum(k, n):",
            "async def f():",
            "class Foo(Base):",
            "class Foo:",
            "if p:",
            "elif x > 2:  # the rest",
            "else:",
            "else :",
            "try:",
            "except ValueError as e:",
            "except:",
            "finally:",
            "for i in range(k, n+1):",
            "while True:",
            "with open(path) as f:",
        ] {
            assert!(header(h), "{h}");
        }
        for p in [
            "for getting the full division result (quotient and remainder):",
            "with the following:",
            "if x: return y",
            "define(x):",
            "elsewhere:",
            "classify these:",
            "def",
        ] {
            assert!(!header(p), "{p}");
        }
        assert_eq!(indent("\t x"), 9);
        assert_eq!(indent("\u{a0}\u{a0}x"), 2);
    }

    #[test]
    fn blocks_at_the_depth_of_their_header_are_counted() {
        // belle_zh_seed_tasks line 116 (no-break spaces as in the corpus).
        let flat = "def\u{a0}sum(k,\u{a0}n):\nsum\u{a0}=\u{a0}0\nfor\u{a0}i\u{a0}in\u{a0}range(k,\u{a0}n+1):\nsum\u{a0}+=\u{a0}i\nreturn\u{a0}sum";
        assert_eq!(flattened(flat).0, 2);
        let indented = "def sum(k, n):\n    total = 0\n    for i in range(k, n+1):\n        # add it\n        total += i\n    return total";
        assert_eq!(flattened(indented).0, 0);
        // glaive_toolcall_en_demo line 70: one-space nesting whose inner
        // block sits at the depth of its `if`.
        let nested =
            "```\nx = 6\nif p:\n if q:\n print(\"true\")\n else:\n print(\"false\")\nelse:\n print(\"n/a\")\n```";
        assert_eq!(flattened(nested).0, 2);
        // Not Python: a JavaScript answer, a prose list with colons.
        assert_eq!(flattened("if (x) {\ny();\n}\nelse:\nnothing").0, 0);
        // A header closing a fenced snippet has no block to check.
        assert_eq!(flattened("```python\nimport os\nfor f in files:\n```").0, 0);
    }

    #[test]
    fn every_answer_is_read_and_questions_are_not() {
        let f = build(&KIND, "", None);
        let answer = record(r#"{"instruction": "Write a function.", "input": "", "output": "def f(x):\nreturn x"}"#);
        assert_eq!(value(f.as_ref(), &answer), Some(1.0));
        let question = record(
            r#"{"instruction": "Indent this code:\ndef f(x):\nreturn x", "input": "", "output": "def f(x):\n    return x"}"#,
        );
        assert_eq!(value(f.as_ref(), &question), Some(0.0));
    }
}
