//! `secret`: API keys, tokens, private keys and credentials in URLs.
//!
//! ## What it measures
//! Provider formats with a fixed prefix, each reported with a finer kind
//! (`secret:<kind>` in the `pii` column):
//!
//! | kind | format |
//! |---|---|
//! | `aws-key` | `AKIA`/`ASIA`/`ABIA`/`ACCA` + 16 upper-case letters or digits |
//! | `aws-secret` | 40 base64 characters within 200 bytes after an AWS key id or an `aws_secret_access_key`-like name |
//! | `github-token` | `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` + 36 or more, `github_pat_` + 82 |
//! | `gitlab-token` | `glpat-` + 20 or more |
//! | `slack-token` | `xoxb-`/`xoxp-`/`xoxa-`/`xoxr-`/`xoxs-` tokens, `hooks.slack.com/services/…` webhooks |
//! | `openai-key` | `sk-` + 48, `sk-…T3BlbkFJ…`, `sk-proj-`/`sk-svcacct-`/`sk-admin-` + 40 or more |
//! | `google-api-key` | `AIza` + 35 |
//! | `private-key` | a `-----BEGIN … PRIVATE KEY-----` block, to its `END` line |
//! | `jwt` | three base64url parts, the first two starting `eyJ` (`{"`) |
//! | `url-credentials` | `scheme://user:password@host`: the `user:password` part |
//! | `generic` | a random value (16 to 128 characters, letters and digits, 3.2 bits of entropy per character or more, 3.0 for hex; no placeholder word, call or dotted name) assigned with `=`, `:`, `:=` or `=>` to a name ending in `key`, `secret`, `token`, `password`, `pwd` (`CALENDARIFIC_API_KEY = "…"`, `"client_secret": "…"`) |
//!
//! Besides these, `rules/sensitive/secrets/formats.toml` holds provider
//! formats as data (230 formats of 153 providers, 155 with the built-in
//! GitHub and OpenAI: Stripe, SendGrid, npm, PyPI, Hugging Face, Anthropic,
//! Datadog, Sentry, Sourcegraph, PostHog, Paddle, Ory, Alibaba's DashScope
//! and Volcengine, Tencent, Zhipu, Feishu, …), each with the provider page or
//! code it comes from. Their match must not sit inside a longer word, and what
//! follows the prefix must look random (letters and digits, entropy, no
//! placeholder word), as for `generic`.
//!
//! A format there is anchored in one of two ways:
//! - `prefixes`: the token starts with a literal the provider documents
//!   (`sk_live_`, `HRKU-`);
//! - `keywords`: the token has no such start (32 hex characters), so it is
//!   found only within 80 bytes after a word naming the provider on the same
//!   line, in lower or upper case or capitalised, not after a letter (`TWILIO_AUTH_TOKEN = "…"`,
//!   `mailgun key: …`); the value must stand alone and look random. Without
//!   the keyword such a value is at most `generic`, when assigned to a
//!   secret's name.
//!
//! One scan (Aho-Corasick over every prefix and keyword) decides which formats' expressions run, so a text with neither costs one
//! pass.
//!
//! ## Why
//! A leaked key grants access to someone's account; a model trained on it can
//! repeat it. Records with secrets are dropped by default. Placeholders are
//! not secrets: tokens made of a few repeated characters (`ghp_xxxx…`) and
//! URL passwords such as `password`, `<password>` or `${DB_PASS}` are
//! skipped, as tutorials are full of them.
//!
//! ## Example
//! `export GITHUB_TOKEN=ghp_8f3KxQ2mZ7...` (36 characters after `ghp_`) finds
//! a `secret:github-token`; `mysql://root:S3cure!pw@10.1.2.3/app` finds
//! `root:S3cure!pw` as `secret:url-credentials`. Not found:
//! `postgresql://user:password@localhost/db`, `sk-learn`,
//! `ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`.
//!
//! ## Parameters
//! The common `action` and `placeholder` (default: drop the record; the
//! placeholder for `redact` is `<SECRET>`).

