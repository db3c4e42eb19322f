//! Every way a record leaves the pipeline other than kept, and the one place
//! where the row of `rejected/` and its reason sentence are written.
//!
//! | fate | stage | rule | value | threshold | `duplicate_of` |
//! |---|---|---|---|---|---|
//! | a rule's threshold crossed | the rule's stage | `stage/name` | measured | crossed bound | |
//! | benchmark contamination | `dedup` | [`DECONTAM`] | | n-gram size | the benchmark item |
//! | exact duplicate | `dedup` | [`DropRule::Exact`] | similarity 1 | 1 | the kept copy |
//! | near duplicate | `dedup` | [`DropRule::Near`] | similarity | threshold | the kept record |
//! | same meaning | `dedup` | [`DropRule::Semantic`] | cosine | threshold | the kept record |
//! | sampled out by the mix | [`MIX_STAGE`] | [`MIX_RULE`] | group share | target share | |
//!
//! Malformed items are not rejections: they go to `malformed/` with their file,
//! line and error ([`crate::output::MalformedRows`]).
//!
//! `curate run`, the distributed steps and `curate apply` all build their rows
//! here, so the same decision reads the same everywhere.

/// The name of the dedup stage.
pub const DEDUP_STAGE: &str = "dedup";
/// The rule id of benchmark decontamination.
pub const DECONTAM: &str = "dedup/decontam";
/// The stage of rows the mix dropped.
pub const MIX_STAGE: &str = "mix";
/// The rule id of rows the mix dropped.
pub const MIX_RULE: &str = "mix/ratio";

/// Which dedup rule dropped a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropRule {
    /// Same normalised text as a kept record.
    Exact,
    /// Similarity above the threshold to a kept record.
    Near,
    /// Sentence embeddings as close as the threshold to a kept record's.
    Semantic,
}

impl DropRule {
    /// The rule id.
    pub fn id(self) -> &'static str {
        match self {
            DropRule::Exact => "dedup/exact",
            DropRule::Near => "dedup/near",
            DropRule::Semantic => "dedup/semantic",
        }
    }
}

/// Why a record was dropped, as written to `rejected/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The stage that dropped it.
    pub stage: String,
    /// The first rule that dropped it.
    pub rule: String,
    /// The measured value.
    pub value: Option<f64>,
    /// The bound it crossed.
    pub threshold: Option<f64>,
    /// A sentence a person understands.
    pub reason: String,
    /// Every rule of that stage that would have dropped it.
    pub failed_rules: Vec<String>,
    /// The kept record it duplicates (dedup).
    pub duplicate_of: Option<String>,
    /// Its similarity to that record (dedup).
    pub similarity: Option<f64>,
}

impl Rejection {
    /// A per-record rule dropped it: `rule` is the first failing rule of
    /// `stage`, `failed_rules` every failing one, `reason` from [`crossed`].
    pub fn rule(
        stage: &str,
        rule: &str,
        value: f64,
        threshold: f64,
        reason: String,
        failed_rules: Vec<String>,
    ) -> Self {
        Rejection {
            stage: stage.to_string(),
            rule: rule.to_string(),
            value: Some(value),
            threshold: Some(threshold),
            reason,
            failed_rules,
            duplicate_of: None,
            similarity: None,
        }
    }

    /// It contains an `ngram`-word n-gram of benchmark `item`.
    pub fn decontam(stage: &str, ngram: usize, item: String) -> Self {
        Rejection {
            stage: stage.to_string(),
            rule: DECONTAM.into(),
            value: None,
            threshold: Some(ngram as f64),
            reason: format!("contains a {ngram}-word n-gram of benchmark item {item}"),
            failed_rules: vec![DECONTAM.into()],
            duplicate_of: Some(item),
            similarity: None,
        }
    }

