//! `email`: e-mail addresses.
//!
//! ## What it measures
//! Addresses of the form `local@domain.tld`: a local part of letters (of any
//! script: `约翰@email.com`), digits and `._%+-` starting with a letter or
//! digit, a dotted domain (labels may hold Latin letters with diacritics,
//! Greek and Cyrillic: `user@bücher.de`) and an alphabetic top-level domain
//! of 2 to 24 letters. A local part in a script written without spaces starts where
//! the run of letters before the `@` starts (`邮箱：约翰@…` finds `约翰@…`).
//!
//! ## Why
//! An address names a person and reaches them; it is the most common piece of
//! contact data in scraped and user-written instructions.
//!
//! ## Example
//! `Write to jane.doe@gmail.com for details.` finds `jane.doe@gmail.com`.
//! Not found: `icon@2x.png` (an image name: the "domain" ends in a file
//! extension), `postgres://user:pw@db.example.com` (URL credentials, the
//! `secret` detector's), `@babel/core` (no local part).
//!
//! ## Parameters
//! The common `action` and `placeholder` of `pii.toml` (default: redact as
//! `<EMAIL>`).

use regex::Regex;

use super::scan::{after, before, Detector, Finding, PiiType};

/// Top-level "domains" that are file extensions (`logo@2x.png`).
const FILE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "css", "js", "ts", "py", "md", "txt",
    "json", "html", "pdf",
];

/// A byte range of the text.
struct Span {
    start: usize,
    end: usize,
}

/// Where the local part before the `@` at `at` starts: up to 64 letters
/// or digits of any script and `._%+-`, starting with a letter or digit,
/// after the last character of a script written without spaces when the
/// part mixes both (`请发送邮件至bob` is `bob`); `None` when there is none.
fn local_start(text: &str, at: usize) -> Option<usize> {
    let mut start = at;
    for (n, (i, c)) in text[..at].char_indices().rev().enumerate() {
        if n == 64 || !(c.is_alphanumeric() || "._%+-".contains(c) || is_mark(c)) {
            break;
        }
        start = i;
    }
    let local = &text[start..at];
    let cut = local
        .char_indices()
        .rfind(|&(_, ch)| crate::text::is_wide(ch))
        .map(|(i, ch)| i + ch.len_utf8())
        .filter(|&i| i < local.len())
        .unwrap_or(0);
    let local = &local[cut..];
    // The part starts with a letter or digit.
    let skip = local.len() - local.trim_start_matches(|c: char| !c.is_alphanumeric()).len();
    (skip < local.len()).then_some(start + cut + skip)
}

/// A combining mark (an accent written as its own character).
fn is_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

/// Finds e-mail addresses.
pub struct Email {
    re: Regex,
    /// The domain after an `@`, anchored (local parts in any script are
    /// found by walking back from the `@`: a Unicode letter class in an
    /// expression would cost every run megabytes of automaton).
    domain: Regex,
}

impl Email {
    /// The detector.
    pub fn new() -> Result<Self, regex::Error> {
        Ok(Email {
            re: Regex::new(
                r"(?i)[a-z0-9][a-z0-9._%+\-]{0,63}@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+([a-z]{2,24})(?-u:\b)",
            )?,
            // Labels of internationalised domains (`bücher.de`, `почта.рф`
            // has a Cyrillic top-level domain, left out): Latin with
            // diacritics, Greek and Cyrillic letters.
            domain: Regex::new(
                r"(?i)^(?:[a-z0-9\x{C0}-\x{24F}\x{370}-\x{3FF}\x{400}-\x{4FF}](?:[a-z0-9\x{C0}-\x{24F}\x{370}-\x{3FF}\x{400}-\x{4FF}\-]{0,61}[a-z0-9\x{C0}-\x{24F}\x{370}-\x{3FF}\x{400}-\x{4FF}])?\.)+([a-z]{2,24})(?-u:\b)",
            )?,
        })
    }
}