use std::sync::Arc;

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::filters::lazy::LazyRegex;

use super::scan::{after, before, Detector, Finding, PiiType};

struct Format {
    kind: &'static str,
    re: Arc<LazyRegex>,
    /// Which capture group is the secret (0: the whole match).
    group: usize,
    /// A provider format of the rule files: its match must not sit inside a
    /// longer word, and what follows its prefix must look random.
    bounded: bool,
    /// Its prefixes (provider formats only).
    prefixes: Vec<String>,
    /// A keyword format: `re` matches the value alone, looked for within
    /// [`KEYWORD_WINDOW`] bytes after one of its keywords.
    keyword: bool,
}

/// How far after a provider's keyword its value may start, on the same line
/// (`TWILIO_AUTH_TOKEN = "…"`, `mailgun api key: …`).
pub const KEYWORD_WINDOW: usize = 80;

/// A provider's token format, from `rules/sensitive/secrets/formats.toml`.
#[derive(Debug, Clone)]
pub struct ProviderFormat {
    /// The finer kind (`stripe-secret-key`), shown as `secret:<kind>`.
    pub kind: &'static str,
    /// What anchors a token: a literal start or a keyword before it.
    pub anchor: Anchor,
    /// The whole token: checked where the rule file is read, compiled the
    /// first time a text holds one of its prefixes or keywords (most of the
    /// two hundred never meet one, and compiling them all was a third of a
    /// run's start).
    pub regex: Arc<LazyRegex>,
}

/// What a provider format's token is found by.
#[derive(Debug, Clone)]
pub enum Anchor {
    /// Literal strings every token starts with (`sk_live_`).
    Prefixes(Vec<String>),
    /// Lower-case words naming the provider, one of which stands within
    /// [`KEYWORD_WINDOW`] bytes before the value on its line, in lower case,
    /// upper case or capitalised, and not after a letter
    /// (`TWILIO_AUTH_TOKEN=`, `"mailgun": {"key": …`).
    Keywords(Vec<String>),
}

/// Finds secrets.
pub struct Secret {
    formats: Vec<Format>,
    /// Every prefix and keyword (in three cases) of every format, in order;
    /// `owner[i]` is its format.
    prefixes: AhoCorasick,
    owner: Vec<usize>,
    aws_secret: Regex,
    generic: Regex,
}

const FORMATS: &[(&str, &[&str], &str, usize)] = &[
    (
        "aws-key",
        &["AKIA", "ASIA", "ABIA", "ACCA"],
        r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?-u:\b)",
        0,
    ),
    (
        "github-token",
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{82})(?-u:\b)",
        0,
    ),
    ("gitlab-token", &["glpat-"], r"(?-u:\b)glpat-[A-Za-z0-9_\-]{20,}", 0),
    (
        "slack-token",
        &["xox", "hooks.slack.com"],
        r"(?-u:\b)xox[abprs]-[0-9A-Za-z\-]{10,}|https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+",
        0,
    ),
    (
        "openai-key",
        &["sk-"],
        r"(?-u:\b)sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48})(?-u:\b)",
        0,
    ),
    ("google-api-key", &["AIza"], r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}", 0),
    (
        "private-key",
        &["-----BEGIN"],
        r"-----BEGIN[A-Z ]{0,20} PRIVATE KEY(?: BLOCK)?-----",
        0,
    ),
    (
        "jwt",
        &["eyJ"],
        r"(?-u:\b)eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        0,
    ),
    (
        "url-credentials",
        &["://"],
        r"(?-u:\b)[A-Za-z][A-Za-z0-9+.\-]{1,15}://([^\s:/@'\x22<>]{1,64}:[^\s/@'\x22<>]{1,128})@[A-Za-z0-9.\-\[\]]+",
        1,
    ),
];

