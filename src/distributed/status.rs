//! `curate status OUT`: where a distributed run stands, read from its
//! markers alone.
//!
//! The markers are the only truth about a task: a scheduler's exit codes say
//! nothing about a task that was killed before it could write anything, or
//! about a task that already finished in an earlier submission. So each
//! planned task is `done` (its `_DONE` marker exists), `failed` (only its
//! `_FAILED` marker exists, which holds the error) or `missing` (neither:
//! queued, running, killed, or never submitted). The run is complete when
//! every task is done and `_SUCCESS` exists.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{done_marker, failed_marker, read_json, Marker, Plan};
use crate::error::Result;
use crate::output::run_folder::SUCCESS_MARKER;

/// How `curate status` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFormat {
    /// A table for people.
    Table,
    /// One JSON document.
    Json,
}

/// A task that failed, with what it said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedTask {
    /// Its rank.
    pub rank: usize,
    /// The host it ran on.
    pub host: String,
    /// The error from its `_FAILED` marker.
    pub error: String,
}

/// The tasks of one step, by state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepStatus {
    /// The step.
    pub step: String,
    /// Its number of tasks.
    pub world: usize,
    /// Ranks with a `_DONE` marker.
    pub done: Vec<usize>,
    /// Ranks with only a `_FAILED` marker.
    pub failed: Vec<FailedTask>,
    /// Ranks with no marker.
    pub missing: Vec<usize>,
}

impl StepStatus {
    /// Reads the markers of `step`'s `world` tasks.
    pub fn read(out: &Path, step: &str, world: usize) -> StepStatus {
        let mut s = StepStatus {
            step: step.to_string(),
            world,
            done: Vec::new(),
            failed: Vec::new(),
            missing: Vec::new(),
        };
        for rank in 0..world {
            if done_marker(out, step, rank).exists() {
                s.done.push(rank);
                continue;
            }
            let failed = failed_marker(out, step, rank);
            if !failed.exists() {
                s.missing.push(rank);
                continue;
            }
            let task = match read_json::<Marker>(&failed) {
                Ok(m) => FailedTask {
                    rank,
                    host: m.host,
                    error: m.error.unwrap_or_else(|| "(the marker holds no error)".into()),
                },
                Err(e) => FailedTask {
                    rank,
                    host: String::new(),
                    error: format!("unreadable failure marker: {e}"),
                },
            };
            s.failed.push(task);
        }
        s
    }

    /// Whether every task is done.
    pub fn is_done(&self) -> bool {
        self.done.len() == self.world
    }

    /// The ranks that still have to run: failed and missing, in order.
    pub fn pending(&self) -> Vec<usize> {
        let mut r: Vec<usize> = self
            .failed
            .iter()
            .map(|f| f.rank)
            .chain(self.missing.iter().copied())
            .collect();
        r.sort_unstable();
        r
    }
}

/// Where a distributed run stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStatus {
    /// The output folder.
    pub out: PathBuf,
    /// Whether `_SUCCESS` exists.
    pub success_marker: bool,
    /// Every task of every step is done and `_SUCCESS` exists.
    pub complete: bool,
    /// The planned steps, in order.
    pub steps: Vec<StepStatus>,
}

impl RunStatus {
    /// Reads the plan and every marker of the run in `out`.
    pub fn read(out: &Path) -> Result<RunStatus> {
        let plan = Plan::load(out)?;
        Ok(Self::of_plan(out, &plan))
    }

    /// Reads every marker of `plan`'s steps.
    pub fn of_plan(out: &Path, plan: &Plan) -> RunStatus {
        let steps: Vec<StepStatus> = plan
            .steps
            .iter()
            .map(|s| StepStatus::read(out, &s.name, s.world))
            .collect();
        let success_marker = out.join(SUCCESS_MARKER).exists();
        RunStatus {
            out: out.to_path_buf(),
            success_marker,
            complete: success_marker && steps.iter().all(StepStatus::is_done),
            steps,
        }
    }

