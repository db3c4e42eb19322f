//! The `tag-explain`, `tag-eval` and `train` subcommands, kept here so the
//! binary stays a thin dispatcher.

use std::io::Write;
use std::path::Path;

use super::{TagEvalArgs, TagExplainArgs, TrainArgs};
use crate::error::{Error, Result};
use crate::record::{map_record, Origin};
use crate::rules::RuleFiles;
use crate::ruleset::Rules;
use crate::tag::model::Features;
use crate::tag::train::{self, TrainOptions};
use crate::tag::{eval, explain, Tagger};

fn load(dir: Option<&Path>) -> Result<(Rules, Tagger)> {
    let files = match dir {
        Some(d) => RuleFiles::load(d).map_err(Error::Rules)?,
        None => RuleFiles::embedded(),
    };
    let tagger = crate::tag::tagger(&files)
        .map_err(Error::Rules)?
        .ok_or_else(|| Error::Usage(format!("{}: the rules have no topics/*.toml", files.origin)))?;
    let rules = Rules::compile(files).map_err(Error::Rules)?;
    Ok((rules, tagger))
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print_out(text: &str) -> Result<()> {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::io("stdout", e)),
        _ => Ok(()),
    }
}

/// `curate tag-explain RECORD.json [--rules DIR] [--json]`.
pub fn tag_explain(args: &TagExplainArgs) -> Result<()> {
    let (rules, tagger) = load(args.rules.as_deref())?;
    let text = std::fs::read_to_string(&args.record).map_err(|e| Error::input(&args.record, e))?;
    let label = args.record.display().to_string();
    // One JSON document, or JSON Lines.
    let docs: Vec<(u64, String)> = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(_) => vec![(1, text.clone())],
        Err(_) => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i as u64 + 1, l.to_string()))
            .collect(),
    };
    let mut out = std::io::stdout().lock();
    for (line, doc) in docs {
        let v: serde_json::Value =
            serde_json::from_str(&doc).map_err(|e| Error::Usage(format!("{label}:{line}: invalid JSON: {e}")))?;
        let mut rec = map_record(&rules.adapters, &v, Origin { file: 0, line }, &label)
            .map_err(|e| Error::Usage(format!("{label}:{line}: {e}")))?;
        rec.raw = doc;
        let x = explain::explain_with(&tagger, &rec);
        let s = if args.json {
            serde_json::to_string(&x).map_err(|e| Error::Run(e.to_string()))? + "\n"
        } else {
            format!("{x}\n")
        };
        match out.write_all(s.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            r => r.map_err(|e| Error::io("stdout", e))?,
        }
    }
    Ok(())
}

/// `curate tag-eval SETS.toml [--corpora DIR] [--rules DIR] [--export FILE]`.
pub fn tag_eval(args: &TagEvalArgs) -> Result<()> {
    let (rules, tagger) = load(args.rules.as_deref())?;
    if let Some(labels) = &args.judged {
        let rows = crate::audit::judged_tags::evaluate(&rules, &tagger, labels, &args.corpora)?;
        print_out(&format!(
            "judged tagging set {} ({} records)\n",
            labels.display(),
            rows.len()
        ))?;
        print_out(&crate::audit::judged_tags::summary(&rows, args.show_errors))?;
    }
    let Some(sets) = &args.sets else {
        return Ok(());
    };
    let mut file = match &args.export {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| Error::io(p, e))?,
        )),
        None => None,
    };
    let results = eval::evaluate(
        sets,
        &args.corpora,
        &tagger,
        &rules.adapters,
        file.as_mut().map(|f| f as &mut dyn Write),
        args.show_errors,
    )?;
    if let (Some(f), Some(p)) = (file.as_mut(), &args.export) {
        f.flush().map_err(|e| Error::io(p, e))?;
    }
    print_out(&eval::Table(&results).to_string())
}

/// `curate train DATA --label FIELD --text FIELDS -o MODEL`.
pub fn train(args: &TrainArgs) -> Result<()> {
    let files = RuleFiles::embedded();
    let rules = Rules::compile(files).map_err(Error::Rules)?;
    let [lo, hi] = [
        args.char_ngrams.first().copied().unwrap_or(0),
        args.char_ngrams.get(1).copied().unwrap_or(0),
    ];
    if lo > hi || args.buckets == 0 || args.buckets > 1 << 24 {
        return Err(Error::Usage(
            "--char-ngrams needs MIN,MAX with MIN <= MAX; --buckets must be in 1..=16777216".into(),
        ));
    }
    let opts = TrainOptions {
        label: args.label.clone(),
        text: args.text.clone(),
        label_missing: args.label_missing.clone(),
        ignore: args.ignore_label.clone(),
        epochs: args.epochs,
        lr: args.lr,
        features: Features {
            buckets: args.buckets,
            word_ngrams: args.word_ngrams.max(1),
            char_ngrams: [lo, hi],
            seed: args.seed,
            opening: args.opening,
            parts: args.parts,
            part_words: args.part_words,
        },
        holdout: args.holdout,
        folds: args.folds,
        balance: args.balance,
        tfidf: args.tfidf,
        seed: args.seed,
    };
    let t = train::train_files(&args.inputs, &args.out, &opts, &rules.adapters)?;
    print_out(&format!("{}wrote {}\n", train::summary(&t), args.out.display()))
}