/// URL passwords that are placeholders, compared lower-cased.
const PLACEHOLDER_PASSWORDS: &[&str] = &[
    "password",
    "pass",
    "passwd",
    "pwd",
    "secret",
    "mypassword",
    "yourpassword",
    "your_password",
    "your-password",
    "changeme",
    "pw",
    "p",
    "xxx",
    "xxxx",
    "xxxxxx",
    "xxxxxxxx",
    "***",
    "****",
    "******",
    "********",
    "...",
    "token",
    "apikey",
    "api_key",
    "mysecretpassword",
    "example",
    "test",
    "foo",
    "bar",
    "dbpass",
    "db_password",
    "pass123",
    "password123",
    "123456",
    "admin",
    "root",
    "user",
    "guest",
    "redacted",
];

impl Secret {
    /// The detector with the built-in formats only.
    pub fn new() -> Result<Self, regex::Error> {
        Self::with_providers(&[])
    }

    /// The detector with the built-in formats and `providers`.
    pub fn with_providers(providers: &[ProviderFormat]) -> Result<Self, regex::Error> {
        let mut formats = Vec::new();
        let mut all: Vec<String> = Vec::new();
        let mut owner = Vec::new();
        for (i, (kind, prefixes, re, group)) in FORMATS.iter().enumerate() {
            formats.push(Format {
                kind,
                re: Arc::new(LazyRegex::new(re).map_err(regex::Error::Syntax)?),
                group: *group,
                bounded: false,
                prefixes: Vec::new(),
                keyword: false,
            });
            for p in *prefixes {
                all.push(p.to_string());
                owner.push(i);
            }
        }
        for p in providers {
            let i = formats.len();
            let (words, keyword) = match &p.anchor {
                Anchor::Prefixes(w) => (w, false),
                Anchor::Keywords(w) => (w, true),
            };
            formats.push(Format {
                kind: p.kind,
                re: p.regex.clone(),
                group: 0,
                bounded: true,
                prefixes: if keyword { Vec::new() } else { words.clone() },
                keyword,
            });
            for w in words {
                if keyword {
                    // A keyword as written in prose, in a constant's name and
                    // capitalised (`twilio`, `TWILIO_`, `Twilio`): a scan in
                    // one case is twice as fast as one ignoring case.
                    let mut cap = w.clone();
                    if let Some(c) = cap.get_mut(..1) {
                        c.make_ascii_uppercase();
                    }
                    let mut forms = vec![w.clone(), w.to_ascii_uppercase(), cap];
                    forms.dedup();
                    for v in forms {
                        all.push(v);
                        owner.push(i);
                    }
                } else {
                    all.push(w.clone());
                    owner.push(i);
                }
            }
        }
        // A DFA: the fastest kind for an overlapping scan, and small for a few
        // hundred short patterns (the default picks a slower one past 100).
        let prefixes = aho_corasick::AhoCorasickBuilder::new()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&all)
            .map_err(|e| regex::Error::Syntax(e.to_string()))?;
        Ok(Secret {
            formats,
            prefixes,
            owner,
            aws_secret: Regex::new(r"[A-Za-z0-9/+]{40}")?,
            generic: Regex::new(
                r#"(?i)[a-z0-9_.\-]*(?:api[_\-]?key|apikey|secret|token|passw(?:or)?d|pwd|access[_\-]?key|auth[_\-]?key|[_\-]key)["']?[ 	]*(?::=|=>|:|=)[ 	]*["']?([A-Za-z0-9_\-+/=.~]{16,128})"#,
            )?,
        })
    }
}

/// Where a private key block that starts before `from` ends: after its
/// `-----END … PRIVATE KEY-----` line, or after the base64 body when the text
/// was cut.
fn key_block_end(text: &str, from: usize) -> usize {
    let rest = &text[from..];
    if let Some(i) = rest.find("-----END") {
        if let Some(j) = rest[i + 8..].find("-----") {
            return from + i + 8 + j + 5;
        }
    }
    let body = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || b"+/=\r\n \t".contains(b))
        .count();
    from + body
}

/// Whether a secret was already found overlapping `start..end` (the
/// stage's other detectors write to the same list; their overlaps are
/// resolved by rank later).
fn found_before(out: &[Finding], start: usize, end: usize) -> bool {
    out.iter()
        .any(|o| o.ty == PiiType::Secret && o.start < end && start < o.end)
}

