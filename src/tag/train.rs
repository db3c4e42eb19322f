//! `curate train`: fits a [`Model`] on labelled JSON records and evaluates it
//! on records it did not see.
//!
//! Softmax regression by plain SGD over averaged hashed features, as fastText
//! does without its hidden layer: one pass over an example touches a few
//! hundred weight rows, so tens of thousands of records train in seconds on
//! one core. Everything is deterministic: the example order of each epoch
//! comes from a seeded generator, the held-out split from a hash of the text
//! (so duplicates land on the same side and cannot leak), and ties in labels
//! are broken by sorted label order.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use serde_json::Value;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::error::{Error, Result};
use crate::read::{expand_inputs, read_file, ReadOptions};
use crate::record::{map_record, Adapters, Origin, Record};
use crate::stage::num;
use crate::tag::model::{argmax, first_words, join_parts, softmax, Features, Model, PART_SEPARATOR};

/// Training options.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// The JSON field holding the label.
    pub label: String,
    /// Fields (or record parts: instruction, input, prompt, response) whose text is classified.
    pub text: Vec<String>,
    /// The label of records without the label field (e.g. `kept` when
    /// training on `kept/` and `rejected/` shards with `--label stage`).
    pub label_missing: Option<String>,
    /// Labels whose records are left out (e.g. `llm/sample`: records the
    /// model was not asked about).
    pub ignore: Vec<String>,
    /// Passes over the data.
    pub epochs: usize,
    /// Initial learning rate (decays linearly to 0).
    pub lr: f32,
    /// Feature settings.
    pub features: Features,
    /// Share of records held out for evaluation (ignored with `folds`).
    pub holdout: f64,
    /// Cross-validation folds (0: a single held-out split).
    pub folds: usize,
    /// Weigh classes inversely to their frequency.
    pub balance: bool,
    /// Weigh each text's buckets by sublinear TF-IDF (idf from the training
    /// records, stored in the model) instead of counting them alike.
    pub tfidf: bool,
    /// Seed of the example order and the split.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            label: "label".into(),
            text: vec!["text".into()],
            label_missing: None,
            ignore: Vec::new(),
            epochs: 10,
            lr: 0.5,
            features: Features::default(),
            holdout: 0.2,
            folds: 0,
            balance: false,
            tfidf: false,
            seed: 17,
        }
    }
}

/// One labelled text.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// The text classified.
    pub text: String,
    /// Its label.
    pub label: String,
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(a) => Some(a.iter().filter_map(value_text).collect::<Vec<_>>().join("\n")),
        _ => None,
    }
}

/// The text a model sees for a record: for each name, the raw JSON field of
/// that name when present, else the record part of that name (instruction,
/// input, prompt, response, system), joined by [`crate::tag::model::PART_SEPARATOR`]. Training and
/// prediction use this same function, so they see the same text.
pub fn record_text(rec: &Record, raw: Option<&Value>, model: &Model) -> String {
    // A model reading its fields as one text cuts them itself
    // ([`crate::tag::model::Features::extract`]), and a field cut once is
    // cut alike again (a property test): given whole, they are not cut twice.
    let f = &model.features;
    text_of(Some(rec), raw, &model.text, if f.parts { f.part_words } else { 0 })
}

/// The fields' texts joined, each field after the first cut to its first
/// `cap` words (0: whole) before it is copied.
fn text_of(rec: Option<&Record>, raw: Option<&Value>, names: &[String], cap: u16) -> String {
    let cut = |t: &str, k: usize| -> String {
        if k > 0 && cap > 0 {
            first_words(t, usize::from(cap)).to_string()
        } else {
            t.to_string()
        }
    };
    let mut parts: Vec<String> = Vec::with_capacity(names.len());
    for (k, n) in names.iter().enumerate() {
        if let Some(t) = raw.and_then(|r| r.get(n)).and_then(value_text) {
            // A whole field is the text already made: not copied again.
            parts.push(if k > 0 && cap > 0 { cut(&t, k) } else { t });
            continue;
        }
        let t = match (rec, n.as_str()) {
            (None, _) => "",
            (Some(rec), "instruction") => rec.instruction(),
            (Some(rec), "input") => rec.input(),
            (Some(rec), "prompt") => rec.prompt(),
            (Some(rec), "response" | "output") => rec.response().unwrap_or(""),
            (Some(rec), "system") => rec.system.as_deref().unwrap_or(""),
            _ => "",
        };
        parts.push(cut(t, k));
    }
    // Each field keeps its place, so a model that reads the fields apart
    // ([`Features::parts`]) knows which is which.
    join_parts(&parts)
}

