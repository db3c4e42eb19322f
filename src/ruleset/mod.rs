//! The compiled rule set: the rule files of [`crate::rules`] turned into
//! stages, adapters, dedup and mix settings, with every problem collected
//! before failing, each naming the file, the line and the key.

mod formats;

use serde::de::DeserializeOwned;

use crate::error::RulesError;
use crate::record::Adapters;
use crate::registry;
use crate::rules::{locate, BuildContext, KeyError, RuleFiles};
use crate::stage::{Filter, RecordStage, Rule, Scope, Threshold};
use crate::text::Lang;

/// The compiled rule set.
pub struct Rules {
    /// The files it was compiled from.
    pub files: RuleFiles,
    /// How records are mapped.
    pub adapters: Adapters,
    /// The per-record stages that have rules, in pipeline order.
    pub record_stages: Vec<Box<dyn RecordStage>>,
    /// The dedup settings (`dedup.toml`), when the rule set has them.
    pub dedup: Option<crate::dedup::DedupConfig>,
    /// The mix settings (`mix.toml`), when the rule set has them and they are
    /// enabled (a disabled file is still validated).
    pub mix: Option<crate::mix::MixConfig>,
}

impl Rules {
    /// Compiles a rule set, or lists every problem in it.
    pub fn compile(files: RuleFiles) -> Result<Rules, Vec<RulesError>> {
        Rules::compile_for(files, None)
    }

    /// Compiles a rule set for a run of `stages` (as `--stages` names them;
    /// `None` or `default` among them: every stage): the per-record stages
    /// it does not run are not built, their word lists and patterns taking
    /// most of a run's start. Their rule files are neither read nor checked:
    /// `check-rules` and [`Rules::compile`] check every stage.
    pub fn compile_for(files: RuleFiles, stages: Option<&[String]>) -> Result<Rules, Vec<RulesError>> {
        let wanted = |name: &str| stages.is_none_or(|w| w.iter().any(|s| s == name || s == "default"));
        let mut errors = Vec::new();
        let adapters = match formats::compile(&files) {
            Ok(a) => a,
            Err(mut e) => {
                errors.append(&mut e);
                Adapters::default()
            }
        };
        for path in files.paths() {
            // Stages whose rules are a folder of files: `quality.toml` instead
            // of `quality/*.toml` would otherwise be read by no stage.
            if let Some(stage) = ["quality", "sensitive", "topics"]
                .into_iter()
                .find(|s| path == format!("{s}.toml"))
            {
                errors.push(RulesError {
                    file: path.to_string(),
                    line: None,
                    key: None,
                    message: format!("the rules of `{stage}` live in the folder `{stage}/` (e.g. `{stage}/my-rules.toml`), not in `{stage}.toml`"),
                });
                continue;
            }
            let known = path == "formats.toml"
                || path == crate::rules::MODE_FILE
                || !path.ends_with(".toml")
                || registry::all_stages()
                    .iter()
                    .chain(registry::CONFIG_FILES)
                    .any(|s| path.starts_with(&format!("{s}/")) || path == format!("{s}.toml"));
            if !known {
                errors.push(RulesError {
                    file: path.to_string(),
                    line: None,
                    key: None,
                    message: format!(
                        "unknown rule file; rule files live in formats.toml or in a stage folder ({})",
                        registry::all_stages().join(", ")
                    ),
                });
            }
        }
        // The stages compile side by side (their word lists and patterns take
        // most of a run's start); the results keep pipeline order.
        let built: Vec<_> = {
            use rayon::prelude::*;
            registry::RECORD_STAGES
                .par_iter()
                .filter(|stage| wanted(stage.name))
                .map(|stage| build_stage(stage, &files))
                .collect()
        };
        let mut record_stages: Vec<Box<dyn RecordStage>> = Vec::new();
        for b in built {
            match b {
                Ok(Some(s)) => record_stages.push(s),
                Ok(None) => {}
                Err(mut e) => errors.append(&mut e),
            }
        }
        // Every rule has a metrics column of its own.
        let mut columns: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
        for id in record_stages.iter().flat_map(|s| s.rules()).map(|r| r.id) {
            if let Some(other) = columns.insert(crate::stage::metric_column(&id), id.clone()) {
                errors.push(RulesError {
                    file: id.split('/').next().unwrap_or("").to_string() + "/",
                    line: None,
                    key: None,
                    message: format!(
                        "rules `{other}` and `{id}` would share the metrics column `{}`: rename one",
                        crate::stage::metric_column(&id)
                    ),
                });
            }
        }
        let dedup = match crate::dedup::DedupConfig::from_files(&files) {
            Ok(d) => d,
            Err(mut e) => {
                errors.append(&mut e);
                None
            }
        };
        // A run that does not build the metric's stage fails at its start,
        // saying that stage must run too.
        let metric_built = |d: &&crate::dedup::DedupConfig| {
            d.survivor_metric
                .as_deref()
                .is_some_and(|m| wanted(m.split('/').next().unwrap_or("")))
        };
        if let Some(e) = dedup
            .as_ref()
            .filter(metric_built)
            .and_then(|d| survivor_metric_error(d, &record_stages, &files))
        {
            errors.push(e);
        }
        let mix = match crate::mix::MixConfig::from_files(&files) {
            Ok(m) => m.filter(|m| m.enabled),
            Err(mut e) => {
                errors.append(&mut e);
                None
            }
        };
        if errors.is_empty() {
            Ok(Rules {
                files,
                adapters,
                record_stages,
                dedup,
                mix,
            })
        } else {
            Err(errors)
        }
    }

