//! Writes N synthetic Alpaca records to stdout, for scale runs of dedup.
//!
//! ```text
//! cargo run --release --example gen_records -- 10000000 > big.jsonl
//! ```
//!
//! Words come from a synthetic vocabulary of 20,000 pronounceable words with a
//! Zipf-like draw; each record is a fresh instruction (8-16 words) and answer
//! (20-40 words). 10% of records repeat an earlier record exactly, 10% repeat
//! one with one answer word replaced (a near-duplicate). Deterministic.

use std::io::{BufWriter, Write};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() -> std::io::Result<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let syl = [
        "ka", "lo", "mi", "ra", "te", "su", "no", "vi", "de", "po", "an", "el", "or", "un", "is",
    ];
    let vocab: Vec<String> = (0..20_000)
        .map(|_| {
            let k = 2 + rng.below(3);
            (0..k).map(|_| syl[rng.below(syl.len() as u64) as usize]).collect()
        })
        .collect();
    let word = |rng: &mut Rng| {
        // Zipf-like: square a uniform draw.
        let u = rng.below(1 << 20) as f64 / (1u64 << 20) as f64;
        vocab[((u * u) * vocab.len() as f64) as usize].clone()
    };
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    // A ring of recent records to copy from.
    let mut recent: Vec<(String, String)> = Vec::with_capacity(100_000);
    for i in 0..n {
        let kind = rng.below(10);
        let (ins, ans) = if kind == 0 && !recent.is_empty() {
            recent[rng.below(recent.len() as u64) as usize].clone()
        } else if kind == 1 && !recent.is_empty() {
            let (ins, ans) = recent[rng.below(recent.len() as u64) as usize].clone();
            let mut w: Vec<String> = ans.split(' ').map(str::to_string).collect();
            let at = rng.below(w.len() as u64) as usize;
            w[at] = word(&mut rng);
            (ins, w.join(" "))
        } else {
            let a = 8 + rng.below(9);
            let b = 20 + rng.below(21);
            let ins: Vec<String> = (0..a).map(|_| word(&mut rng)).collect();
            let ans: Vec<String> = (0..b).map(|_| word(&mut rng)).collect();
            let r = (ins.join(" "), ans.join(" "));
            if recent.len() < 100_000 {
                recent.push(r.clone());
            } else {
                let k = (i % 100_000) as usize;
                recent[k] = r.clone();
            }
            r
        };
        writeln!(out, "{{\"instruction\":\"{ins}\",\"input\":\"\",\"output\":\"{ans}\"}}")?;
    }
    out.flush()
}
