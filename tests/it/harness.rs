//! A tiny harness: run the `curate` binary in a temp folder and read its outputs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::{Array, RecordBatch, StringArray};
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

/// Every batch of every shard in `dir`, in shard order.
pub fn read_dir_batches(dir: &Path) -> Vec<RecordBatch> {
    let mut shards: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("shard folder exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
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
