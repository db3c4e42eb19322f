//! spaCy's English tokenizer (`spacy.blank("en")`), re-implemented from its
//! algorithm (`spacy/tokenizer.pyx`) and its data (`spacy_en.json`).
//!
//! Text is split at whitespace; each non-space span is a special case (an
//! exception such as `don't` -> `do` `n't`, `e.g.`), or loses prefixes and
//! suffixes one at a time until what is left is a special case, a URL, or a
//! core that is split at infixes (hyphens between letters, `/`, `...`).
//! spaCy's second pass over the whole document (special cases made of several
//! affix tokens, such as emoticons split by punctuation) is not reproduced: it
//! only regroups punctuation and does not change which words exist.

use std::collections::HashMap;
use std::sync::OnceLock;

use fancy_regex::Regex;

use super::{is_py_space, Span};

/// The compiled tokenizer.
pub struct SpacyEn {
    prefix: Regex,
    suffix: Regex,
    infix: Regex,
    url: Option<Regex>,
    token_match: Option<Regex>,
    /// Special case -> byte lengths of its tokens.
    specials: HashMap<String, Vec<u32>>,
    /// Special cases that affix splitting cuts into several tokens -> how many;
    /// spaCy regroups such token runs in a second pass.
    multi: HashMap<String, usize>,
    /// The most tokens of an entry of `multi`.
    multi_max: usize,
}

#[derive(serde::Deserialize)]
struct Data {
    prefix: String,
    suffix: String,
    infix: String,
    url: Option<String>,
    token_match: Option<String>,
    specials: HashMap<String, Vec<String>>,
}

static DATA: &str = include_str!("spacy_en.json");
static LOADED: OnceLock<Result<SpacyEn, String>> = OnceLock::new();

