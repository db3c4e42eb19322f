//! Rules are data: bad rule files are errors that name the file, the line and
//! the key, with exit code 2; the shipped rules are valid.

use crate::harness::*;

/// Writes the built-in rules to a temp folder, applies `edit`, and runs `check-rules`.
fn check_with(edit: impl FnOnce(&std::path::Path)) -> (Option<i32>, String) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("rules");
    curate_ok(&["init-rules", dir.to_str().expect("utf-8")]);
    edit(&dir);
    let o = curate(&["check-rules", dir.to_str().expect("utf-8")]);
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn append(dir: &std::path::Path, file: &str, text: &str) {
    let p = dir.join(file);
    let mut t = std::fs::read_to_string(&p).unwrap_or_default();
    t.push_str(text);
    std::fs::write(p, t).expect("write rule file");
}

#[test]
fn shipped_rules_are_valid() {
    let o = curate(&["check-rules"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = root().join("rules");
    let o = curate(&["check-rules", dir.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let (code, err) = check_with(|d| {
        append(
            d,
            "quality/basic.toml",
            "\n[short]\nkind = \"char-length\"\nmin = 2\nmni = 3\n",
        )
    });
    assert_eq!(code, Some(2));
    let line = std::fs::read_to_string(root().join("rules/quality/basic.toml"))
        .expect("rules")
        .lines()
        .count()
        + 5;
    assert!(
        err.contains(&format!("quality/basic.toml:{line}: key `short.mni`")),
        "{err}"
    );
    assert!(err.contains("unknown field `mni`"), "{err}");
}

#[test]
fn threshold_out_of_range_or_inverted_is_an_error() {
    let (code, err) = check_with(|d| append(d, "quality/basic.toml", "\n[x]\nkind = \"empty-response\"\nmax = 5\n"));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("key `x.max`") && err.contains("out of range for `empty-response`: it takes 0 to 1"),
        "{err}"
    );
    // A negative bound on an unbounded kind says so in plain numbers.
    let (code, err) = check_with(|d| append(d, "quality/basic.toml", "\n[y]\nkind = \"char-length\"\nmin = -3\n"));
    assert_eq!(code, Some(2));
    assert!(err.contains("it takes 0 or more") && !err.contains("1797"), "{err}");
    // A misspelt bound is named as the unknown key it is.
    let (code, err) = check_with(|d| append(d, "quality/basic.toml", "\n[z]\nkind = \"char-length\"\nmx = 100000\n"));
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown field `mx`"), "{err}");
    assert!(
        err.contains("takes no parameters besides kind, scope, min, max") && !err.contains("there are no fields"),
        "{err}"
    );
    let (code, err) = check_with(|d| {
        append(
            d,
            "quality/basic.toml",
            "\n[y]\nkind = \"char-length\"\nmin = 9\nmax = 3\n",
        )
    });
    assert_eq!(code, Some(2));
    assert!(err.contains("key `y.min`") && err.contains("greater than max"), "{err}");
}

#[test]
fn unknown_kind_language_and_syntax_errors_are_reported() {
    let (code, err) = check_with(|d| append(d, "quality/basic.toml", "\n[z]\nkind = \"no-such-filter\"\nmax = 1\n"));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("unknown rule kind `no-such-filter`") && err.contains("known kinds:"),
        "{err}"
    );
    let (code, err) = check_with(|d| {
        append(
            d,
            "quality/basic.toml",
            "\n[w]\nkind = \"char-length\"\nmin = 1\n[w.lang.xx]\nmin = 2\n",
        )
    });
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown language `xx`"), "{err}");
    let (code, err) = check_with(|d| append(d, "quality/basic.toml", "\n[broken\nmin = 1\n"));
    assert_eq!(code, Some(2));
    assert!(err.contains("quality/basic.toml:"), "{err}");
}

#[test]
fn bad_regex_in_a_declared_format_names_the_key() {
    let (code, err) = check_with(|d| {
        append(d, "formats.toml", "\n[format.bad]\ndetect = [\"q\"]\nformatting = \"alpaca\"\ncolumns = { prompt = \"q\" }\nstrip = ['(unclosed']\n")
    });
    assert_eq!(code, Some(2));
    assert!(
        err.contains("formats.toml:")
            && err.contains("key `format.bad.strip[0]`")
            && err.contains("bad pattern \"(unclosed\": unclosed group"),
        "{err}"
    );
}

/// A secret format of good syntax whose expression is too big to compile
/// (runs compile it when a text first needs it) is found by `check-rules`.
#[test]
fn a_secret_format_too_big_to_compile_fails_check_rules() {
    let (code, err) = check_with(|d| {
        append(
            d,
            "sensitive/secrets/formats.toml",
            "\n[huge-key]\nprefixes = [\"huge_\"]\nregex = 'huge_(?:[a-z]{1000}){1000}'\nsource = \"s\"\n",
        )
    });
    assert_eq!(code, Some(2));
    assert!(
        err.contains("sensitive/secrets/formats.toml: [huge-key] regex does not compile") && err.contains("size limit"),
        "{err}"
    );
}

/// Metrics columns are rule ids as SQL identifiers; two ids that read the
/// same there are refused.
#[test]
fn two_rules_may_not_share_a_metrics_column() {
    let (code, err) = check_with(|d| {
        append(
            d,
            "quality/basic.toml",
            "\n[long-answer]\nkind = \"char-length\"\nmax = 9000\n\n[long_answer]\nkind = \"char-length\"\nmax = 8000\n",
        )
    });
    assert_eq!(code, Some(2));
    assert!(
        err.contains(
            "`quality/long-answer` and `quality/long_answer` would share the metrics column `quality__long_answer`"
        ),
        "{err}"
    );
}

/// A rules folder in `at` whose one quality rule names an unknown scope
/// (`quality/a.toml:3`, key `r.scope`).
fn broken_quality_rule(at: &std::path::Path) -> std::path::PathBuf {
    let dir = at.join("rules");
    std::fs::create_dir_all(dir.join("quality")).expect("mkdir");
    std::fs::write(
        dir.join("quality/a.toml"),
        "[r]\nkind = \"char-length\"\nscope = \"nowhere\"\nmin = 1\n",
    )
    .expect("write");
    dir
}

/// `run` of the formats fixture with the rules folder `dir` into `out`.
fn run_with_rules(dir: &std::path::Path, out: &std::path::Path, more: &[&str]) -> std::process::Output {
    let input = fixture("formats");
    let mut args = vec![
        "run",
        input.as_str(),
        "--rules",
        dir.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(more);
    curate(&args)
}

#[test]
fn bad_rules_stop_a_run_with_exit_code_2() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = broken_quality_rule(tmp.path());
    let out = tmp.path().join("out");
    let o = run_with_rules(&dir, &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("quality/a.toml:3: key `r.scope`"), "{err}");
    assert!(!out.exists(), "nothing written");
}

/// A run builds the stages it runs only: a broken rule of a stage it does
/// not run does not stop it (check-rules and a run of that stage find it).
#[test]
fn a_run_builds_only_the_stages_it_runs() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = broken_quality_rule(tmp.path());
    let run = |stages: &str| {
        let out = tmp.path().join(format!("out-{stages}"));
        let o = run_with_rules(&dir, &out, &["--stages", stages, "-q"]);
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned(), out)
    };
    let (code, err, out) = run("repair,tag");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(report(&out)["stages_run"], serde_json::json!(["repair", "tag"]));
    for stages in ["repair,quality", "default"] {
        let (code, err, _) = run(stages);
        assert_eq!(code, Some(2), "{stages}: {err}");
        assert!(err.contains("quality/a.toml:3: key `r.scope`"), "{stages}: {err}");
    }
    let o = curate(&["check-rules", dir.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn mix_shares_out_of_range_name_file_line_and_key() {
    let mix = "enabled = true\nby = \"task\"\n[targets]\ncoding = 0.4\nmath = 1.2\n";
    let (code, err) = check_with(|d| std::fs::write(d.join("mix.toml"), mix).expect("write"));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("mix.toml:5: key `targets.math`: share 1.2 is out of range [0, 1]"),
        "{err}"
    );
    let mix = "[targets]\ncoding = 0.7\nmath = 0.4\n";
    let (code, err) = check_with(|d| std::fs::write(d.join("mix.toml"), mix).expect("write"));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("mix.toml:1: key `targets`") && err.contains("at most 1"),
        "{err}"
    );
    let (code, err) =
        check_with(|d| std::fs::write(d.join("mix.toml"), "enabled = false\nratio = 2\n").expect("write"));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("mix.toml:2") && err.contains("unknown field `ratio`"),
        "{err}"
    );
}

