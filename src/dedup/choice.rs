//! Multiple-choice records: the option list of a request and the option its
//! answer chooses.
//!
//! Under `[near] choices = true` (the default) two multiple-choice records
//! are compared on their question and the option they choose, not on their
//! wrong options:
//! - the option list is left out of the request's shingles, so two copies
//!   of one problem whose distractors differ ("(A) 1 (B) 3 (C) 6" against
//!   "(A) 2 (B) 3 (C) 6", the same working and "(C)") are still similar;
//! - two records that both choose an option are near-duplicates only when
//!   they choose the same letter with the same text: the same puzzle and
//!   working ending in "(B)" is another answer when (B) is 1981 in one and
//!   721 in the other, and "(C) 15" against "(A) 15" teaches another letter;
//! - two records that choose the same option of questions with the same
//!   numbers (every run of digits of the request outside the list, their
//!   order aside), both with a worked answer, are near-duplicates when their
//!   requests reach `choice-threshold` (0.5; `src/dedup/similarity.rs`): one
//!   problem under another framing, with a renamed variable and other
//!   distractors, shares half its request shingles or less, but "7 students
//!   leave every ten minutes" against "9 students" is another problem.
//!
//! The record's mark holds the option in its high 16 bits and the question's
//! numbers in its low 16: the first rule compares the options alone, the
//! second both.
//!
//! An option list is a run of at least three markers `A`, `B`, `C`, … in
//! order, each `(X)` anywhere or `X)`, `X.`, `X:`, `X：`, `X、` at the start
//! of a line (a literal `\n` escape counts as a line break). An option's text
//! runs to the next marker; the last one's to the end of its line. The answer
//! chooses `X` when it is the letter alone (`B`, `(B)`, `B.`, `B) 9 lines`),
//! else by its last `(X)`, else by its last "answer is X", "answer: X",
//! "答案是X" or "答案：X".
//!
//! Measured on the 328 judged pairs (`curate eval-pairs`, docs/dedup.md): the
//! check removes four false drops of multiple-choice records (AQuA items
//! with the same working whose chosen option stands for another value) and
//! leaving the options out finds seven more reworded copies (precision 0.942
//! -> 0.976, recall 0.649 -> 0.690 alone; with `thin-requests` 0.979 and
//! 0.793). The same option of the same numbers then finds three more AQuA
//! copies and wrongly calls one (the same problem with the same numbers,
//! working and answer but other distractors, labelled distinct): 0.962 /
//! 0.862 -> 0.956 / 0.879 with every rule on; on the unseen pairs 0.945 /
//! 0.788 -> 0.950 / 0.864. Over ../shared/corpora it drops 45 more AQuA
//! records, 44 of which a reader (shown the pairs, not the verdicts)
//! labelled duplicates of the record kept; without the numbers check it
//! dropped 52, 5 of them other problems with other numbers.

use std::ops::Range;
use std::sync::LazyLock;

/// An option list of a request: where it lies and each option's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Bytes of the request from the first marker to the end of the last
    /// option.
    pub span: Range<usize>,
    /// Each option's text range in the request, in letter order from `A`.
    pub texts: Vec<Range<usize>>,
}

/// Fewest options that make a list.
const MIN_OPTIONS: usize = 3;
/// Letters an option may have: `A` to `J`.
const LAST_LETTER: u8 = b'J';

/// A marker: its letter (0 for `A`) and its bytes.
#[derive(Debug, Clone, Copy)]
struct Marker {
    letter: u8,
    start: usize,
    end: usize,
}

/// Whether position `i` of `b` starts a line: the text's start, after a
/// line break or a literal `\n` escape, spaces and tabs apart.
fn at_line_start(b: &[u8], mut i: usize) -> bool {
    while i > 0 && matches!(b[i - 1], b' ' | b'\t') {
        i -= 1;
    }
    i == 0 || b[i - 1] == b'\n' || (i >= 2 && &b[i - 2..i] == b"\\n")
}

/// The marker at byte `i` (an upper-case letter), if it is one.
fn marker(b: &[u8], i: usize) -> Option<Marker> {
    let letter = b[i];
    if !(b'A'..=LAST_LETTER).contains(&letter) {
        return None;
    }
    let m = |start, end| Marker {
        letter: letter - b'A',
        start,
        end,
    };
    let next = b.get(i + 1).copied();
    if i > 0 && b[i - 1] == b'(' && next == Some(b')') {
        return Some(m(i - 1, i + 2));
    }
    if !at_line_start(b, i) {
        return None;
    }
    match next {
        Some(b'.' | b')' | b':') => Some(m(i, i + 2)),
        // "：" (full-width colon) and "、".
        _ if b[i + 1..].starts_with("：".as_bytes()) || b[i + 1..].starts_with("、".as_bytes()) => Some(m(i, i + 4)),
        _ => None,
    }
}

