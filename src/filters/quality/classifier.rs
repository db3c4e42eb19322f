//! `classifier`: the probability a trained model gives to a label such as
//! `low` (low quality).
//!
//! ## What it measures
//! The probability, between 0 and 1, that the model trained with
//! `curate train` assigns to `label` for the record's text (the fields or
//! parts the model was trained on, e.g. instruction, input and response).
//!
//! ## Why
//! Heuristic rules catch what can be described; a classifier trained on
//! examples of kept and dropped records (or on human judgements) catches the
//! rest of what they have in common. It is how GPT-3, LLaMA and FineWeb-Edu
//! filtered their data, here with a fast linear model that runs offline.
//!
//! ## Example
//! ```toml
//! [low-quality]
//! kind = "classifier"
//! model = "models/quality.json"   # in the rules folder, or a path on disk
//! label = "drop"                  # the label whose probability is measured
//! max = 0.8                       # drop when P(drop) > 0.8
//! ```
//!
//! ## Parameters
//! `model` (required), `label` (required); the common `min`/`max` in [0, 1].
//! The scope is the model's own: it reads the texts it was trained on.

use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure};
use crate::tag::model::Model;

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality("classifier", "probability a trained model gives to a label", build)
    .fraction()
    .scope(None);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    model: String,
    label: String,
}

struct Classifier {
    model: Model,
    label: usize,
    metric: String,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    let model = crate::tag::rules::load_model(ctx.files, &p.model).map_err(|m| ("model".to_string(), m))?;
    let label = model.labels.iter().position(|l| *l == p.label).ok_or_else(|| {
        (
            "label".to_string(),
            format!(
                "the model has no label `{}`; its labels are: {}",
                p.label,
                model.labels.join(", ")
            ),
        )
    })?;
    Ok(Box::new(Classifier {
        metric: format!("probability of `{}`", p.label),
        model,
        label,
    }))
}

impl Filter for Classifier {
    fn metric(&self) -> &str {
        &self.metric
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let rec = cx.record();
        let raw: Option<serde_json::Value> = serde_json::from_str(&rec.raw).ok();
        let text = crate::tag::train::record_text(rec, raw.as_ref(), &self.model);
        let p = self.model.predict(&text);
        Some(Measure::from(f64::from(p[self.label])))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{record, value};
    use crate::rules::{BuildContext, RuleFiles};
    use crate::tag::model::Features;
    use crate::tag::train::{train, Example, TrainOptions};

    #[test]
    fn measures_the_probability_of_the_label() {
        // Kept (answered) and dropped (empty, one-word) answers cut from alpaca_5000-like records.
        let mut ex = Vec::new();
        for (t, l) in [
            ("The three primary colors are red, blue and yellow.", "keep"),
            (
                "Photosynthesis turns light, water and carbon dioxide into sugar.",
                "keep",
            ),
            ("A balanced diet includes fruit, vegetables and whole grains.", "keep"),
            ("N/A", "drop"),
            ("1", "drop"),
            ("No", "drop"),
        ] {
            for _ in 0..4 {
                ex.push(Example {
                    text: t.into(),
                    label: l.into(),
                });
            }
        }
        let opts = TrainOptions {
            text: vec!["output".into()],
            features: Features {
                buckets: 1 << 12,
                ..Features::default()
            },
            holdout: 0.0,
            ..TrainOptions::default()
        };
        let model = train(&ex, &opts).expect("trains").model;
        let files = RuleFiles::from_pairs(
            "t",
            [("models/q.json", model.to_json(serde_json::Value::Null).as_str())],
        );
        let ctx = BuildContext {
            params: toml::from_str("model = \"models/q.json\"\nlabel = \"drop\"").expect("parses"),
            scope: None,
            files: &files,
            file: "quality/q.toml",
        };
        let f = (KIND.build)(&ctx).map_err(|e| e.1).expect("builds");
        let bad = record(r#"{"instruction": "Name a color.", "input": "", "output": "No"}"#);
        let good = record(
            r#"{"instruction": "Name the primary colors.", "input": "", "output": "The three primary colors are red, blue and yellow."}"#,
        );
        let pb = value(f.as_ref(), &bad).expect("measured");
        let pg = value(f.as_ref(), &good).expect("measured");
        assert!(pb > 0.5 && pg < 0.5, "P(drop): bad {pb}, good {pg}");
        let ctx = BuildContext {
            params: toml::from_str("model = \"models/q.json\"\nlabel = \"low\"").expect("parses"),
            ..ctx
        };
        assert_eq!((KIND.build)(&ctx).err().map(|e| e.0), Some("label".to_string()));
    }
}
