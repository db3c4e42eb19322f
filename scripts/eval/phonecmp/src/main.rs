//! Does the `phonenumber` crate (libphonenumber metadata) find telephone
//! numbers in free text? A standalone measurement, not part of curate.
//!
//! Subcommands (all print to stdout):
//!   validate DEV.jsonl          gold spans through parse + is_valid (true and guessed region)
//!   finder   DEV.jsonl          P/R/F1 of the regex + phonenumber finder (guessed, 40 regions)
//!   scan     REAL.jsonl N OUT   both finders over the first N records; every candidate to OUT (TSV)
//!   bench    REAL.jsonl N REPS  speed of the finder of `scan` on one thread
//!   benchdev DEV.jsonl LOOPS    validation speed (guessed region) on the dev candidates
//!   probe    STRING...          outcome with no region, and which of the 40 regions accept each string

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::time::Instant;

use phonenumber::country::Id;
use regex::Regex;
use serde_json::Value;

/// 40 common regions for the "valid in any" variant.
const REGIONS40: &[&str] = &[
    "US", "CA", "GB", "IE", "AU", "NZ", "IN", "DE", "FR", "IT", "ES", "PT", "NL", "BE", "CH", "AT",
    "SE", "NO", "DK", "FI", "PL", "CZ", "RU", "UA", "TR", "BR", "MX", "AR", "CL", "CO", "CN", "HK",
    "TW", "JP", "KR", "SG", "ZA", "NG", "EG", "AE",
];

fn id(region: &str) -> Id {
    region.parse::<Id>().unwrap_or_else(|_| panic!("unknown region {region}"))
}

/// True region of a dev record from its `source`.
fn true_region(source: &str) -> Option<String> {
    if let Some(r) = source.strip_prefix("libphonenumber:") {
        return Some(r.to_string());
    }
    if let Some(loc) = source.strip_prefix("faker:") {
        // de_DE -> DE, zh_CN -> CN, en_GB -> GB ...
        return loc.split('_').nth(1).map(|s| s.to_uppercase());
    }
    None
}

struct Ctx {
    han: Regex,
    run: Regex,
    ext: Regex,
    regions40: Vec<Id>,
}

impl Ctx {
    fn new() -> Ctx {
        Ctx {
            han: Regex::new(r"\p{Han}").unwrap(),
            // A maximal run of phone characters: optional leading `+`/`(`,
            // a digit, then digits, spaces, dots, dashes, slashes, parens.
            run: Regex::new(r"[+(]*[0-9][0-9 .\-()/]*").unwrap(),
            ext: Regex::new(r"^ ?(?:[xX]|[eE]xt\.?) ?[0-9]{1,6}").unwrap(),
            regions40: REGIONS40.iter().map(|r| id(r)).collect(),
        }
    }

    /// Guessed region: none for `+`/`00`, CN when the text has Han, else US.
    fn guess(&self, cand: &str, text_has_han: bool) -> Option<Id> {
        if cand.starts_with('+') || cand.starts_with("00") {
            None
        } else if text_has_han {
            Some(Id::CN)
        } else {
            Some(Id::US)
        }
    }

    /// Candidate spans (byte offsets) in `text`.
    fn candidates(&self, text: &str) -> Vec<(usize, usize)> {
        let b = text.as_bytes();
        let mut out = Vec::new();
        for m in self.run.find_iter(text) {
            let (mut s, mut e) = (m.start(), m.end());
            // Trim until stable: trailing separators, unbalanced parens,
            // an outer pair of parens wrapping the whole run.
            loop {
                let before = (s, e);
                while e > s && matches!(b[e - 1], b' ' | b'.' | b'-' | b'/' | b'(' | b'+') {
                    e -= 1;
                }
                let t = &b[s..e];
                let opens = t.iter().filter(|&&c| c == b'(').count();
                let closes = t.iter().filter(|&&c| c == b')').count();
                if e > s && b[e - 1] == b')' && closes > opens {
                    e -= 1;
                } else if e > s && b[s] == b'(' && opens > closes {
                    s += 1;
                } else if e > s + 1 && b[s] == b'(' && b[e - 1] == b')' && wraps(&b[s..e]) {
                    s += 1;
                    e -= 1;
                }
                while e > s && matches!(b[s], b' ' | b'.' | b'-' | b'/' | b')') {
                    s += 1;
                }
                if (s, e) == before {
                    break;
                }
            }
            if e <= s {
                continue;
            }
            let core_len = e - s; // ASCII only, so bytes == chars
            if !(7..=20).contains(&core_len) {
                continue;
            }
            let first = b[s];
            let last = b[e - 1];
            if !(first.is_ascii_digit() || first == b'+' || first == b'(')
                || !(last.is_ascii_digit() || last == b')')
            {
                continue;
            }
            // Optional extension right after: x123, ext. 12
            if let Some(x) = self.ext.find(&text[e..]) {
                e += x.end();
            }
            // Not glued to a word: no ASCII letter/digit/_ right before or after.
            let glued = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
            if (s > 0 && glued(b[s - 1])) || (e < b.len() && glued(b[e])) {
                continue;
            }
            out.push((s, e));
        }
        out
    }

