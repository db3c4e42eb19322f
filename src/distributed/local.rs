//! `curate run --checkpoint`: a local run that survives being killed.
//!
//! The run is planned as the steps of a distributed run (one `process` task
//! per `--task-bytes` of input, the same number of `pairs` tasks, then
//! `decide` and `write`), and the tasks are done here, one after another,
//! each with every thread and each leaving its `_DONE` marker last. Stopped
//! at any point (SIGKILL, a power loss, out of memory, SIGINT) and started
//! again with the same command, the run keeps the tasks that finished and
//! redoes the one that did not (a task starts from an empty folder); started
//! again once finished, it has nothing left to do. The shards are
//! byte-identical to an uninterrupted run's, as every distributed run's are
//! to a local run's.
//!
//! A folder planned for other inputs, rules or settings is refused unless
//! `--overwrite` is given, so a resumed run never mixes two runs' tasks.

use std::path::Path;

use crate::error::{Error, Result};
use crate::output::Report;
use crate::pipeline::lock::OutLock;
use crate::pipeline::{RunOptions, SUCCESS_MARKER};
use crate::ruleset::Rules;

use super::plan::{make_plan_split, Plan, PlannedFile, PLAN_FILE};
use super::steps::run_step;
use super::STEPS;

/// Input bytes per `process` task of a checkpointed run, by default: the
/// work at most lost to a kill.
pub const TASK_BYTES: u64 = 256 << 20;

/// At most this many tasks per step, whatever the input's size.
const MAX_TASKS: u64 = 4096;

/// Runs `opts` with checkpoints every `task_bytes` of input, resuming an
/// unfinished checkpointed run of the same command in `opts.out`. Returns
/// the report (already written).
pub fn run_checkpointed(rules: Rules, opts: &RunOptions, task_bytes: u64) -> Result<Report> {
    let out = &opts.out;
    let plan = match checkpointed_plan(out)? {
        Some(plan) if !opts.overwrite => {
            if let Err(e) = same_command(&plan, &rules, opts) {
                if out.join(SUCCESS_MARKER).exists() {
                    return Err(Error::Usage(format!(
                        "{}: output folder holds an earlier run; pass --overwrite to replace it",
                        out.display()
                    )));
                }
                return Err(e);
            }
            plan
        }
        _ => {
            let (inputs, references) = crate::pipeline::run_files(opts)?;
            let mut total = 0u64;
            for f in inputs.iter().chain(&references) {
                total += std::fs::metadata(&f.path).map_err(|e| Error::io(&f.path, e))?.len();
            }
            let task_bytes = task_bytes.max(1);
            let world = total.div_ceil(task_bytes).clamp(1, MAX_TASKS) as usize;
            let mut fresh = opts.clone();
            // A plan killed before it was saved left only the rules snapshot.
            fresh.overwrite = opts.overwrite || only_a_planning_left(out);
            make_plan_split(&rules, &fresh, world, Some(task_bytes))?
        }
    };
    let _lock = OutLock::acquire(out)?;
    for step in STEPS {
        for rank in 0..plan.world(step)? {
            crate::pipeline::stop::check().map_err(|e| stopped(out, e))?;
            run_step(out, step, Some(rank), Some(plan.world(step)?)).map_err(|e| stopped(out, e))?;
        }
    }
    // A run killed while removing its tasks' data left some behind.
    super::steps::clean(out)?;
    let path = out.join("report.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Run(format!("{}: {e}", path.display())))
}

/// The plan of a checkpointed run in `out`, if any: finished or not, the
/// same command continues it (a finished one has nothing left to do; a run
/// killed after writing `_SUCCESS` but before its last marker writes its
/// tables again, the same bytes).
fn checkpointed_plan(out: &Path) -> Result<Option<Plan>> {
    if !out.join(PLAN_FILE).exists() {
        return Ok(None);
    }
    Plan::load(out).map(Some)
}

/// Whether `out` holds nothing but what planning writes before `plan.json`
/// (the rules snapshot, the lock): a run killed while planning.
fn only_a_planning_left(out: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(out) else {
        return false;
    };
    let names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.iter().any(|n| n == "rules")
        && names
            .iter()
            .all(|n| n == "rules" || n == crate::pipeline::lock::LOCK_FILE || n.ends_with(".tmp"))
}

/// Checks that the unfinished run in `out` was planned for this command.
fn same_command(plan: &Plan, rules: &Rules, opts: &RunOptions) -> Result<()> {
    let (inputs, references) = crate::pipeline::run_files(opts)?;
    let planned =
        |files: &[crate::read::InputFile]| -> Result<Vec<PlannedFile>> { files.iter().map(PlannedFile::of).collect() };
    let differs = if plan.rules_hash != rules.files.hash() {
        Some("other rules")
    } else if plan.inputs != planned(&inputs)? || plan.references != planned(&references)? {
        Some("other inputs (or inputs that changed since)")
    } else if !same_settings(plan, opts) {
        Some("other settings")
    } else {
        None
    };
    match differs {
        Some(what) => Err(Error::Usage(format!(
            "{}: output folder holds an unfinished run of {what}; run that command again to finish it, or pass --overwrite to start this one",
            opts.out.display()
        ))),
        None => Ok(()),
    }
}

/// Whether the plan's settings and decontamination files are this
/// command's; the thread count may differ (it changes no output).
fn same_settings(plan: &Plan, opts: &RunOptions) -> bool {
    let mut asked = opts.settings.clone();
    asked.threads = plan.settings.threads;
    let decontaminate: Vec<String> = opts
        .decontaminate
        .iter()
        .map(|p| std::path::absolute(p).map_or_else(|_| p.clone(), |a| a.to_string_lossy().into_owned()))
        .collect();
    plan.settings == asked && plan.decontaminate == decontaminate
}

/// A run stopped by a signal says how to go on.
fn stopped(out: &Path, e: Error) -> Error {
    match e {
        Error::Stopped(_) => Error::Stopped(format!(
            "stopped by a signal: the finished tasks in {} are kept; run the same command again to continue",
            out.display()
        )),
        other => other,
    }
}
