//! Command-line definitions (clap). Every flag is defined once, here.

pub mod slurm;
pub mod tag;

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
    /// Plan a distributed run in OUT (inputs, rules, options, tasks per
    /// step) for the step commands `process`, `pairs`, `decide`, `write`.
    Plan(PlanArgs),
    /// Distributed step 1 (N tasks): the per-record stages over this task's
    /// share of the input files, and the dedup keys.
    Process(StepArgs),
    /// Distributed step 2 (N tasks): verified near-duplicate pairs of this
    /// task's partition of the LSH band keys.
    Pairs(StepArgs),
    /// Distributed step 3 (1 task): dedup survivors and drops from every
    /// task's exact keys and pairs.
    Decide(StepArgs),
    /// Distributed step 4 (1 task): the kept/rejected/malformed/metrics
    /// shards and the reports, identical to a local run's.
    Write(StepArgs),
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
    /// List the dropped records of a run with rule, value, threshold and reason.
    Audit(AuditArgs),
    /// Show every rule's measurement and verdict for one record.
    Explain(ExplainArgs),
    /// Re-decide a run's records from its stored metrics under changed thresholds.
    Tune(TuneArgs),
    /// Write the kept/rejected shards that new rules give, from an earlier
    /// run's stored metrics (thresholds and enabled rules may change).
    Apply {
        /// The earlier run's output folder.
        run: PathBuf,
        /// The new rules folder.
        #[arg(long)]
        rules: PathBuf,
        /// The new output folder.
        #[arg(short, long)]
        out: PathBuf,
        /// Replace an earlier run in the new output folder.
        #[arg(long)]
        overwrite: bool,
    },
    /// Rebuild a run's report.html from its report and tables.
    Report {
        /// A run's output folder.
        out: PathBuf,
    },
    /// Show records whose fate differs between two runs.
    Diff {
        /// The first run's output folder.
        a: PathBuf,
        /// The second run's output folder.
        b: PathBuf,
        /// Examples shown per change.
        #[arg(long, default_value_t = 5)]
        examples: usize,
    },
    /// Show which cues of rules/topics chose a record's task and tags.
    TagExplain(TagExplainArgs),
    /// Measure the tagger's task accuracy on labelled sets.
    TagEval(TagEvalArgs),
    /// Measure the quality and sensitive rules on records labelled by reading:
    /// drop precision per rule, good records kept, junk caught, per language.
    EvalJudged(EvalJudgedArgs),
    /// Near-duplicate decisions against pairs labelled by reading: precision and recall.
    EvalPairs(EvalPairsArgs),
    /// Train a linear text classifier (hashed word and character n-grams).
    Train(TrainArgs),
    /// Choose the best N kept records of a run that cover every kind of task,
    /// language and topic (score first, then diversity by sentence embeddings).
    Select(SelectArgs),
    /// Plan a distributed run and submit its steps to Slurm as chained job arrays.
    Slurm(Box<SlurmArgs>),
    /// Show which tasks of a distributed run are done, failed or missing.
    Status(StatusArgs),
}

/// `curate audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// A run's output folder.
    pub out: PathBuf,
    /// Only this rule (an id, or a prefix ending in `/` such as `quality/`).
    #[arg(long)]
    pub rule: Option<String>,
    /// Only this stage.
    #[arg(long)]
    pub stage: Option<String>,
    /// Records listed at most.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::audit::list::Format,
    /// Show one record (kept or dropped) in full with every verdict.
    #[arg(long)]
    pub id: Option<String>,
}

/// `curate explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A file holding one record (JSON, or the first line of a JSONL file);
    /// with --id, a run's output folder instead.
    pub record: PathBuf,
    /// Rules folder (default: the built-in rules).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Explain the record with this id from the run in RECORD.
    #[arg(long)]
    pub id: Option<String>,
}

/// `curate tune`.
#[derive(Debug, Args)]
pub struct TuneArgs {
    /// A run's output folder.
    pub out: PathBuf,
    /// A change, `RULE.KEY=VALUE`: KEY is min, max, threshold (the rule's one
    /// bound), enabled, or lang.CODE.min|max; VALUE `none` removes a bound.
    #[arg(long = "set", value_name = "RULE.KEY=VALUE")]
    pub sets: Vec<String>,
    /// Print drops for each value of one rule's bound: `RULE[.min|.max]=FROM..TO:STEP`.
    #[arg(long, value_name = "RULE=FROM..TO:STEP")]
    pub sweep: Option<String>,
    /// Examples shown per change.
    #[arg(long, default_value_t = 5)]
    pub examples: usize,
}

