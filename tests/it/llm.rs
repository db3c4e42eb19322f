//! The model stage against a local stub endpoint (`llm_stub.rs`): scores as
//! metrics and decisions, every record accounted for under injected faults,
//! bounded retries, a second run served from the cache with the same
//! output, a circuit breaker, no call unless the stage is named, and an API
//! key that is sent but never written.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::harness::{assert_accounting, fixture, report, shard_files, strings};
use crate::llm_stub::{Faults, Stub};

/// A rules folder over the built-in rules whose `llm.toml` retries fast and
/// keeps `extra` lines in its endpoint table.
fn fast_rules(dir: &Path, extra: &str, correct: bool) -> String {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    let shipped = curate::rules::RuleFiles::embedded();
    let text = shipped.get("llm.toml").expect("shipped llm.toml");
    // Each `key = value` of `extra` replaces the shipped line of that key.
    let set = |text: String, line: &str| {
        let key = line.split('=').next().unwrap_or("").trim();
        text.lines()
            .map(|l| {
                if l.split('=').next().unwrap_or("").trim() == key {
                    line
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut text = ["backoff-seconds = 0.01", "timeout-seconds = 1"]
        .into_iter()
        .chain(extra.lines().filter(|l| !l.trim().is_empty()))
        .fold(text.to_string(), set);
    if !correct {
        text = text.replace("[rules.correct]\n", "[rules.correct]\nenabled = false\n");
    }
    std::fs::write(rules.join("llm.toml"), text).expect("write llm.toml");
    rules.display().to_string()
}

/// Asserts that two lists of shard files hold the same files, byte for byte.
fn same_shards(a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)], what: &str) {
    assert_eq!(a.len(), b.len());
    for ((na, x), (nb, y)) in a.iter().zip(b) {
        assert_eq!(na, nb);
        assert!(x == y, "{na} differs {what}");
    }
}

/// Rewrites the rules folder's `llm.toml` with each (from, to) replaced.
fn edit_llm_toml(rules: &str, edits: &[(&str, &str)]) {
    let path = Path::new(rules).join("llm.toml");
    let mut text = std::fs::read_to_string(&path).expect("llm.toml");
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replace(from, to);
    }
    std::fs::write(&path, text).expect("write llm.toml");
}

fn run(args: &[&str], url: &str, key: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_curate"));
    c.args(args)
        .env("NO_COLOR", "1")
        .env("OPENAI_BASE_URL", url)
        .env_remove("CURATE_LLM_MODEL");
    match key {
        Some(k) => c.env("OPENAI_API_KEY", k),
        None => c.env_remove("OPENAI_API_KEY"),
    };
    c.output().expect("curate runs")
}

fn ok(o: &Output) -> String {
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "curate failed ({:?}):\n{e}", o.status.code());
    e
}

/// `n` Alpaca records cut from the bundled English and Chinese samples,
/// each made distinct by its number.
fn records(dir: &Path, n: usize) -> String {
    let mut src = Vec::new();
    for f in ["sample/alpaca_en.jsonl", "sample/alpaca_zh.jsonl"] {
        let text = std::fs::read_to_string(fixture(f)).expect("sample");
        src.extend(text.lines().map(str::to_string));
    }
    let mut out = String::new();
    for i in 0..n {
        let mut v: serde_json::Value = serde_json::from_str(&src[i % src.len()]).expect("json");
        let ins = v["instruction"].as_str().unwrap_or("").to_string();
        v["instruction"] = serde_json::Value::String(format!("{ins} (#{i})"));
        out.push_str(&v.to_string());
        out.push('\n');
    }
    let p = dir.join("in.jsonl");
    std::fs::write(&p, out).expect("input");
    p.display().to_string()
}

/// A stub endpoint with `faults`, a temp folder, `n` records in it and a
/// rules folder with `extra` endpoint settings (and `correct` on or off).
fn setup(faults: Faults, n: usize, extra: &str, correct: bool) -> (Stub, tempfile::TempDir, String, String) {
    let stub = Stub::start(faults);
    let tmp = tempfile::tempdir().expect("tmp");
    let input = records(tmp.path(), n);
    let rules = fast_rules(tmp.path(), extra, correct);
    (stub, tmp, input, rules)
}