/// The raw record's top-level fields of `names` (the fields models read), as one object:
/// the record is parsed without building values for its other fields (a
/// MOSS conversation's turns), which a full parse would build for every
/// record. `None` when the raw record is not a JSON object.
pub fn model_fields<'n>(raw: &str, names: impl Iterator<Item = &'n String>) -> Option<Value> {
    use serde_json::value::RawValue;
    // The names borrowed from the record (no `String` per name of every
    // record); a name with an escape cannot be borrowed: then owned.
    // A few keys: a sorted map searches them faster than it would hash them.
    let owned: std::collections::BTreeMap<String, &RawValue>;
    let all: std::collections::BTreeMap<&str, &RawValue> = match serde_json::from_str(raw) {
        Ok(all) => all,
        Err(_) => {
            owned = serde_json::from_str(raw).ok()?;
            owned.iter().map(|(k, v)| (k.as_str(), *v)).collect()
        }
    };
    let mut out = serde_json::Map::new();
    for name in names {
        if let Some(v) = all.get(name.as_str()) {
            if !out.contains_key(name) {
                out.insert(name.clone(), serde_json::from_str(v.get()).ok()?);
            }
        }
    }
    Some(Value::Object(out))
}

/// Whether any field of a model's text has more than white space.
fn has_text(t: &str) -> bool {
    t.split(PART_SEPARATOR).any(|p| !p.trim().is_empty())
}

/// Reads labelled examples from inputs (files, folders, globs of JSONL/JSON/Parquet).
/// Returns the examples and the number of records skipped (no label, no text, or an ignored label).
pub fn read_examples(inputs: &[String], opts: &TrainOptions, adapters: &Adapters) -> Result<(Vec<Example>, u64)> {
    let (label, missing, text) = (opts.label.as_str(), opts.label_missing.as_deref(), &opts.text[..]);
    let files = expand_inputs(inputs)?;
    let mut out = Vec::new();
    let mut skipped = 0u64;
    for (i, f) in files.iter().enumerate() {
        read_file(f, ReadOptions::default(), Arc::new(AtomicU64::new(0)), &mut |item| {
            let Ok(v) = serde_json::from_slice::<Value>(&item.bytes) else {
                skipped += 1;
                return true;
            };
            let rec = map_record(
                adapters,
                &v,
                Origin {
                    file: i as u32,
                    line: item.line,
                },
                &f.label,
            )
            .ok();
            let l = v
                .get(label)
                .and_then(value_text)
                .filter(|s| !s.trim().is_empty())
                .or_else(|| missing.map(str::to_string));
            let t = text_of(rec.as_ref(), Some(&v), text, opts.features.part_words);
            match l {
                Some(l) if has_text(&t) && !opts.ignore.contains(&l) => out.push(Example { text: t, label: l }),
                _ => skipped += 1,
            }
            true
        });
    }
    Ok((out, skipped))
}

