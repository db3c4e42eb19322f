//! Running the pipeline as independent tasks over shared storage.
//!
//! `curate run` does everything in one process. For a corpus that outgrows
//! one machine the same work is split into steps, each run as `world`
//! independent tasks (`rank` 0..world) that only meet through files in the
//! output folder, which every node must see:
//!
//! | step | tasks | reads | writes |
//! |---|---|---|---|
//! | `plan` | 1 | the inputs' names and sizes, the rules | `plan.json`, `rules/` |
//! | `process` | N | its share of the input files | staged records, rejected, malformed, metrics, dedup keys, partial report |
//! | `pairs` | P | every task's band keys of its band partition, signatures | verified near-duplicate pairs |
//! | `decide` | 1 | exact keys, pairs | the drop list, `dedup/clusters.parquet` |
//! | `write` | 1 | staged rows, the drop list, partial reports | `kept/`, `rejected/`, `malformed/`, `metrics/`, reports, `_SUCCESS` |
//!
//! A task writes under `OUT/.work/<step>/` and, last, its completion marker
//! `_DONE.<rank>`; a step is done when all of its markers exist, and a task
//! whose marker exists does nothing when run again (resume). A task that
//! fails leaves `_FAILED.<rank>` with the error instead. The local run is the
//! same steps run in one process, so both produce byte-identical shards.

pub mod local;
pub mod plan;
pub mod slurm;
pub mod status;
pub mod steps;

pub use plan::{Plan, PlannedFile, StepPlan};

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The folder of intermediate files under the output folder.
pub const WORK_DIR: &str = ".work";

/// The steps, in order.
pub const STEPS: [&str; 4] = ["process", "pairs", "decide", "write"];

/// The folder of one step.
pub fn step_dir(out: &Path, step: &str) -> PathBuf {
    out.join(WORK_DIR).join(step)
}

/// The folder of one task of one step.
pub fn task_dir(out: &Path, step: &str, rank: usize) -> PathBuf {
    step_dir(out, step).join(format!("rank-{rank:05}"))
}

/// The completion marker of one task.
pub fn done_marker(out: &Path, step: &str, rank: usize) -> PathBuf {
    step_dir(out, step).join(format!("_DONE.{rank}"))
}

/// The failure marker of one task.
pub fn failed_marker(out: &Path, step: &str, rank: usize) -> PathBuf {
    step_dir(out, step).join(format!("_FAILED.{rank}"))
}

/// What a completion or failure marker holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// The step.
    pub step: String,
    /// The task's rank.
    pub rank: usize,
    /// The step's number of tasks.
    pub world: usize,
    /// The host that ran it.
    pub host: String,
    /// Wall time of the task in seconds.
    pub seconds: f64,
    /// Records the task handled (input records for `process`).
    pub records: u64,
    /// The error, for a failure marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default()
}

pub use crate::output::run_folder::{read_json, write_atomic, write_json_atomic};

/// Records that a task completed (and clears an earlier failure).
pub fn mark_done(out: &Path, step: &str, rank: usize, world: usize, seconds: f64, records: u64) -> Result<()> {
    let failed = failed_marker(out, step, rank);
    if failed.exists() {
        std::fs::remove_file(&failed).map_err(|e| Error::io(&failed, e))?;
    }
    let m = Marker {
        step: step.into(),
        rank,
        world,
        host: host(),
        seconds,
        records,
        error: None,
    };
    write_json_atomic(&done_marker(out, step, rank), &m)
}

/// Records that a task failed with `error`.
pub fn mark_failed(out: &Path, step: &str, rank: usize, world: usize, error: &str) -> Result<()> {
    let m = Marker {
        step: step.into(),
        rank,
        world,
        host: host(),
        error: Some(error.to_string()),
        ..Default::default()
    };
    write_json_atomic(&failed_marker(out, step, rank), &m)
}

/// Whether a task has completed.
pub fn is_done(out: &Path, step: &str, rank: usize) -> bool {
    done_marker(out, step, rank).exists()
}

/// Whether every task of a step has completed.
pub fn step_done(out: &Path, step: &str, world: usize) -> bool {
    (0..world).all(|r| is_done(out, step, r))
}

/// The rank of this task: `--rank`, else `SLURM_ARRAY_TASK_ID`, else
/// Kubernetes' `JOB_COMPLETION_INDEX`, else 0 for a step of one task. The world is `--world`, else the
/// plan's (`SLURM_ARRAY_TASK_COUNT` counts only the submitted tasks, which is
/// fewer than the world when only missing ranks are re-submitted, so it is
/// only checked, when it is larger than the plan's world).
pub fn resolve_rank(rank: Option<usize>, world: Option<usize>, planned: usize, step: &str) -> Result<(usize, usize)> {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.trim().parse::<usize>().ok());
    let world = world.unwrap_or(planned);
    if world != planned {
        return Err(Error::Usage(format!(
            "step {step} was planned with {planned} tasks, not {world}"
        )));
    }
    if let Some(n) = env("SLURM_ARRAY_TASK_COUNT") {
        if rank.is_none() && n > planned {
            return Err(Error::Usage(format!(
                "SLURM_ARRAY_TASK_COUNT is {n} but step {step} was planned with {planned} tasks"
            )));
        }
    }
    let rank = rank
        .or_else(|| env("SLURM_ARRAY_TASK_ID"))
        .or_else(|| env("JOB_COMPLETION_INDEX"))
        .or((world == 1).then_some(0))
        .ok_or_else(|| {
            Error::Usage(format!(
                "step {step}: no rank (give --rank, or run as a Slurm array task or an indexed Kubernetes job)"
            ))
        })?;
    if rank >= world {
        return Err(Error::Usage(format!(
            "step {step}: rank {rank} is not below the world {world}"
        )));
    }
    Ok((rank, world))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_written_atomically_and_clear_failures() {
        let dir = tempfile::tempdir().expect("test");
        let out = dir.path();
        assert!(!is_done(out, "process", 1));
        mark_failed(out, "process", 1, 2, "boom").expect("test");
        assert!(failed_marker(out, "process", 1).exists());
        mark_done(out, "process", 1, 2, 1.5, 10).expect("test");
        assert!(is_done(out, "process", 1));
        assert!(!failed_marker(out, "process", 1).exists());
        assert!(!step_done(out, "process", 2));
        mark_done(out, "process", 0, 2, 1.0, 3).expect("test");
        assert!(step_done(out, "process", 2));
        let m: Marker = read_json(&done_marker(out, "process", 1)).expect("test");
        assert_eq!((m.rank, m.world, m.records), (1, 2, 10));
    }

    #[test]
    fn rank_comes_from_the_flag_and_must_fit_the_world() {
        assert_eq!(resolve_rank(Some(2), Some(4), 4, "process").expect("test"), (2, 4));
        assert_eq!(resolve_rank(Some(1), None, 3, "pairs").expect("test"), (1, 3));
        assert!(resolve_rank(Some(4), Some(4), 4, "process").is_err());
        assert!(resolve_rank(Some(0), Some(3), 4, "process").is_err());
    }
}