/// A token of few distinct characters (`xxxx…`, `0000…`, `abcabc…`) is a placeholder.
fn low_entropy(s: &str) -> bool {
    let mut seen = [false; 128];
    let mut n = 0;
    for b in s.bytes().filter(u8::is_ascii_alphanumeric) {
        if !seen[b as usize] {
            seen[b as usize] = true;
            n += 1;
        }
    }
    n < 10
}

fn placeholder_credentials(userinfo: &str) -> bool {
    let pw = userinfo.split_once(':').map_or("", |(_, p)| p);
    let lower = pw.to_ascii_lowercase();
    PLACEHOLDER_PASSWORDS.contains(&lower.as_str())
        || pw.starts_with(['<', '{', '$', '%', '[', '*'])
        || pw.chars().all(|c| c == '*' || c == 'x' || c == 'X' || c == '.')
        || lower.starts_with("your")
        || lower.starts_with("my_")
}

impl Detector for Secret {
    fn ty(&self) -> PiiType {
        PiiType::Secret
    }

    fn compile_error(&self, compile: bool) -> Option<String> {
        let (f, e) = self.formats.iter().find_map(|f| Some((f, f.re.error(compile)?)))?;
        Some(format!(
            "{}: [{}] regex does not compile: {e}",
            super::config::SECRET_FORMATS_FILE,
            f.kind
        ))
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        // The formats whose prefixes occur (most texts: none), in format order.
        let mut hit: Vec<usize> = Vec::new();
        // Where each keyword format's keywords end, in text order.
        let mut keywords: Vec<(usize, usize)> = Vec::new();
        for m in self.prefixes.find_overlapping_iter(text) {
            let f = self.owner[m.pattern().as_usize()];
            if !self.formats[f].keyword {
                hit.push(f);
            } else if !before(text, m.start(), 1).ends_with(|c: char| c.is_ascii_alphabetic()) {
                keywords.push((f, m.end()));
            }
        }
        hit.sort_unstable();
        hit.dedup();
        let lower_has_aws = hit.first() == Some(&0) || {
            let l = text.to_ascii_lowercase();
            l.contains("secret_access_key") || l.contains("secretaccesskey") || l.contains("aws_secret")
        };
        // A provider named before a value says more than a prefix several
        // providers share (Clerk's and Stripe's `sk_live_`): keyword formats
        // first; a later format does not find what an earlier one found.
        for (f, from) in keywords {
            self.find_after_keyword(&self.formats[f], text, from, out);
        }
        // The rule files' formats are the more specific (Slack's `xoxe.xoxp-`
        // configuration tokens before any `xox` token): they go first.
        let order = hit
            .iter()
            .map(|&i| &self.formats[i])
            .filter(|f| !f.keyword && f.bounded)
            .chain(hit.iter().map(|&i| &self.formats[i]).filter(|f| !f.bounded));
        for f in order {
            let Ok(re) = f.re.get() else { continue };
            for c in re.captures_iter(text) {
                let Some(m) = c.get(f.group) else { continue };
                let (start, end) = if f.kind == "private-key" {
                    (m.start(), key_block_end(text, m.end()))
                } else {
                    (m.start(), m.end())
                };
                let s = &text[start..end];
                let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
                if f.bounded
                    && (s.starts_with(word) && before(text, start, 1).ends_with(word)
                        || s.ends_with(word) && after(text, end, 1).starts_with(word))
                    || found_before(out, start, end)
                {
                    continue;
                }
                let skip = match f.kind {
                    "url-credentials" => placeholder_credentials(s),
                    "private-key" => end - m.end() < 40,
                    // A provider token is random after its prefix, as a
                    // value assigned to a secret's name must be
                    // (`live_streaming_configuration_value` is a name).
                    _ if f.bounded => {
                        let body = f
                            .prefixes
                            .iter()
                            .filter(|p| s.starts_with(p.as_str()))
                            .map(|p| &s[p.len()..])
                            .min_by_key(|b| b.len())
                            .unwrap_or(s);
                        // A dot is part of some formats (`glcbt-…`), not a
                        // dotted name here: the prefix says what it is.
                        !random_value(&body.replace('.', ""))
                    }
                    _ => low_entropy(s),
                };
                if !skip {
                    out.push(Finding {
                        start,
                        end,
                        ty: PiiType::Secret,
                        sub: Some(f.kind),
                    });
                }
            }
        }
        if lower_has_aws {
            self.find_aws_secrets(text, out);
        }
        if self.assigns_to_a_name(text) {
            self.find_assigned(text, out);
        }
    }
}

