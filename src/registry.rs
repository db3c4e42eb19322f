//! The one ordered list of stages and filter kinds.
//!
//! Adding a filter is: one file under `src/filters/<stage>/`, one line in
//! [`FILTER_KINDS`], its rule in `rules/<stage>/*.toml`, a fixture and tests.

use crate::error::RulesError;
use crate::filters::{quality, sensitive};
use crate::rules::RuleFiles;
use crate::stage::RecordStage;

/// Builds a stage from the rule files; `None` when the rule set has no rules for it.
pub type StageBuilder = fn(&RuleFiles) -> Result<Option<Box<dyn RecordStage>>, Vec<RulesError>>;

/// How a stage is built.
pub enum StageBuild {
    /// Only measuring rules from `rules/<name>/*.toml`, compiled by
    /// [`crate::ruleset::compile_filter_stage`] into a [`crate::stage::FilterStage`].
    Filters,
    /// Its own builder.
    Custom(StageBuilder),
}

/// A per-record stage.
pub struct StageDef {
    /// Its name (`--stages`, rule ids, reports); its rules live in `rules/<name>/`.
    pub name: &'static str,
    /// How it is built.
    pub build: StageBuild,
}

/// Per-record stages, in pipeline order.
pub static RECORD_STAGES: &[StageDef] = &[
    StageDef {
        name: "repair",
        build: StageBuild::Custom(crate::repair::build),
    },
    StageDef {
        name: "quality",
        build: StageBuild::Filters,
    },
    StageDef {
        name: "sensitive",
        build: StageBuild::Custom(|files| Ok(sensitive::build(files)?.map(|s| Box::new(s) as Box<dyn RecordStage>))),
    },
    StageDef {
        name: "tag",
        build: StageBuild::Custom(crate::tag::build_stage),
    },
    StageDef {
        name: crate::llm::STAGE,
        build: StageBuild::Custom(crate::llm::build),
    },
];

/// Other rule files or folders that stages read (`<name>.toml` or `<name>/`).
pub const CONFIG_FILES: &[&str] = &["topics", "dedup", "mix"];

pub use crate::verdict::DEDUP_STAGE;

/// Every stage name `--stages` accepts, in pipeline order.
pub fn all_stages() -> Vec<&'static str> {
    RECORD_STAGES
        .iter()
        .map(|s| s.name)
        .chain(std::iter::once(DEDUP_STAGE))
        .collect()
}

pub use crate::rules::FilterKind;

/// Every filter kind, in a fixed order.
pub static FILTER_KINDS: &[FilterKind] = &[
    quality::empty_response::KIND,
    quality::char_length::KIND,
    quality::classifier::KIND,
    quality::approx_tokens::KIND,
    quality::word_count::KIND,
    quality::mean_word_length::KIND,
    quality::symbol_ratio::KIND,
    quality::line_fraction::KIND,
    quality::alpha_words::KIND,
    quality::stop_words::KIND,
    quality::duplicate_lines::KIND,
    quality::top_ngram::KIND,
    quality::duplicate_ngrams::KIND,
    quality::short_lines::KIND,
    quality::newline_ratio::KIND,
    quality::phrases::KIND,
    quality::placeholder::KIND,
    quality::refusal::KIND,
    quality::identity::KIND,
    quality::translated_code::KIND,
    quality::flattened_code::KIND,
    quality::leaked_task::KIND,
    quality::translated_wordplay::KIND,
    quality::answer_in_choices::KIND,
    quality::repeats_instruction::KIND,
    quality::unchanged_input::KIND,
    quality::linked_media::KIND,
    quality::truncated::KIND,
    quality::conversation::KIND,
    quality::lang_mismatch::KIND,
];

/// The kinds a stage's rules may use.
pub fn filter_kinds(stage: &str) -> impl Iterator<Item = &'static FilterKind> + '_ {
    FILTER_KINDS.iter().filter(move |k| k.stage == stage)
}

/// Looks up a kind by stage and name.
pub fn filter_kind(stage: &str, name: &str) -> Option<&'static FilterKind> {
    filter_kinds(stage).find(|k| k.name == name)
}
