//! A tiny harness: run the `curate` binary in a temp folder and read its outputs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use std::collections::BTreeMap;

use arrow::array::{Array, ListArray, RecordBatch, StringArray, StructArray, UInt32Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture path.
pub fn fixture(rel: &str) -> String {
    root().join("fixtures").join(rel).display().to_string()
}

/// The shared corpora folder, when this machine has it.
pub fn corpora() -> Option<PathBuf> {
    let p = root().join("../shared/corpora");
    p.is_dir().then_some(p)
}

/// Runs `curate` with `args`.
pub fn curate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_curate"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("curate binary runs")
}

/// Runs `curate` and asserts success, returning stderr.
pub fn curate_ok(args: &[&str]) -> String {
    let out = curate(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "curate {args:?} failed ({:?}):\n{stderr}",
        out.status.code()
    );
    stderr
}

/// Runs `curate` and asserts success, returning stdout.
pub fn curate_stdout(args: &[&str]) -> String {
    let o = curate(args);
    assert!(
        o.status.success(),
        "curate {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every batch of every shard in `dir` (or of the one file `dir`), in
/// shard order.
pub fn read_dir_batches(dir: &Path) -> Vec<RecordBatch> {
    let mut shards: Vec<PathBuf> = if dir.is_file() {
        vec![dir.to_path_buf()]
    } else {
        std::fs::read_dir(dir)
            .expect("shard folder exists")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect()
    };
    shards.sort();
    let mut out = Vec::new();
    for s in shards {
        let f = std::fs::File::open(&s).expect("shard opens");
        let r = ParquetRecordBatchReaderBuilder::try_new(f)
            .expect("valid parquet")
            .build()
            .expect("reader");
        for b in r {
            out.push(b.expect("batch reads"));
        }
    }
    out
}

/// Number of rows in a shard folder.
pub fn rows(dir: &Path) -> usize {
    read_dir_batches(dir).iter().map(|b| b.num_rows()).sum()
}

/// All values of a string column across a shard folder.
pub fn strings(dir: &Path, column: &str) -> Vec<String> {
    let mut out = Vec::new();
    for b in read_dir_batches(dir) {
        let col = b
            .column_by_name(column)
            .unwrap_or_else(|| panic!("column {column} exists"));
        let s = col.as_any().downcast_ref::<StringArray>().expect("string column");
        for i in 0..s.len() {
            out.push(if s.is_null(i) {
                String::new()
            } else {
                s.value(i).to_string()
            });
        }
    }
    out
}

/// All values of a f64 column across a shard folder (or file), `None` for nulls.
pub fn floats(dir: &Path, column: &str) -> Vec<Option<f64>> {
    let mut out = Vec::new();
    for b in read_dir_batches(dir) {
        let col = b
            .column_by_name(column)
            .unwrap_or_else(|| panic!("column {column} exists"));
        let f = col
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .expect("f64 column");
        out.extend((0..f.len()).map(|i| (!f.is_null(i)).then(|| f.value(i))));
    }
    out
}

/// The run report as JSON.
pub fn report(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("report.json")).expect("report.json exists");
    serde_json::from_str(&text).expect("report.json parses")
}

/// Asserts `input = kept + rejected + malformed` in the report, in total and per file,
/// and that the shards hold exactly those counts.
pub fn assert_accounting(out: &Path) -> serde_json::Value {
    let r = report(out);
    let t = &r["totals"];
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} is a number"));
    assert_eq!(
        n(t, "input"),
        n(t, "kept") + n(t, "rejected") + n(t, "malformed"),
        "totals balance"
    );
    for f in r["files"].as_array().expect("files") {
        assert_eq!(
            n(f, "input"),
            n(f, "kept") + n(f, "rejected") + n(f, "malformed"),
            "file {f} balances"
        );
    }
    assert_eq!(rows(&out.join("kept")) as u64, n(t, "kept"));
    assert_eq!(rows(&out.join("rejected")) as u64, n(t, "rejected"));
    assert_eq!(rows(&out.join("malformed")) as u64, n(t, "malformed"));
    r
}