    /// The built-in rules, overlaid by (or, as its `rules.toml` says,
    /// replaced by) the folder `dir` ([`RuleFiles::load`]).
    pub fn load(dir: Option<&std::path::Path>) -> crate::Result<Rules> {
        Rules::load_for(dir, None)
    }

    /// [`Rules::load`] for a run of `stages` ([`Rules::compile_for`]).
    pub fn load_for(dir: Option<&std::path::Path>, stages: Option<&[String]>) -> crate::Result<Rules> {
        let files = match dir {
            Some(d) => RuleFiles::load(d).map_err(crate::Error::Rules)?,
            None => RuleFiles::embedded(),
        };
        Rules::compile_for(files, stages).map_err(crate::Error::Rules)
    }

    /// Names of the stages this rule set can run, in pipeline order.
    pub fn stage_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.record_stages.iter().map(|s| s.name().to_string()).collect();
        if self.dedup.is_some() {
            names.push(registry::DEDUP_STAGE.to_string());
        }
        names
    }
}

/// Builds one per-record stage; `None` when the rule set has no rules for it.
fn build_stage(stage: &registry::StageDef, files: &RuleFiles) -> Result<Option<Box<dyn RecordStage>>, Vec<RulesError>> {
    match stage.build {
        registry::StageBuild::Custom(build) => build(files),
        registry::StageBuild::Filters => {
            let rules = compile_filter_stage(files, stage.name)?;
            Ok((!rules.is_empty())
                .then(|| Box::new(crate::stage::FilterStage::new(stage.name, rules)) as Box<dyn RecordStage>))
        }
    }
}

