//! `ssn`: US social security numbers.
//!
//! ## What it measures
//! `AAA-GG-SSSS` (dashes or spaces, the same separator twice), or nine bare
//! digits when `SSN` or `social security` is written just before. Numbers the
//! Social Security Administration never issues are skipped: area `000`, `666`
//! or `900`-`999`, group `00`, serial `0000`, and the numbers published as
//! examples (`078-05-1120`, `219-09-9999`, `123-45-6789`).
//!
//! ## Why
//! An SSN is a government identifier that enables identity theft; records
//! with one are dropped by default. The invalid ranges cut most false
//! positives among 3-2-4 digit groups.
//!
//! ## Example
//! `My SSN is 536-22-8514.` finds the number. Not found: `000-12-3456`,
//! `666-12-3456`, `912-34-5678`, `078-05-1120`, `536-22-85145`.
//!
//! ## Parameters
//! The common `action` and `placeholder` (default: drop the record; the
//! placeholder for `redact` is `<SSN>`).

use regex::Regex;

use super::scan::{before, bounded, contains_any, digits, is_reference, Detector, Finding, PiiType};

const EXAMPLES: &[&str] = &["078051120", "219099999", "123456789"];
const SSN_WORDS: &[&str] = &["ssn", "social security", "社会安全号"];

/// Finds US social security numbers.
pub struct Ssn {
    grouped: Regex,
    bare: Regex,
}

impl Ssn {
    /// The detector.
    pub fn new() -> Result<Self, regex::Error> {
        Ok(Ssn {
            grouped: Regex::new(r"[0-9]{3}([ \-])[0-9]{2}[ \-][0-9]{4}")?,
            bare: Regex::new(r"[0-9]{9}")?,
        })
    }
}

/// Whether nine digits can be an issued SSN.
pub fn ssn_ok(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let area = u32::from(d[0]) * 100 + u32::from(d[1]) * 10 + u32::from(d[2]);
    let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
    area != 0
        && area != 666
        && area < 900
        && d[3..5] != [0, 0]
        && d[5..] != [0, 0, 0, 0]
        && !EXAMPLES.contains(&s.as_str())
}

impl Detector for Ssn {
    fn ty(&self) -> PiiType {
        PiiType::Ssn
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        for c in self.grouped.captures_iter(text) {
            let Some(m) = c.get(0) else { continue };
            let sep = c.get(1).map_or("", |s| s.as_str());
            if m.as_str()[6..7] != *sep {
                continue;
            }
            if ssn_ok(&digits(m.as_str())) && bounded(text, m.start(), m.end()) && !is_reference(text, m.start()) {
                out.push(Finding::new(m.start(), m.end(), PiiType::Ssn));
            }
        }
        for m in self.bare.find_iter(text) {
            if ssn_ok(&digits(m.as_str()))
                && bounded(text, m.start(), m.end())
                && contains_any(before(text, m.start(), 30), SSN_WORDS)
            {
                out.push(Finding::new(m.start(), m.end(), PiiType::Ssn));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(t: &str) -> Vec<&str> {
        crate::filters::sensitive::scan::found(&Ssn::new().expect("regex"), t)
    }

    #[test]
    fn finds_grouped_and_labelled_numbers() {
        assert_eq!(find("My SSN is 536-22-8514."), ["536-22-8514"]);
        assert_eq!(find("SSN: 536228514"), ["536228514"]);
        assert_eq!(find("id 536 22 8514"), ["536 22 8514"]);
    }

    #[test]
    fn skips_invalid_ranges_examples_and_longer_numbers() {
        for t in [
            "000-12-3456",
            "666-12-3456",
            "912-34-5678",
            "536-00-8514",
            "536-22-0000",
            "078-05-1120",
        ] {
            assert!(find(t).is_empty(), "{t}");
        }
        assert!(find("536-22-85145").is_empty());
        assert!(find("536-22 8514").is_empty());
        assert!(find("order 536228514").is_empty());
    }
}
