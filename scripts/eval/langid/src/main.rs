//! Language identifiers compared on the texts of stdin (JSON lines `{"text": …}`):
//! prints `whatlang<TAB>reliable<TAB>lingua` per line, timings on stderr. Both
//! are restricted to the languages the rule would tell apart.
use std::io::BufRead;
use std::time::Instant;

use lingua::{Language, LanguageDetectorBuilder};
use whatlang::{Detector, Lang};

fn main() {
    let cut: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(400);
    let texts: Vec<String> = std::io::stdin()
        .lock()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l.expect("stdin")).expect("a JSON line");
            let t = v["text"].as_str().unwrap_or("");
            let end = t.char_indices().nth(cut).map(|(i, _)| i).unwrap_or(t.len());
            t[..end].to_string()
        })
        .collect();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    let w = Detector::with_allowlist(vec![Lang::Eng, Lang::Fra, Lang::Deu, Lang::Spa, Lang::Ita, Lang::Por, Lang::Nld]);
    let t0 = Instant::now();
    let wr: Vec<(String, bool)> = texts
        .iter()
        .map(|t| match w.detect(t) {
            Some(i) => (i.lang().code().to_string(), i.is_reliable()),
            None => ("none".into(), false),
        })
        .collect();
    let tw = t0.elapsed().as_secs_f64();
    let l = LanguageDetectorBuilder::from_languages(&[
        Language::English,
        Language::French,
        Language::German,
        Language::Spanish,
        Language::Italian,
        Language::Portuguese,
        Language::Dutch,
    ])
    .build();
    let t1 = Instant::now();
    let lr: Vec<String> = texts
        .iter()
        .map(|t| l.detect_language_of(t).map(|x| x.iso_code_639_3().to_string()).unwrap_or("none".into()))
        .collect();
    let tl = t1.elapsed().as_secs_f64();
    eprintln!(
        "{} texts, {:.1} MB (first {cut} characters): whatlang {:.1} MB/s, lingua {:.1} MB/s (one core)",
        texts.len(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / tw,
        bytes as f64 / 1e6 / tl
    );
    for ((wl, rel), ll) in wr.iter().zip(&lr) {
        println!("{wl}\t{rel}\t{ll}");
    }
}