    fn valid_guessed(&self, cand: &str, has_han: bool) -> bool {
        valid(self.guess(cand, has_han), cand)
    }

    fn valid_any40(&self, cand: &str) -> bool {
        if valid(None, cand) {
            return true;
        }
        self.regions40.iter().any(|&r| valid(Some(r), cand))
    }
}

/// Does the `(` at 0 close at the last byte?
fn wraps(t: &[u8]) -> bool {
    let mut depth = 0i32;
    for (i, &c) in t.iter().enumerate() {
        if c == b'(' {
            depth += 1;
        } else if c == b')' {
            depth -= 1;
            if depth == 0 {
                return i == t.len() - 1;
            }
        }
    }
    false
}

fn valid(region: Option<Id>, s: &str) -> bool {
    match phonenumber::parse(region, s) {
        Ok(n) => phonenumber::is_valid(&n),
        Err(_) => false,
    }
}

fn parse_outcome(region: Option<Id>, s: &str) -> &'static str {
    match phonenumber::parse(region, s) {
        Ok(n) => {
            if phonenumber::is_valid(&n) {
                "valid"
            } else {
                "parsed-invalid"
            }
        }
        Err(_) => "parse-error",
    }
}

/// byte offset -> code point offset table
fn char_offsets(text: &str) -> Vec<usize> {
    let mut v = vec![0usize; text.len() + 1];
    let mut ci = 0;
    for (bi, ch) in text.char_indices() {
        for k in 0..ch.len_utf8() {
            v[bi + k] = ci;
        }
        ci += 1;
    }
    v[text.len()] = ci;
    v
}

fn substr_chars(text: &str, s: usize, e: usize) -> String {
    text.chars().skip(s).take(e - s).collect()
}

struct Dev {
    id: String,
    text: String,
    spans: Vec<(usize, usize)>,
    source: String,
}

fn read_dev(path: &str) -> Vec<Dev> {
    let f = std::fs::File::open(path).expect("open dev");
    BufReader::new(f)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(&l.unwrap()).unwrap();
            Dev {
                id: v["id"].as_str().unwrap().to_string(),
                text: v["text"].as_str().unwrap().to_string(),
                spans: v["spans"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| (s[0].as_u64().unwrap() as usize, s[1].as_u64().unwrap() as usize))
                    .collect(),
                source: v["source"].as_str().unwrap().to_string(),
            }
        })
        .collect()
}

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "n/a".into()
    } else {
        format!("{a}/{b} = {:.3}", a as f64 / b as f64)
    }
}

fn cmd_validate(path: &str) {
    let ctx = Ctx::new();
    let dev = read_dev(path);
    let mut n = 0;
    let (mut ok_true, mut parsed_true, mut ok_guess, mut parsed_guess) = (0, 0, 0, 0);
    let mut by_kind: BTreeMap<&str, [usize; 3]> = BTreeMap::new(); // [n, ok_true, ok_guess]
    let mut rejected_true = Vec::new();
    let mut rejected_guess: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &dev {
        let has_han = ctx.han.is_match(&r.text);
        let region = true_region(&r.source);
        for &(s, e) in &r.spans {
            n += 1;
            let span = substr_chars(&r.text, s, e);
            let kind = if r.source.starts_with("faker") { "faker" } else { "libphonenumber" };
            let k = by_kind.entry(kind).or_default();
            k[0] += 1;
            let tr = region.as_deref().map(id);
            let o1 = parse_outcome(tr, &span);
            if o1 != "parse-error" {
                parsed_true += 1;
            }
            if o1 == "valid" {
                ok_true += 1;
                k[1] += 1;
            } else {
                rejected_true.push(format!(
                    "{} {} `{}` ({o1})",
                    r.id,
                    region.clone().unwrap_or_default(),
                    span
                ));
            }
            let g = ctx.guess(&span, has_han);
            let o2 = parse_outcome(g, &span);
            if o2 != "parse-error" {
                parsed_guess += 1;
            }
            if o2 == "valid" {
                ok_guess += 1;
                k[2] += 1;
            } else {
                let gname = g.map(|x| x.as_ref().to_string()).unwrap_or("none".into());
                rejected_guess.entry(region.clone().unwrap_or_default()).or_default().push(format!(
                    "{} [{}] `{}` guessed={gname} ({o2})",
                    r.id, r.source, span
                ));
            }
        }
    }
    println!("gold spans: {n}");
    println!("(a) true region:    parsed {}   valid {}", pct(parsed_true, n), pct(ok_true, n));
    println!("(b) guessed region: parsed {}   valid {}", pct(parsed_guess, n), pct(ok_guess, n));
    for (k, v) in &by_kind {
        println!("  {k}: (a) valid {}  (b) valid {}", pct(v[1], v[0]), pct(v[2], v[0]));
    }
    println!("\nrejected with true region ({}):", rejected_true.len());
    for x in &rejected_true {
        println!("  {x}");
    }
    let nrej: usize = rejected_guess.values().map(|v| v.len()).sum();
    println!("\nrejected with guessed region ({nrej}), by true region:");
    for (reg, v) in &rejected_guess {
        println!("  {reg}:");
        for x in v {
            println!("    {x}");
        }
    }
}

