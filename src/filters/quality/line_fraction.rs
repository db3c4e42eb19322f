//! `line-fraction`: the share of lines that start or end with given strings.
//!
//! ## What it measures
//! The lines of the scoped text (split like Python's `str.splitlines`), and
//! the fraction of them that, once stripped of surrounding whitespace, start
//! with one of `starts_with` or end with one of `ends_with`. Not measured when
//! the text has no line.
//!
//! ## Why
//! Gopher drops documents where over 90 % of lines start with a bullet (link
//! lists, menus) or over 30 % end with an ellipsis (teasers, cut text). C4 and
//! FineWeb look at the other end: too few lines ending with terminal
//! punctuation means boilerplate. For answers, bullets are normal (a list of
//! steps), so those rules are loose or off by default; see the rule files.
//!
//! ## Example
//! With `ends_with = ["...", "…"]` and `max = 0.3`, an answer whose lines are
//! `"Once upon a time..."` and `"The end"` measures 0.5 and is dropped.
//!
//! ## Parameters
//! - `starts_with`, `ends_with`: lists of strings (at least one in all).
//! - `skip_blank`: leave blank lines out of the count (default `false`, as Gopher).

use crate::rules::FilterKind;
use crate::rules::{BuildContext, KeyError};
use crate::stage::{Analysis, Filter, Measure, Scope};
use crate::tokenize::lines;

/// Registry entry.
pub const KIND: FilterKind = FilterKind::quality(
    "line-fraction",
    "fraction of lines starting or ending with the listed strings",
    build,
)
.fraction();

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    starts_with: Vec<String>,
    #[serde(default)]
    ends_with: Vec<String>,
    #[serde(default)]
    skip_blank: bool,
}

struct LineFraction {
    scope: Scope,
    p: Params,
}

fn build(ctx: &BuildContext<'_>) -> Result<Box<dyn Filter>, KeyError> {
    let p: Params = ctx.parse()?;
    if p.starts_with.is_empty() && p.ends_with.is_empty() {
        return Err(("starts_with".into(), "set starts_with and/or ends_with".into()));
    }
    Ok(Box::new(LineFraction {
        scope: ctx.scope.unwrap_or(Scope::Response),
        p,
    }))
}

impl Filter for LineFraction {
    fn metric(&self) -> &str {
        "fraction of matching lines"
    }

    fn measure(&self, cx: &mut Analysis<'_>) -> Option<Measure> {
        let text = cx.text(self.scope);
        let (mut n, mut hit) = (0usize, 0usize);
        for line in lines(&text) {
            let t = crate::tokenize::py_strip(line);
            if self.p.skip_blank && t.is_empty() {
                continue;
            }
            n += 1;
            let start = line.trim_start_matches(crate::tokenize::is_py_space);
            let end = line.trim_end_matches(crate::tokenize::is_py_space);
            if self.p.starts_with.iter().any(|s| start.starts_with(s.as_str()))
                || self.p.ends_with.iter().any(|s| end.ends_with(s.as_str()))
            {
                hit += 1;
            }
        }
        (n > 0).then(|| Measure::from(hit as f64 / n as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::KIND;
    use crate::filters::testing::{build, record, value};

    #[test]
    fn fraction_of_bullet_and_ellipsis_lines() {
        // llamafactory_alpaca_en_demo style list answer.
        let rec = record(
            r#"{"instruction": "List three fruits.", "input": "", "output": "- Apple\n- Banana\n  • Cherry\nAnd more..."}"#,
        );
        let bullets = build(&KIND, r#"starts_with = ["•", "-"]"#, None);
        let ell = build(&KIND, r#"ends_with = ["...", "…"]"#, None);
        assert_eq!(value(bullets.as_ref(), &rec), Some(0.75));
        assert_eq!(value(ell.as_ref(), &rec), Some(0.25));
    }
}