/// The end of the line holding byte `i`: the next line break or literal
/// `\n` escape, or the text's end.
fn line_end(b: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < b.len() {
        if b[j] == b'\n' || (b[j] == b'\\' && b.get(j + 1) == Some(&b'n')) {
            return j;
        }
        j += 1;
    }
    b.len()
}

/// `end` moved back over white space and literal `\n` escapes, not before
/// `start`.
fn trim_end(b: &[u8], start: usize, mut end: usize) -> usize {
    loop {
        if end > start && b[end - 1].is_ascii_whitespace() {
            end -= 1;
        } else if end >= start + 2 && &b[end - 2..end] == b"\\n" {
            end -= 2;
        } else {
            return end;
        }
    }
}

/// The last option list of `text`, if it has one.
pub fn options(text: &str) -> Option<Options> {
    let b = text.as_bytes();
    // Most requests have no marker `A` at all: one vectorised search says so.
    let first = memchr::memchr_iter(b'A', b).find(|&i| marker(b, i).is_some())?;
    let mut run: Vec<Marker> = Vec::new();
    let mut best: Option<Vec<Marker>> = None;
    // Markers start at '(' or at a capital letter after a line start; only
    // capitals A-J are looked at.
    for (i, &c) in b.iter().enumerate().skip(first) {
        if !(b'A'..=LAST_LETTER).contains(&c) {
            continue;
        }
        let Some(m) = marker(b, i) else { continue };
        if m.letter == 0 {
            if run.len() >= MIN_OPTIONS {
                best = Some(std::mem::take(&mut run));
            }
            run.clear();
            run.push(m);
        } else if run.last().is_some_and(|l| l.letter + 1 == m.letter) {
            run.push(m);
        }
    }
    if run.len() >= MIN_OPTIONS {
        best = Some(run);
    }
    let run = best?;
    let mut texts = Vec::with_capacity(run.len());
    for (k, m) in run.iter().enumerate() {
        let end = match run.get(k + 1) {
            Some(n) => n.start,
            None => line_end(b, m.end),
        };
        texts.push(m.end..trim_end(b, m.end, end));
    }
    let span = run[0].start..texts.last().map_or(run[0].end, |t| t.end);
    Some(Options { span, texts })
}

/// "answer is X", "answer: X", "答案是X", "答案：X" (the last one counts).
static ANSWER_IS: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"(?:(?i:answer)(?:\s+is)?\s*[:：]?|答案\s*(?:是|为|[:：]))\s*\(?([A-J])(?:[^A-Za-z0-9]|$)")
        .expect("answer pattern")
});

/// The option (0 for `A`) that `answer` chooses among `n` options.
pub fn chosen(answer: &str, n: usize) -> Option<usize> {
    let valid = |c: u8| (c >= b'A' && ((c - b'A') as usize) < n).then(|| (c - b'A') as usize);
    let t = answer.trim().as_bytes();
    // The letter alone, or first: "B", "(B)", "B.", "B) 9 lines".
    let (paren, rest) = match t.first() {
        Some(b'(') => (true, &t[1..]),
        _ => (false, t),
    };
    if let Some(&c) = rest.first() {
        let after = rest.get(1).copied();
        let alone = if paren {
            after == Some(b')')
        } else {
            matches!(after, None | Some(b'.' | b')' | b':'))
        };
        if alone {
            if let Some(k) = valid(c) {
                return Some(k);
            }
        }
    }
    // The last "(X)".
    let mut last = None;
    for w in t.windows(3) {
        if w[0] == b'(' && w[2] == b')' {
            if let Some(k) = valid(w[1]) {
                last = Some(k);
            }
        }
    }
    if last.is_some() {
        return last;
    }
    ANSWER_IS
        .captures_iter(answer)
        .last()
        .and_then(|c| valid(c.get(1)?.as_str().as_bytes()[0]))
}

