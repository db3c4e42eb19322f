//! `card`: payment card numbers.
//!
//! ## What it measures
//! Runs of 12 to 19 digits, plain or grouped with one kind of separator
//! (spaces or dashes) in a card's groups (4-4-4-4, 4-6-5, …), that pass
//! three checks: the Luhn checksum, an issuer
//! prefix (Visa 13, 16 or 19 digits, Mastercard with the 2-series, American
//! Express, Discover, JCB with the 15-digit 1800/2131, Diners Club, UnionPay,
//! Maestro from 12 digits, Mir, RuPay) and a length that issuer uses.
//!
//! ## Why
//! Card numbers are the classic financial PII. Validation is what makes the
//! detector usable: a random 16-digit number passes Luhn one time in ten and
//! needs a real issuer prefix too, so order numbers, hashes and IDs are not
//! mistaken for cards.
//!
//! ## Example
//! `Card: 4111 1111 1111 1111, exp 12/25` finds the number.
//! Not found: `4111 1111 1111 1112` (Luhn fails), `1234567890123456` (no
//! issuer starts with 1), `ISBN 9780306406157` (a reference).
//!
//! ## Parameters
//! The common `action` and `placeholder` (default: redact as `<CARD>`).

use regex::Regex;

use super::scan::{all_same, bounded, digits, is_reference, luhn, Detector, Finding, PiiType};

/// Finds card numbers.
pub struct Card {
    re: Regex,
}

impl Card {
    /// The detector.
    pub fn new() -> Result<Self, regex::Error> {
        Ok(Card {
            re: Regex::new(r"[0-9]{4}(?:[ \-\u{a0}\u{2009}\u{202f}]?[0-9]{1,6}){1,5}")?,
        })
    }
}

fn prefix(d: &[u8], n: usize) -> u32 {
    d.iter().take(n).fold(0, |a, &x| a * 10 + u32::from(x))
}

/// Whether `d` has an issuer prefix with a length that issuer uses.
pub fn issuer_ok(d: &[u8]) -> bool {
    let len = d.len();
    let p1 = prefix(d, 1);
    let p2 = prefix(d, 2);
    let p3 = prefix(d, 3);
    let p4 = prefix(d, 4);
    let p6 = prefix(d, 6);
    // Visa: the lengths it issues (13-19 allowed; a 15-digit IMEI such as
    // 490154203237518 passes Luhn and starts with 4).
    (p1 == 4 && matches!(len, 13 | 16 | 19)) // Visa
        || (((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16) // Mastercard
        || ((p2 == 34 || p2 == 37) && len == 15) // American Express
        || ((p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622126..=622925).contains(&p6))
            && (16..=19).contains(&len)) // Discover
        || (p2 == 35 && (16..=19).contains(&len)) // JCB (3528-3589 assigned; 35 as card generators write it)
        || ((p4 == 1800 || p4 == 2131) && len == 15) // JCB, 15 digits
        || ((2200..=2204).contains(&p4) && (16..=19).contains(&len)) // Mir
        || ((p2 == 60 || p2 == 65 || p2 == 81 || p2 == 82 || p3 == 508) && len == 16) // RuPay
        || (((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39) && (14..=19).contains(&len)) // Diners
        || (p2 == 62 && (16..=19).contains(&len)) // UnionPay
        || ((p2 == 50 || (56..=69).contains(&p2)) && (12..=19).contains(&len)) // Maestro (12 digits too)
}

/// Whether the groups of a separated number have a card's shape: fours (the
/// last may be shorter or a little longer), or American Express and Diners
/// 4-6-5 / 4-6-4. `67570000-64102140` (a subtraction) is not.
fn card_groups(s: &str) -> bool {
    let g: Vec<usize> = s
        .split([' ', '-', '\u{a0}', '\u{2009}', '\u{202f}'])
        .map(|g| g.chars().count())
        .collect();
    if g.len() == 1 {
        return true;
    }
    let fours = g[..g.len() - 1].iter().all(|&n| n == 4) && (1..=4).contains(&g[g.len() - 1]);
    fours || g == [4, 6, 5] || g == [4, 6, 4]
}

fn valid(s: &str) -> bool {
    if !card_groups(s) {
        return false;
    }
    let d = digits(s);
    (12..=19).contains(&d.len()) && !all_same(&d) && issuer_ok(&d) && luhn(&d)
}

impl Detector for Card {
    fn ty(&self) -> PiiType {
        PiiType::Card
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        // A card number has at least 12 digits: most texts have fewer.
        if text.bytes().filter(u8::is_ascii_digit).nth(11).is_none() {
            return;
        }
        for m in self.re.find_iter(text) {
            let s = m.as_str();
            let seps: Vec<char> = s.chars().filter(|c| !c.is_ascii_digit()).collect();
            if seps.windows(2).any(|w| w[0] != w[1]) {
                continue;
            }
            // Try the whole run, then without trailing groups (`… 1111 2025`).
            let mut end = s.len();
            loop {
                let cand = &s[..end];
                if valid(cand) && bounded(text, m.start(), m.start() + end) && !is_reference(text, m.start()) {
                    out.push(Finding::new(m.start(), m.start() + end, PiiType::Card));
                    break;
                }
                match cand.rfind([' ', '-', '\u{a0}', '\u{2009}', '\u{202f}']) {
                    Some(i) if !seps.is_empty() => end = i,
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
        crate::filters::sensitive::scan::found(&Card::new().expect("regex"), t)
    }

    /// A no-break or thin space between the groups, as word processors write.
    #[test]
    fn finds_numbers_grouped_with_no_break_spaces() {
        assert_eq!(
            find("Card 4111\u{a0}1111\u{a0}1111\u{a0}1111 expires"),
            ["4111\u{a0}1111\u{a0}1111\u{a0}1111"]
        );
        assert_eq!(
            find("Card 4111\u{202f}1111\u{202f}1111\u{202f}1111."),
            ["4111\u{202f}1111\u{202f}1111\u{202f}1111"]
        );
        assert!(find("Card 4111\u{a0}1111 1111-1111").is_empty());
    }

    #[test]
    fn finds_valid_cards_of_each_issuer() {
        assert_eq!(find("Card: 4111 1111 1111 1111, exp 12/25"), ["4111 1111 1111 1111"]);
        assert_eq!(find("amex 3782-822463-10005"), ["3782-822463-10005"]);
        assert_eq!(
            find("MC 5555555555554444 and UnionPay 6212345678901265"),
            ["5555555555554444", "6212345678901265"]
        );
        assert_eq!(find("卡号：6011111111111117。"), ["6011111111111117"]);
        assert_eq!(find("4111 1111 1111 1111 2025"), ["4111 1111 1111 1111"]);
    }

    #[test]
    fn skips_bad_checksums_unknown_issuers_and_references() {
        assert!(find("4111 1111 1111 1112").is_empty());
        assert!(find("1234567890123452").is_empty());
        assert!(find("ISBN 9780306406157").is_empty());
        assert!(find("sha 40111111111111111a").is_empty());
        assert!(find("4111-1111 1111-1111").is_empty());
        assert!(find("Calculate(\"67570000-64102140\")").is_empty());
    }
}
