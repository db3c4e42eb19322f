//! `cn-id`: Chinese resident identity card numbers (居民身份证号码).
//!
//! ## What it measures
//! 18 characters: a 6-digit address code whose first two digits name a
//! province-level division, a birth date `YYYYMMDD` that exists (1850-2099,
//! leap years included), a 3-digit sequence and a check character (`0`-`9`
//! or `X`) that must equal the ISO 7064 MOD 11-2 checksum of the first 17.
//!
//! ## Why
//! The number identifies one person for life and is a government id, so
//! records with one are dropped by default. The checksum alone rejects ten in
//! eleven random 18-digit runs; with the date and province checks, order
//! numbers and timestamps of that length are not mistaken for ids.
//!
//! ## Example
//! `身份证号：11010519491231002X` finds the number. Not found:
//! `110105194912310021` (wrong check character), `110105194913310028`
//! (month 13), `990105194912310025` (no province 99).
//!
//! ## Parameters
//! The common `action` and `placeholder` (default: drop the record; the
//! placeholder for `redact` is `<CN_ID>`).

use regex::Regex;

use super::scan::{bounded, Detector, Finding, PiiType};

/// Province-level codes (first two digits).
const PROVINCES: &[u8] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
    64, 65, 71, 81, 82, 83, 91,
];
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// Finds Chinese resident id numbers.
pub struct CnId {
    re: Regex,
}

impl CnId {
    /// The detector.
    pub fn new() -> Result<Self, regex::Error> {
        Ok(CnId {
            re: Regex::new(r"[1-9][0-9]{16}[0-9Xx]")?,
        })
    }
}

fn leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn num(b: &[u8]) -> u32 {
    b.iter().fold(0, |a, &x| a * 10 + u32::from(x - b'0'))
}

/// Whether an 18-character id is valid (province, date, checksum).
pub fn cn_id_ok(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let province = num(&b[..2]) as u8;
    let (y, m, d) = (num(&b[6..10]), num(&b[10..12]), num(&b[12..14]));
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap(y) => 29,
        2 => 28,
        _ => 0,
    };
    if !PROVINCES.contains(&province) || !(1850..=2099).contains(&y) || d == 0 || d > days {
        return false;
    }
    let sum: u32 = b[..17].iter().zip(WEIGHTS).map(|(&c, w)| u32::from(c - b'0') * w).sum();
    CHECK[(sum % 11) as usize] == b[17].to_ascii_uppercase()
}

impl Detector for CnId {
    fn ty(&self) -> PiiType {
        PiiType::CnId
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        for m in self.re.find_iter(text) {
            if cn_id_ok(m.as_str()) && bounded(text, m.start(), m.end()) {
                out.push(Finding::new(m.start(), m.end(), PiiType::CnId));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(t: &str) -> Vec<&str> {
        crate::filters::sensitive::scan::found(&CnId::new().expect("regex"), t)
    }

    #[test]
    fn finds_valid_ids_with_either_check_character() {
        assert_eq!(find("身份证号：11010519491231002X。"), ["11010519491231002X"]);
        assert_eq!(find("ID 440524188001010014 here"), ["440524188001010014"]);
    }

    #[test]
    fn skips_bad_checksums_dates_and_provinces() {
        assert!(find("110105194912310021").is_empty());
        assert!(find("110105194913310028").is_empty());
        assert!(find("990105194912310025").is_empty());
        assert!(find("1101051949123100211").is_empty());
        assert!(!cn_id_ok("110105190002290010"));
    }
}