/// Values that stand for a secret in tutorials and templates, compared
/// lower-cased: `YOUR_API_KEY`, `sk_test_…` (a provider's published test
/// key), `<token>`, `xxxx…`.
const PLACEHOLDER_PARTS: &[&str] = &[
    "your",
    "xxxx",
    "example",
    "dummy",
    "sample",
    "placeholder",
    "insert",
    "replace",
    "changeme",
    "here",
    "fake",
    "test",
    "demo",
    "abcdef",
    "123456",
    "qwerty",
    "secret",
    "token",
    "password",
    "redacted",
    "todo",
];

/// Shannon entropy of `s` in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = [0u64; 256];
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
    }
    crate::text::entropy(counts.iter().copied())
}

/// Whether a value assigned to a secret's name looks like a real secret:
/// letters and digits mixed (one digit is enough in a mixed-case value of
/// 20 characters or more), random (at least 3.2 bits of entropy per
/// character, 3.5 past 24 characters, 3.0 for hex), not a placeholder, not a dotted
/// identifier (`settings.OPENAI_API_KEY`, `base64.urlsafe_b64encode`).
fn random_value(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let letters = v.bytes().any(|b| b.is_ascii_alphabetic());
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    let mixed_case = v.bytes().any(|b| b.is_ascii_uppercase()) && v.bytes().any(|b| b.is_ascii_lowercase());
    // Hex has 16 symbols: 4 bits per character at most (with the dashes of
    // a UUID's groups).
    let hex = v.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    let min = if hex {
        3.0
    } else if v.len() > 24 {
        3.5
    } else {
        3.2
    };
    letters
        && (digits >= 2 || (digits >= 1 && mixed_case && v.len() >= 20))
        && entropy(v) >= min
        && !low_entropy(v)
        && !PLACEHOLDER_PARTS.iter().any(|p| lower.contains(p))
        && !(v.contains('.')
            && v.split('.').all(|p| {
                p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            }))
}

impl Secret {
    /// Whether a secret's name is followed by an assignment (`=`, `:`) right
    /// after it: most texts say "key" or "token" in prose, and this pass
    /// spares them the expression.
    fn assigns_to_a_name(&self, text: &str) -> bool {
        let b = text.as_bytes();
        memchr::memchr2_iter(b'=', b':', b).any(|i| {
            let mut j = i;
            while j > 0 && i - j < 8 && matches!(b[j - 1], b'"' | b'\'' | b' ' | b'\t') {
                j -= 1;
            }
            let from = j.saturating_sub(8);
            let name = &b[from..j];
            let ends = |w: &[u8]| name.len() >= w.len() && name[name.len() - w.len()..].eq_ignore_ascii_case(w);
            [&b"key"[..], b"secret", b"token", b"password", b"passwd", b"pwd"]
                .iter()
                .any(|w| ends(w))
        })
    }

    /// A random value assigned to a name that says it is a secret
    /// (`CALENDARIFIC_API_KEY = "…"`, `"client_secret": "…"`,
    /// `password: …`), kind `generic`, unless a provider format already
    /// found it.
    fn find_assigned(&self, text: &str, out: &mut Vec<Finding>) {
        for c in self.generic.captures_iter(text) {
            let Some(v) = c.get(1) else { continue };
            let value = v.as_str().trim_end_matches(['.', '=']);
            let end = v.start() + value.len();
            if value.len() < 16 || !random_value(value) {
                continue;
            }
            // Cut mid-word, or a call (`hashlib.sha256(password)`).
            if after(text, end, 1).starts_with(|c: char| c.is_ascii_alphanumeric() || c == '(') {
                continue;
            }
            if out.iter().any(|f| f.start < end && v.start() < f.end) {
                continue;
            }
            out.push(Finding {
                start: v.start(),
                end,
                ty: PiiType::Secret,
                sub: Some("generic"),
            });
        }
    }

