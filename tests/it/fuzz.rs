//! Mutation fuzzing of what reads untrusted bytes: the input readers (JSON
//! Lines, JSON arrays, gzip, zstd, Parquet), the record path (JSON → record →
//! every per-record stage of the built-in rules) and the rules parser. The
//! seeds are the fixtures cut from real data and the shipped rule files;
//! each case is a seeded mutation of one seed (bytes flipped, inserted,
//! deleted, repeated or cut; two seeds spliced; a string value of a record
//! replaced by hostile text). Nothing may panic: a reader quarantines, a
//! record maps or is malformed, rules compile or name their errors.
//!
//! `cargo test` runs a few hundred cases per target. For a longer run,
//! `scripts/ci/fuzz.sh SECONDS` sets `CURATE_FUZZ_SECONDS` (per target) and
//! `CURATE_FUZZ_SEED`; a crash prints the target, the seed and the case, and
//! writes the input to `fuzz-crashes/` for a regression test.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use curate::read::{expand_inputs, read_file, ReadOptions};
use curate::record::{map_record, Origin};
use curate::rules::RuleFiles;
use curate::ruleset::Rules;

use crate::harness::{files_under, root};

/// A seeded SplitMix64 sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        curate::seeded::splitmix(&mut self.0)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Text that breaks naive code: controls, NUL, surrogate escapes, BOM,
/// right-to-left marks, combining marks, CJK, emoji, full-width punctuation,
/// markup, numbers that look like personal data.
const HOSTILE: &[&str] = &[
    "\u{0}",
    "\u{feff}",
    "\u{202e}",
    "\u{200b}",
    "e\u{301}\u{301}\u{301}",
    "测试，。；：（）",
    "👩‍👩‍👧‍👦",
    "\\ud800",
    "\\\"",
    "\n\n\n",
    "\r\n",
    "```",
    "<script>",
    "&lt;无输入&gt;",
    "4111 1111 1111 1111",
    "+86 138 0013 8000",
    "user@example.com",
    "AKIAIOSFODNN7EXAMPLE",
    "{{name}}",
    "\t",
    " ",
    "",
    "As an AI, I cannot",
    "定义 阶乘（数量）：",
];

fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let n = b.len();
        match rng.below(7) {
            0 if n > 0 => {
                let i = rng.below(n);
                b[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(n + 1);
                let h = HOSTILE[rng.below(HOSTILE.len())].as_bytes();
                b.splice(i..i, h.iter().copied());
            }
            2 if n > 0 => {
                let i = rng.below(n);
                let j = (i + 1 + rng.below(64)).min(n);
                b.drain(i..j);
            }
            3 if n > 0 => {
                let i = rng.below(n);
                let j = (i + 1 + rng.below(64)).min(n);
                let piece: Vec<u8> = b[i..j].to_vec();
                for _ in 0..1 + rng.below(50) {
                    b.splice(i..i, piece.iter().copied());
                }
            }
            4 if n > 0 => b.truncate(rng.below(n)),
            5 if !other.is_empty() => {
                let i = rng.below(n + 1);
                let j = rng.below(other.len());
                b.truncate(i);
                b.extend_from_slice(&other[j..]);
            }
            _ => {
                let i = rng.below(n + 1);
                b.insert(i, rng.next() as u8);
            }
        }
    }
    b
}

/// Replaces one string value of a JSON record with hostile text, so that the
/// record still parses and reaches the stages.
fn mutate_value(rng: &mut Rng, v: &mut serde_json::Value) {
    fn strings<'a>(v: &'a mut serde_json::Value, out: &mut Vec<&'a mut String>) {
        match v {
            serde_json::Value::String(s) => out.push(s),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| strings(x, out)),
            serde_json::Value::Object(o) => o.values_mut().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    strings(v, &mut all);
    let n = all.len();
    if n == 0 {
        return;
    }
    let s = &mut all[rng.below(n)];
    let mut t = String::new();
    for _ in 0..1 + rng.below(6) {
        t.push_str(HOSTILE[rng.below(HOSTILE.len())]);
        if rng.below(2) == 0 {
            t.push_str(&s.chars().take(rng.below(200)).collect::<String>());
        }
    }
    if rng.below(8) == 0 {
        t = t.repeat(1 + rng.below(2000));
    }
    **s = t;
}

fn budget() -> (Duration, u64) {
    let secs = std::env::var("CURATE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    let seed = std::env::var("CURATE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261205);
    (Duration::from_secs_f64(secs), seed)
}

