//! `phone`: telephone numbers.
//!
//! ## What it measures
//! Four shapes, each checked against its numbering plan:
//! - international E.164 forms: `+` country code, then groups, 8 to 15
//!   digits in all (`+44 20 7946 0958`, `+86 138 0013 8000`); a `+1` number
//!   must also be a valid North American number;
//! - North American numbers with separators: `(415) 555-2671`,
//!   `415-555-2671`, `1-800-555-0199`; with spaces only or no separators
//!   only when a phone word is close before and area code and exchange fit
//!   the plan (`80 370 860 1550 2440` is a number sequence);
//! - Chinese mobile numbers: `1[3-9]` + 9 digits, plain or 3-4-4 grouped,
//!   with an optional `+86`/`86` prefix;
//! - national numbers with a trunk `0` and an area code in parentheses or
//!   followed by a separator, 9 to 12 digits: Chinese landlines
//!   (`010-12345678`, `(0755)8888 6666`), `020 7946 0958`, `06-12345678`,
//!   `(02) 9374 4000`.
//!
//! ## Why
//! A phone number reaches a person as surely as an address. Numbers with
//! separators are rarely anything else; bare digit runs often are (order
//! numbers, timestamps, counts), so they need a plan match or context.
//!
//! ## Example
//! `Call me at (415) 555-2671 or 13800138000.` finds both numbers. Not found:
//! `ISBN 978-0-306-40615-7`, `order 2023091512345`, `1700000000000`
//! (a timestamp), `12:30:45`.
//!
//! ## Parameters
//! The common `action` and `placeholder` of `pii.toml` (default: redact as
//! `<PHONE>`).

use regex::Regex;

use super::scan::{all_same, before, bounded, contains_any, digits, is_reference, Detector, Finding, PiiType};

/// Words that make a bare digit run a phone number.
const PHONE_WORDS: &[&str] = &[
    "phone", "call", "tel", "mobile", "cell", "fax", "contact", "whatsapp", "电话", "手机", "致电", "联系", "拨打",
];

/// Finds phone numbers.
pub struct Phone {
    intl: Regex,
    nanp: Regex,
    nanp_bare: Regex,
    cn_mobile: Regex,
    national: Regex,
}

impl Phone {
    /// The detector.
    pub fn new() -> Result<Self, regex::Error> {
        Ok(Phone {
            intl: Regex::new(r"\+[1-9][0-9]{0,2}(?:[ .\-]?\(?[0-9]{1,5}\)?){1,6}")?,
            nanp: Regex::new(r"(?:(?-u:\b)1[ .\-]?)?(?:\([0-9]{3}\)[ .\-]?|[0-9]{3}[ .\-])[0-9]{3}[ .\-][0-9]{4}")?,
            nanp_bare: Regex::new(r"[2-9][0-9]{2}[2-9][0-9]{6}")?,
            cn_mobile: Regex::new(r"(?:86[ \-]?)?1[3-9][0-9](?:[0-9]{8}|[ \-][0-9]{4}[ \-][0-9]{4})")?,
            national: Regex::new(
                r"(?:\(0[1-9][0-9]{0,3}\)|0[1-9][0-9]{0,3}[ \-])[ ]?[0-9]{2,4}[ \-]?[0-9]{3,4}(?:[ \-][0-9]{3,4})?",
            )?,
        })
    }
}

/// Whether `d` (digits only) is a North American number (10 digits). With
/// `strict`, area code and exchange start with 2-9 and are not N11. Written
/// numbers with separators such as `555-123-4567` or `123-456-7890` are phone
/// numbers to any reader even when not assignable, so only bare digit runs
/// are held to the plan.
fn nanp_ok(d: &[u8], strict: bool) -> bool {
    d.len() == 10
        && !all_same(d)
        && (!strict || (d[0] >= 2 && !(d[1] == 1 && d[2] == 1) && d[3] >= 2 && !(d[4] == 1 && d[5] == 1)))
}

/// Whether a `+` at `start` is an arithmetic operator (`472547338\n+9603…`).
fn arithmetic(text: &str, start: usize) -> bool {
    text[..start]
        .trim_end()
        .ends_with(|c: char| c.is_ascii_digit() || c == ')' || c == '=')
}

fn cn_mobile_ok(d: &[u8]) -> bool {
    d.len() == 11 && d[0] == 1 && (3..=9).contains(&d[1])
}

