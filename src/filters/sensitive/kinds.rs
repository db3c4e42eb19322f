//! The one table of personal-data and secret types: a new type is its
//! detector's file, a variant of [`PiiType`], one line of [`KINDS`] and its
//! table in `rules/sensitive/pii.toml`.

use std::fmt;

use serde::Deserialize;

use super::scan::Detector;
use super::{card, cn_id, email, iban, ip, phone, secret, ssn};

/// A type of personal or secret information, in the order of [`KINDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PiiType {
    /// E-mail addresses.
    Email,
    /// Phone numbers.
    Phone,
    /// Public IPv4 and IPv6 addresses.
    Ip,
    /// Payment card numbers.
    Card,
    /// US social security numbers.
    Ssn,
    /// Chinese resident identity card numbers.
    CnId,
    /// International bank account numbers.
    Iban,
    /// API keys, tokens, private keys, credentials in URLs.
    Secret,
}

/// What the stage knows of one type.
pub struct Kind {
    /// The type.
    pub ty: PiiType,
    /// The name in rule files, rule ids and the `pii` column.
    pub name: &'static str,
    /// Which finding wins when two overlap: the higher rank, then the
    /// longer. Validated, specific formats outrank loose ones.
    pub rank: u8,
    /// Only looked for in texts with at least
    /// [`super::stage::MIN_DIGITS`] ASCII digits.
    pub needs_digits: bool,
    /// Example values compare by their digits and letters alone
    /// (`555-0100` is `5550100`).
    pub numeric_examples: bool,
    /// Builds the detector.
    pub detector: fn(&DetectorOptions) -> Result<Box<dyn Detector>, regex::Error>,
}

/// What the rule files say to a detector besides its type's table.
#[derive(Debug, Clone, Default)]
pub struct DetectorOptions {
    /// Public addresses only (`ip`).
    pub public_only: bool,
    /// Provider token formats (`secret`, from `sensitive/secrets/formats.toml`).
    pub secret_formats: Vec<secret::ProviderFormat>,
}

/// Every type, in the order of `pii.toml`, of the rule ids and of [`PiiType`].
pub static KINDS: [Kind; PiiType::COUNT] = [
    Kind {
        ty: PiiType::Email,
        name: "email",
        rank: 4,
        needs_digits: false,
        numeric_examples: false,
        detector: |_| Ok(Box::new(email::Email::new()?)),
    },
    Kind {
        ty: PiiType::Phone,
        name: "phone",
        rank: 1,
        needs_digits: true,
        numeric_examples: true,
        detector: |_| Ok(Box::new(phone::Phone::new()?)),
    },
    Kind {
        ty: PiiType::Ip,
        name: "ip",
        rank: 2,
        needs_digits: false,
        numeric_examples: false,
        detector: |o| Ok(Box::new(ip::Ip::new(o.public_only)?)),
    },
    Kind {
        ty: PiiType::Card,
        name: "card",
        rank: 5,
        needs_digits: true,
        numeric_examples: true,
        detector: |_| Ok(Box::new(card::Card::new()?)),
    },
    Kind {
        ty: PiiType::Ssn,
        name: "ssn",
        rank: 3,
        needs_digits: true,
        numeric_examples: true,
        detector: |_| Ok(Box::new(ssn::Ssn::new()?)),
    },
    Kind {
        ty: PiiType::CnId,
        name: "cn-id",
        rank: 7,
        needs_digits: true,
        numeric_examples: true,
        detector: |_| Ok(Box::new(cn_id::CnId::new()?)),
    },
    Kind {
        ty: PiiType::Iban,
        name: "iban",
        rank: 6,
        needs_digits: false,
        numeric_examples: true,
        detector: |_| Ok(Box::new(iban::IbanDetector::new()?)),
    },
    Kind {
        ty: PiiType::Secret,
        name: "secret",
        rank: 8,
        needs_digits: false,
        numeric_examples: false,
        detector: |o| Ok(Box::new(secret::Secret::with_providers(&o.secret_formats)?)),
    },
];

impl PiiType {
    /// Every type, in table order.
    pub const ALL: [PiiType; 8] = [
        PiiType::Email,
        PiiType::Phone,
        PiiType::Ip,
        PiiType::Card,
        PiiType::Ssn,
        PiiType::CnId,
        PiiType::Iban,
        PiiType::Secret,
    ];

    /// How many types there are: the length of per-type tables.
    pub const COUNT: usize = Self::ALL.len();

    /// Its line of [`KINDS`].
    pub fn kind(self) -> &'static Kind {
        &KINDS[self.index()]
    }

    /// Its position in [`KINDS`] and in per-type tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name in rule files, rule ids and the `pii` column.
    pub fn as_str(self) -> &'static str {
        self.kind().name
    }

    /// Parses a name.
    pub fn parse(name: &str) -> Option<PiiType> {
        KINDS.iter().find(|k| k.name == name).map(|k| k.ty)
    }

    /// Which finding wins when two overlap ([`Kind::rank`]).
    pub fn rank(self) -> u8 {
        self.kind().rank
    }
}

impl fmt::Display for PiiType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_type_once_in_order() {
        for (i, ty) in PiiType::ALL.into_iter().enumerate() {
            assert_eq!(KINDS[i].ty, ty);
            assert_eq!(ty.index(), i);
            assert_eq!(PiiType::parse(ty.as_str()), Some(ty));
            // The name is the serde name, as rule files write it.
            let parsed: PiiType = toml::Value::String(ty.as_str().into()).try_into().expect("serde name");
            assert_eq!(parsed, ty);
            let o = DetectorOptions {
                public_only: true,
                ..DetectorOptions::default()
            };
            assert!((KINDS[i].detector)(&o).expect("detector").ty() == ty);
        }
        let mut ranks: Vec<u8> = KINDS.iter().map(|k| k.rank).collect();
        ranks.sort();
        ranks.dedup();
        assert_eq!(ranks.len(), KINDS.len(), "ranks break ties, so each is distinct");
    }
}