    /// It duplicates the kept record `survivor` (exact, or near with
    /// `similarity` at least `threshold`).
    pub fn duplicate(stage: &str, rule: DropRule, survivor: String, similarity: f64, threshold: f64) -> Self {
        let (reason, threshold) = match rule {
            DropRule::Exact => (
                format!("exact duplicate (normalised) of `{survivor}`, which is kept"),
                1.0,
            ),
            DropRule::Near => (
                format!(
                    "near-duplicate of `{survivor}` (Jaccard similarity {similarity:.3} >= {threshold}), which is kept"
                ),
                threshold,
            ),
            DropRule::Semantic => (
                format!(
                    "says the same as `{survivor}` in other words (cosine {similarity:.3} of their sentence embeddings >= {threshold}), which is kept"
                ),
                threshold,
            ),
        };
        Rejection {
            stage: stage.to_string(),
            rule: rule.id().into(),
            value: Some(similarity),
            threshold: Some(threshold),
            reason,
            failed_rules: vec![rule.id().into()],
            duplicate_of: Some(survivor),
            similarity: Some(similarity),
        }
    }

    /// The mix sampled it out: its group had `share` of the records and a
    /// `target` share ([`crate::mix::MixVerdict`] writes the sentence).
    pub fn mix(share: f64, target: f64, reason: &str) -> Self {
        Rejection {
            stage: MIX_STAGE.into(),
            rule: MIX_RULE.into(),
            value: Some(share),
            threshold: Some(target),
            reason: reason.to_string(),
            failed_rules: vec![MIX_RULE.into()],
            duplicate_of: None,
            similarity: None,
        }
    }
}

/// Which bound a value crossed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Crossed {
    /// Below `min`.
    Min(f64),
    /// Above `max`.
    Max(f64),
}

impl Crossed {
    /// The bound's value.
    pub fn bound(self) -> f64 {
        match self {
            Crossed::Min(b) | Crossed::Max(b) => b,
        }
    }
}

/// Formats a number without a trailing `.0` for whole values.
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{:.4}", v)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// The reason a measured value fails a rule: `subject` is what was measured
/// (`response char-length`), `detail` what it matched, when the filter says.
///
/// `response char-length is 3, below the minimum 5`
pub fn crossed(subject: &str, value: f64, crossed: Crossed, detail: Option<&str>) -> String {
    let (dir, bound) = match crossed {
        Crossed::Min(b) => ("below the minimum", b),
        Crossed::Max(b) => ("above the maximum", b),
    };
    let mut s = format!("{subject} is {}, {dir} {}", num(value), num(bound));
    if let Some(d) = detail {
        s.push_str(&format!(" (matched {d:?})"));
    }
    s
}

/// The reason a record with personal data of a dropping type goes:
/// `n` findings of `ty`, of the finer `kinds`.
pub fn pii_found(ty: &str, n: f64, kinds: &[&str]) -> String {
    format!(
        "found {} {ty} finding(s) ({}), above the maximum 0: records with {ty} are dropped",
        num(n),
        kinds.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fate_reads_as_one_sentence() {
        assert_eq!(
            crossed("response char-length", 3.0, Crossed::Min(5.0), None),
            "response char-length is 3, below the minimum 5"
        );
        assert_eq!(
            crossed("toxic-en count", 2.0, Crossed::Max(0.0), Some("xx")),
            "toxic-en count is 2, above the maximum 0 (matched \"xx\")"
        );
        let near = Rejection::duplicate("dedup", DropRule::Near, "a.jsonl:3".into(), 0.8123, 0.7);
        assert_eq!(
            near.reason,
            "near-duplicate of `a.jsonl:3` (Jaccard similarity 0.812 >= 0.7), which is kept"
        );
        assert_eq!(
            (near.threshold, near.failed_rules.as_slice()),
            (Some(0.7), &["dedup/near".to_string()][..])
        );
        let exact = Rejection::duplicate("dedup", DropRule::Exact, "a.jsonl:3".into(), 1.0, 0.7);
        assert_eq!(exact.threshold, Some(1.0));
        let d = Rejection::decontam("dedup", 13, "gsm8k:7".into());
        assert_eq!(d.reason, "contains a 13-word n-gram of benchmark item gsm8k:7");
        assert_eq!(d.duplicate_of.as_deref(), Some("gsm8k:7"));
        assert_eq!(
            pii_found("ssn", 1.0, &["ssn"]),
            "found 1 ssn finding(s) (ssn), above the maximum 0: records with ssn are dropped"
        );
    }
}
