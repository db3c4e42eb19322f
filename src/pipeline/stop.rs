//! Stopping a run cleanly on SIGINT or SIGTERM. The signal handler only sets
//! a flag; the writing end of phase 1 checks it between batches, and the run
//! checks it again before the dedup decision and before its reports. A stopped
//! run removes its staging and its partial tables, so no file under `OUT`
//! looks finished, and exits 130 with one line saying so.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::error::{Error, Result};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn flag() -> &'static Arc<AtomicBool> {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Makes SIGINT and SIGTERM request a stop instead of killing the process.
pub fn install() -> Result<()> {
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, flag().clone())
            .map_err(|e| Error::Run(format!("cannot handle signal {sig}: {e}")))?;
    }
    Ok(())
}

/// Asks the run to stop (what the signal handler does; for tests).
pub fn request() {
    flag().store(true, Ordering::SeqCst);
}

/// Fails with [`Error::Stopped`] once a stop was requested.
pub fn check() -> Result<()> {
    if flag().load(Ordering::Relaxed) {
        Err(Error::Stopped("stopped by a signal before the run finished".into()))
    } else {
        Ok(())
    }
}