#[test]
fn the_model_stage_scores_retries_caches_and_accounts_for_every_record() {
    let (stub, tmp, input, rules) = setup(
        Faults {
            first_attempt_permille: 50,
            always_permille: 5,
            down: false,
            slow: Duration::from_millis(1500),
        },
        10_000,
        "concurrency = 16",
        true,
    );
    let out = tmp.path().join("out");
    let o = out.display().to_string();
    let args = ["run", &input, "--out", &o, "--rules", &rules, "--stages", "llm"];
    ok(&run(&args, &stub.url, None));
    let r = assert_accounting(&out);
    assert_eq!(r["totals"]["input"], 10_000);
    let first = stub.count();
    // Two rules, a prompt each per record; every failed first attempt is
    // retried; a prompt too long for the model is not.
    assert!(first > 20_000, "{first} requests");
    assert!(first <= 20_000 * 2, "{first} requests: retries unbounded");
    let counts = &r["stages"][0]["counts"];
    assert!(counts["retries"].as_u64().unwrap_or(0) > 500, "{counts}");
    assert_eq!(counts["calls"].as_u64().unwrap_or(0), 20_000, "{counts}");
    // The scores are metrics; low scores and wrong answers are rejected
    // with the rule and the model's reason; the prompts that always failed
    // are rejected as `llm/error` naming the cause.
    let rules_hit = strings(&out.join("rejected"), "rule");
    let n = |id: &str| rules_hit.iter().filter(|r| *r == id).count();
    assert!(n("llm/quality") > 2_000 && n("llm/correct") > 500, "{rules_hit:?}");
    assert!((25..=300).contains(&n("llm/error")), "{} llm/error", n("llm/error"));
    let reasons = strings(&out.join("rejected"), "reason");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("model score") && r.contains("stub verdict")),
        "{reasons:?}"
    );
    assert!(reasons
        .iter()
        .any(|r| r.contains("no judgement") && r.contains("http-400") && r.contains("context length")));
    // A second run asks only what failed before, and writes the same shards.
    let before = shard_files(&out, &["kept", "rejected", "metrics"]);
    let args2 = [
        "run",
        &input,
        "--out",
        &o,
        "--rules",
        &rules,
        "--stages",
        "llm",
        "--overwrite",
    ];
    ok(&run(&args2, &stub.url, None));
    let again = stub.count() - first;
    assert!(again <= n("llm/error") * 2, "{again} requests on a cached rerun");
    let r2 = report(&out);
    assert!(r2["stages"][0]["counts"]["cache-hits"].as_u64().unwrap_or(0) >= 19_500);
    let after = shard_files(&out, &["kept", "rejected", "metrics"]);
    same_shards(&before, &after, "on a cached rerun");
}

#[test]
fn a_dead_endpoint_fails_the_run_and_no_call_is_made_unless_the_stage_is_named() {
    let (stub, tmp, input, rules) = setup(
        Faults {
            down: true,
            ..Faults::default()
        },
        300,
        "max-consecutive-failures = 5\nconcurrency = 2",
        false,
    );
    let out = tmp.path().join("out").display().to_string();
    let o = run(
        &["run", &input, "--out", &out, "--rules", &rules, "--stages", "llm"],
        &stub.url,
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("failed 5 calls in a row") && e.contains(&stub.url), "{e}");
    assert!(!Path::new(&out).join("_SUCCESS").exists());
    // The breaker stops the asking: far fewer calls than records.
    assert!(stub.count() < 100, "{} requests after the breaker opened", stub.count());
    // The default stages never call the endpoint.
    let before = stub.count();
    let out2 = tmp.path().join("out2").display().to_string();
    ok(&run(
        &["run", &input, "--out", &out2, "--rules", &rules],
        &stub.url,
        None,
    ));
    assert_eq!(stub.count(), before);
}