#[derive(Default)]
struct Score {
    preds: usize,
    preds_ok_exact: usize,
    preds_ok_overlap: usize,
    gold: usize,
    gold_exact: usize,
    gold_overlap: usize,
    neg_records: usize,
    neg_records_flagged: usize,
}

impl Score {
    fn add(&mut self, gold: &[(usize, usize)], preds: &[(usize, usize)]) {
        let ov = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
        self.preds += preds.len();
        self.gold += gold.len();
        for &p in preds {
            if gold.iter().any(|&g| g == p) {
                self.preds_ok_exact += 1;
            }
            if gold.iter().any(|&g| ov(g, p)) {
                self.preds_ok_overlap += 1;
            }
        }
        for &g in gold {
            if preds.iter().any(|&p| p == g) {
                self.gold_exact += 1;
            }
            if preds.iter().any(|&p| ov(g, p)) {
                self.gold_overlap += 1;
            }
        }
        if gold.is_empty() {
            self.neg_records += 1;
            if !preds.is_empty() {
                self.neg_records_flagged += 1;
            }
        }
    }
    fn print(&self, name: &str) {
        let f = |tp_p: usize, tp_g: usize| {
            let p = if self.preds == 0 { 0.0 } else { tp_p as f64 / self.preds as f64 };
            let r = tp_g as f64 / self.gold as f64;
            let f1 = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
            format!(
                "P {tp_p}/{} = {p:.3}  R {tp_g}/{} = {r:.3}  F1 {f1:.3}",
                self.preds, self.gold
            )
        };
        println!("{name}");
        println!("  exact   : {}", f(self.preds_ok_exact, self.gold_exact));
        println!("  overlap : {}", f(self.preds_ok_overlap, self.gold_overlap));
        println!(
            "  negative records with a finding: {}",
            pct(self.neg_records_flagged, self.neg_records)
        );
    }
}

fn cmd_finder(path: &str) {
    let ctx = Ctx::new();
    let dev = read_dev(path);
    let mut s_cand = Score::default();
    let mut s_guess = Score::default();
    let mut s_any = Score::default();
    let mut log = Vec::new();
    for r in &dev {
        let has_han = ctx.han.is_match(&r.text);
        let co = char_offsets(&r.text);
        let cands = ctx.candidates(&r.text);
        let mut all = Vec::new();
        let mut g = Vec::new();
        let mut a = Vec::new();
        for &(s, e) in &cands {
            let c = &r.text[s..e];
            let span = (co[s], co[e]);
            all.push(span);
            let vg = ctx.valid_guessed(c, has_han);
            let va = ctx.valid_any40(c);
            if vg {
                g.push(span);
            }
            if va {
                a.push(span);
            }
            let gold_hit = r.spans.iter().any(|&x| x == span);
            log.push(format!(
                "{}\t{}\t`{}`\tgold_exact={}\tguessed={}\tany40={}",
                r.id, r.source, c, gold_hit, vg, va
            ));
        }
        for &(s, e) in &r.spans {
            if !all.iter().any(|&p| p == (s, e)) {
                log.push(format!(
                    "{}\t{}\tGOLD-NOT-A-CANDIDATE `{}`",
                    r.id,
                    r.source,
                    substr_chars(&r.text, s, e)
                ));
            }
        }
        s_cand.add(&r.spans, &all);
        s_guess.add(&r.spans, &g);
        s_any.add(&r.spans, &a);
    }
    s_cand.print("candidates alone (regex, no validation)");
    s_guess.print("finder, guessed region");
    s_any.print("finder, valid in any of 40 regions");
    println!("\n# per candidate");
    for l in log {
        println!("{l}");
    }
}

fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

fn read_real(path: &str, n: usize) -> Vec<(usize, String, String)> {
    // (line number, field path-less string) -- we keep only the string values
    let f = std::fs::File::open(path).expect("open real");
    let mut out = Vec::new();
    for (i, l) in BufReader::new(f).lines().take(n).enumerate() {
        let v: Value = serde_json::from_str(&l.unwrap()).unwrap();
        let mut ss = Vec::new();
        strings(&v, &mut ss);
        for s in ss {
            out.push((i + 1, String::new(), s.to_string()));
        }
    }
    out
}

fn context(text: &str, s: usize, e: usize, w: usize) -> String {
    let before: String = {
        let v: Vec<char> = text[..s].chars().collect();
        v[v.len().saturating_sub(w)..].iter().collect()
    };
    let after: String = text[e..].chars().take(w).collect();
    format!("{}[[{}]]{}", before, &text[s..e], after)
        .replace('\n', "⏎")
        .replace('\t', " ")
}

fn cmd_scan(path: &str, n: usize, out: &str) {
    // OUT gets every candidate, with both verdicts; stdout the counts.
    let ctx = Ctx::new();
    let recs = read_real(path, n);
    let mut f = std::fs::File::create(out).unwrap();
    let (mut ncand, mut nfind, mut nany) = (0, 0, 0);
    let mut bytes = 0;
    writeln!(f, "line\tcandidate\tguessed_region\tvalid_guessed\tvalid_any40\tcontext").unwrap();
    for (line, _, text) in &recs {
        bytes += text.len();
        let has_han = ctx.han.is_match(text);
        for (s, e) in ctx.candidates(text) {
            ncand += 1;
            let c = &text[s..e];
            let va = ctx.valid_any40(c);
            let vg = ctx.valid_guessed(c, has_han);
            nany += va as usize;
            nfind += vg as usize;
            let g = ctx.guess(c, has_han).map(|x| x.as_ref().to_string()).unwrap_or("none".into());
            writeln!(f, "{line}\t{c}\t{g}\t{vg}\t{va}\t{}", context(text, s, e, 60)).unwrap();
        }
    }
    println!(
        "records {n}, strings {}, bytes {bytes}, candidates {ncand}, findings (guessed region) {nfind}, valid in any of 40 {nany}",
        recs.len()
    );
}

fn cmd_bench(path: &str, n: usize, reps: usize) {
    let ctx = Ctx::new();
    // Cold start: the first call loads the metadata database.
    let t0 = Instant::now();
    let first = valid(Some(Id::US), "(201) 555-0123");
    println!("first parse+is_valid (loads metadata): {:.1} ms ({first})", t0.elapsed().as_secs_f64() * 1e3);
    let recs = read_real(path, n);
    let bytes: usize = recs.iter().map(|r| r.2.len()).sum();
    // Candidates once, for the validation-only timing.
    let mut cands: Vec<(String, bool)> = Vec::new();
    for (_, _, t) in &recs {
        let h = ctx.han.is_match(t);
        for (s, e) in ctx.candidates(t) {
            cands.push((t[s..e].to_string(), h));
        }
    }
    println!("records {n}, strings {}, text bytes {bytes}, candidates {}", recs.len(), cands.len());
    let mb = bytes as f64 / 1e6;
    for rep in 0..reps {
        // 1. whole finder: Han check + regex candidates + guessed-region validation
        let t0 = Instant::now();
        let mut found = 0usize;
        for (_, _, t) in &recs {
            let h = ctx.han.is_match(t);
            for (s, e) in ctx.candidates(t) {
                if ctx.valid_guessed(&t[s..e], h) {
                    found += 1;
                }
            }
        }
        let t_all = t0.elapsed().as_secs_f64();
        // 2. candidates only (no phonenumber)
        let t0 = Instant::now();
        let mut nc = 0usize;
        for (_, _, t) in &recs {
            let _h = ctx.han.is_match(t);
            nc += ctx.candidates(t).len();
        }
        let t_cand = t0.elapsed().as_secs_f64();
        // 3. validation only, guessed region, the candidate list 200 times over
        let loops = 200;
        let t0 = Instant::now();
        let mut v = 0usize;
        for _ in 0..loops {
            for (c, h) in &cands {
                if ctx.valid_guessed(c, *h) {
                    v += 1;
                }
            }
        }
        let t_val = t0.elapsed().as_secs_f64();
        // 4. validation only, any of 40 regions, candidate-major (stop at the first region that accepts)
        let t0 = Instant::now();
        let mut v40 = 0usize;
        for (c, _) in &cands {
            if ctx.valid_any40(c) {
                v40 += 1;
            }
        }
        let t_val40 = t0.elapsed().as_secs_f64();
        // 5. the same verdicts, region-major (all candidates for one region, then the next)
        let t0 = Instant::now();
        let mut ok = vec![false; cands.len()];
        for (i, (c, _)) in cands.iter().enumerate() {
            ok[i] = valid(None, c);
        }
        for &r in &ctx.regions40 {
            for (i, (c, _)) in cands.iter().enumerate() {
                if !ok[i] && valid(Some(r), c) {
                    ok[i] = true;
                }
            }
        }
        let v40b = ok.iter().filter(|&&x| x).count();
        let t_val40b = t0.elapsed().as_secs_f64();
        println!(
            "rep {rep}: finder {t_all:.3}s = {:.1} MB/s ({found} found) | regex candidates only {t_cand:.3}s = {:.1} MB/s ({nc}) | validate guessed {} in {t_val:.3}s = {:.0} cand/s ({v} valid) | any-of-40 candidate-major {t_val40:.3}s = {:.0} cand/s ({v40} valid) | any-of-40 region-major {t_val40b:.3}s = {:.0} cand/s ({v40b} valid)",
            mb / t_all,
            mb / t_cand,
            loops * cands.len(),
            (loops * cands.len()) as f64 / t_val,
            cands.len() as f64 / t_val40,
            cands.len() as f64 / t_val40b,
        );
    }
}