/// The settings of a run, shared by `curate run`, `curate plan` and
/// `curate slurm`.
#[derive(Debug, Args)]
pub struct RunSettings {
    /// Rules folder over the built-in rules: its files replace the built-in
    /// files of the same path; with `mode = "replace"` in its `rules.toml` it is
    /// the whole rule set (as `curate init-rules` writes it).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,

    /// Comma-separated stages to run (default: every stage with rules).
    #[arg(long, value_delimiter = ',', value_name = "STAGES")]
    pub stages: Option<Vec<String>>,

    /// Worker threads (default: one per core; for Slurm tasks, --cpus-per-task).
    #[arg(short = 'j', long, default_value_t = 0)]
    pub threads: usize,

    /// Replace an earlier run in the output folder.
    #[arg(long)]
    pub overwrite: bool,

    /// Fail the run when more than N records are malformed (default: never).
    #[arg(long, value_name = "N")]
    pub max_malformed: Option<u64>,

    /// Quarantine records larger than this many bytes without reading them whole.
    #[arg(long, value_name = "BYTES", default_value_t = crate::read::MAX_RECORD_BYTES)]
    pub max_record_bytes: usize,

    /// Start a new Parquet shard after about this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = crate::pipeline::SHARD_BYTES)]
    pub shard_bytes: u64,

    /// Compression of the output shards.
    #[arg(long, value_enum, default_value_t = crate::output::shard::Codec::Zstd)]
    pub compression: crate::output::shard::Codec,

    /// Records per processing batch. The writer thread finishes the last
    /// batches alone once the workers are done, so smaller batches leave
    /// less of that serial tail.
    #[arg(long, value_name = "N", default_value_t = crate::pipeline::BATCH_RECORDS, hide = true)]
    pub batch_records: usize,

    /// Deduplicate the inputs against these corpora too (files, folders,
    /// globs); they are read but not written out, and always win.
    #[arg(long = "reference", value_name = "PATH", num_args = 1..)]
    pub references: Vec<String>,

    /// Drop records containing items of these benchmark files (JSONL, any
    /// known format), besides those named in dedup.toml.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub decontaminate: Vec<String>,
}

impl RunSettings {
    /// The options of a run of `inputs` into `out`.
    pub fn options(&self, inputs: Vec<String>, out: PathBuf) -> crate::pipeline::RunOptions {
        crate::pipeline::RunOptions {
            inputs,
            out,
            overwrite: self.overwrite,
            references: self.references.clone(),
            decontaminate: self.decontaminate.clone(),
            settings: crate::pipeline::RunSettings {
                stages: self.stages.clone(),
                threads: self.threads,
                max_malformed: self.max_malformed,
                max_record_bytes: self.max_record_bytes,
                shard_bytes: self.shard_bytes,
                compression: self.compression,
                batch_records: self.batch_records,
            },
            ..crate::pipeline::RunOptions::default()
        }
    }
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

    /// The run's settings.
    #[command(flatten)]
    pub settings: RunSettings,

    /// Do not show the progress bar.
    #[arg(long)]
    pub no_progress: bool,

    /// Do not print the summary table.
    #[arg(short, long)]
    pub quiet: bool,

    /// Run as tasks of about --task-bytes of input, each saved when done: a
    /// run stopped at any point (killed, out of memory, a power loss) and
    /// started again with the same command continues from the last finished
    /// task, with the same output.
    #[arg(long)]
    pub checkpoint: bool,

    /// Input bytes per task of a --checkpoint run (the most work a stop loses).
    #[arg(long, value_name = "BYTES", default_value_t = crate::distributed::local::TASK_BYTES, requires = "checkpoint")]
    pub task_bytes: u64,
}

