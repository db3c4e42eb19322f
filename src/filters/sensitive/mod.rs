//! Sensitive content: personal data, secrets and toxic words.
//!
//! The `sensitive` stage runs after `quality`. For every message of a record
//! (the system prompt is message 0 when there is one) it runs one detector
//! per enabled PII type ([`email`], [`phone`], [`ip`], [`card`], [`ssn`],
//! [`cn_id`], [`iban`], [`secret`]), keeps the best of overlapping findings
//! (validated, specific formats win over loose ones) and then acts per type,
//! as `rules/sensitive/pii.toml` says:
//!
//! - every finding goes to the record's `pii` column: message index, start
//!   and end in Unicode characters of the original text, and the type
//!   (`secret:<kind>` for secrets);
//! - `redact` replaces it with the type's placeholder (`<EMAIL>`), in the
//!   messages and in the `raw` column;
//! - `drop` drops the record with the rule `sensitive/pii-<type>`, the
//!   number of findings as the value and 0 as the threshold; the value is
//!   masked with the placeholder as well, so the rejected shards kept for
//!   audit do not carry the secret or the id;
//! - `tag` adds the tag `pii:<type>`;
//! - example and documentation values (`examples`, e.g. `*@example.com`) are
//!   `example:<type>` findings, and values the instruction asks to generate,
//!   validate or extract (`[task]`) are tagged: both stay in the text
//!   ([`examples`]).
//!
//! The report counts findings per type and action (`pii/email/redact`).
//! Then the word-list rules of the other `rules/sensitive/*.toml` files
//! ([`toxic`]) measure the redacted record and drop it or tag it.
//!
//! ## Validation, and what is hand-written
//! Detectors find candidates with regular expressions (`regex`, linear time)
//! and keep only those that pass the format's own checks: Luhn plus issuer
//! prefix and length for cards, the mod 11-2 checksum plus birth date and
//! province for Chinese ids, the SSA's never-issued ranges for SSNs,
//! numbering plans for phones, routable ranges for IP addresses.
//!
//! Crates considered:
//! - IBAN: `iban_validate` (maintained, no heavy dependencies, carries the
//!   SWIFT registry's per-country length and BBAN format, and checks
//!   mod-97). Used: a hand-written check would need that registry.
//! - Luhn: the `luhn` crate (1.0) validates a string of digits; the check is
//!   ten lines and we already hold the digits, so it is hand-written in
//!   [`scan::luhn`] rather than adding a dependency.
//! - Phone numbers: the `phonenumber` crate (a port of libphonenumber) parses
//!   one candidate at a time with per-country metadata, which costs a build
//!   of the metadata and far more per candidate than this stage's budget; and
//!   its validity check rejects the fictional `555` numbers that fill
//!   generated instruction data and that a privacy reviewer still wants
//!   redacted. The shapes we need (E.164, North American, Chinese mobile and
//!   landline) are matched by hand with their numbering-plan checks.
//! - IP addresses: the standard library parses both families; the public
//!   range test is written out because `is_global` is not stable.
//! - Multi-pattern matching: `aho-corasick` for word lists and for the
//!   literal prefixes that decide which secret formats to try.

pub mod card;
pub mod cn_id;
mod config;
pub mod email;
pub mod examples;
pub mod iban;
pub mod ip;
pub mod kinds;
pub mod phone;
pub mod scan;
pub mod secret;
pub mod ssn;
mod stage;
pub mod toxic;

pub use config::{PiiAction, PII_FILE};
pub use scan::{Detector, Finding, PiiType};
pub use stage::{build, resolve, SensitiveStage};

#[cfg(test)]
mod library_dev {
    use super::scan::{Detector, Finding};

    /// fixtures/sensitive/library_dev.jsonl: Faker's cards of every type it
    /// knows, IBANs of 20 locales and IPv6 addresses, in the forms people
    /// write (spaces, dashes, no-break spaces, lower case, short groups):
    /// every one is found, and nothing else (`scripts/eval/make_library_pii_dev.py`).
    #[test]
    fn cards_ibans_and_ipv6_of_the_library_set_are_all_found() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sensitive/library_dev.jsonl");
        let text = std::fs::read_to_string(path).expect("library_dev.jsonl");
        let detectors: Vec<(&str, Box<dyn Detector>)> = vec![
            ("card", Box::new(super::card::Card::new().expect("regex"))),
            ("iban", Box::new(super::iban::IbanDetector::new().expect("regex"))),
            ("ip", Box::new(super::ip::Ip::new(true).expect("regex"))),
        ];
        let mut per_type = std::collections::BTreeMap::new();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            let t = v["text"].as_str().expect("text");
            let span = &v["spans"][0];
            let ty = span[2].as_str().expect("type");
            let at = |i: usize| {
                let c = span[i].as_u64().expect("offset") as usize;
                t.char_indices().nth(c).map_or(t.len(), |(b, _)| b)
            };
            let (s, e) = (at(0), at(1));
            let mut found: Vec<(&str, Finding)> = Vec::new();
            for (name, d) in &detectors {
                let mut out = Vec::new();
                d.find(t, &mut out);
                found.extend(out.into_iter().map(|f| (*name, f)));
            }
            let exact = found.iter().any(|(n, f)| *n == ty && f.start == s && f.end == e);
            // Another type's finding inside the span loses to it in the stage
            // (the higher rank wins: an IBAN's digits may pass as a card).
            let gold = super::PiiType::parse(ty).expect("type");
            let stray = found
                .iter()
                .filter(|(n, f)| *n != ty && !(f.start < e && s < f.end && gold.rank() > f.ty.rank()))
                .count();
            let entry = per_type.entry(ty.to_string()).or_insert((0, 0, 0));
            entry.0 += 1;
            entry.1 += usize::from(exact);
            entry.2 += stray;
            assert!(
                exact && stray == 0,
                "{ty} in {t:?}: {:?}",
                found.iter().map(|(n, f)| (n, &t[f.start..f.end])).collect::<Vec<_>>()
            );
        }
        assert_eq!(per_type.values().map(|v| v.0).sum::<usize>(), 150);
    }

    /// fixtures/sensitive/secret_dev.jsonl: random secrets assigned to the
    /// names services document, in eight syntaxes, and 30 assignments of
    /// placeholders, lookups and calls (`scripts/eval/make_secret_dev.py`).
    #[test]
    fn assigned_secrets_are_found_and_placeholders_are_not() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sensitive/secret_dev.jsonl");
        let text = std::fs::read_to_string(path).expect("secret_dev.jsonl");
        let d = super::secret::Secret::new().expect("regex");
        let (mut gold, mut found, mut wrong) = (0, 0, Vec::new());
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("json");
            let t = v["text"].as_str().expect("text");
            let mut out = Vec::new();
            d.find(t, &mut out);
            match v["spans"].as_array().expect("spans").first() {
                Some(span) => {
                    gold += 1;
                    let at = |i: usize| {
                        let c = span[i].as_u64().expect("offset") as usize;
                        t.char_indices().nth(c).map_or(t.len(), |(b, _)| b)
                    };
                    found += usize::from(out.iter().any(|f| f.start == at(0) && f.end == at(1)));
                }
                None => wrong.extend(out.iter().map(|f| t[f.start..f.end].to_string())),
            }
        }
        assert_eq!(gold, 60);
        assert_eq!(found, 60);
        assert!(wrong.is_empty(), "{wrong:?}");
    }
}
