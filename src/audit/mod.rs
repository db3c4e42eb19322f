//! Auditing and tuning an earlier run from its output folder, without
//! re-reading the corpus: `audit` lists dropped records with their verdicts,
//! `explain` shows every rule's measurement for one record, `tune` re-decides
//! every record from the stored metrics under changed thresholds, and `diff`
//! compares the fates of records between two runs.

pub mod apply;
pub mod diff;
pub mod explain;
pub mod judged;
pub mod judged_tags;
pub mod list;
pub mod pairs;
pub mod run_dir;
pub mod tune;
