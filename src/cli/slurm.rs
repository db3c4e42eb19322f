//! `curate slurm`: plans (or loads the plan of) a distributed run and submits
//! its steps as Slurm job arrays ([`crate::distributed::slurm`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{SbatchArgs, SlurmArgs};
use crate::distributed::slurm::{
    refuse_live_jobs, submit, wait, warn_unreachable_inputs, Launch, Programs, SbatchOptions,
};
use crate::distributed::Plan;
use crate::error::{Error, Result};
use crate::ruleset::Rules;

impl From<&SbatchArgs> for SbatchOptions {
    fn from(a: &SbatchArgs) -> Self {
        SbatchOptions {
            partition: a.partition.clone(),
            time: a.time.clone(),
            cpus_per_task: a.cpus_per_task,
            mem: a.mem.clone(),
            extra: a.sbatch_args.clone(),
        }
    }
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(|e| Error::io(p, e))
}

/// Plans the run of `args` in `out` (absolute).
fn plan_run(args: &SlurmArgs, out: &Path) -> Result<Plan> {
    if out.join(crate::distributed::plan::PLAN_FILE).exists() && !args.settings.overwrite {
        return Err(Error::Usage(format!(
            "{0}: holds a planned run; resume it with `curate slurm --resume {0}`, \
             or pass --overwrite to start again",
            out.display()
        )));
    }
    let rules = Rules::load(args.settings.rules.as_deref())?;
    let mut opts = args.settings.options(args.inputs.clone(), out.to_path_buf());
    opts.progress = false;
    // A task's threads: those Slurm gives it, unless told otherwise.
    if let (0, Some(cpus)) = (opts.settings.threads, args.sbatch.cpus_per_task) {
        opts.settings.threads = cpus;
    }
    let world = args
        .world
        .ok_or_else(|| Error::Usage("--world is needed unless --resume".into()))?;
    crate::distributed::plan::make_plan(&rules, &opts, world)
}

/// `curate slurm`: plans (or, with `--resume`, loads the plan), submits the
/// steps that are not done, and with `--wait` waits and judges the run.
/// Returns whether the command succeeded (with `--wait`: the run is complete).
pub fn command(args: &SlurmArgs) -> Result<bool> {
    let programs = Programs::default();
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    let this = || std::env::current_exe().map_err(|e| Error::io("the running executable", e));
    let curate = args.curate.as_deref().map(absolute).transpose()?;
    let sbatch = SbatchOptions::from(&args.sbatch);
    let (plan, mut launch) = match (&args.resume, &args.out) {
        (Some(out), _) => {
            let out = absolute(out)?;
            let plan = Plan::load(&out)?;
            let launch = match Launch::load(&out)? {
                // The binary of the earlier submission, unless told otherwise.
                Some(l) => Launch {
                    curate: match curate {
                        Some(c) => c,
                        None if l.curate.is_file() => l.curate.clone(),
                        None => this()?,
                    },
                    sbatch: l.sbatch.clone().updated(&sbatch),
                    ..l
                },
                None => Launch {
                    out,
                    curate: curate.map_or_else(this, Ok)?,
                    chdir: cwd,
                    sbatch,
                    submissions: Vec::new(),
                },
            };
            if !args.dry_run {
                refuse_live_jobs(&launch, &programs)?;
            }
            (plan, launch)
        }
        (None, Some(out)) => {
            let out = absolute(out)?;
            if let Some(earlier) = Launch::load(&out)? {
                refuse_live_jobs(&earlier, &programs)?;
            }
            let plan = plan_run(args, &out)?;
            let launch = Launch {
                out,
                curate: curate.map_or_else(this, Ok)?,
                chdir: cwd,
                sbatch,
                submissions: Vec::new(),
            };
            (plan, launch)
        }
        (None, None) => return Err(Error::Usage("give --out (a new run) or --resume OUT".into())),
    };
    // Keep what the scripts need, even if nothing is submitted below (a
    // dry run is submitted later with --resume).
    launch.save()?;
    warn_unreachable_inputs(&plan, &launch.chdir);
    let mut stdout = std::io::stdout();
    let jobs = submit(&mut launch, &plan, &programs, args.dry_run, &mut stdout)?;
    let out = launch.out.clone();
    if args.dry_run {
        return Ok(true);
    }
    if jobs.is_empty() {
        println!("every step is done: nothing to submit");
    } else if !args.wait {
        println!("follow with `curate status {}`", out.display());
    }
    if !args.wait {
        return Ok(true);
    }
    let ids: Vec<String> = jobs.iter().map(|j| j.job_id.clone()).collect();
    let status = wait(
        &out,
        &plan,
        &programs,
        &ids,
        Duration::from_secs_f64(args.poll.max(0.05)),
    )?;
    print!("{}", status.table());
    Ok(status.complete)
}