/// A 32-bit mark of the chosen option: its letter and its value. A value
/// that starts with a number is its numbers up to the first letter ("180/13
/// days" and "180/13" are
/// one value, and so are "(E) 5184" and "(E) 5184 Stream of consciousness:",
/// where the last option runs into the prompt); any other is its text in
/// lower case, without white space, quotation marks and apostrophes (’ or ')
/// and a final full stop. Never 0.
pub fn mark(text: &str, opts: &Options, k: usize) -> u32 {
    let mut key = String::with_capacity(16);
    key.push((b'A' + k as u8) as char);
    let raw = text[opts.texts[k].clone()].replace("\\n", " ");
    let raw = raw.trim();
    let mut cs = raw.chars();
    let numeric = match (cs.next(), cs.next()) {
        (Some(c), _) if c.is_ascii_digit() => true,
        (Some('$' | '-' | '−' | '+' | '.'), Some(d)) => d.is_ascii_digit(),
        _ => false,
    };
    if numeric {
        key.extend(
            raw.chars()
                .take_while(|c| !c.is_alphabetic())
                .filter(|c| !c.is_whitespace()),
        );
        let trimmed = key.trim_end_matches(['.', ',', ':', ';']).len();
        key.truncate(trimmed.max(1));
    } else {
        let quote = |c: char| matches!(c, '\'' | '"' | '`' | '´' | '‘' | '’' | '“' | '”' | '«' | '»');
        for c in raw
            .trim_end_matches(['.', '。'])
            .chars()
            .filter(|&c| !c.is_whitespace() && !quote(c))
        {
            key.extend(c.to_lowercase());
        }
    }
    (xxhash_rust::xxh3::xxh3_64(key.as_bytes()) as u32).max(1)
}

/// Adds the numbers of `text` to `out`: each run of ASCII digits, hashed.
pub fn numbers(text: &str, out: &mut Vec<u64>) {
    for run in text.as_bytes().split(|c| !c.is_ascii_digit()).filter(|r| !r.is_empty()) {
        out.push(xxhash_rust::xxh3::xxh3_64(run));
    }
}

/// A record's choice mark: the chosen option's mark ([`mark`]) in the high
/// 16 bits and the question's numbers ([`numbers`], their order aside) in
/// the low 16. Never 0.
pub fn record_mark(option: u32, numbers: &mut [u64]) -> u32 {
    numbers.sort_unstable();
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for n in numbers.iter() {
        h.update(&n.to_le_bytes());
    }
    ((option >> 16).max(1) << 16) | (h.digest() as u32 & 0xFFFF)
}