/// Fits a model on `(features, label index)` pairs.
fn fit(data: &[(Vec<u32>, usize)], labels: &[String], opts: &TrainOptions) -> Model {
    let mut m = Model::new(labels.to_vec(), opts.features.clone(), opts.text.clone());
    let l = labels.len();
    let mut class_w = vec![1.0f32; l];
    if opts.balance {
        let mut n = vec![0usize; l];
        for (_, y) in data {
            n[*y] += 1;
        }
        for (w, c) in class_w.iter_mut().zip(&n) {
            *w = if *c == 0 {
                0.0
            } else {
                data.len() as f32 / (l as f32 * *c as f32)
            };
        }
    }
    // With TF-IDF, each record's weighted bag, from the idf of these records.
    let bags: Vec<Vec<(u32, f32)>> = if opts.tfidf {
        m.idf = Some(idf(data.iter().map(|(f, _)| f.as_slice()), opts.features.buckets));
        data.iter().map(|(f, _)| m.bag(f)).collect()
    } else {
        Vec::new()
    };
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut rng = opts.seed;
    let total = (opts.epochs * data.len()).max(1) as f32;
    let mut step = 0f32;
    let mut grad = vec![0f32; l];
    for _ in 0..opts.epochs {
        for i in (1..order.len()).rev() {
            let j = (crate::seeded::splitmix(&mut rng) % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        for &k in &order {
            let (feats, y) = &data[k];
            let lr = opts.lr * (1.0 - step / total).max(0.0001);
            step += 1.0;
            let p = softmax(&match bags.get(k) {
                Some(bag) => m.bag_logits(bag),
                None => m.logits(feats),
            });
            for (c, g) in grad.iter_mut().enumerate() {
                let target = if c == *y { 1.0 } else { 0.0 };
                *g = (p[c] - target) * class_w[*y] * lr;
            }
            for (b, g) in m.bias.iter_mut().zip(&grad) {
                *b -= g;
            }
            if let Some(bag) = bags.get(k) {
                for &(f, v) in bag {
                    let row = &mut m.weights[f as usize * l..(f as usize + 1) * l];
                    for (w, g) in row.iter_mut().zip(&grad) {
                        *w -= g * v;
                    }
                }
                continue;
            }
            if feats.is_empty() {
                continue;
            }
            let inv = 1.0 / (feats.len() as f32).sqrt();
            for &f in feats {
                let row = &mut m.weights[f as usize * l..(f as usize + 1) * l];
                for (w, g) in row.iter_mut().zip(&grad) {
                    *w -= g * inv;
                }
            }
        }
    }
    m
}

/// Smoothed inverse document frequency per bucket over `docs`:
/// `ln((1 + n) / (1 + df)) + 1`, so a bucket in every record weighs 1 and
/// one no record had weighs most.
fn idf<'a>(docs: impl Iterator<Item = &'a [u32]>, buckets: u32) -> Vec<f32> {
    let mut df = vec![0u32; buckets as usize];
    let mut seen: Vec<u32> = Vec::new();
    let mut n = 0u32;
    for feats in docs {
        n += 1;
        seen.clear();
        seen.extend_from_slice(feats);
        seen.sort_unstable();
        seen.dedup();
        for &f in &seen {
            df[f as usize] += 1;
        }
    }
    df.iter()
        .map(|&d| (((1.0 + f64::from(n)) / (1.0 + f64::from(d))).ln() + 1.0) as f32)
        .collect()
}

/// Held-out figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Class labels.
    pub labels: Vec<String>,
    /// `confusion[gold][predicted]`.
    pub confusion: Vec<Vec<u64>>,
}

impl Evaluation {
    fn new(labels: &[String]) -> Self {
        Evaluation {
            labels: labels.to_vec(),
            confusion: vec![vec![0; labels.len()]; labels.len()],
        }
    }

    /// Records evaluated.
    pub fn total(&self) -> u64 {
        self.confusion.iter().flatten().sum()
    }

    /// Share predicted right.
    pub fn accuracy(&self) -> f64 {
        let right: u64 = (0..self.labels.len()).map(|i| self.confusion[i][i]).sum();
        right as f64 / self.total().max(1) as f64
    }

    /// `(precision, recall, F1, support)` of class `c`.
    pub fn class(&self, c: usize) -> (f64, f64, f64, u64) {
        let tp = self.confusion[c][c] as f64;
        let support: u64 = self.confusion[c].iter().sum();
        let predicted: u64 = self.confusion.iter().map(|r| r[c]).sum();
        let p = if predicted == 0 { 0.0 } else { tp / predicted as f64 };
        let r = if support == 0 { 0.0 } else { tp / support as f64 };
        let f = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
        (p, r, f, support)
    }

    /// Unweighted mean F1 over classes with support.
    pub fn macro_f1(&self) -> f64 {
        let fs: Vec<f64> = (0..self.labels.len())
            .filter(|&c| self.class(c).3 > 0)
            .map(|c| self.class(c).2)
            .collect();
        fs.iter().sum::<f64>() / fs.len().max(1) as f64
    }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "held-out records: {}  accuracy: {:.4}  macro F1: {:.4}",
            self.total(),
            self.accuracy(),
            self.macro_f1()
        )?;
        writeln!(
            f,
            "{:<24}{:>10}{:>10}{:>10}{:>10}",
            "class", "precision", "recall", "F1", "support"
        )?;
        for (c, name) in self.labels.iter().enumerate() {
            let (p, r, f1, n) = self.class(c);
            writeln!(f, "{name:<24}{p:>10.4}{r:>10.4}{f1:>10.4}{n:>10}")?;
        }
        Ok(())
    }
}

/// What `train` produced.
pub struct Trained {
    /// The model to save.
    pub model: Model,
    /// Held-out figures (pooled over folds with cross-validation).
    pub eval: Evaluation,
    /// Accuracy of each fold (one entry without cross-validation).
    pub fold_accuracy: Vec<f64>,
    /// Examples per label.
    pub counts: BTreeMap<String, u64>,
    /// What the saved model was trained on, in words.
    pub note: String,
}

