//! Every pair of a run's kept records whose sentence embeddings are at least
//! a cosine apart, by exhaustive search: the candidates a semantic dedup rule
//! would judge, for drawing a labelled set and measuring its precision.
//!
//! ```text
//! cargo run --release --example semantic_pairs -- RUN_DIR MODEL_DIR OUT.tsv [MIN_COSINE [MAX_TOKENS]]
//! ```
//!
//! Each kept record is embedded by its messages (no system prompt), one per
//! line, as `curate select` embeds it ([`curate::embed`], 512 tokens at
//! most). Written: `key_a`, `key_b` (`a` first in input order), `cosine`,
//! tab-separated, for every pair at or above `MIN_COSINE` (default 0.85).
//! The vectors are cached next to `OUT.tsv` (`OUT.tsv.vectors`, 2 KB per
//! record) so a second call with another bound does not embed again.

use std::io::Write;
use std::path::Path;

use curate::embed::{Encoder, EMB_DIM};
use curate::output::read_back::{messages_at, str_at, str_col, Batches};
use ndarray::{Array2, Axis, Slice};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: semantic_pairs RUN_DIR MODEL_DIR OUT.tsv [MIN_COSINE]");
        std::process::exit(2);
    }
    let (run, model, out) = (Path::new(&args[0]), Path::new(&args[1]), Path::new(&args[2]));
    let min: f32 = args.get(3).map_or(0.85, |a| a.parse().expect("MIN_COSINE is a number"));
    let cap: usize = args.get(4).map_or(curate::embed::DEFAULT_MAX_TOKENS, |a| {
        a.parse().expect("MAX_TOKENS is a number")
    });
    let mut keys = Vec::new();
    let mut texts = Vec::new();
    for b in Batches::of(&run.join("kept")).columns(&["key", "messages"]) {
        let b = b.expect("kept shards read");
        for i in 0..b.num_rows() {
            keys.push(str_at(str_col(&b, "key"), i).to_string());
            let parts: Vec<String> = messages_at(&b, i)
                .into_iter()
                .filter(|m| m.0 != "system")
                .map(|m| m.1)
                .collect();
            texts.push(parts.join("\n"));
        }
    }
    let n = keys.len();
    let cache = out.with_extension("tsv.vectors");
    let mut m = Array2::<f32>::zeros((n, EMB_DIM));
    match std::fs::read(&cache) {
        Ok(bytes) if bytes.len() == n * EMB_DIM * 4 => {
            for (x, c) in m.iter_mut().zip(bytes.chunks_exact(4)) {
                *x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        _ => {
            let enc = Encoder::load(model)
                .unwrap_or_else(|e| panic!("{e}"))
                .with_max_tokens(cap);
            let started = std::time::Instant::now();
            for (k, chunk) in texts.chunks(256).enumerate() {
                let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                for (j, v) in enc.encode_batch(&refs).into_iter().enumerate() {
                    m.row_mut(k * 256 + j).assign(&ndarray::ArrayView1::from(&v[..]));
                }
                eprint!("\rembedded {} of {n}", (k * 256 + chunk.len()).min(n));
            }
            eprintln!(" in {:.0} s", started.elapsed().as_secs_f64());
            let mut bytes = Vec::with_capacity(n * EMB_DIM * 4);
            for x in m.iter() {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
            std::fs::write(&cache, bytes).expect("vector cache written");
        }
    }
    let mut w = std::io::BufWriter::new(std::fs::File::create(out).expect("OUT.tsv created"));
    writeln!(w, "key_a\tkey_b\tcosine").expect("write");
    let block = 1024;
    let mut pairs = 0u64;
    for start in (0..n).step_by(block) {
        let end = (start + block).min(n);
        // Rows start..end against rows start..n: each pair once.
        let rows = m.slice_axis(Axis(0), Slice::from(start..end));
        let rest = m.slice_axis(Axis(0), Slice::from(start..));
        let sims = rows.dot(&rest.t());
        for i in 0..end - start {
            for j in i + 1..n - start {
                let c = sims[[i, j]];
                if c >= min {
                    writeln!(w, "{}\t{}\t{c:.4}", keys[start + i], keys[start + j]).expect("write");
                    pairs += 1;
                }
            }
        }
    }
    eprintln!("{pairs} pairs at cosine >= {min} among {n} records");
}
