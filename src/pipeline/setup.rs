//! What every part of a run agrees on before reading a record: the
//! stages, their rules, the dedup engine, the report's layout, the thread
//! pool and the shard writers.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::dedup::Engine;
use crate::error::{Error, Result};
use crate::output::report::{FileReport, RuleSummary, StageReport};
use crate::output::{Report, ShardWriter};
use crate::read::{ByteRange, InputFile};
use crate::ruleset::Rules;
use crate::stage::RuleInfo;

use super::RunOptions;

pub(crate) fn progress_bar(show: bool, total: u64) -> indicatif::ProgressBar {
    if !show || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template(
        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    pb.set_style(style);
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// What every part of a run agrees on: the stages, their rules, the dedup
/// engine, the report's layout and the thread pool.
pub(crate) struct Setup {
    pub rules: Arc<Rules>,
    pub stage_idx: Vec<usize>,
    pub rule_ids: Vec<Vec<String>>,
    pub engine: Option<Arc<Engine>>,
    /// The report with every stage and input file and no counts.
    pub template: Report,
    /// Index of the dedup stage in the report.
    pub dedup_stage: usize,
    /// Where the survivor metric of the `best-metric` policy is among the
    /// measured values: (stage, rule).
    pub survivor_metric: Option<(usize, usize)>,
    pub pool: Arc<rayon::ThreadPool>,
    /// Every file in reading order (references first) and how many are references.
    pub files: Vec<InputFile>,
    pub n_ref: u32,
}

impl Setup {
    /// Checks the stages and builds what the run needs for `files`
    /// (`n_ref` reference files first, then the inputs).
    pub fn new(rules: Rules, opts: &RunOptions, files: Vec<InputFile>, n_ref: u32) -> Result<Setup> {
        let dedup_on = super::check_stages(&rules, opts)?;
        let stage_refs = super::select_stages(&rules, &opts.settings.stages)?;
        let mut stage_names: Vec<String> = stage_refs.iter().map(|s| s.name().to_string()).collect();
        let stage_idx: Vec<usize> = stage_names
            .iter()
            .filter_map(|n| rules.record_stages.iter().position(|s| s.name() == n))
            .collect();
        let infos: Vec<Vec<RuleInfo>> = stage_refs.iter().map(|s| s.rules()).collect();
        let rule_ids: Vec<Vec<String>> = infos.iter().map(|r| r.iter().map(|i| i.id.clone()).collect()).collect();
        let mut stage_reports: Vec<StageReport> = stage_refs
            .iter()
            .zip(&infos)
            .map(|(s, rules)| StageReport {
                name: s.name().to_string(),
                rules: rules.iter().map(RuleSummary::of).collect(),
                ..Default::default()
            })
            .collect();
        let dedup_stage = stage_reports.len();
        drop(stage_refs);
        let engine = match (&rules.dedup, dedup_on) {
            (Some(cfg), true) => {
                let mut paths = cfg.decontam.benchmarks.clone();
                paths.extend(opts.decontaminate.iter().cloned());
                let index = crate::dedup::decontam::Index::load(&paths, &cfg.decontam, &rules.adapters)?;
                let e = Engine::new(cfg.clone(), index).with_semantic()?;
                stage_reports.push(super::dedup_stage_report(&e));
                stage_names.push(crate::registry::DEDUP_STAGE.into());
                if let Some(mix) = &rules.mix {
                    stage_reports.push(super::mix_stage_report(mix));
                    stage_names.push(crate::verdict::MIX_STAGE.into());
                }
                Some(Arc::new(e))
            }
            _ => None,
        };
        // `check_stages` made sure the stage measuring it runs.
        let survivor_metric = engine
            .as_ref()
            .and_then(|e| e.cfg.survivor_metric.as_deref())
            .and_then(|m| {
                rule_ids
                    .iter()
                    .enumerate()
                    .find_map(|(s, ids)| ids.iter().position(|id| id == m).map(|r| (s, r)))
            });
        let pool = Arc::new(thread_pool(opts.settings.threads)?);
        let threads = pool.current_num_threads();
        let template = Report {
            curate_version: env!("CARGO_PKG_VERSION").to_string(),
            rules_hash: rules.files.hash(),
            rules_origin: rules.files.origin.clone(),
            stages_run: stage_names,
            threads,
            stages: stage_reports,
            files: files[n_ref as usize..]
                .iter()
                .map(|f| FileReport {
                    path: f.label.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        Ok(Setup {
            rules: Arc::new(rules),
            stage_idx,
            rule_ids,
            engine,
            template,
            dedup_stage,
            survivor_metric,
            pool,
            files,
            n_ref,
        })
    }

    /// Number of per-record stages.
    pub fn record_stages(&self) -> usize {
        self.dedup_stage
    }
}

/// A pool of `threads` workers (0: one per core).
/// The most worker threads per core `--threads` may ask for.
const MAX_THREADS_PER_CORE: usize = 4;

pub(crate) fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    // More threads than 4 per core only add switching and memory (-j 2000
    // took 53 s instead of 0.3 s; -j 100000 never started).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads > MAX_THREADS_PER_CORE * cores {
        return Err(Error::Usage(format!(
            "--threads {threads} is more than {} ({MAX_THREADS_PER_CORE} per core on this machine's {cores}); 0 uses one per core",
            MAX_THREADS_PER_CORE * cores
        )));
    }
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::Run(format!("cannot start {threads} threads: {e}")))
}

/// A shard writer of the run's output in `dir`, encoding on `pool`: with
/// the run's codec, or Snappy for the scratch shards of a distributed task.
pub(crate) fn writer(
    dir: &Path,
    schema: arrow::datatypes::SchemaRef,
    opts: &RunOptions,
    scratch: bool,
    pool: &Arc<rayon::ThreadPool>,
) -> Result<ShardWriter> {
    let w = if scratch {
        ShardWriter::scratch(dir, schema, opts.settings.shard_bytes)
    } else {
        ShardWriter::output(dir, schema, opts.settings.shard_bytes, opts.settings.compression)
    };
    Ok(w?.encode_on(pool.clone()))
}

/// A part of the input one task reads: a file (an index into
/// `Setup::files`), whole or a range of its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    pub file: usize,
    pub range: Option<ByteRange>,
}

impl Piece {
    /// Every file, whole.
    pub fn whole_files(n: usize) -> Vec<Piece> {
        (0..n).map(|file| Piece { file, range: None }).collect()
    }
}