    /// The status as a table, failed tasks with their errors, and missing ranks.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let state = if self.complete {
            "complete"
        } else if self.steps.iter().all(StepStatus::is_done) {
            "incomplete (every step is done but _SUCCESS is missing)"
        } else {
            "incomplete"
        };
        let _ = writeln!(t, "run {}: {state}", self.out.display());
        let rows: Vec<Vec<String>> = self
            .steps
            .iter()
            .map(|s| {
                vec![
                    s.step.to_string(),
                    s.world.to_string(),
                    s.done.len().to_string(),
                    s.failed.len().to_string(),
                    s.missing.len().to_string(),
                ]
            })
            .collect();
        t.push_str(&crate::output::table::plain(
            &["step", "tasks", "done", "failed", "missing"],
            &rows,
            0,
        ));
        let failed: Vec<_> = self
            .steps
            .iter()
            .flat_map(|s| s.failed.iter().map(move |f| (s, f)))
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(t, "failed:");
            for (s, f) in failed {
                let host = if f.host.is_empty() {
                    String::new()
                } else {
                    format!(" on {}", f.host)
                };
                let _ = writeln!(t, "  {} rank {}{host}: {}", s.step, f.rank, f.error);
            }
        }
        let missing: Vec<_> = self.steps.iter().filter(|s| !s.missing.is_empty()).collect();
        if !missing.is_empty() {
            let _ = writeln!(t, "missing:");
            for s in missing {
                let _ = writeln!(t, "  {} {}", s.step, ranks_phrase(&s.missing));
            }
        }
        let logs = super::slurm::slurm_dir(&self.out).join("logs");
        if !self.complete && logs.is_dir() {
            let _ = writeln!(t, "task logs: {}/<step>-<rank>.log", logs.display());
        }
        t
    }

    /// The status as one JSON document.
    pub fn json(&self) -> String {
        // Only strings, numbers and lists: encoding cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// Ranks as Slurm writes array indices: runs of consecutive ranks as
/// ranges, `0-3` or `1,3,5-7`.
pub fn rank_ranges(ranks: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < ranks.len() {
        let start = ranks[i];
        let mut end = start;
        while i + 1 < ranks.len() && ranks[i + 1] == end + 1 {
            i += 1;
            end = ranks[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// `rank 3` or `ranks 0-2,5`.
pub fn ranks_phrase(ranks: &[usize]) -> String {
    let s = if ranks.len() == 1 { "" } else { "s" };
    format!("rank{s} {}", rank_ranges(ranks))
}

/// `curate status OUT [--format table|json]`: prints the status; returns
/// whether the run is complete (exit 0) or not (exit 1).
pub fn command(out: &Path, format: StatusFormat) -> Result<bool> {
    let status = RunStatus::read(out)?;
    let text = match format {
        StatusFormat::Table => status.table(),
        StatusFormat::Json => status.json(),
    };
    print!("{text}");
    Ok(status.complete)
}

/// A plan of no input with `world` tasks for `process` and `pairs`, for tests.
#[cfg(test)]
pub(crate) fn test_plan(world: usize) -> Plan {
    Plan {
        curate_version: "test".into(),
        rules_hash: String::new(),
        rules_origin: String::new(),
        references: Vec::new(),
        inputs: Vec::new(),
        decontaminate: Vec::new(),
        settings: crate::pipeline::RunSettings {
            max_record_bytes: 1 << 20,
            shard_bytes: 1 << 20,
            batch_records: 16,
            threads: 1,
            ..Default::default()
        },
        steps: super::StepPlan::all(world),
        pieces: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::test_plan as plan;
    use super::*;
    use crate::distributed::{mark_done, mark_failed};

    #[test]
    fn ranks_are_written_as_ranges() {
        assert_eq!(rank_ranges(&[]), "");
        assert_eq!(rank_ranges(&[0, 1, 2, 3]), "0-3");
        assert_eq!(rank_ranges(&[1, 3]), "1,3");
        assert_eq!(rank_ranges(&[0, 2, 3, 4, 7, 9, 10]), "0,2-4,7,9-10");
        assert_eq!(ranks_phrase(&[2]), "rank 2");
        assert_eq!(ranks_phrase(&[0, 1]), "ranks 0-1");
    }

    #[test]
    fn a_fresh_plan_has_every_task_missing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path();
        plan(3).save(out).expect("plan saved");
        let s = RunStatus::read(out).expect("status reads");
        assert!(!s.complete);
        assert_eq!(s.steps.len(), 4);
        assert_eq!(s.steps[0].missing, vec![0, 1, 2]);
        assert_eq!(s.steps[2].missing, vec![0]);
        let t = s.table();
        assert!(t.contains("incomplete"), "{t}");
        assert!(t.contains("process ranks 0-2"), "{t}");
        assert!(!t.contains("failed:"), "{t}");
    }

    #[test]
    fn failed_tasks_show_their_error_and_done_ones_win() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path();
        plan(4).save(out).expect("plan saved");
        for r in [0, 2] {
            mark_done(out, "process", r, 4, 1.0, 10).expect("marker written");
        }
        mark_failed(out, "process", 1, 4, "in.jsonl: No such file or directory (os error 2)").expect("marker written");
        // A stale failure marker next to a done marker: the task is done.
        mark_failed(out, "process", 2, 4, "old").expect("marker written");
        mark_done(out, "process", 2, 4, 1.0, 10).expect("marker written");
        std::fs::write(failed_marker(out, "process", 2), "{}").expect("file written");
        let s = RunStatus::read(out).expect("status reads");
        let p = &s.steps[0];
        assert_eq!(p.done, vec![0, 2]);
        assert_eq!(p.failed.len(), 1);
        assert_eq!(p.failed[0].rank, 1);
        assert!(p.failed[0].error.contains("No such file"));
        assert_eq!(p.missing, vec![3]);
        assert_eq!(p.pending(), vec![1, 3]);
        let t = s.table();
        assert!(t.contains("process rank 1"), "{t}");
        assert!(t.contains("in.jsonl: No such file"), "{t}");
        assert!(t.contains("  process rank 3\n"), "{t}");
        let j: serde_json::Value = serde_json::from_str(&s.json()).expect("valid JSON");
        assert_eq!(j["complete"], false);
        assert_eq!(j["steps"][0]["failed"][0]["rank"], 1);
        assert_eq!(j["steps"][0]["missing"], serde_json::json!([3]));
    }

    #[test]
    fn an_unreadable_failure_marker_is_reported_not_fatal() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path();
        plan(1).save(out).expect("plan saved");
        let m = failed_marker(out, "process", 0);
        std::fs::create_dir_all(m.parent().expect("has a parent")).expect("has a parent");
        std::fs::write(&m, "not json").expect("file written");
        let s = RunStatus::read(out).expect("status reads");
        assert!(s.steps[0].failed[0].error.starts_with("unreadable failure marker"));
    }

    #[test]
    fn complete_needs_every_marker_and_success() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path();
        let p = plan(2);
        p.save(out).expect("plan saved");
        for s in &p.steps {
            for r in 0..s.world {
                mark_done(out, &s.name, r, s.world, 0.5, 1).expect("marker written");
            }
        }
        let s = RunStatus::read(out).expect("status reads");
        assert!(!s.complete);
        assert!(s.table().contains("_SUCCESS is missing"));
        std::fs::write(out.join(SUCCESS_MARKER), "").expect("file written");
        let s = RunStatus::read(out).expect("status reads");
        assert!(s.complete);
        assert!(s.table().starts_with(&format!("run {}: complete\n", out.display())));
    }

    #[test]
    fn no_plan_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let e = RunStatus::read(dir.path()).expect_err("fails").to_string();
        assert!(e.contains("plan.json"), "{e}");
    }
}
