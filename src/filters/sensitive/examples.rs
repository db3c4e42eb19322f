//! Example and documentation values, and values a task asks for: found, but
//! not personal data, and left in the text.
//!
//! ## What it decides
//! - **Example values** (`examples` of a type in `pii.toml`): a finding whose
//!   normalised value matches one of the type's patterns is an `example:<type>`
//!   finding: written to the `pii` column, counted as `pii/<type>/example`, never
//!   redacted or dropped. Patterns are globs (`*` any run, `?` one character)
//!   over the value lower-cased, and for numeric types (phone, card, ssn, cn-id,
//!   iban) with everything but letters and digits removed: `*@example.com`,
//!   `192.0.2.*`, `*55501??` (the 555-0100..0199 numbers reserved for fiction),
//!   `4111111111111111` (a published test card).
//! - **Task values** (`[task]` in `pii.toml`): when the first user turn asks to
//!   generate, validate, extract or format a value (`verbs`) of a type (the
//!   type's `task_words`: "phone number", "IP address", "邮箱"), that type's
//!   findings are tagged (`pii:<type>`, counted as `pii/<type>/task`) instead of
//!   redacted or dropped: "generate a valid phone number" keeps its answer.
//!
//! ## Why
//! On the shared corpora no finding was real personal data: example.com
//! addresses, 555 and 123-456-7890 numbers, 8.8.8.8, test cards. Redacting them
//! breaks the task ("which of these are valid IP addresses: <IP>, …").
//!
//! ## Example
//! `ping 8.8.8.8` keeps its address (`example:ip`); "Write a regex that matches
//! e-mail addresses, e.g. jane@corp.io" keeps `jane@corp.io` (a task value).

/// Whether `value` matches the glob `pattern` (`*` any run, `?` one character).
pub fn glob(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = value.chars().collect();
    let (mut pi, mut si) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// The value a pattern is matched against: lower-cased, and for numeric
/// types only its letters and digits.
pub fn normalise(value: &str, numeric: bool) -> String {
    if numeric {
        value
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect()
    } else {
        value.trim().to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::{glob, normalise};

    #[test]
    fn globs_match_reserved_values() {
        assert!(glob("*@example.com", "johndoe@example.com"));
        assert!(!glob("*@example.com", "johndoe@example.com.cn"));
        assert!(glob("192.0.2.*", "192.0.2.15"));
        assert!(glob("*55501??", &normalise("(415) 555-0123", true)));
        assert!(!glob("*55501??", &normalise("(415) 555-2671", true)));
        assert!(glob("1234567890", &normalise("123 - 456 - 7890", true)));
        assert!(glob("a*b?c", "axxbyc") && !glob("a*b?c", "axxbc"));
    }
}
