//! The `curate` binary: parse the command line, call the library, map errors
//! to exit codes (0 success, 2 bad usage or bad rules, 1 a failed run).

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use curate::cli::{Cli, Command, RunArgs};
use curate::pipeline::{self, RunOptions};
use curate::read::ReadOptions;
use curate::rules::{RuleFiles, Rules};
use curate::Error;

fn load_rules(dir: Option<&Path>) -> Result<Rules, Error> {
    let files = match dir {
        Some(d) => RuleFiles::from_dir(d).map_err(Error::Rules)?,
        None => RuleFiles::embedded(),
    };
    Rules::compile(files).map_err(Error::Rules)
}

fn run(args: RunArgs) -> Result<(), Error> {
    let rules = load_rules(args.rules.as_deref())?;
    let opts = RunOptions {
        inputs: args.inputs,
        out: args.out.clone(),
        stages: args.stages,
        threads: args.threads,
        overwrite: args.overwrite,
        max_malformed: args.max_malformed,
        read: ReadOptions {
            max_record_bytes: args.max_record_bytes,
        },
        shard_bytes: args.shard_bytes,
        batch_records: args.batch_records,
        progress: !args.no_progress,
        references: args.references,
        decontaminate: args.decontaminate,
        ..RunOptions::default()
    };
    let report = pipeline::run(rules, &opts)?;
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
        for (id, threshold) in stage.rule_summaries() {
            println!("  {id:<40} {threshold}");
        }
    }
    Ok(())
}

fn init_rules(dir: &Path) -> Result<(), Error> {
    if dir.exists() && std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.next().is_some() {
        return Err(Error::Usage(format!("{}: folder is not empty", dir.display())));
    }
    RuleFiles::embedded().write_to(dir).map_err(|e| Error::io(dir, e))?;
    println!("wrote the built-in rules to {}", dir.display());
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::CheckRules { dir } => check_rules(dir.as_deref()),
        Command::InitRules { dir } => init_rules(&dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