impl Detector for Email {
    fn ty(&self) -> PiiType {
        PiiType::Email
    }

    fn find(&self, text: &str, out: &mut Vec<Finding>) {
        if !text.contains('@') {
            return;
        }
        // ASCII text takes the ASCII expression; other text has its local
        // parts found by walking back from each `@` over letters of any
        // script, cut after the last character of a script written without
        // spaces (`请发送邮件至bob@…` is `bob@…`).
        let found: Vec<(Span, &str)> = if text.is_ascii() {
            self.re
                .captures_iter(text)
                .filter_map(|c| {
                    let (whole, tld) = (c.get(0)?, c.get(1)?);
                    Some((
                        Span {
                            start: whole.start(),
                            end: whole.end(),
                        },
                        tld.as_str(),
                    ))
                })
                .collect()
        } else {
            memchr::memchr_iter(b'@', text.as_bytes())
                .filter_map(|at| {
                    let c = self.domain.captures(&text[at + 1..])?;
                    let (dom, tld) = (c.get(0)?, c.get(1)?);
                    let local = local_start(text, at)?;
                    Some((
                        Span {
                            start: local,
                            end: at + 1 + dom.end(),
                        },
                        tld.as_str(),
                    ))
                })
                .collect()
        };
        for (m, tld) in found {
            let m_str = &text[m.start..m.end];
            let tld = tld.to_ascii_lowercase();
            if FILE_EXTENSIONS.contains(&tld.as_str()) {
                continue;
            }
            // Part of a longer token (`a.b@c.com` inside a path or a URL's userinfo).
            let prev = before(text, m.start, 1);
            if prev.ends_with(|c: char| c.is_ascii_alphanumeric() || "._%+-/:=".contains(c)) && prev != ":" {
                continue;
            }
            let ctx = before(text, m.start, 64);
            if let Some(i) = ctx.rfind("://") {
                if !ctx[i..].contains(char::is_whitespace) {
                    continue;
                }
            }
            let next = after(text, m.end, 1);
            if next.starts_with(['@', '-']) {
                continue;
            }
            // SSH remotes (`git@github.com:org/repo.git`) name a service account.
            if next == ":" && m_str.starts_with("git@") {
                continue;
            }
            out.push(Finding::new(m.start, m.end, PiiType::Email));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(t: &str) -> Vec<&str> {
        crate::filters::sensitive::scan::found(&Email::new().expect("regex"), t)
    }

    #[test]
    fn finds_local_parts_in_any_script() {
        assert_eq!(find("邮箱：约翰@email.com，电话见下"), ["约翰@email.com"]);
        assert_eq!(
            find("Écrivez à josé.müller@correo.es demain"),
            ["josé.müller@correo.es"]
        );
        // An ASCII address inside Chinese text keeps its own span.
        assert_eq!(
            find("请发送邮件至bob+news@uni-heidelberg.de，谢谢"),
            ["bob+news@uni-heidelberg.de"]
        );
    }

    #[test]
    fn finds_addresses_in_english_and_chinese_text() {
        assert_eq!(find("E-mail: user.name@bücher.de"), ["user.name@bücher.de"]);
        assert_eq!(find("Write to jane.doe@gmail.com for details."), ["jane.doe@gmail.com"]);
        assert_eq!(find("请发邮件至zhang_wei88@qq.com联系。"), ["zhang_wei88@qq.com"]);
        assert_eq!(
            find("Mail: Bob+news@Mail.Example.co.uk."),
            ["Bob+news@Mail.Example.co.uk"]
        );
    }

    #[test]
    fn skips_file_names_packages_and_url_credentials() {
        assert!(find("use icon@2x.png here").is_empty());
        assert!(find("npm i @babel/core").is_empty());
        assert!(find("postgres://admin:s3cr3tPw@db.example.com/app").is_empty());
        assert!(find("user@localhost").is_empty());
        assert!(find("git clone git@github.com:org/repo.git").is_empty());
    }
}
