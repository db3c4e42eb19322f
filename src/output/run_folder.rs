//! The run folder's files that must never be seen half-written: reports,
//! markers and plans go to a temporary name and are renamed into place.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The marker written last: a folder without it holds no complete run.
pub const SUCCESS_MARKER: &str = "_SUCCESS";

/// Writes `value` as JSON at `path` atomically (a temporary name, then a rename).
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Run(format!("cannot encode {}: {e}", path.display())))?;
    write_atomic(path, (text + "\n").as_bytes())
}

/// Writes `bytes` to `path` so that `path` is never partial: to `path.tmp`,
/// synced, then renamed over it. A failed write (a full disk) removes the
/// temporary file and names it in the error; `path` keeps what it had.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Reads a JSON file written by [`write_json_atomic`].
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Run(format!("{}: {e}", path.display())))
}
