//! The `curate` binary: parse the command line, call the library, map errors
//! to exit codes (0 success, 2 bad usage or bad rules, 1 a failed run).

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use curate::audit::list::{audit, show_id, AuditQuery};
use curate::audit::run_dir::RunDir;
use curate::cli::{AuditArgs, Cli, Command, ExplainArgs, PlanArgs, RunArgs, StepArgs, TuneArgs};
use curate::pipeline::{self, RunOptions};
use curate::rules::RuleFiles;
use curate::ruleset::Rules;
use curate::Error;

/// jemalloc: every record is allocated by a worker thread and freed by the
/// thread that writes it out; the system allocator takes the worker's lock
/// for each such free and the two threads wait on each other.
#[cfg(all(feature = "jemalloc", unix, not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn load_rules(dir: Option<&Path>) -> Result<Rules, Error> {
    Rules::load(dir)
}

fn run_options(args: &RunArgs) -> RunOptions {
    RunOptions {
        progress: !args.no_progress,
        ..args.settings.options(args.inputs.clone(), args.out.clone())
    }
}

fn plan(args: PlanArgs) -> Result<(), Error> {
    let rules = load_rules(args.run.settings.rules.as_deref())?;
    let plan =
        curate::distributed::plan::make_plan_split(&rules, &run_options(&args.run), args.world, args.split_bytes)?;
    if !args.run.quiet {
        eprintln!(
            "planned {} input files ({} references) in {}: {}",
            plan.inputs.len(),
            plan.references.len(),
            args.run.out.display(),
            plan.steps
                .iter()
                .map(|s| format!("{} x{}", s.name, s.world))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

fn step(name: &str, args: StepArgs) -> Result<(), Error> {
    use curate::distributed::steps::{run_step, StepOutcome};
    // SIGINT/SIGTERM stop the task between batches; it is marked failed and
    // runs again from an empty folder.
    pipeline::stop::install()?;
    match run_step(&args.out, name, args.rank, args.world)? {
        StepOutcome::Done => eprintln!("{name}: done"),
        StepOutcome::AlreadyDone => eprintln!("{name}: already done, nothing to do"),
    }
    Ok(())
}

fn run(args: RunArgs) -> Result<(), Error> {
    // Only the stages this run runs are built.
    let rules = Rules::load_for(args.settings.rules.as_deref(), args.settings.stages.as_deref())?;
    // SIGINT/SIGTERM stop the run cleanly between batches.
    pipeline::stop::install()?;
    let opts = run_options(&args);
    let report = if args.checkpoint {
        curate::distributed::local::run_checkpointed(rules, &opts, args.task_bytes)?
    } else {
        pipeline::run(rules, &opts)?
    };
    if !args.quiet {
        eprint!("{}", report.summary());
        eprintln!(
            "wrote {} ({:.1} s, {:.1} MB/s)",
            args.out.display(),
            report.seconds,
            report.input_bytes as f64 / 1e6 / report.seconds.max(1e-9)
        );
    }
    Ok(())
}

fn check_rules(dir: Option<&Path>) -> Result<(), Error> {
    let rules = load_rules(dir)?;
    // Expressions a run compiles when a text first needs one are compiled
    // here, so that one past the size limit is found before a run.
    if let Some(e) = rules.record_stages.iter().find_map(|s| s.compile_error(true)) {
        return Err(Error::Usage(format!("invalid rules: {e}")));
    }
    println!("rules OK: {} (hash {})", rules.files.origin, rules.files.hash());
    println!(
        "formats declared: {}",
        rules
            .adapters
            .declared
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for stage in &rules.record_stages {
        println!("stage {}:", stage.name());
        for rule in stage.rules() {
            println!("  {:<40} {}", rule.id, rule.describe());
        }
    }
    match &rules.mix {
        Some(m) => println!(
            "mix: by {}, seed {}, {} targets ({})",
            m.by.name(),
            m.seed,
            m.targets.len(),
            m.targets
                .iter()
                .map(|t| format!("{} {}", t.name, t.share))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => println!("mix: off"),
    }
    Ok(())
}

fn init_rules(dir: &Path) -> Result<(), Error> {
    if dir.exists() && std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.next().is_some() {
        return Err(Error::Usage(format!("{}: folder is not empty", dir.display())));
    }
    let mut files = RuleFiles::embedded();
    files.set(
        curate::rules::MODE_FILE,
        "# How this folder combines with the built-in rules:\n\
         #   \"replace\"  it is the whole rule set (a file deleted here is gone)\n\
         #   \"overlay\"  each file replaces the built-in file of the same path; the\n\
         #              others stay (a folder may then hold just the files it changes)\n\
         mode = \"replace\"\n"
            .to_string(),
    );
    files.write_to(dir).map_err(|e| Error::io(dir, e))?;
    println!("wrote the built-in rules to {}", dir.display());
    Ok(())
}

fn run_audit(args: AuditArgs) -> Result<(), Error> {
    let run = RunDir::open(&args.out)?;
    let text = match &args.id {
        Some(id) => show_id(&run, id)?,
        None => audit(
            &run,
            &AuditQuery {
                rule: args.rule,
                stage: args.stage,
                limit: args.limit,
                format: args.format,
            },
        )?,
    };
    print!("{text}");
    Ok(())
}

fn explain(args: ExplainArgs) -> Result<(), Error> {
    let text = match &args.id {
        Some(id) => show_id(&RunDir::open(&args.record)?, id)?,
        None => curate::audit::explain::explain_file(&load_rules(args.rules.as_deref())?, &args.record)?,
    };
    print!("{text}");
    Ok(())
}

fn tune(args: TuneArgs) -> Result<(), Error> {
    let run = RunDir::open(&args.out)?;
    print!(
        "{}",
        curate::audit::tune::tune(&run, &args.sets, args.sweep.as_deref(), args.examples)?
    );
    Ok(())
}

/// The exit code of a command that answers yes (0) or no (1); errors as for
/// every command.
fn judged(result: Result<bool, Error>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn main() -> ExitCode {
    curate::read::quiet_decoder_panics();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Plan(args) => plan(args),
        Command::Process(args) => step("process", args),
        Command::Pairs(args) => step("pairs", args),
        Command::Decide(args) => step("decide", args),
        Command::Write(args) => step("write", args),
        Command::CheckRules { dir } => check_rules(dir.as_deref()),
        Command::InitRules { dir } => init_rules(&dir),
        Command::Audit(args) => run_audit(args),
        Command::Explain(args) => explain(args),
        Command::Tune(args) => tune(args),
        Command::Apply {
            run,
            rules,
            out,
            overwrite,
        } => RunDir::open(&run).and_then(|r| {
            let report = curate::audit::apply::apply(
                &r,
                load_rules(Some(&rules))?,
                &out,
                overwrite,
                curate::pipeline::SHARD_BYTES,
            )?;
            eprint!("{}", report.summary());
            Ok(())
        }),
        Command::Report { out } => RunDir::open(&out).and_then(|r| {
            curate::output::html::write(&r.path, &r.report)?;
            println!("wrote {}", r.path.join("report.html").display());
            Ok(())
        }),
        Command::Diff { a, b, examples } => RunDir::open(&a)
            .and_then(|ra| RunDir::open(&b).and_then(|rb| curate::audit::diff::diff(&ra, &rb, examples)))
            .map(|s| print!("{s}")),
        Command::TagExplain(args) => curate::cli::tag::tag_explain(&args),
        Command::TagEval(args) => curate::cli::tag::tag_eval(&args),
        Command::EvalJudged(args) => load_rules(args.against.rules.as_deref()).and_then(|rules| {
            let labels = curate::audit::judged::read_labels(&args.labels)?;
            let eval = curate::audit::judged::evaluate(&rules, labels, &args.against.corpora)?;
            print!("{}", eval.summary(args.errors));
            if let Some(path) = &args.write {
                let set = args.labels.display().to_string();
                std::fs::write(path, eval.measured(&set, &rules.files).to_json())
                    .map_err(|e| curate::error::Error::io(path, e))?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }),
        Command::EvalPairs(args) => load_rules(args.against.rules.as_deref()).and_then(|rules| {
            let pairs = curate::audit::pairs::read_pairs(&args.pairs)?;
            let encoder = match &args.semantic {
                Some(dir) => {
                    let tokens = rules.dedup.as_ref().map_or(4096, |d| d.semantic.max_tokens);
                    Some(
                        curate::embed::Encoder::load(dir)
                            .map_err(|e| curate::error::Error::Usage(e.to_string()))?
                            .with_max_tokens(tokens),
                    )
                }
                None => None,
            };
            let scored = curate::audit::pairs::evaluate(&rules, pairs, &args.against.corpora, encoder.as_ref())?;
            print!("{}", curate::audit::pairs::summary(&scored, args.errors, args.scores));
            if let Some(path) = &args.write {
                use curate::rules::measured::PairsMeasured;
                let mut all: PairsMeasured = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default();
                let rule = if args.semantic.is_some() {
                    "dedup/semantic"
                } else {
                    "dedup/near"
                };
                let set = args.pairs.display().to_string();
                let f = curate::audit::pairs::figure(&scored, &rules, args.semantic.is_some(), &set);
                all.rules.insert(rule.to_string(), f);
                std::fs::write(path, all.to_json()).map_err(|e| curate::error::Error::io(path, e))?;
                println!("wrote {} ({rule})", path.display());
            }
            Ok(())
        }),
        Command::Train(args) => curate::cli::tag::train(&args),
        Command::Select(args) => curate::cli::select(&args),
        Command::Slurm(args) => return judged(curate::cli::slurm::command(&args)),
        Command::Status(args) => return judged(curate::distributed::status::command(&args.out, args.format)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
