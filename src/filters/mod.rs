//! Filters, one per file, grouped by stage. Each file documents what it
//! measures, why, an example and its parameters; the registry lists them.

pub mod quality;
pub mod sensitive;

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
    pub fn build(kind: &crate::registry::FilterKind, params: &str, scope: Option<Scope>) -> Box<dyn Filter> {
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

    /// The value a filter measures on a record.
    pub fn value(f: &dyn Filter, rec: &Record) -> Option<f64> {
        f.measure(&mut Analysis::new(rec)).map(|m| m.value)
    }
}