#[test]
fn the_readme_lists_every_quality_filter_kind_of_the_registry() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let start = readme.find("Filter kinds:").expect("the list of filter kinds");
    let end = start + readme[start..].find("The shipped rules").expect("end of the list");
    let mut listed: Vec<&str> = readme[start..end].split('`').skip(1).step_by(2).collect();
    listed.sort_unstable();
    let mut kinds: Vec<&str> = curate::registry::FILTER_KINDS
        .iter()
        .filter(|k| k.stage == "quality")
        .map(|k| k.name)
        .collect();
    kinds.sort_unstable();
    assert_eq!(listed, kinds);
}

#[test]
fn every_path_contributing_md_names_exists() {
    let text = std::fs::read_to_string(root().join("CONTRIBUTING.md")).expect("CONTRIBUTING.md");
    let mut checked = 0;
    for quoted in text.split('`').skip(1).step_by(2) {
        let path = quoted.split_whitespace().next().unwrap_or("");
        let is_path = path.contains('/') && !path.contains('<') && !path.contains('…') && !path.starts_with('-');
        if is_path {
            assert!(
                root().join(path).exists(),
                "CONTRIBUTING.md names {path}, which is not in the tree"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked} paths checked");
}

#[test]
fn a_rules_folder_overlays_the_built_in_rules_file_by_file() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("mine");
    std::fs::create_dir_all(dir.join("quality")).expect("mkdir");
    // One edited file: the other built-in files (and stages) stay.
    let basic = std::fs::read_to_string(root().join("rules/quality/basic.toml")).expect("basic.toml");
    std::fs::write(
        dir.join("quality/basic.toml"),
        basic.replace("max = 100000", "max = 300"),
    )
    .expect("write");
    let run = |name: &str| {
        let out = tmp.path().join(name);
        curate_ok(&[
            "run",
            &fixture("sample/alpaca_en.jsonl"),
            "--rules",
            dir.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "-q",
        ]);
        out
    };
    let out = run("out");
    let r = assert_accounting(&out);
    assert_eq!(
        r["stages_run"],
        serde_json::json!(["repair", "quality", "sensitive", "tag", "dedup"])
    );
    let rules = strings(&out.join("rejected"), "rule");
    assert!(rules.iter().any(|r| r == "quality/response-too-long"), "{rules:?}");
    assert!(
        out.join("rules/quality/instruction.toml").exists(),
        "the run's rules hold the built-in files too"
    );
    // With mode = "replace" the folder is the whole rule set: one stage only.
    std::fs::write(dir.join("rules.toml"), "mode = \"replace\"\n").expect("write");
    let out2 = run("out2");
    assert_eq!(report(&out2)["stages_run"], serde_json::json!(["quality"]));
}

#[test]
fn misnamed_rule_files_and_modes_are_errors_naming_them() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("mine");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("quality.toml"), "[x]\nkind = \"char-length\"\nmax = 5\n").expect("write");
    let o = curate(&["check-rules", dir.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("quality.toml") && err.contains("live in the folder `quality/`"),
        "{err}"
    );
    std::fs::remove_file(dir.join("quality.toml")).expect("rm");
    std::fs::write(dir.join("rules.toml"), "mode = \"merge\"\n").expect("write");
    let o = curate(&["check-rules", dir.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("rules.toml") && err.contains("merge"), "{err}");
}

/// A whole rule set without dedup.toml runs no dedup, and says so.
#[test]
fn a_rule_set_without_dedup_says_that_dedup_did_not_run() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let rules = tmp.path().join("rules");
    let r = rules.to_str().expect("utf-8");
    curate_ok(&["init-rules", r]);
    std::fs::remove_file(rules.join("dedup.toml")).expect("rm");
    let out = tmp.path().join("out");
    let o = out.to_str().expect("utf-8");
    curate_ok(&["run", &fixture("sample"), "--out", o, "-q", "--rules", r]);
    let written = report(&out);
    let warnings = written["warnings"].as_array().expect("warnings");
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains("no dedup.toml"))),
        "{warnings:?}"
    );
    // Asked for other stages only: nothing to say.
    curate_ok(&[
        "run",
        &fixture("sample"),
        "--out",
        o,
        "-q",
        "--rules",
        r,
        "--overwrite",
        "--stages",
        "quality",
    ]);
    assert!(report(&out).get("warnings").is_none());
}