/// Runs `case` on `min_cases` mutations at least, and for the time budget;
/// a panic fails with the case and writes its input to `fuzz-crashes/`.
fn fuzz(target: &str, seeds: &[Vec<u8>], min_cases: u64, mut case: impl FnMut(&mut Rng, &[u8], &[u8])) -> u64 {
    assert!(!seeds.is_empty(), "{target}: no seeds");
    let (time, seed) = budget();
    let mut rng = Rng(seed
        ^ target
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))));
    let start = Instant::now();
    let mut n = 0u64;
    while n < min_cases || start.elapsed() < time {
        let s = &seeds[rng.below(seeds.len())];
        let o = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, s, o);
        let mut inner = Rng(rng.next());
        let outcome = catch_unwind(AssertUnwindSafe(|| case(&mut inner, &input, s)));
        if outcome.is_err() {
            let dir = root().join("fuzz-crashes");
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("{target}-{seed}-{n}.bin"));
            let _ = std::fs::write(&path, &input);
            panic!("{target}: case {n} (seed {seed}) panicked; input in {}", path.display());
        }
        n += 1;
    }
    eprintln!(
        "fuzz {target}: {n} cases in {:.1} s, no panic",
        start.elapsed().as_secs_f64()
    );
    n
}

/// Every record of the fixtures, one JSON line each.
fn record_seeds() -> Vec<Vec<u8>> {
    let files: Vec<PathBuf> = ["sample", "quality", "formats", "sensitive", "broken"]
        .iter()
        .flat_map(|d| files_under(&root().join("fixtures").join(d)))
        .collect();
    let mut seeds = Vec::new();
    for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "jsonl")) {
        let text = std::fs::read(f).expect("fixture");
        seeds.extend(
            text.split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .take(40)
                .map(<[u8]>::to_vec),
        );
    }
    seeds
}

#[test]
fn fuzz_the_record_path() {
    let rules = Rules::load(None).expect("built-in rules");
    let seeds = record_seeds();
    let n = fuzz("record", &seeds, 2000, |rng, bytes, seed| {
        for (i, value) in [
            serde_json::from_slice::<serde_json::Value>(bytes).ok(),
            serde_json::from_slice::<serde_json::Value>(seed).ok().map(|mut v| {
                mutate_value(rng, &mut v);
                v
            }),
        ]
        .into_iter()
        .flatten()
        .enumerate()
        {
            let origin = Origin {
                file: 0,
                line: i as u64 + 1,
            };
            if let Ok(mut rec) = map_record(&rules.adapters, &value, origin, "fuzz.jsonl") {
                rec.raw = value.to_string();
                for stage in &rules.record_stages {
                    let _ = stage.process(&mut rec);
                }
            }
        }
    });
    assert!(n >= 2000);
}

#[test]
fn fuzz_the_readers() {
    // A decoder's panic on a corrupt file is caught and reported as a
    // malformed item (`read_file`); as in the binary, it is not printed.
    curate::read::quiet_decoder_panics();
    // The fixtures, and inputs that once broke a reader.
    let files: Vec<PathBuf> = ["fixtures/formats", "fixtures/broken", "fixtures/sample", "tests/data"]
        .iter()
        .flat_map(|d| files_under(&root().join(d)))
        .collect();
    // Seeds carry their file name, so each is read by its own reader.
    let seeds: Vec<(String, Vec<u8>)> = files
        .iter()
        .filter(|f| std::fs::metadata(f).is_ok_and(|m| m.len() < 2 << 20))
        .map(|f| {
            let name = f.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(f).expect("fixture"))
        })
        .collect();
    // Each case is a file the readers open: in memory where the system has a
    // memory file system, so a long run measures the readers, not the disk.
    let shm = std::path::Path::new("/dev/shm");
    let tmp = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("temp dir");
    let bytes: Vec<Vec<u8>> = seeds.iter().map(|s| s.1.clone()).collect();
    let n = fuzz("reader", &bytes, 1000, |_, input, seed| {
        let name = &seeds.iter().find(|s| s.1 == seed).expect("seed").0;
        let path = tmp.path().join(name);
        std::fs::write(&path, input).expect("write case");
        let files = expand_inputs(&[path.display().to_string()]).expect("one input");
        let mut items = 0usize;
        read_file(
            &files[0],
            ReadOptions {
                max_record_bytes: 1 << 20,
            },
            Arc::new(AtomicU64::new(0)),
            &mut |_| {
                items += 1;
                items < 100_000
            },
        );
    });
    assert!(n >= 1000);
}

#[test]
fn fuzz_the_rules_parser() {
    let embedded = RuleFiles::embedded();
    let names: Vec<String> = embedded
        .paths()
        .filter(|p| p.ends_with(".toml") && !p.contains("toxic") && !p.contains("ldnoobw"))
        .map(String::from)
        .collect();
    let seeds: Vec<Vec<u8>> = names
        .iter()
        .map(|p| embedded.get(p).expect("file").as_bytes().to_vec())
        .collect();
    let n = fuzz("rules", &seeds, 500, |_, input, seed| {
        let i = seeds.iter().position(|s| s == seed).expect("seed");
        let text = String::from_utf8_lossy(input).into_owned();
        // The mutated file alone (its stage compiles without the others).
        let files = RuleFiles::from_pairs("fuzz", [(names[i].as_str(), text.as_str())]);
        let _ = Rules::compile(files);
    });
    assert!(n >= 500);
}
