//! `curate` turns a raw instruction-tuning corpus into a clean one and shows
//! why every record was kept or dropped.
//!
//! ## Data flow
//! 1. [`read`]: inputs (files, folders, globs; JSONL, JSON arrays, gzip/zstd,
//!    Parquet) become raw items in a fixed order (inputs sorted by path).
//! 2. [`record`]: each item is parsed and mapped, by its shape, to one
//!    [`record::Record`]; what cannot be read or mapped is quarantined with
//!    its file, line and a clear error.
//! 3. [`stage`]: per-record stages (`quality`, `sensitive`, …) measure each
//!    record with the rules of [`rules`] and drop it at the first stage where
//!    a rule fails, keeping every failing rule, the measured value and the
//!    threshold. `sensitive` also redacts personal data and secrets and
//!    records every finding in the record's `pii` spans.
//!    The `tag` stage ([`tag`]) never drops: it writes each record's primary
//!    task and its topic, language and user tags.
//! 4. [`dedup`]: the global stage after the per-record ones: benchmark
//!    decontamination, exact and near-duplicates across all inputs (and
//!    `--reference` corpora). It needs every record before deciding, so the run
//!    has two phases: survivors are staged in `OUT/.staging/` with their dedup
//!    keys, the decision runs, and the staged records are routed.
//! 5. [`mix`] (optional, `rules/mix.toml`): once every record has been seen,
//!    the survivors are sampled, deterministically, so that tasks, tags or
//!    source files reach target shares; the rest is dropped as `mix/ratio`.
//! 6. [`output`]: kept, rejected and malformed records go to Parquet shards;
//!    the report counts everything per file and per stage.
//!
//! ## Invariants
//! - Nothing is lost: `input = kept + rejected + malformed` in total, per
//!   file and per stage; a run that breaks it fails.
//! - Deterministic: the same inputs and rules give the same shards whatever
//!   the thread count or the order inputs were listed in.
//! - Streaming: records flow in bounded batches; per-record stages hold
//!   nothing across records (the report's duplicate-id check holds one 8-byte
//!   hash per record that carries a user id). Dedup holds 16 bytes per record
//!   plus band keys up to its memory budget, then spills to disk.
//! - A dropped duplicate always names a kept record it is itself similar to.

pub mod audit;
pub mod cli;
pub mod dedup;
pub mod distributed;
pub mod embed;
pub mod error;
pub mod filters;
pub mod llm;
pub mod mix;
pub mod output;
pub mod pipeline;
pub mod read;
pub mod record;
pub mod registry;
pub mod repair;
pub mod rules;
pub mod ruleset;
pub mod seeded;
pub mod select;
pub mod stage;
pub mod tag;
pub mod text;
pub mod tokenize;
pub mod verdict;

pub use error::{Error, Result};