/// Trains and evaluates. With `folds = k > 1`, evaluates by k-fold
/// cross-validation and saves a model trained on every example; otherwise
/// holds out `holdout` of the examples and saves the model trained on the rest.
pub fn train(examples: &[Example], opts: &TrainOptions) -> Result<Trained> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for e in examples {
        *counts.entry(e.label.clone()).or_default() += 1;
    }
    if counts.len() < 2 {
        return Err(Error::Usage(format!(
            "training needs at least two labels; found {} in {} records",
            counts.len(),
            examples.len()
        )));
    }
    let labels: Vec<String> = counts.keys().cloned().collect();
    let data: Vec<(Vec<u32>, usize)> = examples
        .iter()
        .map(|e| {
            let y = labels.iter().position(|l| *l == e.label).unwrap_or(0);
            (opts.features.extract(&e.text), y)
        })
        .collect();
    let bucket = |e: &Example, k: u64| xxh3_64_with_seed(e.text.as_bytes(), opts.seed) % k;
    let mut eval = Evaluation::new(&labels);
    let mut fold_accuracy = Vec::new();
    let evaluate = |m: &Model, test: &[usize], eval: &mut Evaluation| -> f64 {
        let mut right = 0u64;
        for &i in test {
            let (feats, y) = &data[i];
            let (pred, _) = argmax(&softmax(&m.logits(feats)));
            eval.confusion[*y][pred] += 1;
            right += u64::from(pred == *y);
        }
        right as f64 / test.len().max(1) as f64
    };
    let (model, note) = if opts.folds > 1 {
        let k = opts.folds as u64;
        for fold in 0..k {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..data.len()).partition(|&i| bucket(&examples[i], k) == fold);
            let tr: Vec<(Vec<u32>, usize)> = train.iter().map(|&i| data[i].clone()).collect();
            let m = fit(&tr, &labels, opts);
            fold_accuracy.push(evaluate(&m, &test, &mut eval));
        }
        (
            fit(&data, &labels, opts),
            format!(
                "{}-fold cross-validation; the saved model is trained on all {} records",
                opts.folds,
                data.len()
            ),
        )
    } else {
        let cut = (opts.holdout.clamp(0.0, 0.9) * 10_000.0) as u64;
        let (test, train): (Vec<usize>, Vec<usize>) =
            (0..data.len()).partition(|&i| bucket(&examples[i], 10_000) < cut);
        let tr: Vec<(Vec<u32>, usize)> = train.iter().map(|&i| data[i].clone()).collect();
        let m = fit(&tr, &labels, opts);
        fold_accuracy.push(evaluate(&m, &test, &mut eval));
        (
            m,
            format!(
                "held out {} of {} records; the saved model is trained on the other {}",
                test.len(),
                data.len(),
                train.len()
            ),
        )
    };
    Ok(Trained {
        model,
        eval,
        fold_accuracy,
        counts,
        note,
    })
}

/// Trains from files and writes the model to `out`; returns the figures.
pub fn train_files(inputs: &[String], out: &Path, opts: &TrainOptions, adapters: &Adapters) -> Result<Trained> {
    let (examples, skipped) = read_examples(inputs, opts, adapters)?;
    if examples.is_empty() {
        return Err(Error::Usage(format!(
            "no record has both a `{}` label and text in {} ({skipped} skipped)",
            opts.label,
            opts.text.join(", ")
        )));
    }
    let t = train(&examples, opts)?;
    let meta = serde_json::json!({
        "label": opts.label,
        "records": examples.len(),
        "skipped": skipped,
        "epochs": opts.epochs,
        "lr": opts.lr,
        "balance": opts.balance,
        "evaluation": t.note,
        "accuracy": t.eval.accuracy(),
        "macro_f1": t.eval.macro_f1(),
    });
    std::fs::write(out, t.model.to_json(meta) + "\n").map_err(|e| Error::io(out, e))?;
    Ok(t)
}