    /// The first value of keyword format `f` that starts within
    /// [`KEYWORD_WINDOW`] bytes after `from` on the same line, stands alone
    /// (no word character on either side), looks random and is no other
    /// finding.
    fn find_after_keyword(&self, f: &Format, text: &str, from: usize, out: &mut Vec<Finding>) {
        // The value starts in the window and may run past it, not past its
        // line (a value cut by this bound is no value: it ends in a word).
        let rest = after(text, from, KEYWORD_WINDOW + 1024);
        let rest = rest.find('\n').map_or(rest, |i| &rest[..i]);
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let Ok(re) = f.re.get() else { return };
        for m in re.find_iter(rest) {
            if m.start() >= KEYWORD_WINDOW {
                break;
            }
            let (start, end) = (from + m.start(), from + m.end());
            if before(text, start, 1).ends_with(word) || after(text, end, 1).starts_with(word) {
                continue;
            }
            // A dot is part of some formats (`o.…`), not a dotted name: the
            // keyword says what it is.
            if !random_value(&m.as_str().replace('.', "")) || found_before(out, start, end) {
                continue;
            }
            out.push(Finding {
                start,
                end,
                ty: PiiType::Secret,
                sub: Some(f.kind),
            });
            return;
        }
    }

    /// 40-character base64 tokens shortly after an AWS key id or secret name.
    fn find_aws_secrets(&self, text: &str, out: &mut Vec<Finding>) {
        for m in self.aws_secret.find_iter(text) {
            let s = m.as_str();
            let standalone = !before(text, m.start(), 1)
                .ends_with(|c: char| c.is_ascii_alphanumeric() || "/+=".contains(c))
                && !after(text, m.end(), 1).starts_with(|c: char| c.is_ascii_alphanumeric() || "/+".contains(c));
            let mixed = s.bytes().any(|b| b.is_ascii_uppercase())
                && s.bytes().any(|b| b.is_ascii_lowercase())
                && s.bytes().any(|b| b.is_ascii_digit() || b == b'/' || b == b'+');
            if !standalone || !mixed || low_entropy(s) {
                continue;
            }
            let ctx = before(text, m.start(), 200);
            let lower = ctx.to_ascii_lowercase();
            let near = ["akia", "asia", "secret_access_key", "secretaccesskey", "aws_secret"]
                .iter()
                .any(|w| lower.contains(w));
            if near {
                out.push(Finding {
                    start: m.start(),
                    end: m.end(),
                    ty: PiiType::Secret,
                    sub: Some("aws-secret"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(t: &str) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        Secret::new().expect("regex").find(t, &mut out);
        out.sort_by_key(|f| f.start);
        out.iter().map(|f| (f.kind(), &t[f.start..f.end])).collect()
    }

    #[test]
    fn finds_random_values_assigned_to_secret_names() {
        let d = Secret::new().expect("regex");
        let find = |t: &str| {
            let mut out = Vec::new();
            d.find(t, &mut out);
            out.iter()
                .map(|f| (f.sub, t[f.start..f.end].to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            find("CALENDARIFIC_API_KEY = \"8f3b2c9d1e7a4f60b5c2d8e9a1f3b7c4\""),
            [(Some("generic"), "8f3b2c9d1e7a4f60b5c2d8e9a1f3b7c4".to_string())]
        );
        assert_eq!(find(r#"{"client_secret": "tUddCCTfiNgUtjAeeGIW9twdyv"}"#).len(), 1);
        for t in [
            "api_key = \"YOUR_API_KEY_HERE_12345\"",
            "STRIPE_KEY = os.environ['STRIPE_SECRET_KEY']",
            "hashed_password = hashlib.sha256(password)",
            "encoded_key = base64.urlsafe_b64encode(encryption_key)",
            "token = tokenizer.encode_plus(text)",
            "secret = 'sk_test_4eC39HqLyjWDarjtT1zdp7dc'",
            "The key to success: 20 years of work.",
        ] {
            assert!(find(t).is_empty(), "{t}: {:?}", find(t));
        }
    }

    #[test]
    fn finds_provider_keys() {
        let t = "aws_access_key_id = AKIAQ3EGRT5YHX7LKD2M\naws_secret_access_key = 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";
        let f = find(t);
        assert_eq!(f[0], ("secret:aws-key".to_string(), "AKIAQ3EGRT5YHX7LKD2M"));
        assert_eq!(f[1].0, "secret:aws-secret");
        let t = "token ghp_8f3KxQ2mZ7vB1nR5tY9wE4uI6oP0aS2dF7gH and glpat-Xq7Lm2Np9Rs4Tv6Wy8Za";
        let kinds: Vec<String> = find(t).into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, ["secret:github-token", "secret:gitlab-token"]);
        let t = "key AIzaSyD3mK8pQ2rT6vX9zB1nC4fH7jL0sW5yE8u";
        assert_eq!(find(t)[0].0, "secret:google-api-key");
    }

    #[test]
    fn finds_values_after_a_provider_keyword() {
        let d = Secret::with_providers(&[ProviderFormat {
            kind: "twilio-auth-token",
            anchor: Anchor::Keywords(vec!["twilio".into()]),
            regex: Arc::new(LazyRegex::new("[0-9a-f]{32}").expect("regex")),
        }])
        .expect("regex");
        let find = |t: &str| {
            let mut out = Vec::new();
            d.find(t, &mut out);
            out.iter()
                .map(|f| (f.kind(), t[f.start..f.end].to_string()))
                .collect::<Vec<_>>()
        };
        let token = "8f3b2c9d1e7a4f60b5c2d8e9a1f3b7c4";
        let want = [("secret:twilio-auth-token".to_string(), token.to_string())];
        assert_eq!(find(&format!("TWILIO_AUTH_TOKEN = \"{token}\"")), want);
        assert_eq!(find(&format!("client = Client(sid, '{token}')  # twilio")), []);
        assert_eq!(find(&format!("Twilio: {token}")), want);
        // Without the keyword, the generic rule types it; on another line, too far,
        // inside a longer word or after a letter, there is no provider token.
        assert_eq!(
            find(&format!("AUTH_TOKEN = \"{token}\"")),
            [("secret:generic".to_string(), token.to_string())]
        );
        assert_eq!(find(&format!("twilio docs\n{token}")), []);
        assert_eq!(find(&format!("twilio {} {token}", "word ".repeat(20))), []);
        assert_eq!(find(&format!("twilio: {token}ab")), []);
        assert_eq!(find(&format!("mytwilio: {token}")), []);
        assert_eq!(find("twilio: 00000000000000000000000000000000"), []);
    }

    #[test]
    fn finds_blocks_tokens_and_url_credentials() {
        let t = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7Yq3tR9mX2vB8nL4kP6sW1zC5hF0jG3dE7uI9oA2qS4wT6yR\n-----END RSA PRIVATE KEY-----";
        assert_eq!(find(t), [("secret:private-key".to_string(), t)]);
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(find(&format!("Bearer {jwt}"))[0].0, "secret:jwt");
        let u = find("mysql://root:S3cure!pw@10.1.2.3/app");
        assert_eq!(u, [("secret:url-credentials".to_string(), "root:S3cure!pw")]);
    }

    #[test]
    fn skips_placeholders() {
        assert!(find("postgresql://user:password@localhost/db").is_empty());
        assert!(find("redis://:${REDIS_PASS}@cache:6379").is_empty());
        assert!(find("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx").is_empty());
        assert!(find("pip install sk-learn; see https://example.com/a").is_empty());
        assert!(find("-----BEGIN PRIVATE KEY-----").is_empty());
    }
}