/// Whether two records' choice marks ([`record_mark`]) choose the same
/// option (letter and text), whatever their questions' numbers.
pub fn same_option(a: u32, b: u32) -> bool {
    a >> 16 == b >> 16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(text: &'a str, o: &Options) -> Vec<&'a str> {
        o.texts.iter().map(|r| text[r.clone()].trim()).collect()
    }

    #[test]
    fn finds_aqua_and_mmlu_option_lists() {
        // AQuA in Alpaca-CoT (literal \n escapes, a prompt after the last option).
        let aqua = r"How many diamonds did they steal in total?\nOptions:\n(A) 1961\n(B) 1981\n(C) 1991\n(D) 1971\n(E) None of the above Now, let's think a bit.";
        let o = options(aqua).expect("a list");
        assert_eq!(
            texts(aqua, &o),
            [
                "1961",
                "1981",
                "1991",
                "1971",
                "None of the above Now, let's think a bit."
            ]
        );
        assert_eq!(
            &aqua[..o.span.start],
            r"How many diamonds did they steal in total?\nOptions:\n"
        );
        // MMLU as read: one option per line.
        let mmlu = "How many lines will appear?\n\nA. 3 lines\nB. 9 lines\nC. 5 lines\nD. 7 lines";
        let o = options(mmlu).expect("a list");
        assert_eq!(texts(mmlu, &o), ["3 lines", "9 lines", "5 lines", "7 lines"]);
        assert_eq!(o.span.end, mmlu.len());
        // Chinese markers.
        let zh = "下列哪个是水果？\nA、苹果\nB、白菜\nC、土豆";
        assert_eq!(texts(zh, &options(zh).expect("a list")), ["苹果", "白菜", "土豆"]);
    }

    #[test]
    fn ordinary_text_has_no_option_list() {
        assert_eq!(options("Plan A. Then plan B. Then C."), None);
        assert_eq!(options("A. one\nB. two"), None, "two options are not a list");
        assert_eq!(options("Write about (A) and (C)."), None);
        assert_eq!(options(""), None);
    }

    #[test]
    fn reads_the_chosen_letter() {
        assert_eq!(chosen("B", 4), Some(1));
        assert_eq!(chosen(" (C) ", 4), Some(2));
        assert_eq!(chosen("B. 9 lines", 4), Some(1));
        assert_eq!(chosen("We need a multiple of 60.\nThe final answer: (B).", 5), Some(1));
        assert_eq!(chosen("So the answer is D.", 5), Some(3));
        assert_eq!(chosen("答案是C", 4), Some(2));
        // Not a letter of the list, or no letter at all.
        assert_eq!(chosen("E", 4), None);
        assert_eq!(chosen("A dog is an animal.", 4), None);
        assert_eq!(chosen("The answer is Alice.", 4), None);
    }

    #[test]
    fn the_mark_is_the_letter_and_the_text() {
        let a = r"Q?\n(A) 1961\n(B) 1981\n(C) 1991";
        let b = r"Q?\n(A) 700\n(B) 721\n(C) 1981.";
        let c = r"Q?\n(A) 5\n(B) 19.81\n(C) 2";
        let (oa, ob, oc) = (
            options(a).expect("a list"),
            options(b).expect("a list"),
            options(c).expect("a list"),
        );
        assert_ne!(mark(a, &oa, 1), mark(b, &ob, 1), "(B) is 1981 in one, 721 in the other");
        assert_ne!(mark(a, &oa, 1), mark(b, &ob, 2), "the same value under another letter");
        let d = r"Q?\n(A) 7 days\n(B) Nineteen Eighty-One\n(C) 180/13 days";
        let e = r"Q?\n(A) 7\n(B) nineteen eighty-one.\n(C) 180/13 Stream of consciousness:";
        let (od, oe) = (options(d).expect("a list"), options(e).expect("a list"));
        for k in 0..3 {
            assert_eq!(
                mark(d, &od, k),
                mark(e, &oe, k),
                "a number is its value; case does not count"
            );
        }
        assert_ne!(mark(a, &oa, 1), mark(c, &oc, 1), "1981 is not 19.81");
        let h = "Q?\nA. Adler’s theory\nB. x > y\nC. none";
        let i = "Q?\nA. adler's theory\nB. x < y\nC. none";
        let (oh, oi) = (options(h).expect("a list"), options(i).expect("a list"));
        assert_eq!(mark(h, &oh, 0), mark(i, &oi, 0), "apostrophes do not count");
        assert_ne!(mark(h, &oh, 1), mark(i, &oi, 1), "x > y is not x < y");
        let f = r"Q?\n(A) 3 1/9%\n(B) 2\n(C) 3";
        let g = r"Q?\n(A) 3 1/3%\n(B) 2\n(C) 3";
        let (of, og) = (options(f).expect("a list"), options(g).expect("a list"));
        assert_ne!(mark(f, &of, 0), mark(g, &og, 0), "3 1/9% is not 3 1/3%");
    }

    #[test]
    fn the_record_mark_is_the_option_and_the_questions_numbers() {
        let q = "A class of 32 students averages 16 years.\nOptions:\n(A) 30\n(B) 49\n(C) 32";
        let o = options(q).expect("list");
        let mut nums = Vec::new();
        numbers(&q[..o.span.start], &mut nums);
        numbers(&q[o.span.end..], &mut nums);
        // 32 and 16, not the options' 30, 49, 32.
        assert_eq!(nums.len(), 2);
        let chosen = mark(q, &o, 1);
        let a = record_mark(chosen, &mut nums.clone());
        // The same numbers in another order, the same option: the same mark.
        let r = "Averaging 16 years, a class has 32 students.\nOptions:\n(A) 28\n(B) 49\n(C) 37";
        let ro = options(r).expect("list");
        let mut rn = Vec::new();
        numbers(&r[..ro.span.start], &mut rn);
        numbers(&r[ro.span.end..], &mut rn);
        assert_eq!(record_mark(mark(r, &ro, 1), &mut rn), a);
        // Other numbers: the same option, another mark.
        let mut other = Vec::new();
        numbers("A class of 33 students averages 16 years.", &mut other);
        let b = record_mark(chosen, &mut other);
        assert_ne!(a, b);
        assert!(same_option(a, b));
        // Another option.
        let c = record_mark(mark(q, &o, 2), &mut nums);
        assert!(!same_option(a, c));
        assert_ne!(a, 0);
    }
}