impl SpacyEn {
    /// The tokenizer, compiled on first use.
    pub fn load() -> Result<&'static SpacyEn, String> {
        LOADED.get_or_init(Self::compile).as_ref().map_err(Clone::clone)
    }

    /// The tokenizer when it compiled (rules check this when they are built).
    pub fn get() -> Option<&'static SpacyEn> {
        Self::load().ok()
    }

    fn compile() -> Result<SpacyEn, String> {
        let d: Data = serde_json::from_str(DATA).map_err(|e| format!("spacy_en.json: {e}"))?;
        let re = |what: &str, p: &str| Regex::new(p).map_err(|e| format!("spacy_en.json {what}: {e}"));
        let specials = d
            .specials
            .into_iter()
            .map(|(k, v)| (k, v.iter().map(|t| t.len() as u32).collect()))
            .collect();
        let mut t = SpacyEn {
            prefix: re("prefix", &d.prefix)?,
            suffix: re("suffix", &d.suffix)?,
            infix: re("infix", &d.infix)?,
            url: d.url.as_deref().map(|p| re("url", p)).transpose()?,
            token_match: d.token_match.as_deref().map(|p| re("token_match", p)).transpose()?,
            specials,
            multi: HashMap::new(),
            multi_max: 0,
        };
        let mut multi = HashMap::new();
        let mut spans = Vec::new();
        for k in t.specials.keys() {
            spans.clear();
            t.span(k, 0, k.len(), false, &mut spans);
            if spans.len() > 1 {
                multi.insert(k.clone(), spans.len());
            }
        }
        t.multi_max = multi.values().copied().max().unwrap_or(0);
        t.multi = multi;
        Ok(t)
    }

    /// Appends the token spans of `text` (whitespace tokens left out).
    pub fn spans(&self, text: &str, out: &mut Vec<Span>) {
        let first = out.len();
        let mut start = None;
        for (i, c) in text.char_indices() {
            if is_py_space(c) {
                if let Some(s) = start.take() {
                    self.span(text, s, i, true, out);
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            self.span(text, s, text.len(), true, out);
        }
        self.regroup(text, first, out);
    }

    /// spaCy's second pass: runs of adjacent tokens that spell a special case
    /// become that special case's tokens (longest runs first).
    fn regroup(&self, text: &str, first: usize, out: &mut Vec<Span>) {
        let toks = &out[first..];
        let mut found: Vec<(usize, usize)> = Vec::new();
        for i in 0..toks.len() {
            let mut j = i + 1;
            while j < toks.len() && j - i < self.multi_max && toks[j].0 == toks[j - 1].1 {
                j += 1;
                let s = &text[toks[i].0 as usize..toks[j - 1].1 as usize];
                if self.multi.get(s) == Some(&(j - i)) {
                    found.push((i, j));
                }
            }
        }
        if found.is_empty() {
            return;
        }
        found.sort_by_key(|&(a, b)| (std::cmp::Reverse(b - a), std::cmp::Reverse(a)));
        let mut seen = vec![false; toks.len()];
        let mut keep: Vec<(usize, usize)> = Vec::new();
        for (a, b) in found {
            if !seen[a] && !seen[b - 1] {
                keep.push((a, b));
            }
            for s in &mut seen[a..b] {
                *s = true;
            }
        }
        keep.sort_unstable();
        let old: Vec<Span> = out.drain(first..).collect();
        let mut i = 0;
        for (a, b) in keep {
            out.extend_from_slice(&old[i..a]);
            let (lo, hi) = (old[a].0 as usize, old[b - 1].1 as usize);
            self.special(&text[lo..hi], lo, out);
            i = b;
        }
        out.extend_from_slice(&old[i..]);
    }

    fn special(&self, s: &str, at: usize, out: &mut Vec<Span>) -> bool {
        let Some(lens) = self.specials.get(s) else {
            return false;
        };
        let mut a = at as u32;
        for &l in lens {
            // Special cases of whitespace ("\n", " ") are not words.
            if l > 0
                && !s[(a as usize - at)..(a as usize - at + l as usize)]
                    .chars()
                    .all(is_py_space)
            {
                out.push((a, a + l));
            }
            a += l;
        }
        true
    }

    fn matches(re: &Option<Regex>, s: &str) -> bool {
        re.as_ref().is_some_and(|r| r.is_match(s).unwrap_or(false))
    }

    fn find_prefix(&self, s: &str) -> usize {
        match self.prefix.find(s) {
            Ok(Some(m)) if m.start() == 0 => m.end(),
            _ => 0,
        }
    }

    fn find_suffix(&self, s: &str) -> usize {
        match self.suffix.find(s) {
            Ok(Some(m)) => m.end() - m.start(),
            _ => 0,
        }
    }

    /// One whitespace-free span `text[a..b]`.
    fn span(&self, text: &str, a: usize, b: usize, sp: bool, out: &mut Vec<Span>) {
        let span = &text[a..b];
        if sp && self.special(span, a, out) {
            return;
        }
        // _split_affixes: peel prefixes and suffixes.
        let (mut lo, mut hi) = (a, b);
        let mut prefixes: Vec<Span> = Vec::new();
        let mut suffixes: Vec<Span> = Vec::new();
        let mut last = usize::MAX;
        while lo < hi && hi - lo != last {
            let s = &text[lo..hi];
            if Self::matches(&self.token_match, s) || (sp && self.specials.contains_key(s)) {
                break;
            }
            last = hi - lo;
            let pre = self.find_prefix(s);
            if pre != 0 {
                let minus_pre = &s[pre..];
                if sp && !minus_pre.is_empty() && self.specials.contains_key(minus_pre) {
                    prefixes.push((lo as u32, (lo + pre) as u32));
                    lo += pre;
                    break;
                }
            }
            let suf = self.find_suffix(&s[pre..]);
            if suf != 0 {
                let minus_suf = &s[..s.len() - suf];
                if sp && !minus_suf.is_empty() && self.specials.contains_key(minus_suf) {
                    suffixes.push(((hi - suf) as u32, hi as u32));
                    hi -= suf;
                    break;
                }
            }
            if pre != 0 && suf != 0 && pre + suf <= s.len() {
                prefixes.push((lo as u32, (lo + pre) as u32));
                suffixes.push(((hi - suf) as u32, hi as u32));
                lo += pre;
                hi -= suf;
            } else if pre != 0 {
                prefixes.push((lo as u32, (lo + pre) as u32));
                lo += pre;
            } else if suf != 0 {
                suffixes.push(((hi - suf) as u32, hi as u32));
                hi -= suf;
            }
        }
        // _attach_tokens.
        out.extend_from_slice(&prefixes);
        if lo < hi {
            let s = &text[lo..hi];
            if sp && self.special(s, lo, out) {
            } else if Self::matches(&self.token_match, s) || Self::matches(&self.url, s) {
                out.push((lo as u32, hi as u32));
            } else {
                let mut start = 0;
                for m in self.infix.find_iter(s).flatten() {
                    if m.start() == 0 {
                        continue;
                    }
                    if m.start() != start {
                        out.push(((lo + start) as u32, (lo + m.start()) as u32));
                    }
                    if m.start() != m.end() {
                        out.push(((lo + m.start()) as u32, (lo + m.end()) as u32));
                    }
                    start = m.end();
                }
                if start < s.len() {
                    out.push(((lo + start) as u32, hi as u32));
                }
            }
        }
        out.extend(suffixes.iter().rev());
    }
}
