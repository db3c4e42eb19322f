//! The model stage's answers, kept on disk in the output folder
//! (`OUT/llm-cache/<writer>.jsonl`, one JSON line per answer) so that a
//! rerun, a run resumed after a crash or `apply` asks nothing twice. Each
//! writer (a local run, a task of a distributed run) appends to its own
//! file; every file of the folder is read at the start. A line cut by a
//! kill is skipped. `--overwrite` leaves the folder alone.
//!
//! Keys are 128-bit hashes of the model, the sampling settings and the whole
//! prompt (template and record text), so a changed template, model or record
//! is asked again. In memory: the answer's text and two counts per key
//! (about 100 bytes plus the answer).

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde_json::{json, Value};

use super::client::Completion;
use crate::error::{Error, Result};

/// The folder of the cache under a run's output folder.
pub const DIR: &str = "llm-cache";

/// Answers by key, and the file new ones are appended to.
pub struct Cache {
    map: RwLock<HashMap<u128, Arc<Completion>>>,
    file: Mutex<Option<(PathBuf, BufWriter<std::fs::File>)>>,
}

impl Cache {
    /// A cache in memory only.
    pub fn in_memory() -> Cache {
        Cache {
            map: RwLock::new(HashMap::new()),
            file: Mutex::new(None),
        }
    }

    /// Reads every answer under `dir` and appends new ones to `dir/<name>.jsonl`.
    pub fn open(dir: &Path, name: &str) -> Result<Cache> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let mut map = HashMap::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        files.sort();
        for path in &files {
            let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            for line in std::io::BufReader::new(f).lines() {
                let line = line.map_err(|e| Error::io(path, e))?;
                if let Some((k, c)) = parse_line(&line) {
                    map.insert(k, Arc::new(c));
                }
            }
        }
        let path = dir.join(format!("{name}.jsonl"));
        // A line a kill cut short is ended, so the next one starts afresh.
        let cut = std::fs::read(&path).is_ok_and(|b| b.last().is_some_and(|&c| c != b'\n'));
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let mut w = BufWriter::new(f);
        if cut {
            w.write_all(b"\n").map_err(|e| Error::io(&path, e))?;
        }
        Ok(Cache {
            map: RwLock::new(map),
            file: Mutex::new(Some((path, w))),
        })
    }

    /// The answer stored under `key`.
    pub fn get(&self, key: u128) -> Option<Arc<Completion>> {
        self.map.read().ok()?.get(&key).cloned()
    }

    /// Stores an answer (written at the next [`Cache::flush`]).
    pub fn put(&self, key: u128, c: Completion) -> Result<()> {
        if let Ok(mut f) = self.file.lock() {
            if let Some((path, w)) = f.as_mut() {
                let line = json!({
                    "key": format!("{key:032x}"),
                    "content": c.content,
                    "tokens_in": c.tokens_in,
                    "tokens_out": c.tokens_out,
                });
                writeln!(w, "{line}").map_err(|e| Error::io(&*path, e))?;
            }
        }
        if let Ok(mut m) = self.map.write() {
            m.insert(key, Arc::new(c));
        }
        Ok(())
    }

    /// Writes what was stored to disk.
    pub fn flush(&self) -> Result<()> {
        if let Ok(mut f) = self.file.lock() {
            if let Some((path, w)) = f.as_mut() {
                w.flush().map_err(|e| Error::io(&*path, e))?;
            }
        }
        Ok(())
    }

    /// How many answers it holds.
    pub fn len(&self) -> usize {
        self.map.read().map_or(0, |m| m.len())
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn parse_line(line: &str) -> Option<(u128, Completion)> {
    let v: Value = serde_json::from_str(line).ok()?;
    let key = u128::from_str_radix(v.get("key")?.as_str()?, 16).ok()?;
    Some((
        key,
        Completion {
            content: v.get("content")?.as_str()?.to_string(),
            tokens_in: v.get("tokens_in").and_then(Value::as_u64).unwrap_or(0),
            tokens_out: v.get("tokens_out").and_then(Value::as_u64).unwrap_or(0),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_survive_a_reopen_and_a_line_cut_by_a_kill() {
        let dir = tempfile::tempdir().expect("dir");
        let c = |s: &str| Completion {
            content: s.into(),
            tokens_in: 3,
            tokens_out: 2,
        };
        {
            let cache = Cache::open(dir.path(), "run").expect("open");
            cache.put(1, c("{\"score\": 5}")).expect("put");
            cache.flush().expect("flush");
        }
        // A kill in the middle of a line.
        let path = dir.path().join("run.jsonl");
        let mut bytes = std::fs::read(&path).expect("read");
        bytes.extend_from_slice(b"{\"key\": \"00");
        std::fs::write(&path, bytes).expect("write");
        let cache = Cache::open(dir.path(), "run").expect("reopen");
        assert_eq!(cache.get(1).map(|a| a.content.clone()), Some("{\"score\": 5}".into()));
        cache.put(2, c("two")).expect("put");
        cache.flush().expect("flush");
        let again = Cache::open(dir.path(), "task-00001").expect("other writer");
        assert_eq!(again.len(), 2);
        assert_eq!(again.get(2).map(|a| a.tokens_in), Some(3));
    }
}