impl Detector for Phone {
    fn ty(&self) -> PiiType {
        PiiType::Phone
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        let mut push = |s: usize, e: usize| {
            if bounded(text, s, e) && !is_reference(text, s) {
                out.push(Finding::new(s, e, PiiType::Phone));
            }
        };
        for m in self.intl.find_iter(text) {
            let s = m.as_str().trim_end_matches(['(', ' ', '.', '-']);
            let d = digits(s);
            if !(8..=15).contains(&d.len()) || s.contains("((") || arithmetic(text, m.start()) {
                continue;
            }
            let ok = match d[0] {
                1 => nanp_ok(&d[1..], false),
                8 if d.get(1) == Some(&6) && d.get(2) == Some(&1) && d.get(3).is_some_and(|&x| x >= 3) => {
                    cn_mobile_ok(&d[2..])
                }
                _ => true,
            };
            if ok {
                push(m.start(), m.start() + s.len());
            }
        }
        for m in self.nanp.find_iter(text) {
            let d = digits(m.as_str());
            let d = if d.len() == 11 { &d[1..] } else { &d[..] };
            // `370 860 1550` in a number sequence: spaces alone need a phone word.
            let spaced = !m.as_str().contains(['(', '-', '.']);
            if nanp_ok(d, spaced)
                && !text[..m.start()].ends_with('+')
                && (!spaced || contains_any(before(text, m.start(), 40), PHONE_WORDS))
            {
                push(m.start(), m.end());
            }
        }
        for m in self.cn_mobile.find_iter(text) {
            let d = digits(m.as_str());
            let d = if d.len() == 13 { &d[2..] } else { &d[..] };
            if cn_mobile_ok(d) && !text[..m.start()].ends_with('+') {
                push(m.start(), m.end());
            }
        }
        for m in self.national.find_iter(text) {
            let d = digits(m.as_str());
            // `010 1100 1011` is binary, not a number to call.
            // `078-05-1120` has the shape of an SSN.
            let groups: Vec<usize> = m
                .as_str()
                .split([' ', '-', '(', ')'])
                .filter(|g| !g.is_empty())
                .map(str::len)
                .collect();
            if (9..=12).contains(&d.len())
                && d.iter().any(|&x| x > 1)
                && groups != [3, 2, 4]
                && !arithmetic(text, m.start())
            {
                push(m.start(), m.end());
            }
        }
        for m in self.nanp_bare.find_iter(text) {
            if nanp_ok(&digits(m.as_str()), true) && contains_any(before(text, m.start(), 40), PHONE_WORDS) {
                push(m.start(), m.end());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(t: &str) -> Vec<&str> {
        let mut out = Vec::new();
        Phone::new().expect("regex").find(t, &mut out);
        out.sort_by_key(|f| f.start);
        out.dedup_by(|a, b| a.start < b.end);
        out.iter().map(|f| &t[f.start..f.end]).collect()
    }

    #[test]
    fn finds_north_american_international_and_chinese_numbers() {
        assert_eq!(
            find("Call me at (415) 555-2671 or 1-800-555-0199."),
            ["(415) 555-2671", "1-800-555-0199"]
        );
        assert_eq!(find("London office: +44 20 7946 0958"), ["+44 20 7946 0958"]);
        assert_eq!(
            find("手机：13800138000，座机：010-62751234"),
            ["13800138000", "010-62751234"]
        );
        assert_eq!(find("Tel +86 138 0013 8000"), ["+86 138 0013 8000"]);
        assert_eq!(find("phone: 4155552671"), ["4155552671"]);
        assert_eq!(
            find("London 020 7946 0958, Beijing +86-10-62751234"),
            ["020 7946 0958", "+86-10-62751234"]
        );
    }

    #[test]
    fn skips_references_timestamps_and_bare_runs() {
        assert!(find("ISBN 978-0-306-40615-7").is_empty());
        assert!(find("ts=1700000000000").is_empty());
        assert!(find("order 4155552671 shipped").is_empty());
        assert!(find("at 12:30:45 on 2023-10-05").is_empty());
        assert!(find("version 1.13.800.138").is_empty());
        assert!(find("80 ? 860 1550 2440 3530 and 600 700 800 900 1000").is_empty());
        assert!(find("bits 010 1100 1011").is_empty());
        assert!(find("472547338\n+960397912423686\n---").is_empty());
    }
}
