//! `plan.json`: what every task of a distributed run needs to know, fixed
//! once before any task starts, so that every task sees the same inputs in
//! the same order and the same options.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::pipeline::RunOptions;
use crate::read::{ByteRange, InputFile, InputKind};

/// The plan's file name in the output folder.
pub const PLAN_FILE: &str = "plan.json";

/// One input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedFile {
    /// Its label in outputs (`source_file`).
    pub label: String,
    /// Its name in record keys ([`InputFile::key`]).
    pub key: String,
    /// Where tasks read it.
    pub path: String,
    /// Its size when planned.
    pub bytes: u64,
    /// How it is read.
    pub kind: InputKind,
}

impl PlannedFile {
    /// The plan's entry for an input file (its size read now).
    pub fn of(f: &InputFile) -> Result<Self> {
        let bytes = std::fs::metadata(&f.path).map_err(|e| Error::io(&f.path, e))?.len();
        // Tasks may start in another folder (or on another node): they read
        // the file by its absolute path; outputs keep the label as given.
        let path = std::path::absolute(&f.path).map_err(|e| Error::io(&f.path, e))?;
        Ok(PlannedFile {
            label: f.label.clone(),
            key: f.key.clone(),
            path: path.to_string_lossy().into_owned(),
            bytes,
            kind: f.kind,
        })
    }
}

/// One step and its number of tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepPlan {
    /// The step's name ([`super::STEPS`]).
    pub name: String,
    /// Its number of tasks.
    pub world: usize,
}

/// A unit of the `process` partition: a file (an index into
/// [`Plan::files`]), whole or a range of its lines.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlannedPiece {
    /// The file.
    pub file: usize,
    /// Its bytes (all of them, or the range's).
    pub bytes: u64,
    /// The range, for a plain JSON Lines file cut into pieces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<ByteRange>,
}

impl StepPlan {
    /// Every step: `process` and `pairs` with `world` tasks, the others with one.
    pub fn all(world: usize) -> Vec<StepPlan> {
        super::STEPS
            .iter()
            .map(|&name| StepPlan {
                name: name.into(),
                world: if name == "process" || name == "pairs" { world } else { 1 },
            })
            .collect()
    }
}

/// Everything a task needs besides the rules (in `OUT/rules/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The version of curate that planned the run.
    pub curate_version: String,
    /// Hash of the rules snapshot.
    pub rules_hash: String,
    /// Where the rules came from (`built-in` or a folder).
    #[serde(default)]
    pub rules_origin: String,
    /// Reference corpora (deduplicated against, not written), in order.
    pub references: Vec<PlannedFile>,
    /// Input files, in order.
    pub inputs: Vec<PlannedFile>,
    /// Benchmark files to decontaminate against (besides those in the rules).
    pub decontaminate: Vec<String>,
    /// The run's settings (stages, threads, limits, shards), at the top
    /// level of `plan.json`.
    #[serde(flatten)]
    pub settings: crate::pipeline::RunSettings,
    /// The steps with their number of tasks.
    pub steps: Vec<StepPlan>,
    /// The units of the `process` partition, in input order (empty: one per
    /// file).
    #[serde(default)]
    pub pieces: Vec<PlannedPiece>,
}

impl Plan {
    /// The number of tasks of `step`.
    pub fn world(&self, step: &str) -> Result<usize> {
        self.steps
            .iter()
            .find(|s| s.name == step)
            .map(|s| s.world)
            .ok_or_else(|| Error::Usage(format!("the plan has no step {step}")))
    }

    /// Reads `OUT/plan.json`.
    pub fn load(out: &Path) -> Result<Plan> {
        let path = out.join(PLAN_FILE);
        if !path.exists() {
            return Err(Error::Usage(format!(
                "{} has no {PLAN_FILE}: run `curate plan` (or `curate slurm`) first",
                out.display()
            )));
        }
        super::read_json(&path)
    }

    /// Writes `OUT/plan.json`.
    pub fn save(&self, out: &Path) -> Result<()> {
        super::write_json_atomic(&out.join(PLAN_FILE), self)
    }

    /// All files in reading order: references, then inputs.
    pub fn files(&self) -> Vec<InputFile> {
        self.references
            .iter()
            .chain(&self.inputs)
            .map(|f| InputFile {
                path: f.path.clone().into(),
                label: f.label.clone(),
                key: f.key.clone(),
                kind: f.kind,
            })
            .collect()
    }

    /// The units of the `process` partition, in input order.
    pub fn pieces(&self) -> Vec<PlannedPiece> {
        if !self.pieces.is_empty() {
            return self.pieces.clone();
        }
        self.references
            .iter()
            .chain(&self.inputs)
            .enumerate()
            .map(|(file, f)| PlannedPiece {
                file,
                bytes: f.bytes,
                range: None,
            })
            .collect()
    }

    /// The options of a run that follows this plan.
    pub fn run_options(&self, out: &Path) -> RunOptions {
        RunOptions {
            out: out.to_path_buf(),
            progress: false,
            decontaminate: self.decontaminate.clone(),
            settings: self.settings.clone(),
            ..RunOptions::default()
        }
    }
}

/// Plans a distributed run of `opts` in `opts.out` with `world` tasks for
/// the `process` and `pairs` steps: checks the rules and stages, writes the
/// rules snapshot and `plan.json`. Nothing is read but the inputs' sizes.
pub fn make_plan(rules: &crate::ruleset::Rules, opts: &RunOptions, world: usize) -> Result<Plan> {
    make_plan_split(rules, opts, world, None)
}

