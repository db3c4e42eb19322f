//! Regular expressions compiled when first needed: a rule set holds a few
//! hundred that most texts never reach (the secret formats behind their
//! prefixes, the identity claims behind their names), and compiling them
//! all was most of a run's start.

use regex::Regex;

/// A regular expression whose syntax is checked at once and which is
/// compiled when first used.
#[derive(Debug)]
pub struct LazyRegex {
    pattern: String,
    compiled: std::sync::OnceLock<Result<Regex, String>>,
}

impl LazyRegex {
    /// `pattern` after a check of its syntax (the error `Regex::new` gives).
    pub fn new(pattern: &str) -> Result<Self, String> {
        regex_syntax::Parser::new()
            .parse(pattern)
            .map_err(|e| regex::Error::Syntax(e.to_string()).to_string())?;
        Ok(LazyRegex {
            pattern: pattern.to_string(),
            compiled: std::sync::OnceLock::new(),
        })
    }

    /// The compiled expression, or why it does not compile (past the size
    /// limit: the syntax was checked).
    pub fn get(&self) -> Result<&Regex, &str> {
        self.compiled
            .get_or_init(|| Regex::new(&self.pattern).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }

    /// Why it does not compile: if it was compiled and failed, or, with
    /// `compile`, compiled now when it was not yet (`check-rules`).
    pub fn error(&self, compile: bool) -> Option<&str> {
        if compile {
            return self.get().err();
        }
        self.compiled.get()?.as_ref().err().map(String::as_str)
    }
}
