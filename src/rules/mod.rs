//! Rules are data: TOML files under `rules/`, one per family, embedded in the
//! binary as the defaults and overlaid by `--rules DIR` ([`RuleFiles::load`]).
//!
//! This module is the contract between rule files and filters: the files
//! themselves, what a filter kind receives to build itself
//! ([`BuildContext`]) and how it declares itself ([`FilterKind`]). The
//! compiler that turns the files into a rule set sits above the filters
//! ([`crate::ruleset`]).
//!
//! Loading goes parse -> validate -> compile, and collects every problem
//! before failing, each naming the file, the line and the key:
//!
//! - `formats.toml`: input placeholders, id fields and declared formats
//!   ([`crate::record::fieldmap`]).
//! - `<stage>/*.toml` for the per-record stages (`quality/`): each top-level
//!   table is one rule, `[name]`, with the common keys below and the
//!   parameters of its kind. Its id is `<stage>/<name>`.
//!
//! ```toml
//! [response-too-long]
//! kind = "char-length"     # the filter that measures (default: the table name)
//! scope = "response"       # instruction | input | prompt | response | responses | conversation | system
//! max = 20000              # keep when min <= value <= max
//! enabled = true
//! description = "Answers longer than this are almost always scraped pages."
//! [response-too-long.lang.zh]
//! max = 8000               # per-language threshold (zh, ja, ko, en, other)
//! ```

mod files;
mod locate;
pub mod measured;

pub use files::{RuleFiles, MODE_FILE};
pub use locate::locate;

use serde::de::DeserializeOwned;

use crate::stage::{Filter, Scope};

/// What a filter kind receives to build itself.
pub struct BuildContext<'a> {
    /// The rule's parameters (the common keys removed).
    pub params: toml::Table,
    /// The scope set in the rule, or the kind's default.
    pub scope: Option<Scope>,
    /// All rule files, for word lists and other companion files.
    pub files: &'a RuleFiles,
    /// The rule file being compiled.
    pub file: &'a str,
}

/// An error about one key of a rule's table: `(key, message)`.
pub type KeyError = (String, String);

impl BuildContext<'_> {
    /// Deserializes the parameters into `T` (which should deny unknown fields).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, KeyError> {
        params(&self.params)
    }
}

/// Deserializes a table into `T`, mapping serde's message to the key at fault.
pub fn params<T: DeserializeOwned>(table: &toml::Table) -> Result<T, KeyError> {
    T::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.trim().to_string();
        let key = msg
            .split('`')
            .nth(1)
            .filter(|_| msg.contains("unknown field") || msg.contains("missing field"))
            .unwrap_or("")
            .to_string();
        // serde says "there are no fields" of a kind without parameters.
        let msg = match msg.split_once(", there are no fields") {
            Some((head, _)) => format!(
                "{head}: this kind takes no parameters besides kind, scope, min, max, lang, enabled and description"
            ),
            None => msg,
        };
        (key, msg)
    })
}

/// A kind of filter a rule can use.
pub struct FilterKind {
    /// The `kind` written in rule files.
    pub name: &'static str,
    /// The stage whose rule files may use it.
    pub stage: &'static str,
    /// The scope used when the rule sets none; `None` for unscoped kinds.
    pub default_scope: Option<Scope>,
    /// The range a threshold must lie in.
    pub range: (f64, f64),
    /// One line on what it measures.
    pub summary: &'static str,
    /// Builds the filter from a rule's parameters.
    pub build: fn(&BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError>,
}

impl FilterKind {
    /// A kind of the `quality` stage: by default it measures the response
    /// and takes thresholds from 0 up.
    pub const fn quality(
        name: &'static str,
        summary: &'static str,
        build: fn(&BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError>,
    ) -> FilterKind {
        FilterKind {
            name,
            stage: "quality",
            default_scope: Some(Scope::Response),
            range: (0.0, f64::MAX),
            summary,
            build,
        }
    }

    /// Thresholds between 0 and 1: the kind measures a fraction.
    pub const fn fraction(self) -> FilterKind {
        FilterKind {
            range: (0.0, 1.0),
            ..self
        }
    }

    /// Another scope when the rule sets none (`None`: the kind has no scope).
    pub const fn scope(self, default_scope: Option<Scope>) -> FilterKind {
        FilterKind { default_scope, ..self }
    }
}
