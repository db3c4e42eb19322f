//! Filters, one per file, grouped by stage. Each file documents what it
//! measures, why, an example and its parameters; the registry lists them.

pub mod lazy;
pub mod quality;
pub mod sensitive;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Scope, Words};
use crate::tokenize::Tokenizer;

/// What a word-based filter reads: the words of its scope (default: the
/// response) cut by its `tokenizer`, when there are at least `min_words`.
#[derive(Debug, Clone, Copy)]
pub struct WordScope {
    scope: Scope,
    tokenizer: Tokenizer,
    min_words: usize,
}

impl WordScope {
    /// From a rule's scope and its `tokenizer` and `min_words` parameters.
    pub fn new(ctx: &BuildContext<'_>, tokenizer: Tokenizer, min_words: usize) -> Result<Self, KeyError> {
        tokenizer.check().map_err(|e| ("tokenizer".to_string(), e))?;
        Ok(WordScope {
            scope: ctx.scope.unwrap_or(Scope::Response),
            tokenizer,
            min_words,
        })
    }

    /// From a rule whose only parameters are `tokenizer` and `min_words`.
    pub fn parse(ctx: &BuildContext<'_>) -> Result<Self, KeyError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Params {
            #[serde(default)]
            tokenizer: Tokenizer,
            #[serde(default)]
            min_words: usize,
        }
        let p: Params = ctx.parse()?;
        WordScope::new(ctx, p.tokenizer, p.min_words)
    }

    /// From a rule over word n-grams: its `n` (at least 1) and the words'
    /// `tokenizer` and `min_words`.
    pub fn parse_ngrams(ctx: &BuildContext<'_>) -> Result<(Self, usize), KeyError> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Params {
            n: usize,
            #[serde(default)]
            min_words: usize,
            #[serde(default)]
            tokenizer: Tokenizer,
        }
        let p: Params = ctx.parse()?;
        if p.n < 1 {
            return Err(("n".into(), "n must be at least 1".into()));
        }
        Ok((WordScope::new(ctx, p.tokenizer, p.min_words)?, p.n))
    }

    /// The words, or `None` when there are fewer than `min_words`: too few
    /// to measure.
    pub fn words<'c>(&self, cx: &'c mut Analysis<'_>) -> Option<Words<'c>> {
        let words = cx.words(self.scope, self.tokenizer);
        (words.len() >= self.min_words).then_some(words)
    }
}

/// One automaton over a rule's phrase list (ASCII case-insensitive, leftmost
/// longest match): `None` for an empty list, an error naming `key` for an
/// empty phrase. The cue and exemption lists of the filters go through it.
pub fn phrase_set(key: &str, list: &[String]) -> Result<Option<AhoCorasick>, KeyError> {
    if list.is_empty() {
        return Ok(None);
    }
    if list.iter().any(|p| p.trim().is_empty()) {
        return Err((key.into(), "phrases must not be empty".into()));
    }
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(list)
        .map(Some)
        .map_err(|e| (key.to_string(), e.to_string()))
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers to measure a filter on a record built from JSON.

    use crate::record::{map_record, Adapters, Origin, Record};
    use crate::rules::{BuildContext, RuleFiles};
    use crate::stage::{Analysis, Filter, Scope};

    /// A record from one JSON line, with the built-in adapters.
    pub fn record(json: &str) -> Record {
        let v: serde_json::Value = serde_json::from_str(json).expect("test JSON parses");
        let adapters = Adapters::default();
        let mut r = map_record(&adapters, &v, Origin { file: 0, line: 1 }, "t.jsonl").expect("test record maps");
        r.raw = json.into();
        r
    }

    /// Builds a filter of `kind` from TOML parameters.
    pub fn build(kind: &crate::rules::FilterKind, params: &str, scope: Option<Scope>) -> Box<dyn Filter> {
        let files = RuleFiles::default();
        let ctx = BuildContext {
            params: toml::from_str(params).expect("test params parse"),
            scope: scope.or(kind.default_scope),
            files: &files,
            file: "test.toml",
        };
        match (kind.build)(&ctx) {
            Ok(f) => f,
            Err((k, m)) => panic!("build failed at {k}: {m}"),
        }
    }

    /// Builds the filter of rule `table` of a built-in rule file (`file`
    /// under `rules/`, e.g. `quality/instruction.toml`), as the rule ships.
    pub fn shipped(kind: &crate::rules::FilterKind, file: &str, table: &str) -> Box<dyn Filter> {
        let files = RuleFiles::embedded();
        let text = files.get(file).expect("a built-in rule file");
        let file: toml::Table = toml::from_str(text).expect("the rule file parses");
        let mut t = file[table].as_table().expect("the rule's table").clone();
        for k in ["kind", "description", "max", "min", "scope", "enabled", "lang"] {
            t.remove(k);
        }
        build(kind, &toml::to_string(&t).expect("serializes"), None)
    }

    /// The value a filter measures on a record.
    pub fn value(f: &dyn Filter, rec: &Record) -> Option<f64> {
        f.measure(&mut Analysis::new(rec)).map(|m| m.value)
    }
}
