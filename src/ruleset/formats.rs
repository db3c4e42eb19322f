//! `formats.toml`: how records are mapped (placeholders, id fields, declared formats).

use serde::Deserialize;

use crate::error::RulesError;
use crate::record::fieldmap::{Declared, FormatSpec};
use crate::record::Adapters;
use crate::rules::{locate, params, RuleFiles};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatsFile {
    #[serde(default)]
    input_placeholders: Vec<String>,
    #[serde(default)]
    id_fields: Vec<String>,
    #[serde(default)]
    format: toml::Table,
}

/// Compiles `formats.toml` (absent means: built-in shapes only).
pub(super) fn compile(files: &RuleFiles) -> Result<Adapters, Vec<RulesError>> {
    const FILE: &str = "formats.toml";
    let Some(text) = files.get(FILE) else {
        return Ok(Adapters::default());
    };
    let table: toml::Table = toml::from_str(text).map_err(|e| vec![RulesError::from_toml(FILE, text, &e)])?;
    let f: FormatsFile = params(&table).map_err(|(key, message)| {
        vec![RulesError {
            file: FILE.into(),
            line: (!key.is_empty())
                .then(|| {
                    text.lines()
                        .position(|l| l.trim_start().starts_with(&key))
                        .map(|i| i + 1)
                })
                .flatten(),
            key: (!key.is_empty()).then_some(key),
            message,
        }]
    })?;
    let mut errors = Vec::new();
    let mut declared = Vec::new();
    for (name, v) in f.format {
        let table_name = format!("format.{name}");
        let fail = |key: &str, message: String| RulesError {
            file: FILE.into(),
            line: locate(text, &table_name, (!key.is_empty()).then_some(key)),
            key: Some(if key.is_empty() {
                table_name.clone()
            } else {
                format!("{table_name}.{key}")
            }),
            message,
        };
        let toml::Value::Table(t) = v else {
            errors.push(fail("", format!("must be a table: write it as [{table_name}]")));
            continue;
        };
        match params::<FormatSpec>(&t).and_then(|spec| Declared::compile(&name, spec)) {
            Ok(d) => declared.push(d),
            Err((key, message)) => errors.push(fail(&key, message)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Adapters {
        declared,
        input_placeholders: f.input_placeholders.iter().map(|p| p.to_lowercase()).collect(),
        id_fields: f.id_fields,
    })
}
