//! Local files of downloads: never lose what was there.

use crate::failure::{Failure, code, failure};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A download written beside its target under a temporary name
/// (`.<name>.ftpc-<pid>.part`), put in place only once complete: a
/// download that fails (no such file, a directory, a broken connection)
/// leaves the target as it was. Dropped unfinished, the temporary file
/// goes; so it does when ftpc is interrupted ([`crate::interrupt`]).
///
/// A target that is a symbolic link is written through: the temporary
/// file goes beside the file it points to, which is replaced, not the
/// link. A target that is not a regular file (`/dev/null`, a FIFO, a
/// terminal) is written to directly: renaming over it would replace the
/// device with a file.
#[derive(Debug)]
pub(crate) struct Download {
    target: PathBuf,
    /// Where the bytes go until the download completes; `None`: into the
    /// target itself.
    temporary: Option<PathBuf>,
    file: File,
    no_clobber: bool,
    /// Put in place: nothing to remove.
    done: bool,
}

fn local_failure(path: &Path, error: &std::io::Error) -> Failure {
    failure(code::TRANSFER, format!("{}: {error}", path.display()))
}

impl Download {
    /// Starts a download into `target`. With `no_clobber`, an existing
    /// target is an error, now and when the download completes.
    pub(crate) fn create(target: &Path, no_clobber: bool) -> Result<Download, Failure> {
        match std::fs::metadata(target) {
            Ok(meta) if meta.is_dir() => {
                return Err(failure(
                    code::USAGE,
                    format!("{}: is a directory", target.display()),
                ));
            }
            Ok(_) if no_clobber => {
                return Err(failure(
                    code::TRANSFER,
                    format!("{}: exists; not replaced (--no-clobber)", target.display()),
                ));
            }
            Ok(meta) if !meta.is_file() => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(target)
                    .map_err(|e| local_failure(target, &e))?;
                return Ok(Download {
                    target: target.to_path_buf(),
                    temporary: None,
                    file,
                    no_clobber,
                    done: false,
                });
            }
            _ => {}
        }
        // Through a symbolic link to the file it names.
        let resolved = match std::fs::symlink_metadata(target) {
            Ok(meta) if meta.file_type().is_symlink() => {
                std::fs::canonicalize(target).map_err(|e| local_failure(target, &e))?
            }
            _ => target.to_path_buf(),
        };
        let target = resolved.as_path();
        let name = target
            .file_name()
            .ok_or_else(|| failure(code::USAGE, format!("{}: no file name", target.display())))?;
        let temporary = target.with_file_name(format!(
            ".{}.ftpc-{}.part",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = File::create(&temporary).map_err(|e| local_failure(&temporary, &e))?;
        crate::interrupt::watch(&temporary);
        Ok(Download {
            target: target.to_path_buf(),
            temporary: Some(temporary),
            file,
            no_clobber,
            done: false,
        })
    }

    /// The bytes written so far: where a retry goes on.
    pub(crate) fn len(&self) -> u64 {
        self.file.metadata().map_or(0, |m| m.len())
    }

    /// Where the bytes go.
    pub(crate) fn sink(&mut self) -> &mut dyn Write {
        &mut self.file
    }

    /// The download is complete: flushed to disk and put in place.
    pub(crate) fn finish(mut self) -> Result<(), Failure> {
        let Some(temporary) = self.temporary.clone() else {
            // Written to directly: a device's "sync" may not exist.
            self.file
                .flush()
                .map_err(|e| local_failure(&self.target, &e))?;
            self.done = true;
            return Ok(());
        };
        self.file
            .sync_all()
            .map_err(|e| local_failure(&temporary, &e))?;
        if self.no_clobber {
            // A link fails if the target appeared meanwhile.
            std::fs::hard_link(&temporary, &self.target).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    failure(
                        code::TRANSFER,
                        format!(
                            "{}: exists; not replaced (--no-clobber)",
                            self.target.display()
                        ),
                    )
                } else {
                    local_failure(&self.target, &e)
                }
            })?;
            let _ = std::fs::remove_file(&temporary);
        } else {
            std::fs::rename(&temporary, &self.target)
                .map_err(|e| local_failure(&self.target, &e))?;
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for Download {
    fn drop(&mut self) {
        if let Some(temporary) = &self.temporary {
            if !self.done {
                let _ = std::fs::remove_file(temporary);
            }
            crate::interrupt::forget(temporary);
        }
    }
}

/// Where a resumed download (`get -c`) starts: the local file's length,
/// checked against the remote size when the server told it. `None`: the
/// local file is complete already.
pub(crate) fn resume_offset(
    target: &Path,
    remote_size: Option<u64>,
) -> Result<Option<u64>, Failure> {
    let local = match std::fs::metadata(target) {
        Ok(meta) if meta.is_dir() => {
            return Err(failure(
                code::USAGE,
                format!("{}: is a directory", target.display()),
            ));
        }
        Ok(meta) => meta.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(local_failure(target, &e)),
    };
    match remote_size {
        Some(remote) if local > remote => Err(failure(
            code::TRANSFER,
            format!(
                "{}: the local file ({local} bytes) is longer than the remote one \
                 ({remote} bytes); not resumed",
                target.display()
            ),
        )),
        Some(remote) if local == remote => Ok(None),
        _ => Ok(Some(local)),
    }
}
