//! One writer per output folder: `OUT/.lock` holds the pid and host of the
//! run writing there.
//!
//! A run creates the file exclusively before it touches anything else in the
//! folder and removes it when it ends, whether it succeeded or failed. A
//! second run on the same folder fails at once and names the first. A lock
//! left by a process that is gone (killed, out of memory, the machine
//! restarted) is taken over: on the same host when no process has its pid
//! (`/proc/<pid>`), never for another host's lock (the folder may be on a
//! shared file system; remove the file by hand once that run is known dead).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The lock file's name inside the output folder.
pub const LOCK_FILE: &str = ".lock";

/// A held lock; dropping it removes the file.
#[derive(Debug)]
pub struct OutLock {
    path: PathBuf,
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Whether a process with `pid` runs on this host.
fn alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

impl OutLock {
    /// Takes the lock of `out` (created if missing).
    pub fn acquire(out: &Path) -> Result<OutLock> {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let path = out.join(LOCK_FILE);
        let me = format!("{} {}\n", std::process::id(), host());
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(me.as_bytes()).map_err(|e| Error::io(&path, e))?;
                    return Ok(OutLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let held = std::fs::read_to_string(&path).unwrap_or_default();
                    let mut parts = held.split_whitespace();
                    let pid = parts.next().and_then(|p| p.parse::<u32>().ok());
                    let their_host = parts.next().unwrap_or("").to_string();
                    let stale = pid.is_some_and(|p| their_host == host() && !alive(p)) || held.trim().is_empty();
                    if !stale {
                        return Err(Error::Usage(format!(
                            "{}: another curate run (pid {}{}) is writing to this folder; wait for it to end, \
                             or remove {} if that run is gone",
                            out.display(),
                            pid.map_or("?".to_string(), |p| p.to_string()),
                            if their_host.is_empty() {
                                String::new()
                            } else {
                                format!(" on {their_host}")
                            },
                            path.display()
                        )));
                    }
                    // The process that held it is gone: take it over.
                    std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Err(Error::Run(format!("{}: could not take the lock", path.display())))
    }
}

impl Drop for OutLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_and_a_dead_ones_is_taken_over() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let held = OutLock::acquire(&out).expect("first lock");
        let err = OutLock::acquire(&out).expect_err("second lock");
        assert!(err.to_string().contains("another curate run"), "{err}");
        drop(held);
        assert!(!out.join(LOCK_FILE).exists());
        // A lock of a pid that no process has on this host.
        std::fs::write(out.join(LOCK_FILE), format!("4194303999 {}\n", host())).expect("write");
        let again = OutLock::acquire(&out).expect("stale lock taken over");
        drop(again);
        // Another host's lock is left alone.
        std::fs::write(out.join(LOCK_FILE), "1 some-other-host\n").expect("write");
        assert!(OutLock::acquire(&out).is_err());
    }
}