/// `curate plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The run, as for `curate run`.
    #[command(flatten)]
    pub run: RunArgs,

    /// Tasks of the `process` and `pairs` steps.
    #[arg(long, value_name = "N")]
    pub world: usize,

    /// Cut plain JSON Lines files larger than this into pieces of whole
    /// lines of about this size, shared out like files (default: a quarter
    /// of a task's share of the input, at least 64 MiB).
    #[arg(long, value_name = "BYTES")]
    pub split_bytes: Option<u64>,
}

/// A step of a distributed run.
#[derive(Debug, Args)]
pub struct StepArgs {
    /// The planned output folder (shared by every task).
    #[arg(value_name = "OUT")]
    pub out: PathBuf,

    /// This task's rank (default: SLURM_ARRAY_TASK_ID, then JOB_COMPLETION_INDEX).
    #[arg(long, value_name = "R")]
    pub rank: Option<usize>,

    /// The step's number of tasks (default: the plan's; must match it).
    #[arg(long, value_name = "N")]
    pub world: Option<usize>,
}

/// `curate tag-explain`.
#[derive(Debug, Args)]
pub struct TagExplainArgs {
    /// A file holding one JSON record, or JSON Lines (each record is explained).
    #[arg(value_name = "RECORD.json")]
    pub record: PathBuf,

    /// Rules folder over the built-in rules (see `curate run --help`).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,

    /// Print the explanation as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What labelled corpus lines are read from and judged by (`eval-judged`,
/// `eval-pairs`).
#[derive(Debug, Args)]
pub struct JudgedAgainst {
    /// Folder the labels' source paths are relative to.
    #[arg(long, value_name = "DIR", default_value = "../shared/corpora")]
    pub corpora: PathBuf,

    /// Rules folder (default: the built-in rules).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,
}

/// `curate eval-judged`.
#[derive(Debug, Args)]
pub struct EvalJudgedArgs {
    /// The labels (JSON Lines: source, line, sha, lang, label, category, reason).
    #[arg(value_name = "LABELS.jsonl", default_value = "fixtures/judged/labels.jsonl")]
    pub labels: PathBuf,

    #[command(flatten)]
    pub against: JudgedAgainst,

    /// Also list every record on which the rules and the label disagree.
    #[arg(long)]
    pub errors: bool,

    /// Also write each rule's figures, with a fingerprint of the rule, as the
    /// report reads them (the shipped `rules/measured.json`).
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
}

/// `curate eval-pairs`.
#[derive(Debug, Args)]
pub struct EvalPairsArgs {
    /// The labelled pairs (JSON Lines: pair, a, b, label, category, reason).
    #[arg(value_name = "PAIRS.jsonl", default_value = "fixtures/judged_pairs/pairs.jsonl")]
    pub pairs: PathBuf,

    #[command(flatten)]
    pub against: JudgedAgainst,

    /// Also list every pair on which the stage and the label disagree.
    #[arg(long)]
    pub errors: bool,

    /// Also print every pair's similarities, tab-separated.
    #[arg(long)]
    pub scores: bool,

    /// Also compare the pairs' sentence embeddings (the encoder's model
    /// files in DIR: `scripts/fetch_embedder.sh DIR`), and print precision
    /// and recall by cosine threshold.
    #[arg(long, value_name = "DIR")]
    pub semantic: Option<PathBuf>,

    /// Also write the rule's figure (dedup/near; dedup/semantic at its
    /// threshold with --semantic) into this file, beside the figures it
    /// holds, for the report's rule table (the shipped
    /// `rules/measured_pairs.json`).
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
}

/// `curate select`.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// A run's output folder.
    pub run: PathBuf,

    /// Records to choose.
    #[arg(long, default_value_t = 1000)]
    pub budget: u64,

    /// Where to write selected/, selection.parquet and select.json.
    #[arg(short, long)]
    pub out: PathBuf,

    /// A chosen record's most similar chosen record stays below this cosine.
    #[arg(long, default_value_t = 0.9)]
    pub max_similarity: f32,

    /// Exponent of group sizes (language x task) in their shares of the
    /// budget: 1 keeps the corpus's proportions, 0 gives every group the same.
    #[arg(long, default_value_t = 0.5)]
    pub alpha: f64,

    /// A metric of the run (a rule id, e.g. llm/quality) scaled into the
    /// score's quality factor, higher values better (add --lower-is-better).
    #[arg(long, value_name = "RULE")]
    pub quality: Option<String>,

