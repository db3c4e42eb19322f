//! The raw rule files: the embedded defaults or a user's folder.

use std::collections::BTreeMap;
use std::path::Path;

use xxhash_rust::xxh3::Xxh3;

use crate::error::RulesError;

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// The file of a rules folder that says how it combines with the built-in
/// rules (`mode = "overlay"`, the default, or `"replace"`).
pub const MODE_FILE: &str = "rules.toml";

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeFile {
    mode: Mode,
}

#[derive(serde::Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    Overlay,
    Replace,
}

/// Rule files by path relative to the rules folder (`/`-separated), sorted.
#[derive(Debug, Clone, Default)]
pub struct RuleFiles {
    /// Where they came from: a folder, or `built-in`.
    pub origin: String,
    files: BTreeMap<String, String>,
}

impl RuleFiles {
    /// The default rules compiled into the binary.
    pub fn embedded() -> RuleFiles {
        RuleFiles {
            origin: "built-in".into(),
            files: EMBEDDED.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect(),
        }
    }

    /// Reads every file under `dir`.
    pub fn from_dir(dir: &Path) -> Result<RuleFiles, Vec<RulesError>> {
        let mut files = BTreeMap::new();
        let mut errors = Vec::new();
        let err = |file: String, message: String| RulesError {
            file,
            line: None,
            key: None,
            message,
        };
        if !dir.is_dir() {
            return Err(vec![err(dir.display().to_string(), "not a folder".into())]);
        }
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let entries = match std::fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) => {
                    errors.push(err(d.display().to_string(), e.to_string()));
                    continue;
                }
            };
            for entry in entries.flatten() {
                let p = entry.path();
                let name = entry.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let rel = p.strip_prefix(dir).unwrap_or(&p).to_string_lossy().replace('\\', "/");
                match std::fs::read(&p) {
                    Ok(bytes) => match String::from_utf8(bytes) {
                        Ok(text) => {
                            files.insert(rel, text);
                        }
                        Err(e) => errors.push(err(rel, format!("not UTF-8 text: {e}"))),
                    },
                    Err(e) => errors.push(err(rel, e.to_string())),
                }
            }
        }
        if errors.is_empty() {
            Ok(RuleFiles {
                origin: dir.display().to_string(),
                files,
            })
        } else {
            Err(errors)
        }
    }

    /// The rules `--rules DIR` names. By default the folder *overlays* the
    /// built-in rules: each of its files replaces the built-in file of the
    /// same path and the other built-in files stay, so a folder holding one
    /// edited `quality/basic.toml` changes that file only (a table with
    /// `enabled = false` turns a rule off). A folder whose `rules.toml` says
    /// `mode = "replace"` is the whole rule set, as `curate init-rules`
    /// writes it.
    pub fn load(dir: &Path) -> Result<RuleFiles, Vec<RulesError>> {
        let user = RuleFiles::from_dir(dir)?;
        let mode = match user.get(MODE_FILE) {
            None => Mode::Overlay,
            Some(text) => match toml::from_str::<ModeFile>(text) {
                Ok(m) => m.mode,
                Err(e) => return Err(vec![RulesError::from_toml(MODE_FILE, text, &e)]),
            },
        };
        if mode == Mode::Replace {
            return Ok(user);
        }
        let mut files = RuleFiles::embedded();
        files.origin = format!("built-in, overlaid by {}", dir.display());
        files.files.extend(user.files);
        Ok(files)
    }

    /// A rule set from in-memory files (tests, `explain`).
    pub fn from_pairs<'a>(origin: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> RuleFiles {
        RuleFiles {
            origin: origin.into(),
            files: pairs.into_iter().map(|(p, t)| (p.to_string(), t.to_string())).collect(),
        }
    }

    /// Paths, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// One file's text.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// Replaces or adds one file.
    pub fn set(&mut self, path: &str, text: String) {
        self.files.insert(path.to_string(), text);
    }

    /// A hash of every path and content: the same rules give the same hash.
    pub fn hash(&self) -> String {
        let mut h = Xxh3::new();
        for (p, t) in &self.files {
            h.update(p.as_bytes());
            h.update(&[0]);
            h.update(t.as_bytes());
            h.update(&[0]);
        }
        format!("{:032x}", h.digest128())
    }

    /// Writes every file under `dir` (for `curate init-rules`).
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        for (p, t) in &self.files {
            let path = dir.join(p);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, t)?;
        }
        Ok(())
    }
}
