//! The floors of the disk path for a JSON Lines file: reading it and
//! splitting its lines, then also parsing every line into a
//! `serde_json::Value` on the rayon pool (`RAYON_NUM_THREADS` threads). A
//! run of `curate` does both and more, so these bound its speed.
//!
//! ```text
//! cargo run --release --example parse_floor -- FILE.jsonl
//! ```
//!
//! Prints `read_split_s=<s> parse_s=<s> lines=<n> bytes=<n>`.

use std::time::Instant;

use rayon::prelude::*;

fn main() {
    let path = std::env::args().nth(1).expect("usage: parse_floor FILE.jsonl");
    let t = Instant::now();
    let bytes = std::fs::read(&path).expect("the file reads");
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    let read_split = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let parsed: usize = lines
        .par_iter()
        .map(|l| usize::from(serde_json::from_slice::<serde_json::Value>(l).is_ok()))
        .sum();
    let parse = read_split + t.elapsed().as_secs_f64();
    assert!(parsed <= lines.len());
    println!(
        "read_split_s={read_split:.3} parse_s={parse:.3} lines={} bytes={}",
        lines.len(),
        bytes.len()
    );
}