#[test]
fn the_api_key_is_sent_and_never_written() {
    let (stub, tmp, input, rules) = setup(Faults::default(), 40, "", false);
    let out = tmp.path().join("out");
    let o = out.display().to_string();
    let key = "sk-test-3f9a2b7c1d8e4f6a0b5c9d2e7f1a4b8c";
    let args = ["run", &input, "--out", &o, "--rules", &rules, "--stages", "default,llm"];
    let stderr = ok(&run(&args, &stub.url, Some(key)));
    assert!(stub
        .auth
        .lock()
        .expect("auth")
        .iter()
        .all(|a| a == &format!("Bearer {key}")));
    assert!(!stderr.contains(key));
    for f in crate::harness::files_under(&out) {
        let bytes = std::fs::read(&f).expect("read");
        let hay = String::from_utf8_lossy(&bytes);
        assert!(!hay.contains(key), "{} holds the key", f.display());
    }
    let r = assert_accounting(&out);
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(html.contains("<h2>Model calls</h2>") && html.contains("<td>calls</td><td>40</td>"));
    let stages: Vec<&str> = r["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(stages, ["repair", "quality", "sensitive", "tag", "llm", "dedup"]);
}

#[test]
fn distributed_steps_give_the_shards_of_a_local_run_each_task_with_its_cache() {
    let (stub, tmp, input, rules) = setup(Faults::default(), 600, "", true);
    let local = tmp.path().join("local");
    let l = local.display().to_string();
    ok(&run(
        &["run", &input, "--out", &l, "--rules", &rules, "--stages", "default,llm"],
        &stub.url,
        None,
    ));
    let asked = stub.count();
    let dist = tmp.path().join("dist");
    let d = dist.display().to_string();
    ok(&run(
        &[
            "plan",
            &input,
            "--out",
            &d,
            "--world",
            "3",
            "--rules",
            &rules,
            "--stages",
            "default,llm",
            "--split-bytes",
            "100000",
        ],
        &stub.url,
        None,
    ));
    for step in ["process", "pairs"] {
        for r in 0..3 {
            ok(&run(&[step, &d, "--rank", &r.to_string()], &stub.url, None));
        }
    }
    for step in ["decide", "write"] {
        ok(&run(&[step, &d, "--rank", "0"], &stub.url, None));
    }
    assert_eq!(stub.count(), 2 * asked, "every task asks its own records once");
    let caches: Vec<String> = std::fs::read_dir(dist.join("llm-cache"))
        .expect("cache folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        caches.len() > 1 && caches.iter().all(|c| c.starts_with("task-")),
        "{caches:?}"
    );
    let subs = ["kept", "rejected", "malformed", "metrics"];
    same_shards(
        &shard_files(&local, &subs),
        &shard_files(&dist, &subs),
        "between the local and the distributed run",
    );
}

#[test]
fn intention_tags_are_normalised_merged_and_counted() {
    let (stub, tmp, input, rules) = setup(Faults::default(), 200, "", false);
    edit_llm_toml(&rules, &[("[tags]\nenabled = false", "[tags]\nenabled = true")]);
    let out = tmp.path().join("out");
    let o = out.display().to_string();
    ok(&run(
        &["run", &input, "--out", &o, "--rules", &rules, "--stages", "llm"],
        &stub.url,
        None,
    ));
    let r = assert_accounting(&out);
    let rows = crate::harness::rows_by_id(&out.join("kept"));
    let mut seen = std::collections::BTreeSet::new();
    for row in rows.values() {
        let intents: Vec<&String> = row.tags.iter().filter(|t| t.starts_with("intent:")).collect();
        assert!((1..=5).contains(&intents.len()), "{:?}", row.tags);
        seen.extend(intents.into_iter().cloned());
    }
    // Lower case, words joined by `-`, punctuation dropped, synonyms merged.
    let want: std::collections::BTreeSet<String> = [
        "information-retrieval",
        "coding",
        "math",
        "creative-writing",
        "summarization",
    ]
    .iter()
    .map(|t| format!("intent:{t}"))
    .collect();
    assert_eq!(seen, want);
    assert_eq!(stub.count(), 400, "a quality and a tags call per record");
    let metrics = crate::harness::read_dir_batches(&out.join("metrics"));
    assert!(metrics.iter().all(|b| b.column_by_name("llm__tags").is_some()));
    assert!(r["stages"][0]["failed_per_rule"].get("llm/tags").is_none());
}

#[test]
fn instruction_following_difficulty_compares_the_answer_with_and_without_its_request() {
    let stub = Stub::start(Faults::default());
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = [
        // The answer repeats the request's words: the request helps.
        r#"{"id": "aligned", "instruction": "Name the three primary colors of paint.", "output": "The three primary colors of paint are red, yellow and blue."}"#,
        // An answer that has nothing to do with its request.
        r#"{"id": "misaligned", "instruction": "Name the three primary colors of paint.", "output": "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen."}"#,
    ];
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").expect("input");
    let rules = fast_rules(tmp.path(), "", false);
    edit_llm_toml(
        &rules,
        &[
            ("[ifd]\nenabled = false", "[ifd]\nenabled = true"),
            ("[rules.quality]\n", "[rules.quality]\nenabled = false\n"),
        ],
    );
    let out = tmp.path().join("out");
    let (i, o) = (input.display().to_string(), out.display().to_string());
    ok(&run(
        &["run", &i, "--out", &o, "--rules", &rules, "--stages", "llm"],
        &stub.url,
        None,
    ));
    assert_accounting(&out);
    assert_eq!(stub.count(), 4, "two losses per record");
    let kept = crate::harness::rows_by_id(&out.join("kept"));
    let rejected = crate::harness::rows_by_id(&out.join("rejected"));
    assert!(kept.contains_key("aligned"));
    assert_eq!(rejected["misaligned"].rule.as_deref(), Some("llm/ifd"));
}

#[test]
fn a_seeded_sample_is_judged_alone_and_its_verdicts_train_a_classifier() {
    let (stub, tmp, input, rules) = setup(Faults::default(), 2_000, "", false);
    let path = Path::new(&rules).join("llm.toml");
    let text = std::fs::read_to_string(&path).expect("llm.toml");
    std::fs::write(&path, format!("{text}\n[sample]\nrate = 0.1\nseed = 7\n")).expect("write");
    let out = |name: &str| tmp.path().join(name).display().to_string();
    let (a, b) = (out("a"), out("b"));
    let go = |o: &str, threads: &str| {
        let args = [
            "run", &input, "--out", o, "--rules", &rules, "--stages", "llm", "-j", threads,
        ];
        ok(&run(&args, &stub.url, None));
    };
    go(&a, "1");
    let r = assert_accounting(Path::new(&a));
    let fates = strings(&Path::new(&a).join("rejected"), "rule");
    let unsampled = fates.iter().filter(|r| *r == "llm/sample").count();
    let judged = 2_000 - unsampled;
    // A 10% sample: only its records are asked about, one prompt each.
    assert!((120..=280).contains(&judged), "{judged} judged");
    assert_eq!(stub.count(), judged, "only the sample is sent");
    assert_eq!(r["stages"][0]["counts"]["calls"].as_u64(), Some(judged as u64));
    let reasons = strings(&Path::new(&a).join("rejected"), "reason");
    assert!(reasons.iter().any(|r| r.contains("outside the sample")), "{reasons:?}");
    // The draw is the record's own: two threads, in a new folder (a cache
    // of its own), take the same sample and write the same shards.
    go(&b, "2");
    assert_eq!(stub.count(), 2 * judged, "the same sample again");
    same_shards(
        &shard_files(Path::new(&a), &["kept", "rejected", "metrics"]),
        &shard_files(Path::new(&b), &["kept", "rejected", "metrics"]),
        "with two threads",
    );
    // The judged records train the classifier; the unsampled are left out.
    let model = out("llm.json");
    let kept = format!("{a}/kept");
    let rejected = format!("{a}/rejected");
    let o = run(
        &[
            "train",
            &kept,
            &rejected,
            "--label",
            "rule",
            "--label-missing",
            "kept",
            "--ignore-label",
            "llm/sample,llm/error",
            "--text",
            "prompt,response",
            "-o",
            &model,
        ],
        &stub.url,
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let said = String::from_utf8_lossy(&o.stdout).into_owned();
    let labelled: usize = said
        .lines()
        .find(|l| l.starts_with("records per label:"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|w| w.split_once('=').and_then(|(_, n)| n.parse::<usize>().ok()))
        .sum();
    assert_eq!(labelled, judged, "{said}");
    assert!(
        said.contains("kept=") && said.contains("llm/quality=") && !said.contains("llm/sample"),
        "{said}"
    );
    assert!(Path::new(&model).exists());
    // Another sample rate, or another template, measures differently:
    // `apply` asks for a new run (which asks the model only what is new).
    edit_llm_toml(&rules, &[("rate = 0.1", "rate = 0.2")]);
    let o = run(&["apply", &a, "--rules", &rules, "--out", &out("c")], &stub.url, None);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("llm/quality measures differently") && e.contains("llm/sample"),
        "{e}"
    );
}
