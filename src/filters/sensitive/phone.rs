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
//!   `(02) 9374 4000`;
//! - grouped national numbers as the numbering plans of Europe, Latin America
//!   and Asia write them, 7 to 12 digits in 2 to 5 groups: with an area code
//!   in parentheses (`(21) 9249-7822`, `8 (912) 345-67-89`) or a trunk `0`
//!   (`01 23 45 67 89`, `078 123 45 67`, `05.06.52.16.25`) they are numbers by
//!   their shape; spaced groups alone (`912 345 678`, `2123 4567`,
//!   `439 4166`) are also counts, amounts or codes, so they need a phone word
//!   (`call`, `tel`, `dial`, `reach me`, `电话`, …) in the 40 bytes before;
//!   thousands (`1 402 112 000`), dates (`05.06.2023`) and runs of more than
//!   five pairs (`05 12 23 34 41 49`) are never phone numbers;
//! - `00` in place of `+` (`00420 702 914 177`), and an extension after any
//!   of them (`650-752-7354x549`, `ext. 12`) as part of the number.
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
//! ## Why not libphonenumber's plans
//! Measured in `scripts/eval/phonecmp/` on `phone_dev.jsonl` (140 numbers of
//! 42 regions): this detector finds 0.871 at precision 1.000. The
//! `phonenumber` crate validates but does not find, and validation needs a
//! region: with the one a record gives away (US, or CN for Chinese text),
//! precision 0.985 but recall 0.457; with any of 40 regions, recall 0.929 but
//! precision 0.839 on the same set and about 0.07 on real records, as the
//! union of the plans accepts dates, decimals and IP addresses.
//!
//! ## Parameters
//! The common `action` and `placeholder` of `pii.toml` (default: redact as
//! `<PHONE>`).

use regex::Regex;

use super::scan::{all_same, before, bounded, digits, is_reference, Detector, Finding, PiiType};

/// Words that make a bare digit run a phone number.
const PHONE_WORDS: &[&str] = &[
    "phone",
    "call",
    "tel",
    "mobile",
    "cell",
    "fax",
    "contact",
    "whatsapp",
    "dial",
    "reach me",
    "reach us",
    "reach her",
    "reach him",
    "text me",
    "sms",
    "ring",
    "电话",
    "手机",
    "致电",
    "联系",
    "拨打",
    "号码",
];

/// Finds phone numbers.
pub struct Phone {
    intl: Regex,
    grouped: Regex,
    bare: Regex,
    ext: Regex,
    nanp: Regex,
    nanp_bare: Regex,
    cn_mobile: Regex,
    national: Regex,
}

