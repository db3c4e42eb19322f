//! Topic and task tagging: the `tag` stage, its explanations, and the
//! trainable text classifier it (and the quality stage) can use.
//!
//! Dolma's lesson applies: measure apart from decide. The tagger never drops
//! a record; it writes one primary `task` (from a fixed vocabulary, see
//! [`rules::TASKS`]) and tags (`task:coding`, `domain:health`, `lang:zh`,
//! user tags) that later steps (reports, mixing, training) use.
//!
//! - [`rules`]: `rules/topics/*.toml` parsed and compiled into weighted cues.
//! - [`score`]: finds the cues in a record and picks the task and tags.
//! - [`explain`]: which cues chose them, with their weights.
//! - [`model`], [`train`]: a fastText-style linear classifier on hashed
//!   n-grams, trained in-process by `curate train`, usable in topic rules
//!   (`[classifier.task]`) and as the quality filter kind `classifier`.
//! - [`eval`]: accuracy of the tagger on labelled sets (`curate tag-eval`).

pub mod base64;
pub mod eval;
pub mod explain;
pub mod model;
pub mod rules;
pub mod score;
pub mod train;

use std::sync::OnceLock;

pub use explain::{explain, Explanation};
pub use score::{Tagger, Tagging};

use crate::error::RulesError;
use crate::record::Record;
use crate::rules::RuleFiles;
use crate::stage::{RecordStage, RuleInfo, StageOutcome};

/// The `tag` stage: tags every record, never drops one.
pub struct TagStage {
    tagger: Tagger,
}

impl TagStage {
    /// A stage from a tagger.
    pub fn new(tagger: Tagger) -> Self {
        TagStage { tagger }
    }
}

impl RecordStage for TagStage {
    fn name(&self) -> &str {
        "tag"
    }

    /// Tagging never drops a record, so it has no deciding rules.
    fn rules(&self) -> Vec<RuleInfo> {
        Vec::new()
    }

    fn process(&self, rec: &mut Record) -> StageOutcome {
        let t = self.tagger.apply(rec);
        let mut counts = Vec::with_capacity(t.tags.len() + 1);
        counts.push((format!("task/{}", t.task), 1));
        for tag in &t.tags {
            if !tag.starts_with("task:") {
                counts.push((format!("tag/{tag}"), 1));
            }
        }
        StageOutcome {
            counts,
            ..StageOutcome::default()
        }
    }
}

/// Builds the `tag` stage from `topics/*.toml`; `None` when there are none.
pub fn build_stage(files: &RuleFiles) -> Result<Option<Box<dyn RecordStage>>, Vec<RulesError>> {
    Ok(rules::TopicRules::compile(files)?.map(|r| Box::new(TagStage::new(Tagger::new(r))) as Box<dyn RecordStage>))
}

/// A tagger from a rule set (`None` when it has no topic rules).
pub fn tagger(files: &RuleFiles) -> Result<Option<Tagger>, Vec<RulesError>> {
    Ok(rules::TopicRules::compile(files)?.map(Tagger::new))
}

/// The tagger of the built-in rules (compiled once).
pub fn builtin() -> Option<&'static Tagger> {
    static T: OnceLock<Option<Tagger>> = OnceLock::new();
    T.get_or_init(|| tagger(&RuleFiles::embedded()).ok().flatten()).as_ref()
}
