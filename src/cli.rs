//! Command-line definitions (clap). Every flag is defined once, here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Turn a raw instruction-tuning corpus into a clean one, and show why every
/// record was kept or dropped.
#[derive(Debug, Parser)]
#[command(name = "curate", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a corpus, run the stages, write kept/rejected/malformed Parquet and reports.
    Run(RunArgs),
    /// Parse, validate and compile a rules folder without running.
    CheckRules {
        /// The rules folder (the built-in rules when omitted).
        dir: Option<PathBuf>,
    },
    /// Write the built-in rules to a folder, to edit and pass with --rules.
    InitRules {
        /// Where to write them (must not exist or be empty).
        dir: PathBuf,
    },
}

/// `curate run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Input files, folders (recursed) and glob patterns: .jsonl/.json (JSON
    /// Lines or a JSON array), also .gz/.zst compressed, and .parquet.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// Output folder: kept/, rejected/, malformed/, report.json, reports/.
    #[arg(short, long, value_name = "DIR")]
    pub out: PathBuf,

    /// Rules folder replacing the built-in rules (see `curate init-rules`).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,

    /// Comma-separated stages to run (default: every stage with rules).
    #[arg(long, value_delimiter = ',', value_name = "STAGES")]
    pub stages: Option<Vec<String>>,

    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, default_value_t = 0)]
    pub threads: usize,

    /// Replace an earlier run in the output folder.
    #[arg(long)]
    pub overwrite: bool,

    /// Fail the run when more than N records are malformed (default: never).
    #[arg(long, value_name = "N")]
    pub max_malformed: Option<u64>,

    /// Quarantine records larger than this many bytes without reading them whole.
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20)]
    pub max_record_bytes: usize,

    /// Start a new Parquet shard after about this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20)]
    pub shard_bytes: u64,

    /// Records per processing batch.
    #[arg(long, value_name = "N", default_value_t = 4096, hide = true)]
    pub batch_records: usize,

    /// Deduplicate the inputs against these corpora too (files, folders,
    /// globs); they are read but not written out, and always win.
    #[arg(long = "reference", value_name = "PATH", num_args = 1..)]
    pub references: Vec<String>,

    /// Drop records containing items of these benchmark files (JSONL, any
    /// known format), besides those named in dedup.toml.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub decontaminate: Vec<String>,

    /// Do not show the progress bar.
    #[arg(long)]
    pub no_progress: bool,

    /// Do not print the summary table.
    #[arg(short, long)]
    pub quiet: bool,
}
