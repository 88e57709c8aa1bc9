//! Ctrl-C (or SIGTERM, SIGHUP) in the middle of a download: the
//! temporary files of downloads in progress are removed, then ftpc ends as
//! the signal would have ended it. Nothing is left behind but what was
//! there before.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Temporary files of downloads in progress, in every thread (`mirror
/// --parallel` runs several).
static IN_PROGRESS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn in_progress() -> MutexGuard<'static, Vec<PathBuf>> {
    IN_PROGRESS.lock().unwrap_or_else(|e| e.into_inner())
}

/// `path` is a download's temporary file from now on.
pub(crate) fn watch(path: &Path) {
    in_progress().push(path.to_path_buf());
}

/// `path` was put in place or removed.
pub(crate) fn forget(path: &Path) {
    in_progress().retain(|p| p != path);
}

/// Starts the thread that cleans up when a signal comes.
pub(crate) fn clean_up_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            for path in in_progress().drain(..) {
                let _ = std::fs::remove_file(path);
            }
            // Ended by the signal, as the shell expects (status 128 + n).
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            std::process::exit(128 + signal);
        }
    });
}
