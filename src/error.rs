//! Typed errors. Every error names where it happened: the file, the line and
//! the field or rule key, so that a person can fix the input without guessing.

use std::fmt;
use std::path::PathBuf;

/// An error in the rules folder: a bad TOML file, an unknown key, a bad regex,
/// a threshold out of range or an unknown rule kind.
#[derive(Debug, Clone, PartialEq)]
pub struct RulesError {
    /// The rule file, relative to the rules folder (e.g. `quality/basic.toml`).
    pub file: String,
    /// 1-based line of the offending key, when it could be located.
    pub line: Option<usize>,
    /// The key path (e.g. `min-words.min`), when the error is about one key.
    pub key: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for RulesError {}

impl RulesError {
    /// A rule file `file` (text `text`) that is not valid TOML or does not
    /// fit its schema: the line of the error and, for an unknown key or
    /// value, that key.
    pub fn from_toml(file: &str, text: &str, e: &toml::de::Error) -> RulesError {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let message = e.message().trim().to_string();
        let key = message
            .split('`')
            .nth(1)
            .filter(|_| message.contains("unknown field") || message.contains("unknown variant"))
            .map(str::to_string);
        RulesError {
            file: file.to_string(),
            line,
            key,
            message,
        }
    }
}

/// Errors that stop a run (as opposed to bad records, which are quarantined).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The rules could not be loaded; all problems found are listed.
    #[error("invalid rules:\n{}", .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Rules(Vec<RulesError>),
    /// Bad command-line usage that clap cannot catch (e.g. no input matched).
    #[error("{0}")]
    Usage(String),
    /// An I/O error on a path the run needs (output folder, an input that vanished).
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Writing Parquet failed.
    #[error("{path}: writing Parquet: {message}")]
    Parquet {
        /// The shard being written.
        path: PathBuf,
        /// The writer's message.
        message: String,
    },
    /// The run was stopped by a signal (SIGINT, SIGTERM) and cleaned up.
    #[error("{0}")]
    Stopped(String),
    /// The run finished but broke one of its own invariants, or hit a user limit
    /// such as `--max-malformed`.
    #[error("run failed: {0}")]
    Run(String),
    /// An external program the command needs (`sbatch`, `squeue`) could not
    /// be started or failed; the message holds its command line and stderr.
    #[error("{command}: {message}")]
    Command {
        /// The command line, as it could be typed again.
        command: String,
        /// Why it failed: not found, its exit status and stderr.
        message: String,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Reading a file the user named on the command line: a missing or
    /// unreadable file is a usage error (exit 2), not a failed run.
    pub fn input(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        Error::Usage(format!("{}: {source}", path.display()))
    }

    /// The process exit code for this error: 2 for usage and rules, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Rules(_) | Error::Usage(_) => 2,
            // As a shell reports a process stopped by SIGINT.
            Error::Stopped(_) => 130,
            _ => 1,
        }
    }
}

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A user's regular expression that does not compile, said in one short
/// line: the pattern shortened to 60 characters and the regex crate's
/// reason without its echo of the pattern (a 2.6 MB pattern was printed
/// whole).
pub fn regex_error(pattern: &str, e: &regex::Error) -> String {
    let shown: String = pattern.chars().take(60).collect();
    let more = if shown.len() < pattern.len() {
        format!("… ({} bytes)", pattern.len())
    } else {
        String::new()
    };
    let reason = match e {
        regex::Error::CompiledTooBig(limit) => {
            format!("it compiles to more than {limit} bytes; split it or shorten it")
        }
        other => other
            .to_string()
            .lines()
            .rev()
            .find(|l| l.starts_with("error:"))
            .map_or_else(
                || other.to_string(),
                |l| l.trim_start_matches("error:").trim().to_string(),
            ),
    };
    format!("bad pattern {shown:?}{more}: {reason}")
}

#[cfg(test)]
mod regex_error_tests {
    #[test]
    fn a_long_bad_pattern_is_shortened_and_its_reason_kept() {
        let pattern = format!("({}", "a".repeat(10_000));
        let e = regex::Regex::new(&pattern).expect_err("unclosed group");
        let msg = super::regex_error(&pattern, &e);
        assert!(msg.len() < 200, "{msg}");
        assert!(msg.contains("10001 bytes") && msg.contains("unclosed group"), "{msg}");
    }
}
