//! `curate slurm`: a distributed run as a chain of Slurm job arrays.
//!
//! Each step of the plan becomes one job array whose task `r` runs
//! `curate <step> OUT --rank r --world N`. The arrays are submitted in step
//! order, each with `--dependency=afterok:<previous array>` and
//! `--kill-on-invalid-dep=yes`, so a step starts only when every task of the
//! one before it succeeded, and a failure cancels the rest of the chain
//! instead of leaving it pending forever.
//!
//! Slurm's exit codes are not trusted to say what is done: a task killed
//! before it wrote anything, or one done in an earlier submission, looks the
//! same to it. The markers decide ([`super::status`]): a step whose markers
//! all exist is not submitted again, and on `--resume` only the ranks without
//! a `_DONE` marker are in `--array` (a task that finds its marker does
//! nothing anyway). `--wait` polls `squeue` until none of the submitted
//! arrays is queued or running, then judges the run by its markers.
//!
//! The scripts (`OUT/.work/slurm/<step>.sbatch`) use absolute paths and run in
//! the folder the run was planned from (input paths in the plan are
//! absolute; benchmark paths named in the rules resolve from there). What the scripts need and every submission's job ids are kept in
//! `OUT/.work/slurm/slurm.json`, so a resume submits the same way and refuses
//! to start while an earlier submission still has jobs in the queue.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::status::{rank_ranges, ranks_phrase, RunStatus, StepStatus};
use super::{read_json, write_json_atomic, Plan, WORK_DIR};
use crate::error::{Error, Result};

/// The folder of the scripts, their logs and `slurm.json`.
pub fn slurm_dir(out: &Path) -> PathBuf {
    out.join(WORK_DIR).join("slurm")
}

/// The script of one step.
pub fn script_path(out: &Path, step: &str) -> PathBuf {
    slurm_dir(out).join(format!("{step}.sbatch"))
}

fn state_path(out: &Path) -> PathBuf {
    slurm_dir(out).join("slurm.json")
}

/// Resources asked of Slurm for every task (unset: the cluster's defaults).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SbatchOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` (Slurm's formats: `MM`, `HH:MM:SS`, `D-HH`, …).
    pub time: Option<String>,
    /// `--cpus-per-task`.
    pub cpus_per_task: Option<usize>,
    /// `--mem` (`4G`, `500M`, …).
    pub mem: Option<String>,
    /// Further options, each one `#SBATCH` line (`--account=x`, `--qos=y`).
    pub extra: Vec<String>,
}

impl SbatchOptions {
    /// `self` with every option that `newer` sets replacing ours.
    pub fn updated(self, newer: &SbatchOptions) -> SbatchOptions {
        SbatchOptions {
            partition: newer.partition.clone().or(self.partition),
            time: newer.time.clone().or(self.time),
            cpus_per_task: newer.cpus_per_task.or(self.cpus_per_task),
            mem: newer.mem.clone().or(self.mem),
            extra: if newer.extra.is_empty() {
                self.extra
            } else {
                newer.extra.clone()
            },
        }
    }

    fn directives(&self) -> Vec<String> {
        let mut d = Vec::new();
        let mut opt = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                d.push(format!("--{name}={}", directive_value(v)));
            }
        };
        opt("partition", &self.partition);
        opt("time", &self.time);
        opt("cpus-per-task", &self.cpus_per_task.map(|c| c.to_string()));
        opt("mem", &self.mem);
        d.extend(self.extra.iter().cloned());
        d
    }
}

/// One submitted job array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmittedJob {
    /// The step it runs.
    pub step: String,
    /// Slurm's job id of the array.
    pub job_id: String,
    /// The ranks in its `--array`.
    pub ranks: Vec<usize>,
}

/// How a run is submitted, kept in `OUT/.work/slurm/slurm.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Launch {
    /// The output folder (absolute).
    pub out: PathBuf,
    /// The `curate` binary the tasks run (absolute).
    pub curate: PathBuf,
    /// Where the tasks run: the folder the run was planned from.
    pub chdir: PathBuf,
    /// Resources of every task.
    pub sbatch: SbatchOptions,
    /// Every submission, oldest first.
    #[serde(default)]
    pub submissions: Vec<Vec<SubmittedJob>>,
}