/// The bytes of every shard under `subs` of a run's output folder, by
/// `sub/file` name in order (folders that do not exist are skipped).
pub fn shard_files(out: &Path, subs: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut all = Vec::new();
    for sub in subs {
        let Ok(entries) = std::fs::read_dir(out.join(sub)) else {
            continue;
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            all.push((
                format!("{sub}/{}", f.file_name().expect("name").to_string_lossy()),
                std::fs::read(&f).expect("read"),
            ));
        }
    }
    all
}

/// One output row, as far as these tests need it.
#[derive(Debug)]
pub struct Row {
    pub messages: Vec<String>,
    pub pii: Vec<(u32, u32, u32, String)>,
    pub tags: Vec<String>,
    pub raw: String,
    pub rule: Option<String>,
}

fn strings_of(list: &ListArray, i: usize) -> Vec<String> {
    let v = list.value(i);
    let s = v.as_any().downcast_ref::<StringArray>().expect("string list");
    (0..s.len()).map(|j| s.value(j).to_string()).collect()
}

/// Rows of a shard folder by id.
pub fn rows_by_id(dir: &Path) -> BTreeMap<String, Row> {
    let mut out = BTreeMap::new();
    for b in read_dir_batches(dir) {
        let col = |name: &str| {
            b.column_by_name(name)
                .unwrap_or_else(|| panic!("column {name}"))
                .clone()
        };
        let ids = col("id");
        let ids = ids.as_any().downcast_ref::<StringArray>().expect("id");
        let raw = col("raw");
        let raw = raw.as_any().downcast_ref::<StringArray>().expect("raw");
        let msgs = col("messages");
        let msgs = msgs.as_any().downcast_ref::<ListArray>().expect("messages");
        let pii = col("pii");
        let pii = pii.as_any().downcast_ref::<ListArray>().expect("pii");
        let tags = col("tags");
        let tags = tags.as_any().downcast_ref::<ListArray>().expect("tags");
        let rule = b.column_by_name("rule").cloned();
        for i in 0..b.num_rows() {
            let m = msgs.value(i);
            let m = m.as_any().downcast_ref::<StructArray>().expect("message structs");
            let content = m.column(1).as_any().downcast_ref::<StringArray>().expect("content");
            let p = pii.value(i);
            let p = p.as_any().downcast_ref::<StructArray>().expect("pii structs");
            let u = |k: usize| p.column(k).as_any().downcast_ref::<UInt32Array>().expect("u32").clone();
            let (turn, start, end) = (u(0), u(1), u(2));
            let kind = p.column(3).as_any().downcast_ref::<StringArray>().expect("type");
            out.insert(
                ids.value(i).to_string(),
                Row {
                    messages: (0..content.len()).map(|j| content.value(j).to_string()).collect(),
                    pii: (0..p.len())
                        .map(|j| (turn.value(j), start.value(j), end.value(j), kind.value(j).to_string()))
                        .collect(),
                    tags: strings_of(tags, i),
                    raw: raw.value(i).to_string(),
                    rule: rule.as_ref().map(|r| {
                        r.as_any()
                            .downcast_ref::<StringArray>()
                            .expect("rule")
                            .value(i)
                            .to_string()
                    }),
                },
            );
        }
    }
    out
}

/// Every file under `dir`, in path order (none if `dir` is absent).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut out = Vec::new();
    for p in entries {
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Turns `quality/model-identity` off in a rules folder written by
/// `curate init-rules`: the FastChat identity conversations are the
/// near-duplicates several dedup tests need, and that rule drops them first.
pub fn identity_off(rules: &Path) {
    let path = rules.join("quality/instruction.toml");
    let text = std::fs::read_to_string(&path).expect("quality/instruction.toml");
    let table = "[model-identity]\n";
    assert!(text.contains(table), "no [model-identity] table");
    std::fs::write(&path, text.replace(table, &format!("{table}enabled = false\n"))).expect("write");
}

/// Copies a folder and everything under it.
pub fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read folder").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_folder(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// Writes `lines` to `dir/in.jsonl` and runs `curate run` on it into
/// `dir/out` with `-q` and `extra`; returns the output folder.
pub fn run_lines(dir: &Path, lines: &str, extra: &[&str]) -> PathBuf {
    let input = dir.join("in.jsonl");
    std::fs::write(&input, lines).expect("write input");
    let out = dir.join("out");
    let mut args = vec![
        "run",
        input.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "-q",
    ];
    args.extend(extra);
    curate_ok(&args);
    out
}