    /// The --quality metric's lower values are better.
    #[arg(long, requires = "quality")]
    pub lower_is_better: bool,

    /// Quotas: a `mix.toml` whose targets (by task, tag or source file) are
    /// shares of the budget and whose `others` says what the records no
    /// target covers get (the rest of the budget, or nothing). Its
    /// `enabled` and `total` are not read.
    #[arg(long, value_name = "MIX.toml")]
    pub mix: Option<PathBuf>,

    /// The sentence encoder's model files (`scripts/fetch_embedder.sh DIR`).
    #[arg(long, value_name = "DIR", default_value = "models/usem3")]
    pub model: PathBuf,
}

/// `curate tag-eval`.
#[derive(Debug, Args)]
pub struct TagEvalArgs {
    /// The sets file: each set's files, label field and label-to-task map.
    #[arg(value_name = "SETS.toml", required_unless_present = "judged")]
    pub sets: Option<PathBuf>,

    /// Also (or only) the records labelled with task and domains by reading:
    /// accuracy per language and half, per-task precision and recall,
    /// confusions, domain precision and coverage.
    #[arg(long, value_name = "LABELS.jsonl", num_args = 0..=1, default_missing_value = "fixtures/judged_tags/labels.jsonl")]
    pub judged: Option<PathBuf>,

    /// Folder the sets' file paths are relative to.
    #[arg(long, value_name = "DIR", default_value = "../shared/corpora")]
    pub corpora: PathBuf,

    /// Rules folder over the built-in rules (see `curate run --help`).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,

    /// Also write every labelled record as {prompt, label, task, set, split} JSON Lines
    /// (`label`: the canonical task of its label; `task`: the task tagged).
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,

    /// Print up to N misclassified records per set (and of the judged set), from the dev half only.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub show_errors: usize,
}

/// `curate train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labelled records: files, folders or globs (JSONL, JSON, Parquet).
    #[arg(required = true, value_name = "DATA")]
    pub inputs: Vec<String>,

    /// The field holding the label.
    #[arg(long, value_name = "FIELD")]
    pub label: String,

    /// Comma-separated fields (or record parts: instruction, input, prompt,
    /// response) whose text is classified.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "FIELDS",
        default_value = "instruction,input"
    )]
    pub text: Vec<String>,

    /// Label of records that have no label field (e.g. `kept` when training
    /// on a run's kept/ and rejected/ folders with `--label stage`).
    #[arg(long, value_name = "LABEL")]
    pub label_missing: Option<String>,

    /// Comma-separated labels whose records are left out (e.g.
    /// `llm/sample,llm/error`: records the model did not judge).
    #[arg(long, value_delimiter = ',', value_name = "LABELS")]
    pub ignore_label: Vec<String>,

    /// Where to write the model.
    #[arg(short, long, value_name = "MODEL")]
    pub out: PathBuf,

    /// Passes over the data.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,

    /// Initial learning rate.
    #[arg(long, default_value_t = 0.5)]
    pub lr: f32,

    /// Hash buckets (a power of two is customary).
    #[arg(long, default_value_t = 1 << 18)]
    pub buckets: u32,

    /// Longest word n-gram.
    #[arg(long, default_value_t = 2)]
    pub word_ngrams: u8,

    /// Shortest and longest character n-gram inside Latin words (0,0: none).
    #[arg(long, value_delimiter = ',', num_args = 2, default_values_t = [3u8, 5u8])]
    pub char_ngrams: Vec<u8>,

    /// The first N words also count by their place, and the openings they make.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub opening: u8,

    /// Each `--text` field gives its own features (the instruction's words
    /// apart from the input's), and a present field counts as a feature.
    #[arg(long)]
    pub parts: bool,

    /// Only the first N words of each `--text` field after the first count
    /// (0: all).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub part_words: u16,

    /// Share of records held out for evaluation.
    #[arg(long, default_value_t = 0.2)]
    pub holdout: f64,

    /// Evaluate by K-fold cross-validation instead, then train on everything.
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub folds: usize,

    /// Weigh classes inversely to their frequency.
    #[arg(long)]
    pub balance: bool,

    /// Weigh each text's n-grams by sublinear TF-IDF (the inverse document
    /// frequencies of the training records are stored in the model)
    /// instead of counting every n-gram alike.
    #[arg(long)]
    pub tfidf: bool,

    /// Seed of the example order and the split.
    #[arg(long, default_value_t = 17)]
    pub seed: u64,
}

