//! Expanding the command line's inputs into a sorted list of files.
//!
//! The list is sorted by each file's key (its path relative to the folder
//! holding every input) and de-duplicated, so the same files listed in
//! another order, or through other paths, give the same run.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    /// JSON Lines by name (`.jsonl`, `.ndjson`), maybe gzip/zstd compressed.
    JsonLines,
    /// JSON Lines or a JSON array (found by content), maybe gzip/zstd compressed.
    Json,
    /// Apache Parquet.
    Parquet,
}

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// Where it is.
    pub path: PathBuf,
    /// How it is shown in outputs (`source_file`): the path as the user gave it.
    pub label: String,
    /// Its name in record keys: the path relative to the folder holding
    /// every input of the run (`/`-separated), the same however the paths
    /// were typed ([`assign_keys`]).
    pub key: String,
    /// How it is read.
    pub kind: InputKind,
}

/// Removes the files that lie inside `out` (after resolving links), so that
/// an output folder inside an input folder is never read as input.
pub fn exclude_under(files: &mut Vec<InputFile>, out: &Path) {
    let Ok(out) = std::fs::canonicalize(out) else {
        return;
    };
    files.retain(|f| std::fs::canonicalize(&f.path).map_or(true, |p| !p.starts_with(&out)));
}

/// Gives each file its [`InputFile::key`]: its path relative to the deepest
/// folder that holds every file (after resolving `.`, `..` and symbolic
/// links), so that `data/a.jsonl`, `./data/a.jsonl` and `/abs/data/a.jsonl`
/// get the same key and two files never share one. A single file's key is
/// its name. `prefix` goes before every key (reference corpora are keyed
/// apart from the inputs).
pub fn assign_keys(files: &mut [InputFile], prefix: &str) {
    let full: Vec<PathBuf> = files
        .iter()
        .map(|f| {
            std::fs::canonicalize(&f.path)
                .or_else(|_| std::path::absolute(&f.path))
                .unwrap_or_else(|_| f.path.clone())
        })
        .collect();
    let mut root: Option<PathBuf> = None;
    for p in &full {
        let parent = p.parent().map(Path::to_path_buf).unwrap_or_default();
        root = Some(match root {
            None => parent,
            Some(r) => r
                .components()
                .zip(parent.components())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    let root = root.unwrap_or_default();
    for (f, p) in files.iter_mut().zip(&full) {
        let rel = p.strip_prefix(&root).unwrap_or(p);
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        f.key = format!("{prefix}{}", parts.join("/"));
    }
}

const JSON_EXTS: &[&str] = &[
    ".jsonl",
    ".json",
    ".ndjson",
    ".jsonl.gz",
    ".json.gz",
    ".ndjson.gz",
    ".jsonl.zst",
    ".json.zst",
    ".ndjson.zst",
    ".jsonl.zstd",
    ".json.zstd",
];

fn kind_by_name(path: &Path) -> Option<InputKind> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let base = name
        .trim_end_matches(".gz")
        .trim_end_matches(".zst")
        .trim_end_matches(".zstd");
    if name.ends_with(".parquet") || name.ends_with(".pq") {
        Some(InputKind::Parquet)
    } else if base.ends_with(".jsonl") || base.ends_with(".ndjson") {
        Some(InputKind::JsonLines)
    } else if JSON_EXTS.iter().any(|e| name.ends_with(e)) {
        Some(InputKind::Json)
    } else {
        None
    }
}

/// The kind of a file named explicitly: by extension, else by content.
fn kind_of_file(path: &Path) -> InputKind {
    if let Some(k) = kind_by_name(path) {
        return k;
    }
    let mut head = [0u8; 4];
    let is_parquet = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && &head == b"PAR1";
    if is_parquet {
        InputKind::Parquet
    } else {
        InputKind::Json
    }
}

fn walk(dir: &Path, out: &mut Vec<InputFile>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let p = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else if let Some(kind) = kind_by_name(&p) {
            out.push(InputFile {
                label: p.display().to_string(),
                key: String::new(),
                path: p,
                kind,
            });
        }
    }
    Ok(())
}

/// Expands files, folders (recursed; files with a known extension) and glob
/// patterns. An input that matches nothing is an error.
pub fn expand_inputs(args: &[String]) -> Result<Vec<InputFile>, Error> {
    let mut out = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if path.is_dir() {
            let before = out.len();
            walk(path, &mut out)?;
            if out.len() == before {
                return Err(Error::Usage(format!(
                    "{arg}: folder holds no .jsonl/.json/.parquet files (also .gz/.zst)"
                )));
            }
        } else if path.is_file() {
            out.push(InputFile {
                path: path.to_path_buf(),
                label: arg.clone(),
                key: String::new(),
                kind: kind_of_file(path),
            });
        } else if arg.contains(['*', '?', '[']) {
            let paths = glob::glob(arg).map_err(|e| Error::Usage(format!("{arg}: bad glob pattern: {e}")))?;
            let before = out.len();
            for p in paths.flatten() {
                if p.is_dir() {
                    walk(&p, &mut out)?;
                } else {
                    out.push(InputFile {
                        label: p.display().to_string(),
                        key: String::new(),
                        kind: kind_of_file(&p),
                        path: p,
                    });
                }
            }
            if out.len() == before {
                return Err(Error::Usage(format!("{arg}: pattern matches no file")));
            }
        } else {
            return Err(Error::Usage(format!("{arg}: no such file or folder")));
        }
    }
    // Files in the order of their keys, so that the order (and with it
    // every survivor and shard) does not depend on how the paths were
    // typed; one file named twice is read once.
    assign_keys(&mut out, "");
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out.dedup_by(|a, b| a.key == b.key);
    Ok(out)
}
