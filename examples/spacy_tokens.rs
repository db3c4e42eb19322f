//! Prints the `spacy-en` tokens of each JSON string read from stdin (one per
//! line) as a JSON array per line; `scripts/bench/parity/check_tokens.py` compares
//! them with spaCy's.

use std::io::{BufRead, Write};

use curate::tokenize::Tokenizer;

fn main() -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    let mut spans = Vec::new();
    for line in stdin.lock().lines() {
        let text: String = serde_json::from_str(&line?)?;
        spans.clear();
        Tokenizer::SpacyEn.spans(&text, &mut spans);
        let toks: Vec<&str> = spans.iter().map(|&(a, b)| &text[a as usize..b as usize]).collect();
        writeln!(out, "{}", serde_json::to_string(&toks)?)?;
    }
    Ok(())
}