impl Phone {
    /// The detector.
    pub fn new() -> Result<Self, regex::Error> {
        Ok(Phone {
            intl: Regex::new(
                r"(?:\+|(?-u:\b)00)[1-9][0-9]{0,2}(?:[ .\-\u{a0}\u{2009}\u{202f}]?\(?[0-9]{1,5}\)?){1,6}",
            )?,
            grouped: Regex::new(
                r"(?:\([0-9]{1,4}\)|[0-9]{1,5})(?:(?:[ .\-\u{a0}\u{2009}\u{202f}]|[ \u{a0}\u{2009}\u{202f}]?[\-.][ \u{a0}\u{2009}\u{202f}]?)?\([0-9]{1,4}\)|[ .\-\u{a0}\u{2009}\u{202f}]?[0-9]{1,8}){1,5}",
            )?,
            bare: Regex::new(r"[0-9]{7,12}")?,
            ext: Regex::new(
                r"^(?:[ \u{a0}\u{2009}\u{202f}]?(?:x|ext\.?|extension)[ \u{a0}\u{2009}\u{202f}]?|[ \u{a0}\u{2009}\u{202f}]?#)[0-9]{1,6}",
            )?,
            nanp: Regex::new(
                r"(?:(?-u:\b)1[ .\-\u{a0}\u{2009}\u{202f}]?)?(?:\([0-9]{3}\)[ .\-\u{a0}\u{2009}\u{202f}]?|[0-9]{3}[ .\-\u{a0}\u{2009}\u{202f}])[0-9]{3}[ .\-\u{a0}\u{2009}\u{202f}][0-9]{4}",
            )?,
            nanp_bare: Regex::new(r"[2-9][0-9]{2}[2-9][0-9]{6}")?,
            cn_mobile: Regex::new(
                r"(?:86[ \-\u{a0}\u{2009}\u{202f}]?)?1[3-9][0-9](?:[0-9]{8}|[ \-\u{a0}\u{2009}\u{202f}][0-9]{4}[ \-\u{a0}\u{2009}\u{202f}][0-9]{4})",
            )?,
            national: Regex::new(
                r"(?:\(0[1-9][0-9]{0,3}\)|0[1-9][0-9]{0,3}[ \-\u{a0}\u{2009}\u{202f}])[ \u{a0}\u{2009}\u{202f}]?[0-9]{2,4}[ \-\u{a0}\u{2009}\u{202f}]?[0-9]{3,4}(?:[ \-\u{a0}\u{2009}\u{202f}][0-9]{3,4})?",
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

/// Whether a phone word (whole: `string` holds no `ring`, `iPhone` no
/// `phone`) is in `hay`.
fn cue_in(hay: &str) -> bool {
    let lower = hay.to_ascii_lowercase();
    let b = lower.as_bytes();
    PHONE_WORDS.iter().any(|w| {
        lower.match_indices(w).any(|(i, _)| {
            let ascii = w.is_ascii();
            !ascii
                || ((i == 0 || !b[i - 1].is_ascii_alphabetic())
                    && b.get(i + w.len())
                        .is_none_or(|c| !c.is_ascii_alphabetic() || *w == "call" || *w == "tel"))
        })
    })
}

/// Whether a run of digit groups (`grouped`) is a national phone number:
/// 7 to 12 digits in 2 to 6 groups of 1 to 5 digits (a longer last group
/// after an area code in parentheses). By its shape when the area code
/// leads in parentheses (`(21) 9249-7822`, `8 (912) 345-67-89`) or a trunk
/// `0` leads at least three groups, or the groups are five dotted pairs
/// (`05.06.52.16.25`); else only when `cue` says a phone number follows.
/// Thousands, dates, decimals, addresses (`192.168.1.1`), bit strings and
/// runs of more than five pairs never are.
fn grouped_ok(s: &str, cue: impl Fn() -> bool) -> bool {
    let groups: Vec<&str> = s
        .split([' ', '.', '-', '(', ')', '\u{a0}', '\u{2009}', '\u{202f}'])
        .filter(|g| !g.is_empty())
        .collect();
    let d = digits(s);
    if !(7..=12).contains(&d.len()) || !(2..=6).contains(&groups.len()) || all_same(&d) || d.iter().all(|&x| x <= 1) {
        return false;
    }
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    // The area code in parentheses leads: `(21) …`, `8 (912) …`, `0 (…`.
    let paren = s.starts_with('(') || s.starts_with("8 (") || s.starts_with("8(") || s.starts_with("0 (");
    if s.contains('(') && !paren {
        return false;
    }
    let dotted = s.contains('.');
    if dotted && !(lens.len() == 5 && lens.iter().all(|&l| l == 2) && !s.contains([' ', '-', '('])) {
        return false;
    }
    let long = lens.iter().any(|&l| l > 5);
    if long && !(paren && lens.len() >= 2) && !cue() {
        return false;
    }
    // 1 402 112 000: thousands, unless 9 or 10 spaced digits after a phone word.
    let thousands = !paren && lens[0] <= 3 && lens[1..].iter().all(|&l| l == 3);
    // 2023-10-15, 1914-1918, 05.06.
    let date =
        lens.len() <= 3 && !paren && s.contains(['-', '.']) && (lens.contains(&4) || lens.iter().all(|&l| l <= 2));
    // 05 12 23 34 41 49: six pairs are no plan's number.
    let pairs = lens.len() > 5;
    if thousands || date || pairs {
        return thousands
            && !date
            && !pairs
            && lens.len() >= 3
            && !s.contains(['.', '-'])
            && (9..=10).contains(&d.len())
            && cue();
    }
    let trunk = d[0] == 0 && lens.len() >= 3;
    paren || trunk || dotted || cue()
}

fn cn_mobile_ok(d: &[u8]) -> bool {
    d.len() == 11 && d[0] == 1 && (3..=9).contains(&d[1])
}

impl Detector for Phone {
    fn ty(&self) -> PiiType {
        PiiType::Phone
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        // Every shape has at least 7 digits: most texts have fewer.
        if text.bytes().filter(u8::is_ascii_digit).nth(6).is_none() {
            return;
        }
        let mut push = |s: usize, e: usize| {
            let e = e + self.ext.find(&text[e..]).map_or(0, |m| m.end());
            if bounded(text, s, e) && !is_reference(text, s) {
                out.push(Finding::new(s, e, PiiType::Phone));
            }
        };
        for m in self.intl.find_iter(text) {
            let s = m.as_str().trim_end_matches(['(', ' ', '.', '-']);
            let mut d = digits(s);
            if let Some(rest) = s.strip_prefix("00") {
                // `00` dials out as `+` does; written with groups only.
                if !rest.contains([' ', '-', '.', '(']) {
                    continue;
                }
                d.drain(..2);
            }
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
                && (!spaced || cue_in(before(text, m.start(), 40)))
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
                .split([' ', '-', '(', ')', '\u{a0}', '\u{2009}', '\u{202f}'])
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
        for m in self.grouped.find_iter(text) {
            let s = m.as_str();
            if grouped_ok(s, || cue_in(before(text, m.start(), 40)))
                && !text[..m.start()].ends_with(['+', '0'])
                && !arithmetic(text, m.start())
            {
                push(m.start(), m.end());
            }
        }
        for m in self.nanp_bare.find_iter(text) {
            if nanp_ok(&digits(m.as_str()), true) && cue_in(before(text, m.start(), 40)) {
                push(m.start(), m.end());
            }
        }
        // A bare run of 7 to 12 digits right after a phone word
        // (`My phone number is 88142806`, `Tel: 0814280666`).
        for m in self.bare.find_iter(text) {
            let d = digits(m.as_str());
            if !all_same(&d)
                && d.iter().any(|&x| x > 1)
                && cue_in(before(text, m.start(), 24))
                && !arithmetic(text, m.start())
            {
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
    fn finds_national_numbers_of_other_plans_by_shape_or_after_a_phone_word() {
        for t in [
            "(21) 9249-7822",
            "8 (912) 345-67-89",
            "01 23 45 67 89",
            "05.06.52.16.25",
            "078 123 45 67",
            "00420 702 914 177",
            "(601) 2345678",
        ] {
            assert_eq!(find(&format!("Anna, {t}, 12 Harbour Road.")), [t], "{t}");
        }
        assert_eq!(
            find("Call 650-752-7354x549 or +1-537-640-6812 ext. 41"),
            ["650-752-7354x549", "+1-537-640-6812 ext. 41"]
        );
        assert_eq!(find("Tel: 01 234567890"), ["01 234567890"]);
        assert_eq!(find("My phone number is 88142806."), ["88142806"]);
        assert_eq!(find("Please dial 912 345 678 for the nurse."), ["912 345 678"]);
        assert_eq!(find("联系电话：2123 4567"), ["2123 4567"]);
        assert_eq!(find("Call (415)\u{a0}555-2671 today"), ["(415)\u{a0}555-2671"]);
        assert_eq!(
            find("Tel. +44\u{202f}20\u{202f}7946\u{202f}0958"),
            ["+44\u{202f}20\u{202f}7946\u{202f}0958"]
        );
        // Spaced groups without a phone word are counts as often as numbers.
        assert!(find("I left 912 345 678 on the fridge.").is_empty());
    }

    /// Shapes met in ../shared/corpora that are no phone numbers.
    #[test]
    fn skips_decimals_addresses_bit_strings_and_arithmetic() {
        for t in [
            "Create an algorithm that XORs two binary strings.\n11001101 and 01111101",
            "There are approximately 0.621371 miles in a kilometer.",
            "10(11111)*4! - 10(1111)3! = 2599980",
            "C. 75 - 0.4756(14)\nD. 75 - 0.5244(14)",
            "std::string ip = \"192.168.1.1\";",
            "苹果 iPhone 11 (1) 999.99 美元",
            "Convert it to a human-readable datetime string.\n1633049473",
            "The population reached 1 402 112 000 in 2020.",
            "The meeting moved to 05.06.2023 at 10:30.",
            "The lottery numbers were 05 12 23 34 41 49.",
            "Invoice 2023-0415-7789 is still unpaid.",
        ] {
            assert!(find(t).is_empty(), "{t}: {:?}", find(t));
        }
    }

    /// fixtures/sensitive/phone_dev.jsonl: libphonenumber's example numbers of
    /// 42 regions and Faker's numbers of 28 locales in sentences, and 37
    /// number-shaped texts that are no phone numbers
    /// (`scripts/eval/make_phone_dev.py`).
    #[test]
    fn phone_dev_set_recall_and_precision() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sensitive/phone_dev.jsonl");
        let text = std::fs::read_to_string(path).expect("phone_dev.jsonl");
        let (mut gold, mut found, mut predicted, mut right) = (0, 0, 0, 0);
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            let t = v["text"].as_str().expect("text");
            // Char offsets, as the set writes them.
            let spans: Vec<(usize, usize)> = v["spans"]
                .as_array()
                .expect("spans")
                .iter()
                .map(|s| {
                    let at = |i: usize| {
                        t.char_indices()
                            .nth(s[i].as_u64().expect("offset") as usize)
                            .map_or(t.len(), |(b, _)| b)
                    };
                    (at(0), at(1))
                })
                .collect();
            let mut out = Vec::new();
            Phone::new().expect("regex").find(t, &mut out);
            out.sort_by_key(|f| f.start);
            out.dedup_by(|a, b| a.start < b.end);
            gold += spans.len();
            found += spans
                .iter()
                .filter(|(s, e)| out.iter().any(|f| f.start < *e && *s < f.end))
                .count();
            predicted += out.len();
            right += out
                .iter()
                .filter(|f| spans.iter().any(|(s, e)| f.start < *e && *s < f.end))
                .count();
        }
        assert_eq!(gold, 140);
        let (recall, precision) = (found as f64 / gold as f64, right as f64 / predicted as f64);
        assert!(
            recall >= 0.85 && precision >= 0.99,
            "recall {recall:.3} precision {precision:.3}"
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
