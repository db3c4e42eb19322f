//! `iban`: international bank account numbers.
//!
//! ## What it measures
//! A country code, two check digits and the account part, written together
//! or in groups of four with spaces or dashes (`DE89 3704 0044 0532 0130 00`,
//! `ES15-0049-1806-9121-1186-9374`, `ME 25 5403 0000 2379 9201 09`), or all in
//! lower case and together (`gb50mvfc38361978683032`), validated by the
//! `iban_validate` crate: the country must use IBANs, the length and the
//! account format must be that country's (SWIFT IBAN registry) and the
//! ISO 7064 mod-97 checksum must hold.
//!
//! ## Why
//! An IBAN identifies a person's bank account. The registry and checksum make
//! false positives (part numbers, product codes in capitals) very rare.
//!
//! ## Example
//! `Pay to GB82 WEST 1234 5698 7654 32 by Friday.` finds the IBAN.
//! Not found: `GB82 WEST 1234 5698 7654 33` (checksum), `DE89370400440532013`
//! (too short for Germany).
//!
//! ## Parameters
//! The common `action` and `placeholder` (default: redact as `<IBAN>`).

use iban::Iban;
use regex::Regex;

use super::scan::{after, before, Detector, Finding, PiiType};

/// Finds IBANs.
pub struct IbanDetector {
    re: Regex,
}

impl IbanDetector {
    /// The detector.
    pub fn new() -> Result<Self, regex::Error> {
        Ok(IbanDetector {
            re: Regex::new(
                r"[A-Z]{2} ?[0-9]{2}(?:[ \-]?[0-9A-Z]{4}){2,7}(?:[ \-]?[0-9A-Z]{1,3})?|[a-z]{2}[0-9]{2}[0-9a-z]{11,30}",
            )?,
        })
    }
}

fn valid(s: &str) -> bool {
    // One kind of separator between the groups (a space may also follow the
    // country code: `ME 25 5403 …`).
    let body = s.get(2..).unwrap_or("").trim_start();
    if body.contains(' ') && body.contains('-') {
        return false;
    }
    let compact: String = s
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    compact.parse::<Iban>().is_ok()
}

impl Detector for IbanDetector {
    fn ty(&self) -> PiiType {
        PiiType::Iban
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        // Every IBAN has at least 8 digits: most texts have fewer.
        if text.bytes().filter(u8::is_ascii_digit).nth(7).is_none() {
            return;
        }
        for m in self.re.find_iter(text) {
            if before(text, m.start(), 1).ends_with(|c: char| c.is_ascii_alphanumeric()) {
                continue;
            }
            let s = m.as_str();
            let mut end = s.len();
            loop {
                let cand = &s[..end];
                let next_ok = !after(text, m.start() + end, 1).starts_with(|c: char| c.is_ascii_alphanumeric());
                if next_ok && valid(cand) {
                    out.push(Finding::new(m.start(), m.start() + end, PiiType::Iban));
                    break;
                }
                match cand.rfind([' ', '-']) {
                    Some(i) if i > 4 => end = i,
                    _ => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(t: &str) -> Vec<&str> {
        crate::filters::sensitive::scan::found(&IbanDetector::new().expect("regex"), t)
    }

    #[test]
    fn finds_grouped_and_compact_ibans() {
        assert_eq!(
            find("Pay to GB82 WEST 1234 5698 7654 32 by Friday."),
            ["GB82 WEST 1234 5698 7654 32"]
        );
        assert_eq!(find("IBAN:DE89370400440532013000"), ["DE89370400440532013000"]);
        assert_eq!(
            find("账户 FR14 2004 1010 0505 0001 3M02 606 AND MORE"),
            ["FR14 2004 1010 0505 0001 3M02 606"]
        );
    }

    #[test]
    fn skips_bad_checksums_and_lengths() {
        assert!(find("GB82 WEST 1234 5698 7654 33").is_empty());
        assert!(find("DE89370400440532013").is_empty());
        assert!(find("SKU AB12 CDEF 3456 7890").is_empty());
    }
}