/// The report printed by `curate train`.
pub fn summary(t: &Trained) -> String {
    let mut s = String::new();
    s.push_str("records per label:");
    for (l, n) in &t.counts {
        s.push_str(&format!(" {l}={n}"));
    }
    s.push('\n');
    s.push_str(&format!("{}\n", t.note));
    if t.fold_accuracy.len() > 1 {
        s.push_str(&format!(
            "fold accuracy: {}\n",
            t.fold_accuracy.iter().map(|a| num(*a)).collect::<Vec<_>>().join(" ")
        ));
    }
    s.push_str(&t.eval.to_string());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str, label: &str) -> Example {
        Example {
            text: text.into(),
            label: label.into(),
        }
    }

    #[test]
    fn learns_a_separable_task_deterministically() {
        // Instructions from LLaMA-Factory alpaca_en_demo / gpteacher codegen (permissive sources).
        let code = [
            "Write a Python function to reverse a string.",
            "Write a SQL query to select all users older than 30.",
            "Fix the bug in this JavaScript code.",
            "Write a Java method that sums an array of integers.",
            "Implement binary search in C++.",
            "Write a Python script that reads a CSV file.",
        ];
        let poem = [
            "Write a poem about the ocean.",
            "Compose a haiku about autumn leaves.",
            "Write a short story about a lost dog.",
            "Write a poem about friendship.",
            "Compose a sonnet about the moon.",
            "Write a short story about a dragon.",
        ];
        let mut data = Vec::new();
        for _ in 0..5 {
            data.extend(code.iter().map(|t| ex(t, "coding")));
            data.extend(poem.iter().map(|t| ex(t, "creative-writing")));
        }
        let opts = TrainOptions {
            features: Features {
                buckets: 1 << 12,
                ..Features::default()
            },
            folds: 3,
            ..TrainOptions::default()
        };
        let a = train(&data, &opts).expect("trains");
        let b = train(&data, &opts).expect("trains");
        assert_eq!(a.model, b.model, "same data and seed give the same model");
        let (i, p) = a.model.best("Write a Rust function that parses JSON.");
        assert_eq!(a.model.labels[i], "coding");
        assert!(p > 0.5);
        let (i, _) = a.model.best("Write a poem about the stars.");
        assert_eq!(a.model.labels[i], "creative-writing");
    }

    #[test]
    fn tfidf_training_weighs_rare_words_and_is_deterministic() {
        // Instructions from LLaMA-Factory alpaca_en_demo / gpteacher codegen (permissive sources).
        let code = [
            "Write a Python function to reverse a string.",
            "Write a SQL query to select all users older than 30.",
            "Write a Java method that sums an array of integers.",
        ];
        let poem = [
            "Write a poem about the ocean.",
            "Write a poem about friendship.",
            "Write a short story about a dragon.",
        ];
        let data: Vec<Example> = (0..4)
            .flat_map(|_| {
                code.iter()
                    .map(|t| ex(t, "coding"))
                    .chain(poem.iter().map(|t| ex(t, "creative-writing")))
            })
            .collect();
        let opts = TrainOptions {
            features: Features {
                buckets: 1 << 12,
                char_ngrams: [0, 0],
                ..Features::default()
            },
            tfidf: true,
            holdout: 0.0,
            ..TrainOptions::default()
        };
        let a = train(&data, &opts).expect("trains");
        assert_eq!(a.model, train(&data, &opts).expect("trains").model);
        let idf = a.model.idf.as_ref().expect("a TF-IDF model keeps its idf");
        // "write" is in every record, "poem" in a third of them.
        let f = &opts.features;
        let (write, poem) = (f.extract("write")[0] as usize, f.extract("poem")[0] as usize);
        assert!((idf[write] - 1.0).abs() < 1e-6, "{}", idf[write]);
        // ln((1 + 24) / (1 + 8)) + 1
        assert!((idf[poem] - 2.0216).abs() < 1e-3, "{}", idf[poem]);
        let (i, _) = a.model.best("Write a poem about the sea.");
        assert_eq!(a.model.labels[i], "creative-writing");
        let (i, _) = a.model.best("Write a Python function that sorts a list.");
        assert_eq!(a.model.labels[i], "coding");
    }

    /// The models' fields are read by name, borrowed; a name written with
    /// an escape reads the same (alpaca_en_demo line 9's instruction).
    #[test]
    fn model_fields_read_escaped_names_too() {
        let fields = ["instruction".to_string(), "input".to_string()];
        let names = || fields.iter();
        let plain = r#"{"instruction": "Reword this sentence to increase clarity", "input": "The idea of her being so brave made me smile"}"#;
        let escaped = plain.replace("\"instruction\"", "\"instr\\u0075ction\"");
        assert!(escaped.contains("\\u0075"), "{escaped}");
        let (a, b) = (
            model_fields(plain, names()).expect("an object"),
            model_fields(&escaped, names()).expect("an object"),
        );
        assert_eq!(a, b);
        assert_eq!(a["instruction"], "Reword this sentence to increase clarity");
        assert!(model_fields("[1, 2]", names()).is_none());
    }

    #[test]
    fn one_label_is_an_error() {
        let e = train(&[ex("a", "x"), ex("b", "x")], &TrainOptions::default());
        assert!(e.is_err());
    }
}
