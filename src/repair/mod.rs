//! The `repair` stage: fix what can be fixed before the quality rules judge a
//! record, instead of dropping it.
//!
//! Each kind of fix is one file; `rules/repair.toml` turns each on or off. A fix
//! changes the text of the record's messages (system prompt and turns); the
//! `raw` column keeps the record as it was read. Every fix that changed a record
//! adds a tag `repaired:<kind>` (so `audit --id`, `explain` and the kept shards
//! show it) and is counted in the stage report (`repair/<kind>`).
//!
//! Fixes, in the order they run:
//! - `escapes` ([`escapes`]): literal `\n`/`\t` two-character escapes in a text
//!   without a real line break become line breaks and tabs;
//! - `html-entities` ([`entities`]): a text escaped as HTML (`&lt;表&gt;`)
//!   without any raw `<`/`>` is unescaped;
//! - `mojibake` ([`mojibake`]): UTF-8 read as cp1252/Latin-1 (`Â°C`, `â€“`) is
//!   read back, also inside code;
//! - `zero-width` ([`unicode`]): zero-width spaces, word joiners and stray byte
//!   order marks are removed (joiners that shape emoji and scripts are kept);
//! - `nfc` ([`unicode`]): text is put in Unicode normalisation form C.

pub mod entities;
pub mod escapes;
pub mod mojibake;
pub mod unicode;

use serde::Deserialize;

use crate::error::RulesError;
use crate::record::Record;
use crate::rules::RuleFiles;
use crate::stage::{RecordStage, RuleInfo, StageOutcome};

const FILE: &str = "repair.toml";

/// A kind of fix: its name and the function that applies it (`None`: nothing to fix).
pub struct Fix {
    /// The name in `repair.toml`, tags and counters.
    pub name: &'static str,
    /// Returns the repaired text, or `None` when the text needs no fix.
    pub apply: fn(&str) -> Option<String>,
}

/// Every fix, in the order they run.
pub static FIXES: &[Fix] = &[
    Fix {
        name: "escapes",
        apply: escapes::repair,
    },
    Fix {
        name: "html-entities",
        apply: entities::repair,
    },
    Fix {
        name: "mojibake",
        apply: mojibake::repair,
    },
    Fix {
        name: "zero-width",
        apply: unicode::remove_zero_width,
    },
    Fix {
        name: "nfc",
        apply: unicode::nfc,
    },
];

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    #[serde(default = "yes")]
    escapes: bool,
    #[serde(default = "yes")]
    html_entities: bool,
    #[serde(default = "yes")]
    mojibake: bool,
    #[serde(default = "yes")]
    zero_width: bool,
    #[serde(default = "yes")]
    nfc: bool,
}

/// The compiled stage: the fixes that are on, in order.
pub struct RepairStage {
    fixes: Vec<&'static Fix>,
}

/// Builds the stage from `rules/repair.toml`; `None` when the file is absent or
/// turns every fix off.
pub fn build(files: &RuleFiles) -> Result<Option<Box<dyn RecordStage>>, Vec<RulesError>> {
    let Some(text) = files.get(FILE) else {
        return Ok(None);
    };
    let raw: Raw = toml::from_str(text).map_err(|e| vec![RulesError::from_toml(FILE, text, &e)])?;
    let on = [raw.escapes, raw.html_entities, raw.mojibake, raw.zero_width, raw.nfc];
    let fixes: Vec<&'static Fix> = FIXES.iter().zip(on).filter(|(_, on)| *on).map(|(f, _)| f).collect();
    Ok((!fixes.is_empty()).then(|| Box::new(RepairStage { fixes }) as Box<dyn RecordStage>))
}

impl RepairStage {
    /// Applies every fix to one text; sets bit `i` of `done` when fix `i`
    /// changed it.
    fn repair_text(&self, text: &mut String, done: &mut u32) {
        for (i, fix) in self.fixes.iter().enumerate() {
            if let Some(fixed) = (fix.apply)(text) {
                *text = fixed;
                *done |= 1 << i;
            }
        }
    }
}

impl RecordStage for RepairStage {
    fn name(&self) -> &str {
        "repair"
    }

    fn rules(&self) -> Vec<RuleInfo> {
        Vec::new()
    }

    fn process(&self, rec: &mut Record) -> StageOutcome {
        let mut done = 0u32;
        if let Some(s) = rec.system.as_mut() {
            self.repair_text(s, &mut done);
        }
        for t in &mut rec.turns {
            self.repair_text(&mut t.content, &mut done);
        }
        let mut out = StageOutcome::default();
        for (_, fix) in self.fixes.iter().enumerate().filter(|(i, _)| done & (1 << i) != 0) {
            rec.tags.push(format!("repaired:{}", fix.name));
            out.counts.push((format!("repair/{}", fix.name), 1));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::build;
    use crate::filters::testing::record;
    use crate::rules::RuleFiles;

    #[test]
    fn repairs_every_turn_tags_and_counts() {
        let files = RuleFiles::from_pairs("test", [("repair.toml", "")]);
        let stage = build(&files).expect("compiles").expect("has fixes");
        // alpaca_cot aqua_train: literal escapes and mojibake in one record.
        let mut rec = record(
            r#"{"instruction": "Question: A train runs 60 km/h.\\nOptions:\\n(A) 1\\n(B) 2", "input": "", "output": "Speed Ã— time = distance.\\nSo 2 hours.\\nThe answer: (B)."}"#,
        );
        let out = stage.process(&mut rec);
        assert_eq!(
            rec.turns[0].content,
            "Question: A train runs 60 km/h.\nOptions:\n(A) 1\n(B) 2"
        );
        assert_eq!(
            rec.turns[1].content,
            "Speed × time = distance.\nSo 2 hours.\nThe answer: (B)."
        );
        assert_eq!(rec.tags, ["repaired:escapes", "repaired:mojibake"]);
        assert_eq!(
            out.counts,
            [("repair/escapes".to_string(), 1), ("repair/mojibake".to_string(), 1)]
        );
    }

    #[test]
    fn fixes_can_be_turned_off_and_unknown_keys_are_named() {
        let files = RuleFiles::from_pairs("test", [("repair.toml", "escapes = false\nmojibake = false")]);
        let stage = build(&files).expect("compiles").expect("has fixes");
        let mut rec = record(r#"{"instruction": "a\\nb\\nc", "input": "", "output": "Ã—"}"#);
        stage.process(&mut rec);
        assert_eq!(rec.turns[0].content, "a\\nb\\nc");
        let bad = RuleFiles::from_pairs("test", [("repair.toml", "escape = false")]);
        let err = build(&bad).err().expect("unknown key");
        assert_eq!(err[0].key.as_deref(), Some("escape"));
    }
}