/// The size above which a plain JSON Lines file is cut into pieces: a
/// quarter of a task's share of the input, and at least 64 MiB.
pub fn default_split_bytes(total: u64, world: usize) -> u64 {
    (total / (world.max(1) as u64 * 4)).max(64 << 20)
}

/// [`make_plan`], cutting plain JSON Lines files larger than `split_bytes`
/// (default: [`default_split_bytes`]) into pieces of whole lines of about
/// that size, so that one large file does not make one task do all the
/// work. Cutting reads each such file once, counting lines.
pub fn make_plan_split(
    rules: &crate::ruleset::Rules,
    opts: &RunOptions,
    world: usize,
    split_bytes: Option<u64>,
) -> Result<Plan> {
    if world == 0 {
        return Err(Error::Usage("the number of tasks must be at least 1".into()));
    }
    crate::pipeline::check_stages(rules, opts)?;
    let (inputs, references) = crate::pipeline::run_files(opts)?;
    // One writer per output folder: a plan and a run (or two plans) on the
    // same folder do not interleave.
    let _lock = crate::pipeline::open_output(&opts.out, opts.overwrite)?;
    let snapshot = opts.out.join("rules");
    rules.files.write_to(&snapshot).map_err(|e| Error::io(&snapshot, e))?;
    let plan = Plan {
        curate_version: env!("CARGO_PKG_VERSION").to_string(),
        rules_hash: rules.files.hash(),
        rules_origin: rules.files.origin.clone(),
        references: references.iter().map(PlannedFile::of).collect::<Result<_>>()?,
        inputs: inputs.iter().map(PlannedFile::of).collect::<Result<_>>()?,
        decontaminate: opts
            .decontaminate
            .iter()
            .map(|p| std::path::absolute(p).map_or_else(|_| p.clone(), |a| a.to_string_lossy().into_owned()))
            .collect(),
        settings: opts.settings.clone(),
        steps: StepPlan::all(world),
        pieces: Vec::new(),
    };
    let mut plan = plan;
    let files = plan.files();
    let total: u64 = plan.references.iter().chain(&plan.inputs).map(|f| f.bytes).sum();
    let split = split_bytes.unwrap_or_else(|| default_split_bytes(total, world)).max(1);
    let mut pieces = Vec::new();
    for (i, (f, planned)) in files.iter().zip(plan.references.iter().chain(&plan.inputs)).enumerate() {
        if planned.bytes > split && crate::read::splittable(f) {
            for r in crate::read::split_lines(f, split).map_err(|e| Error::io(&f.path, e))? {
                pieces.push(PlannedPiece {
                    file: i,
                    bytes: r.end - r.start,
                    range: Some(r),
                });
            }
        } else {
            pieces.push(PlannedPiece {
                file: i,
                bytes: planned.bytes,
                range: None,
            });
        }
    }
    plan.pieces = pieces;
    plan.save(&opts.out)?;
    Ok(plan)
}

/// Splits files (with their sizes) into `world` contiguous ranges of about
/// equal bytes: file `i` goes to the task whose share of the total holds the
/// middle of the file. Contiguous ranges keep the global input order: task
/// `r`'s records all come before task `r + 1`'s.
pub fn partition(bytes: &[u64], world: usize) -> Vec<std::ops::Range<usize>> {
    let world = world.max(1);
    let total: u128 = bytes.iter().map(|&b| b as u128).sum::<u128>().max(1);
    let mut owner = Vec::with_capacity(bytes.len());
    let mut before: u128 = 0;
    for &b in bytes {
        let mid = before * 2 + b as u128; // twice the middle, to stay in integers
        owner.push(((mid * world as u128) / (total * 2)).min(world as u128 - 1) as usize);
        before += b as u128;
    }
    (0..world)
        .map(|r| {
            let start = owner.iter().position(|&o| o >= r).unwrap_or(bytes.len());
            let end = owner.iter().position(|&o| o > r).unwrap_or(bytes.len());
            start..end.max(start)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::partition;

    #[test]
    fn contiguous_balanced_and_complete() {
        let p = partition(&[10, 10, 10, 10], 2);
        assert_eq!(p, vec![0..2, 2..4]);
        let p = partition(&[100, 1, 1, 1, 1], 2);
        assert_eq!(p, vec![0..1, 1..5]);
        // More tasks than files: some tasks get nothing, every file is owned once.
        let p = partition(&[5, 5], 4);
        let owned: usize = p.iter().map(|r| r.len()).sum();
        assert_eq!(owned, 2);
        assert!(p.windows(2).all(|w| w[0].end <= w[1].start));
        assert_eq!(partition(&[], 3).len(), 3);
    }

    proptest::proptest! {
        #[test]
        fn every_file_has_one_task(sizes in proptest::collection::vec(0u64..1000, 0..40), world in 1usize..9) {
            let p = partition(&sizes, world);
            proptest::prop_assert_eq!(p.len(), world);
            let mut next = 0;
            for r in &p {
                proptest::prop_assert!(r.start == next || r.is_empty());
                if !r.is_empty() { next = r.end; }
            }
            proptest::prop_assert_eq!(next, sizes.len());
        }
    }
}