/// `curate slurm`.
#[derive(Debug, Args)]
pub struct SlurmArgs {
    /// Input files, folders and glob patterns, as for `curate run`.
    #[arg(value_name = "INPUT", required_unless_present = "resume")]
    pub inputs: Vec<String>,

    /// Output folder, which every node must see (plan.json, .work/, the results).
    #[arg(short, long, value_name = "DIR", required_unless_present = "resume")]
    pub out: Option<PathBuf>,

    /// Tasks of the `process` and `pairs` steps.
    #[arg(long, value_name = "N", required_unless_present = "resume")]
    pub world: Option<usize>,

    /// Submit again the tasks of a planned run that have no completion
    /// marker (the plan and the earlier submission's settings are kept).
    #[arg(
        long,
        value_name = "OUT",
        conflicts_with_all = [
            "inputs", "out", "world", "rules", "stages", "threads", "overwrite", "max_malformed",
            "max_record_bytes", "shard_bytes", "compression", "batch_records", "references", "decontaminate",
        ]
    )]
    pub resume: Option<PathBuf>,

    /// The run's settings, as for `curate run`.
    #[command(flatten)]
    pub settings: RunSettings,

    /// Resources of every task.
    #[command(flatten)]
    pub sbatch: SbatchArgs,

    /// The curate binary the tasks run, which every node must see (default:
    /// this one; with --resume, the one submitted before).
    #[arg(long, value_name = "PATH")]
    pub curate: Option<PathBuf>,

    /// Write the plan and the scripts and print them with the sbatch
    /// commands, without submitting (submit later with --resume).
    #[arg(long)]
    pub dry_run: bool,

    /// Wait until the jobs end; exit 0 only if every step is done.
    #[arg(long)]
    pub wait: bool,

    /// Seconds between two looks at the queue with --wait.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    pub poll: f64,
}

/// `curate slurm`'s resources for every task (unset: the cluster's defaults).
#[derive(Debug, Args)]
pub struct SbatchArgs {
    /// Slurm partition.
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,

    /// Time limit of each task (Slurm's format, e.g. 2:00:00).
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,

    /// CPUs of each task.
    #[arg(long, value_name = "N")]
    pub cpus_per_task: Option<usize>,

    /// Memory of each task (e.g. 8G).
    #[arg(long, value_name = "SIZE")]
    pub mem: Option<String>,

    /// Another sbatch option for every step, e.g. --sbatch-arg=--account=nlp (repeatable).
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
}

/// `curate status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A distributed run's output folder.
    pub out: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::distributed::status::StatusFormat,
}

/// `curate select`: choose, write, print the coverage against random samples.
pub fn select(args: &SelectArgs) -> crate::error::Result<()> {
    let mix = match &args.mix {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| crate::error::Error::io(path, e))?;
            // Each problem names the file as given, with its line and key.
            let cfg = crate::mix::config::MixConfig::parse(&text).map_err(|mut errs| {
                for e in &mut errs {
                    e.file = path.display().to_string();
                }
                crate::error::Error::Rules(errs)
            })?;
            if cfg.targets.is_empty() {
                return Err(crate::error::Error::Usage(format!(
                    "{}: --mix needs [targets] (the shares of the budget)",
                    path.display()
                )));
            }
            Some(cfg)
        }
    };
    // The quotas are checked before the encoder's weights load.
    let encoder = crate::embed::Encoder::load(&args.model)
        .map_err(|e| crate::error::Error::Usage(e.to_string()))?
        .with_max_tokens(crate::select::MAX_TOKENS);
    let opts = crate::select::Options {
        mix,
        budget: args.budget,
        max_similarity: args.max_similarity,
        alpha: args.alpha,
        quality: args.quality.clone().map(|q| (q, !args.lower_is_better)),
        ..crate::select::Options::default()
    };
    let sel = crate::select::select(&args.run, &encoder, &opts)?;
    let report = crate::select::write(&args.run, &args.out, &sel, &opts)?;
    print!("{}", crate::select::coverage::summary(&report));
    println!("wrote {}", args.out.display());
    Ok(())
}
