//! Reading an output folder written by `curate run`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::output::run_folder::SUCCESS_MARKER;
use crate::output::Report;
use crate::rules::RuleFiles;
use crate::ruleset::Rules;

/// An output folder of a complete run.
pub struct RunDir {
    /// Its path.
    pub path: PathBuf,
    /// Its report.
    pub report: Report,
}

impl RunDir {
    /// Opens `path`, which must hold a complete run.
    pub fn open(path: &Path) -> Result<RunDir> {
        if !path.join(SUCCESS_MARKER).exists() {
            return Err(Error::Usage(format!(
                "{}: not the output of a complete `curate run` (no {SUCCESS_MARKER})",
                path.display()
            )));
        }
        let text =
            std::fs::read_to_string(path.join("report.json")).map_err(|e| Error::io(path.join("report.json"), e))?;
        let report: Report = serde_json::from_str(&text)
            .map_err(|e| Error::Usage(format!("{}: unreadable report.json: {e}", path.display())))?;
        Ok(RunDir {
            path: path.to_path_buf(),
            report,
        })
    }

    /// The rules the run used (its `rules/` snapshot), compiled.
    pub fn rules(&self) -> Result<Rules> {
        let files = RuleFiles::from_dir(&self.path.join("rules")).map_err(Error::Rules)?;
        Rules::compile(files).map_err(Error::Rules)
    }

    /// Every batch of one table (`kept`, `rejected`, `malformed`, `metrics`), in shard order.
    pub fn batches(&self, table: &str) -> Batches {
        Batches::of(&self.path.join(table))
    }
}

pub use crate::output::read_back::*;