impl Launch {
    /// Reads `slurm.json` of `out`, if the run was submitted before.
    pub fn load(out: &Path) -> Result<Option<Launch>> {
        let p = state_path(out);
        if p.exists() {
            read_json(&p).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Keeps it in `OUT/.work/slurm/slurm.json`.
    pub fn save(&self) -> Result<()> {
        write_json_atomic(&state_path(&self.out), self)
    }

    /// The job ids of the last submission.
    pub fn last_jobs(&self) -> Vec<String> {
        self.submissions
            .last()
            .map(|s| s.iter().map(|j| j.job_id.clone()).collect())
            .unwrap_or_default()
    }
}

/// The Slurm commands used: the programs on `PATH`, or (in tests) stand-ins
/// such as `sh script`, each a program followed by leading arguments.
#[derive(Debug, Clone)]
pub struct Programs {
    /// `sbatch`.
    pub sbatch: Vec<String>,
    /// `squeue`.
    pub squeue: Vec<String>,
}

impl Default for Programs {
    fn default() -> Self {
        Programs {
            sbatch: vec!["sbatch".into()],
            squeue: vec!["squeue".into()],
        }
    }
}

/// Quotes `s` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Quotes a value of an `#SBATCH` line (sbatch reads quotes and backslashes
/// there, and ends the value at white space).
fn directive_value(v: &str) -> String {
    if v.chars().any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\')) {
        format!("\"{}\"", v.replace('\\', r"\\").replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The batch script of one step: an array over `ranks` whose task runs
/// `curate <step> OUT --rank $SLURM_ARRAY_TASK_ID --world <world>`.
pub fn script(launch: &Launch, step: &str, world: usize, ranks: &[usize]) -> String {
    let out = &launch.out;
    let log = slurm_dir(out).join("logs").join(format!("{step}-%a.log"));
    let mut s = String::from("#!/bin/bash\n");
    let mut directives = vec![
        format!("--job-name=curate-{step}"),
        format!("--array={}", rank_ranges(ranks)),
        format!("--output={}", directive_value(&path_str(&log))),
        // A resubmitted task adds to the log of the attempt before it.
        "--open-mode=append".to_string(),
        format!("--chdir={}", directive_value(&path_str(&launch.chdir))),
    ];
    directives.extend(launch.sbatch.directives());
    for d in directives {
        let _ = writeln!(s, "#SBATCH {d}");
    }
    let _ = writeln!(
        s,
        "#\n# Step `{step}` of the curate run in {}: task SLURM_ARRAY_TASK_ID of {world}.\n\
         # Written by `curate slurm`; a task is done when {}/_DONE.<rank> exists\n\
         # (and then does nothing when run again).",
        out.display(),
        super::step_dir(out, step).display()
    );
    s.push_str("set -euo pipefail\n");
    let _ = writeln!(
        s,
        "echo \"curate {step}: rank $SLURM_ARRAY_TASK_ID of {world} on $(hostname) at $(date -Is)\" >&2"
    );
    let _ = writeln!(
        s,
        "exec {} {step} {} --rank \"$SLURM_ARRAY_TASK_ID\" --world {world}",
        sh_quote(&path_str(&launch.curate)),
        sh_quote(&path_str(out))
    );
    s
}

/// The arguments of `sbatch` for one step's script, after the job `after`.
pub fn sbatch_args(script: &Path, after: Option<&str>) -> Vec<String> {
    let mut a = vec!["--parsable".to_string()];
    if let Some(id) = after {
        a.push(format!("--dependency=afterok:{id}"));
        a.push("--kill-on-invalid-dep=yes".to_string());
    }
    a.push(path_str(script));
    a
}

fn command_line(program: &[String], args: &[String]) -> String {
    program
        .iter()
        .chain(args)
        .map(|a| sh_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `program args`, returning its stdout, or an error naming the
/// command with its exit status and stderr.
fn run_program(program: &[String], args: &[String]) -> Result<String> {
    let fail = |message: String| Error::Command {
        command: command_line(program, args),
        message,
    };
    let name = program.first().map(String::as_str).unwrap_or_default();
    let output = Command::new(name)
        .args(&program[1.min(program.len())..])
        .args(args)
        .output()
        .map_err(|e| {
            fail(if e.kind() == std::io::ErrorKind::NotFound {
                format!("{name} is not on PATH (run this on a Slurm login node)")
            } else {
                format!("cannot start: {e}")
            })
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(fail(format!("{}: {}", output.status, stderr.trim())));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Submits the steps of `plan` that are not done, in order, each after the
/// one before; writes their scripts first. With `dry_run`, prints the
/// scripts and the sbatch commands (as a shell snippet) instead.
pub fn submit(
    launch: &mut Launch,
    plan: &Plan,
    programs: &Programs,
    dry_run: bool,
    say: &mut dyn std::io::Write,
) -> Result<Vec<SubmittedJob>> {
    let out = launch.out.clone();
    let logs = slurm_dir(&out).join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;
    let mut jobs: Vec<SubmittedJob> = Vec::new();
    let mut commands = String::new();
    let mut previous: Option<String> = None;
    let w =
        |say: &mut dyn std::io::Write, text: String| say.write_all(text.as_bytes()).map_err(|e| Error::io("stdout", e));
    for step in &plan.steps {
        let status = StepStatus::read(&out, &step.name, step.world);
        if status.is_done() {
            w(say, format!("{}: done, not submitted\n", step.name))?;
            continue;
        }
        let ranks = status.pending();
        let path = script_path(&out, &step.name);
        let text = script(launch, &step.name, step.world, &ranks);
        std::fs::write(&path, &text).map_err(|e| Error::io(&path, e))?;
        if dry_run {
            // The job id of the step before comes from its shell variable.
            let args = sbatch_args(&path, previous.as_ref().map(|p| format!("@{p}@")).as_deref());
            let line = command_line(&programs.sbatch, &args);
            let line = match &previous {
                Some(p) => line.replace(&format!("@{p}@"), &format!("\"${{{p}%%;*}}\"")),
                None => line,
            };
            w(say, format!("==> {} <==\n{text}\n", path.display()))?;
            let _ = writeln!(commands, "{}=$({line})", step.name);
            previous = Some(step.name.clone());
            continue;
        }
        let args = sbatch_args(&path, previous.as_deref());
        let stdout = run_program(&programs.sbatch, &args).inspect_err(|_| {
            if !jobs.is_empty() {
                record(launch, &jobs);
            }
        })?;
        // `--parsable` prints `jobid` or `jobid;cluster`.
        let id = stdout
            .lines()
            .next()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Command {
                command: command_line(&programs.sbatch, &args),
                message: format!("unexpected output (no job id): {:?}", stdout.trim()),
            });
        }
        w(
            say,
            format!("{}: job {id}, {} of {}\n", step.name, ranks_phrase(&ranks), step.world),
        )?;
        jobs.push(SubmittedJob {
            step: step.name.clone(),
            job_id: id.to_string(),
            ranks,
        });
        previous = Some(id.to_string());
    }
    if dry_run {
        if !commands.is_empty() {
            w(say, format!("# submission (not run):\n{commands}"))?;
        }
    } else if !jobs.is_empty() {
        launch.submissions.push(jobs.clone());
        launch.save()?;
    }
    Ok(jobs)
}

/// Keeps a partial submission in `slurm.json` (best effort: the error that
/// stopped the submission is the one to report).
fn record(launch: &Launch, jobs: &[SubmittedJob]) {
    let mut l = launch.clone();
    l.submissions.push(jobs.to_vec());
    let _ = l.save();
}

/// Which of `ids` still have tasks in the queue (pending or running). A job
/// that waits on a dependency that can never be satisfied does not count:
/// it will never run.
pub fn live_jobs(programs: &Programs, ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let args = vec![
        "--noheader".to_string(),
        format!("--jobs={}", ids.join(",")),
        "--format=%F %r".to_string(),
    ];
    let stdout = match run_program(&programs.squeue, &args) {
        Ok(s) => s,
        // One unknown id (a job long gone) is an error to squeue.
        Err(Error::Command { message, .. }) if message.contains("Invalid job id") => String::new(),
        Err(e) => return Err(e),
    };
    let mut live: Vec<String> = stdout
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let id = f.next()?;
            let reason = f.next().unwrap_or("");
            (ids.iter().any(|i| i == id) && reason != "DependencyNeverSatisfied").then(|| id.to_string())
        })
        .collect();
    live.sort();
    live.dedup();
    Ok(live)
}

fn progress_line(status: &RunStatus) -> String {
    status
        .steps
        .iter()
        .map(|s| {
            let failed = if s.failed.is_empty() {
                String::new()
            } else {
                format!(" ({} failed)", s.failed.len())
            };
            format!("{} {}/{}{failed}", s.step, s.done.len(), s.world)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Waits until every step is done or none of `ids` is queued or running any
/// more, then reads the markers. Progress goes to stderr.
pub fn wait(out: &Path, plan: &Plan, programs: &Programs, ids: &[String], poll: Duration) -> Result<RunStatus> {
    let mut errors = 0;
    let mut last = String::new();
    loop {
        let status = RunStatus::of_plan(out, plan);
        let line = progress_line(&status);
        if line != last {
            eprintln!("waiting: {line}");
            last = line;
        }
        if status.steps.iter().all(StepStatus::is_done) {
            return Ok(status);
        }
        match live_jobs(programs, ids) {
            // Markers are written before a task exits: read them once more.
            Ok(live) if live.is_empty() => return Ok(RunStatus::of_plan(out, plan)),
            Ok(_) => errors = 0,
            // The controller may be briefly unreachable; give up after a while.
            Err(e) => {
                errors += 1;
                if errors >= 10 {
                    return Err(e);
                }
            }
        }
        std::thread::sleep(poll);
    }
}

pub fn refuse_live_jobs(launch: &Launch, programs: &Programs) -> Result<()> {
    let live = live_jobs(programs, &launch.last_jobs())?;
    if live.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{}: jobs {} of an earlier submission are still queued or running; wait for them \
         (`curate status {}`) or cancel them (`scancel {}`) first",
        launch.out.display(),
        live.join(", "),
        launch.out.display(),
        live.join(" ")
    )))
}

/// Warns about planned inputs that the tasks will not find from `chdir`
/// (moved since planning, or a plan made from another folder): their tasks
/// will fail, and say so in their markers.
pub fn warn_unreachable_inputs(plan: &Plan, chdir: &Path) {
    let missing: Vec<&str> = plan
        .references
        .iter()
        .chain(&plan.inputs)
        .filter(|f| !chdir.join(&f.path).exists())
        .map(|f| f.path.as_str())
        .collect();
    for path in missing.iter().take(5) {
        eprintln!(
            "warning: {path}: not found from {}, where the tasks run; the task that reads it will fail",
            chdir.display()
        );
    }
    if missing.len() > 5 {
        eprintln!("warning: {} more inputs not found", missing.len() - 5);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributed::mark_done;
    use crate::distributed::status::test_plan as plan;

    fn launch(out: &Path) -> Launch {
        Launch {
            out: out.to_path_buf(),
            curate: "/opt/curate/bin/curate".into(),
            chdir: "/home/me/data".into(),
            sbatch: SbatchOptions {
                partition: Some("cpu".into()),
                time: Some("2:00:00".into()),
                cpus_per_task: Some(8),
                mem: Some("16G".into()),
                extra: vec!["--account=nlp".into()],
            },
            submissions: Vec::new(),
        }
    }

    /// A stand-in program: `sh` running a script with `body`, in `dir`
    /// (run by `sh`, not executed, so that no other test's fork can hold it
    /// open for writing: "text file busy").
    fn program(dir: &Path, name: &str, body: &str) -> Vec<String> {
        let p = dir.join(name);
        std::fs::write(&p, format!("{body}\n")).expect("file written");
        vec!["sh".into(), p.display().to_string()]
    }

    fn named(name: &str) -> Vec<String> {
        vec![name.to_string()]
    }

    #[test]
    fn the_script_runs_one_rank_of_the_step_with_absolute_paths() {
        let l = launch(Path::new("/scratch/run 1"));
        let s = script(&l, "process", 4, &[0, 1, 2, 3]);
        assert!(
            s.starts_with("#!/bin/bash\n#SBATCH --job-name=curate-process\n#SBATCH --array=0-3\n"),
            "{s}"
        );
        assert!(
            s.contains("#SBATCH --output=\"/scratch/run 1/.work/slurm/logs/process-%a.log\"\n"),
            "{s}"
        );
        assert!(s.contains("#SBATCH --chdir=/home/me/data\n"), "{s}");
        for d in [
            "--partition=cpu",
            "--time=2:00:00",
            "--cpus-per-task=8",
            "--mem=16G",
            "--account=nlp",
        ] {
            assert!(s.contains(&format!("#SBATCH {d}\n")), "{d}: {s}");
        }
        assert!(s.contains("set -euo pipefail\n"), "{s}");
        assert!(s.ends_with(
            "exec /opt/curate/bin/curate process '/scratch/run 1' --rank \"$SLURM_ARRAY_TASK_ID\" --world 4\n"
        ));
        // Only the given ranks are in the array.
        let s = script(&l, "process", 4, &[1, 3]);
        assert!(s.contains("#SBATCH --array=1,3\n"), "{s}");
        assert!(s.contains("--world 4\n"), "{s}");
    }

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("/a/b-c_d.e"), "/a/b-c_d.e");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(directive_value("a b\"c"), r#""a b\"c""#);
    }

    #[test]
    fn later_sbatch_options_replace_earlier_ones() {
        let old = launch(Path::new("/o")).sbatch;
        let new = SbatchOptions {
            mem: Some("32G".into()),
            ..Default::default()
        };
        let u = old.clone().updated(&new);
        assert_eq!(u.mem.as_deref(), Some("32G"));
        assert_eq!(u.partition, old.partition);
        assert_eq!(u.extra, old.extra);
    }

    #[test]
    fn steps_are_chained_and_done_ranks_are_left_out() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("folder created");
        let p = plan(4);
        p.save(&out).expect("plan saved");
        for r in [0, 2] {
            mark_done(&out, "process", r, 4, 1.0, 1).expect("marker written");
        }
        // sbatch prints job ids 100, 101, … and logs its arguments.
        let calls = dir.path().join("calls");
        let programs = Programs {
            sbatch: program(
                &bin,
                "sbatch",
                &format!(
                    "n=$(cat {c} 2>/dev/null | wc -l); echo \"$@\" >> {c}; echo $((100 + n))\\;cluster",
                    c = calls.display()
                ),
            ),
            squeue: named("squeue"),
        };
        let mut l = launch(&out);
        let mut said = Vec::new();
        let jobs = submit(&mut l, &p, &programs, false, &mut said).expect("submission");
        let ids: Vec<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();
        assert_eq!(ids, ["100", "101", "102", "103"]);
        assert_eq!(jobs[0].ranks, vec![1, 3]);
        let calls = std::fs::read_to_string(&calls).expect("file reads");
        let lines: Vec<&str> = calls.lines().collect();
        let sp = |s: &str| script_path(&out, s).display().to_string();
        assert_eq!(lines[0], format!("--parsable {}", sp("process")));
        assert_eq!(
            lines[1],
            format!(
                "--parsable --dependency=afterok:100 --kill-on-invalid-dep=yes {}",
                sp("pairs")
            )
        );
        assert_eq!(
            lines[3],
            format!(
                "--parsable --dependency=afterok:102 --kill-on-invalid-dep=yes {}",
                sp("write")
            )
        );
        let s = std::fs::read_to_string(script_path(&out, "process")).expect("file reads");
        assert!(s.contains("#SBATCH --array=1,3\n"), "{s}");
        assert!(slurm_dir(&out).join("logs").is_dir());
        let said = String::from_utf8(said).expect("utf-8");
        assert!(said.contains("process: job 100, ranks 1,3 of 4\n"), "{said}");
        let saved = Launch::load(&out).expect("slurm.json reads").expect("slurm.json reads");
        assert_eq!(saved.last_jobs(), vec!["100", "101", "102", "103"]);

        // Once process is done, it is not submitted and pairs has no dependency.
        for r in [1, 3] {
            mark_done(&out, "process", r, 4, 1.0, 1).expect("marker written");
        }
        let mut said = Vec::new();
        let jobs = submit(&mut l, &p, &programs, false, &mut said).expect("submission");
        assert_eq!(jobs[0].step, "pairs");
        assert!(String::from_utf8(said)
            .expect("utf-8")
            .starts_with("process: done, not submitted\n"));
        let calls = std::fs::read_to_string(dir.path().join("calls")).expect("file reads");
        assert_eq!(
            calls.lines().nth(4).expect("line exists"),
            format!("--parsable {}", sp("pairs"))
        );
    }

    #[test]
    fn a_dry_run_prints_scripts_and_commands_and_submits_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let p = plan(2);
        p.save(&out).expect("plan saved");
        let programs = Programs {
            sbatch: named("/nonexistent/sbatch"),
            squeue: named("/nonexistent/squeue"),
        };
        let mut said = Vec::new();
        let jobs = submit(&mut launch(&out), &p, &programs, true, &mut said).expect("submission");
        assert!(jobs.is_empty());
        let said = String::from_utf8(said).expect("utf-8");
        assert!(said.contains(&format!(
            "==> {} <==\n#!/bin/bash\n",
            script_path(&out, "pairs").display()
        )));
        assert!(said.contains(&format!(
            "pairs=$(/nonexistent/sbatch --parsable --dependency=afterok:\"${{process%%;*}}\" \
             --kill-on-invalid-dep=yes {})\n",
            script_path(&out, "pairs").display()
        )));
        assert!(Launch::load(&out).expect("slurm.json reads").is_none());
    }

    #[test]
    fn sbatch_errors_name_the_command_and_its_stderr() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let p = plan(1);
        p.save(&out).expect("plan saved");
        let missing = Programs {
            sbatch: named("curate-test-no-such-sbatch"),
            squeue: named("squeue"),
        };
        let e = submit(&mut launch(&out), &p, &missing, false, &mut Vec::new())
            .expect_err("fails")
            .to_string();
        assert!(e.starts_with("curate-test-no-such-sbatch --parsable "), "{e}");
        assert!(e.contains("is not on PATH"), "{e}");

        let failing = Programs {
            sbatch: program(
                dir.path(),
                "sbatch",
                "echo 'sbatch: error: invalid partition specified: gpu' >&2; exit 1",
            ),
            squeue: named("squeue"),
        };
        let e = submit(&mut launch(&out), &p, &failing, false, &mut Vec::new())
            .expect_err("fails")
            .to_string();
        assert!(
            e.contains("exit status: 1: sbatch: error: invalid partition specified: gpu"),
            "{e}"
        );
    }

    #[test]
    fn live_jobs_ignore_other_jobs_and_dead_dependencies() {
        let dir = tempfile::tempdir().expect("temp dir");
        let programs = Programs {
            sbatch: named("sbatch"),
            squeue: program(
                dir.path(),
                "squeue",
                "printf '7 None\\n7 Resources\\n8 DependencyNeverSatisfied\\n9 Dependency\\n77 None\\n'",
            ),
        };
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            live_jobs(&programs, &ids(&["7", "8", "9"])).expect("squeue answers"),
            ids(&["7", "9"])
        );
        assert_eq!(
            live_jobs(&programs, &ids(&["8", "10"])).expect("squeue answers"),
            Vec::<String>::new()
        );
        let gone = Programs {
            sbatch: named("sbatch"),
            squeue: program(
                dir.path(),
                "squeue2",
                "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1",
            ),
        };
        assert!(live_jobs(&gone, &ids(&["5"])).expect("squeue answers").is_empty());
    }

    #[test]
    fn waiting_ends_when_the_jobs_are_gone_and_judges_by_markers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let p = plan(1);
        p.save(&out).expect("plan saved");
        // The job is queued twice, then gone; only process finished.
        let count = dir.path().join("count");
        let programs = Programs {
            sbatch: named("sbatch"),
            squeue: program(
                dir.path(),
                "squeue",
                &format!(
                    "echo x >> {c}; [ $(wc -l < {c}) -gt 2 ] || echo '42 None'",
                    c = count.display()
                ),
            ),
        };
        mark_done(&out, "process", 0, 1, 1.0, 1).expect("marker written");
        let s = wait(&out, &p, &programs, &["42".into()], Duration::from_millis(10)).expect("wait ends");
        assert!(!s.complete);
        assert!(s.steps[0].is_done());
        assert_eq!(s.steps[1].missing, vec![0]);
        assert_eq!(std::fs::read_to_string(&count).expect("file reads").lines().count(), 3);
    }
}