/// Checks that `survivor-metric` in `dedup.toml` names an enabled rule of a
/// per-record stage, whose value phase 1 measures for every record.
fn survivor_metric_error(
    dedup: &crate::dedup::DedupConfig,
    stages: &[Box<dyn RecordStage>],
    files: &RuleFiles,
) -> Option<RulesError> {
    let metric = dedup.survivor_metric.as_deref()?;
    if stages.iter().any(|s| s.rules().iter().any(|r| r.id == metric)) {
        return None;
    }
    let stage = metric.split('/').next().unwrap_or("");
    let disabled = rule_definitions(files, stage).contains_key(metric);
    let message = if disabled {
        format!("rule `{metric}` is disabled (enabled = false), so it measures nothing")
    } else {
        let known: Vec<String> = stages
            .iter()
            .flat_map(|s| s.rules())
            .map(|r| r.id)
            .filter(|id| id.starts_with(&format!("{stage}/")))
            .take(8)
            .collect();
        let hint = if known.is_empty() {
            format!(
                "rule ids are `stage/name`, with stages {}",
                registry::RECORD_STAGES
                    .iter()
                    .map(|s| s.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            format!("rules of `{stage}` include {}", known.join(", "))
        };
        format!("unknown rule `{metric}`; survivor-metric names an enabled per-record rule ({hint})")
    };
    Some(crate::dedup::config::key_error(files, "survivor-metric", message))
}

/// Compiles every rule of `rules/<stage>/*.toml`, in file then table order.
pub fn compile_filter_stage(files: &RuleFiles, stage: &str) -> Result<Vec<Rule>, Vec<RulesError>> {
    let mut rules: Vec<Rule> = Vec::new();
    let mut errors = Vec::new();
    let prefix = format!("{stage}/");
    for path in files.paths().filter(|p| p.starts_with(&prefix) && p.ends_with(".toml")) {
        let text = files.get(path).unwrap_or("");
        let table: toml::Table = match toml::from_str(text) {
            Ok(t) => t,
            Err(e) => {
                errors.push(RulesError::from_toml(path, text, &e));
                continue;
            }
        };
        for (name, value) in table {
            let err = |key: &str, message: String| RulesError {
                file: path.to_string(),
                line: locate(text, &name, (!key.is_empty()).then_some(key)),
                key: Some(if key.is_empty() {
                    name.clone()
                } else {
                    format!("{name}.{key}")
                }),
                message,
            };
            let toml::Value::Table(t) = value else {
                errors.push(err("", format!("`{name}` must be a table: write it as [{name}]")));
                continue;
            };
            let id = format!("{stage}/{name}");
            if rules.iter().any(|r| r.id == id) {
                errors.push(err("", format!("rule `{id}` is defined twice")));
                continue;
            }
            match compile_rule(files, path, stage, &name, t) {
                Ok(Some(rule)) => rules.push(rule),
                Ok(None) => {}
                Err((key, message)) => errors.push(err(&key, message)),
            }
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

fn take<T: DeserializeOwned>(t: &mut toml::Table, key: &str) -> Result<Option<T>, KeyError> {
    match t.remove(key) {
        None => Ok(None),
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(|e| (key.to_string(), e.to_string().trim().to_string())),
    }
}

fn take_threshold(t: &mut toml::Table, prefix: &str) -> Result<Threshold, KeyError> {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    let min: Option<f64> = take(t, "min").map_err(|(_, m)| (key("min"), m))?;
    let max: Option<f64> = take(t, "max").map_err(|(_, m)| (key("max"), m))?;
    if let (Some(a), Some(b)) = (min, max) {
        if a > b {
            return Err((key("min"), format!("min ({a}) is greater than max ({b})")));
        }
    }
    Ok(Threshold { min, max })
}

fn compile_rule(
    files: &RuleFiles,
    file: &str,
    stage: &str,
    name: &str,
    mut t: toml::Table,
) -> Result<Option<Rule>, KeyError> {
    let kind_name: String = take(&mut t, "kind")?.unwrap_or_else(|| name.to_string());
    let enabled: bool = take(&mut t, "enabled")?.unwrap_or(true);
    let _description: Option<String> = take(&mut t, "description")?;
    let scope: Option<Scope> = take(&mut t, "scope")?;
    let threshold = take_threshold(&mut t, "")?;
    let mut by_lang = Vec::new();
    if let Some(toml::Value::Table(langs)) = t.remove("lang") {
        for (code, v) in langs {
            let lang = Lang::from_code(&code).ok_or_else(|| {
                (
                    format!("lang.{code}"),
                    format!("unknown language `{code}` (zh, ja, ko, en, other)"),
                )
            })?;
            let toml::Value::Table(mut lt) = v else {
                return Err((format!("lang.{code}"), "must be a table with min and/or max".into()));
            };
            let th = take_threshold(&mut lt, &format!("lang.{code}"))?;
            if let Some(k) = lt.keys().next() {
                return Err((
                    format!("lang.{code}.{k}"),
                    format!("unknown key `{k}`; expected min or max"),
                ));
            }
            by_lang.push((lang, th));
        }
    }
    let kind = registry::filter_kind(stage, &kind_name).ok_or_else(|| {
        let known: Vec<&str> = registry::filter_kinds(stage).map(|k| k.name).collect();
        (
            if t.contains_key("kind") {
                "kind".into()
            } else {
                String::new()
            },
            format!(
                "unknown rule kind `{kind_name}` in stage `{stage}`; known kinds: {}",
                known.join(", ")
            ),
        )
    })?;
    if scope.is_some() && kind.default_scope.is_none() {
        return Err((
            "scope".into(),
            format!("rule kind `{}` does not take a scope", kind.name),
        ));
    }
    let (lo, hi) = kind.range;
    for (which, th) in std::iter::once(("", &threshold)).chain(by_lang.iter().map(|(l, t)| (l.code(), t))) {
        for (k, v) in [("min", th.min), ("max", th.max)] {
            if let Some(v) = v {
                if v < lo || v > hi || v.is_nan() {
                    let key = if which.is_empty() {
                        k.to_string()
                    } else {
                        format!("lang.{which}.{k}")
                    };
                    let range = if hi == f64::MAX {
                        format!("{} or more", crate::stage::num(lo))
                    } else {
                        format!("{} to {}", crate::stage::num(lo), crate::stage::num(hi))
                    };
                    return Err((
                        key,
                        format!("threshold {v} is out of range for `{}`: it takes {range}", kind.name),
                    ));
                }
            }
        }
    }
    let scope = scope.or(kind.default_scope);
    let ctx = BuildContext {
        params: t,
        scope,
        files,
        file,
    };
    // Built first, so that a misspelt bound (`mx = 100`) is named as the
    // unknown key it is rather than reported as a missing bound.
    let filter: Box<dyn Filter> = (kind.build)(&ctx)?;
    if threshold.min.is_none() && threshold.max.is_none() && by_lang.is_empty() {
        return Err((
            String::new(),
            format!("rule `{name}` sets neither min nor max, so it can never drop a record"),
        ));
    }
    if !enabled {
        return Ok(None);
    }
    Ok(Some(Rule {
        id: format!("{stage}/{name}"),
        scope,
        threshold,
        by_lang,
        filter,
    }))
}

/// What every rule of `rules/<stage>/*.toml` measures: its table without the
/// keys that only decide (`min`, `max`, `lang`, `enabled`, `description`).
/// Two rules with equal definitions measure the same values.
pub fn rule_definitions(files: &RuleFiles, stage: &str) -> std::collections::BTreeMap<String, toml::Table> {
    if stage == crate::llm::STAGE {
        return crate::llm::config::definitions(files);
    }
    let prefix = format!("{stage}/");
    let mut out = std::collections::BTreeMap::new();
    for path in files.paths().filter(|p| p.starts_with(&prefix) && p.ends_with(".toml")) {
        let Ok(table) = toml::from_str::<toml::Table>(files.get(path).unwrap_or("")) else {
            continue;
        };
        for (name, v) in table {
            if let toml::Value::Table(mut t) = v {
                for k in ["min", "max", "lang", "enabled", "description"] {
                    t.remove(k);
                }
                out.insert(format!("{stage}/{name}"), t);
            }
        }
    }
    out
}
