//! The score `curate select` ranks records by.
//!
//! ```text
//! score = quality * ln(1 + answer characters) * (1 + ln(complexity))
//! complexity = 1 + tags + constraints + sub-questions + (user turns - 1)
//! ```
//!
//! - **Answer length.** Selecting the records with the longest answers is a
//!   strong baseline for instruction tuning (1,000 longest of Alpaca beat
//!   curated subsets of the same size in "Long Is More for Alignment",
//!   Zhao et al. 2024); the logarithm keeps a 20,000-character answer from
//!   outweighing everything else. Records that are long because they are
//!   broken were dropped by the quality stage before selection.
//! - **Complexity**, InsTag-style: the number of intentions a request
//!   carries. Its topic tags (the record's tags other than `task:`, `lang:`
//!   and `toxic:`: domains, `intent:` tags of the model stage, cues such as
//!   `step-by-step`), the constraints it states ("at least", "in 3 words",
//!   "不超过"), its questions and numbered items, and every user turn past
//!   the first ([`crate::output::diversity`] counts the same signals for
//!   the report).
//! - **Quality**: 1, or with `--quality RULE` the record's value of that
//!   metric, scaled over the kept records to [0.1, 1] (the best value 1;
//!   an unmeasured record 0.1), e.g. `llm/quality` or a trained
//!   `classifier` rule.

use crate::output::diversity::{constraints, sub_questions};

/// What a kept record brings to its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Features {
    /// Characters of every assistant turn.
    pub answer_chars: u64,
    /// 1 + tags + constraints + sub-questions + user turns past the first.
    pub complexity: u64,
}

/// Whether a tag counts towards complexity.
fn topic_tag(t: &str) -> bool {
    !(t.starts_with("task:") || t.starts_with("lang:") || t.starts_with("toxic:"))
}

/// The features of a record given as (role, content) messages and its tags.
pub fn features(messages: &[(String, String)], tags: &[String]) -> Features {
    let answer_chars = messages
        .iter()
        .filter(|m| m.0 == "assistant")
        .map(|m| m.1.chars().count() as u64)
        .sum();
    let users = messages.iter().filter(|m| m.0 == "user").count() as u64;
    let instruction = messages.iter().find(|m| m.0 == "user").map_or("", |m| m.1.as_str());
    let complexity = 1
        + tags.iter().filter(|t| topic_tag(t)).count() as u64
        + constraints(instruction)
        + sub_questions(instruction)
        + users.saturating_sub(1);
    Features {
        answer_chars,
        complexity,
    }
}

/// The score of a record with `features` and scaled `quality` in [0.1, 1].
pub fn score(f: Features, quality: f64) -> f64 {
    quality * (1.0 + f.answer_chars as f64).ln() * (1.0 + (f.complexity.max(1) as f64).ln())
}

/// Scales a metric value into [0.1, 1] over the range `[lo, hi]` of the
/// kept records' values, the better end 1 (`higher_is_better`); an
/// unmeasured value is 0.1, and every value is 1 when they are all equal.
pub fn scaled_quality(v: Option<f64>, lo: f64, hi: f64, higher_is_better: bool) -> f64 {
    let Some(v) = v.filter(|v| v.is_finite()) else {
        return 0.1;
    };
    if hi <= lo {
        return 1.0;
    }
    let x = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
    0.1 + 0.9 * if higher_is_better { x } else { 1.0 - x }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(m: &[(&str, &str)]) -> Vec<(String, String)> {
        m.iter().map(|(r, c)| (r.to_string(), c.to_string())).collect()
    }

    #[test]
    fn longer_answers_and_more_asks_score_higher() {
        // From alpaca_5000 (line 2 and a two-part request of the same file).
        let short = msgs(&[
            ("user", "Give three tips for staying healthy."),
            ("assistant", "Eat well."),
        ]);
        let long = msgs(&[
            ("user", "Give three tips for staying healthy."),
            (
                "assistant",
                "1. Eat a balanced and nutritious diet. 2. Engage in regular physical activity. 3. Get enough sleep.",
            ),
        ]);
        let tags = vec![
            "task:brainstorming".to_string(),
            "domain:health".into(),
            "lang:en".into(),
        ];
        let (fs, fl) = (features(&short, &tags), features(&long, &tags));
        assert_eq!(fs.complexity, 2, "one topic tag");
        assert!(score(fl, 1.0) > score(fs, 1.0));
        let asks = msgs(&[
            ("user", "What is the capital of France? Answer in at least 3 words."),
            ("assistant", "Eat well."),
        ]);
        let fa = features(&asks, &tags);
        assert!(fa.complexity > fs.complexity, "{fa:?}");
        assert!(score(fa, 1.0) > score(fs, 1.0));
    }

    #[test]
    fn quality_is_scaled_with_the_better_end_one() {
        assert_eq!(scaled_quality(Some(5.0), 1.0, 5.0, true), 1.0);
        assert_eq!(scaled_quality(Some(1.0), 1.0, 5.0, true), 0.1);
        assert_eq!(scaled_quality(Some(1.0), 1.0, 5.0, false), 1.0);
        assert_eq!(scaled_quality(None, 1.0, 5.0, true), 0.1);
        assert_eq!(scaled_quality(Some(3.0), 3.0, 3.0, true), 1.0);
    }
}