/// Validation speed on the candidates of the dev set (numbers of ~45
/// countries, many with `+`), guessed region, the list LOOPS times over.
fn cmd_benchdev(path: &str, loops: usize) {
    let ctx = Ctx::new();
    let _ = valid(Some(Id::US), "(201) 555-0123");
    let mut cands = Vec::new();
    for r in read_dev(path) {
        let h = ctx.han.is_match(&r.text);
        for (s, e) in ctx.candidates(&r.text) {
            cands.push((r.text[s..e].to_string(), h));
        }
    }
    for rep in 0..3 {
        let t0 = Instant::now();
        let mut v = 0usize;
        for _ in 0..loops {
            for (c, h) in &cands {
                v += ctx.valid_guessed(c, *h) as usize;
            }
        }
        let t = t0.elapsed().as_secs_f64();
        println!(
            "rep {rep}: {} candidates x {loops} = {} validations in {t:.3}s = {:.0} cand/s ({v} valid)",
            cands.len(),
            cands.len() * loops,
            (cands.len() * loops) as f64 / t
        );
    }
}

/// For each string: outcome with no region, and the list of the 40 regions
/// in which it parses and is valid.
fn cmd_probe(args: &[String]) {
    for s in args {
        let none = parse_outcome(None, s);
        let ok: Vec<&str> =
            REGIONS40.iter().copied().filter(|r| valid(Some(id(r)), s)).collect();
        println!("`{s}`\tnone={none}\tvalid in {}/40: {}", ok.len(), ok.join(" "));
    }
}

fn main() {
    // phonenumber compiles its metadata regexes lazily into one global LRU
    // cache of 100 entries; PHONECMP_CACHE=N enlarges it.
    if let Ok(n) = std::env::var("PHONECMP_CACHE") {
        let n: usize = n.parse().expect("PHONECMP_CACHE");
        phonenumber::metadata::DATABASE.cache().lock().unwrap().set_capacity(n);
        eprintln!("regex cache capacity set to {n}");
    }
    let a: Vec<String> = std::env::args().collect();
    match a.get(1).map(String::as_str) {
        Some("validate") => cmd_validate(&a[2]),
        Some("finder") => cmd_finder(&a[2]),
        Some("scan") => cmd_scan(&a[2], a[3].parse().unwrap(), &a[4]),
        Some("benchdev") => cmd_benchdev(&a[2], a[3].parse().unwrap()),
        Some("probe") => cmd_probe(&a[2..]),
        Some("bench") => cmd_bench(&a[2], a[3].parse().unwrap(), a[4].parse().unwrap()),
        _ => {
            eprintln!("usage: phonecmp validate|finder DEV | scan REAL N OUT | bench REAL N REPS");
            std::process::exit(2);
        }
    }
}
