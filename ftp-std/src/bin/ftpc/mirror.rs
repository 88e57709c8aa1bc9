//! `ftpc mirror`: a remote tree into a local directory, or (`-R`) a local
//! tree onto the server, as lftp's `mirror` does: only what changed with
//! `--only-newer`, what the source no longer has removed with `--delete`,
//! several sessions at once with `--parallel`.

use crate::failure::{Failure, code, failure};
use crate::local::Download;
use crate::remote::{make_dirs, remote_dir_exists};
use ftp_proto::client::StoreMode;
use ftp_proto::listing::parse::EntryKind;
use ftp_std::{Client, Error};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// Which way the files go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Server to local directory.
    Download,
    /// Local directory to server (`-R`).
    Upload,
}

/// What `mirror` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct MirrorOptions {
    pub(crate) direction: Direction,
    pub(crate) only_newer: bool,
    pub(crate) delete: bool,
    pub(crate) dry_run: bool,
    pub(crate) parallel: usize,
}

/// A file of one side: its size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    size: Option<u64>,
    modified: Option<SystemTime>,
}

/// One side's tree: files and directories by path relative to its root
/// (bytes, `/`-separated).
#[derive(Debug, Default)]
struct Tree {
    files: BTreeMap<Vec<u8>, Stat>,
    dirs: BTreeSet<Vec<u8>>,
}

/// How deep a tree is walked, and how many entries at most: a server that
/// lists a directory inside itself must not walk for ever.
const MAX_DEPTH: usize = 64;
const MAX_ENTRIES: usize = 1_000_000;

/// `base/name`, with one slash between them.
pub(crate) fn join(base: &[u8], name: &[u8]) -> Vec<u8> {
    if base.is_empty() {
        return name.to_vec();
    }
    let mut path = base.to_vec();
    if !path.ends_with(b"/") {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

fn local_path(root: &Path, relative: &[u8]) -> PathBuf {
    if relative.is_empty() {
        return root.to_path_buf();
    }
    root.join(OsStr::from_bytes(relative))
}

fn show(path: &[u8]) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// Walks the remote tree under `root`. Symbolic links are not followed
/// (as lftp's mirror does by default); they are reported and skipped.
fn remote_tree(client: &mut Client, root: &[u8], precise_times: bool) -> Result<Tree, Error> {
    let mut tree = Tree::default();
    let mut pending: VecDeque<(Vec<u8>, usize)> = VecDeque::from([(Vec::new(), 0)]);
    let mut seen = 0;
    while let Some((relative, depth)) = pending.pop_front() {
        let dir = join(root, &relative);
        let listing = client.list((!dir.is_empty()).then_some(&dir[..]))?;
        for entry in listing.entries {
            seen += 1;
            let name = entry.name.as_ref();
            if name == b"." || name == b".." || name.contains(&b'/') || name.is_empty() {
                continue;
            }
            let path = join(&relative, name);
            match entry.kind {
                EntryKind::Directory if depth < MAX_DEPTH && seen < MAX_ENTRIES => {
                    tree.dirs.insert(path.clone());
                    pending.push_back((path, depth + 1));
                }
                EntryKind::File => {
                    let modified = if precise_times {
                        entry.modified
                    } else {
                        // LIST times are to the minute at best: MDTM,
                        // where the server has it, is to the second.
                        client.mdtm(&join(root, &path)).ok().or(entry.modified)
                    };
                    tree.files.insert(
                        path,
                        Stat {
                            size: entry.size,
                            modified,
                        },
                    );
                }
                _ => eprintln!(
                    "ftpc: mirror: {}: not a file or directory; skipped",
                    show(&path)
                ),
            }
        }
    }
    Ok(tree)
}

/// Walks the local tree under `root`, symbolic links not followed.
fn local_tree(root: &Path) -> std::io::Result<Tree> {
    let mut tree = Tree::default();
    let mut pending: Vec<(Vec<u8>, usize)> = vec![(Vec::new(), 0)];
    while let Some((relative, depth)) = pending.pop() {
        for entry in std::fs::read_dir(local_path(root, &relative))? {
            let entry = entry?;
            let name = entry.file_name();
            let path = join(&relative, name.as_bytes());
            let kind = entry.file_type()?;
            if kind.is_dir() && depth < MAX_DEPTH {
                tree.dirs.insert(path.clone());
                pending.push((path, depth + 1));
            } else if kind.is_file() {
                let meta = entry.metadata()?;
                tree.files.insert(
                    path,
                    Stat {
                        size: Some(meta.len()),
                        modified: meta.modified().ok(),
                    },
                );
            } else {
                eprintln!(
                    "ftpc: mirror: {}: not a file or directory; skipped",
                    show(&path)
                );
            }
        }
    }
    Ok(tree)
}

/// Whether `source` must be copied over `target` with `--only-newer`:
/// sizes differ, or the source is newer by more than `tolerance` (the
/// precision of the times compared).
fn changed(source: &Stat, target: Option<&Stat>, tolerance: Duration) -> bool {
    let Some(target) = target else {
        return true;
    };
    if source.size != target.size {
        return true;
    }
    match (source.modified, target.modified) {
        (Some(source), Some(target)) => source > target + tolerance,
        // No time to compare: the same size is taken for the same file.
        _ => false,
    }
}

/// What the mirror did, for the summary line.
#[derive(Debug, Default)]
struct Tally {
    transferred: usize,
    bytes: u64,
    unchanged: usize,
    deleted: usize,
    failed: usize,
    dirs_made: usize,
}

/// A file to copy: its path relative to both roots, and the source's
/// modification time (set on the copy).
#[derive(Debug, Clone)]
struct Job {
    path: Vec<u8>,
    modified: Option<SystemTime>,
}

/// Copies one file; the bytes moved.
fn copy_one(
    client: &mut Client,
    options: &MirrorOptions,
    remote_root: &[u8],
    local_root: &Path,
    job: &Job,
) -> Result<u64, String> {
    let remote = join(remote_root, &job.path);
    let local = local_path(local_root, &job.path);
    match options.direction {
        Direction::Download => {
            let mut download = Download::create(&local, false).map_err(|f| f.message)?;
            let bytes = client
                .retrieve(&remote, 0, download.sink())
                .map_err(|e| e.to_string())?;
            download.finish().map_err(|f| f.message)?;
            if let Some(modified) = job.modified {
                std::fs::File::options()
                    .write(true)
                    .open(&local)
                    .and_then(|f| f.set_modified(modified))
                    .map_err(|e| format!("{}: {e}", local.display()))?;
            }
            Ok(bytes)
        }
        Direction::Upload => {
            let mut file =
                std::fs::File::open(&local).map_err(|e| format!("{}: {e}", local.display()))?;
            let bytes = client
                .store(&remote, StoreMode::Replace, &mut file)
                .map_err(|e| e.to_string())?;
            if let (Some(modified), true) = (job.modified, client.features().mfmt) {
                client
                    .set_modified(&remote, modified)
                    .map_err(|e| e.to_string())?;
            }
            Ok(bytes)
        }
    }
}

/// Runs the mirror. `client` lists and deletes; `connect` opens the
/// sessions that transfer (`--parallel` of them).
pub(crate) fn mirror(
    client: &mut Client,
    connect: &(dyn Fn() -> Result<Client, Failure> + Sync),
    remote_root: &[u8],
    local_root: &Path,
    options: &MirrorOptions,
) -> Result<(), Failure> {
    let started = Instant::now();
    let remote_failure = |e: Error| failure(code::TRANSFER, format!("mirror: {e}"));
    let local_failure =
        |e: std::io::Error| failure(code::TRANSFER, format!("{}: {e}", local_root.display()));
    let features = client.features().clone();
    let precise = features.mlst || !features.mdtm;
    let tolerance = Duration::from_secs(if features.mlst || features.mdtm {
        1
    } else {
        60
    });

    if options.direction == Direction::Download && !local_root.exists() && !options.dry_run {
        std::fs::create_dir_all(local_root).map_err(local_failure)?;
    }
    if options.direction == Direction::Upload && !local_root.is_dir() {
        return Err(failure(
            code::USAGE,
            format!("{}: not a directory", local_root.display()),
        ));
    }
    // Some servers list a directory that is not there as empty (vsftpd),
    // others refuse with 501 (pyftpdlib): whether the remote root exists
    // is asked first. A download from a root that is not there is an
    // error (with --delete it would empty the local copy); an upload
    // creates it.
    let remote = if remote_dir_exists(client, remote_root).map_err(remote_failure)? {
        remote_tree(client, remote_root, precise).map_err(remote_failure)?
    } else if options.direction == Direction::Download {
        return Err(failure(
            code::NOT_FOUND,
            format!("mirror: {}: no such directory", show(remote_root)),
        ));
    } else {
        if !options.dry_run {
            make_dirs(client, remote_root).map_err(remote_failure)?;
        }
        Tree::default()
    };
    let local = if local_root.exists() {
        local_tree(local_root).map_err(local_failure)?
    } else {
        Tree::default()
    };
    let (source, target) = match options.direction {
        Direction::Download => (&remote, &local),
        Direction::Upload => (&local, &remote),
    };

    let mut tally = Tally::default();
    // Directories first, parents before children (the set is sorted).
    for dir in source.dirs.difference(&target.dirs) {
        if target.files.contains_key(dir) {
            eprintln!(
                "ftpc: mirror: {}: a file where a directory goes; skipped",
                show(dir)
            );
            continue;
        }
        if options.dry_run {
            println!("mkdir {}", show(dir));
        } else {
            let made = match options.direction {
                Direction::Download => {
                    std::fs::create_dir_all(local_path(local_root, dir)).map_err(|e| e.to_string())
                }
                Direction::Upload => client
                    .mkdir(&join(remote_root, dir))
                    .map(drop)
                    .map_err(|e| e.to_string()),
            };
            if let Err(why) = made {
                eprintln!("ftpc: mirror: mkdir {}: {why}", show(dir));
                tally.failed += 1;
                continue;
            }
        }
        tally.dirs_made += 1;
    }
    let mut jobs = VecDeque::new();
    let mut total = 0;
    for (path, stat) in &source.files {
        if options.only_newer && !changed(stat, target.files.get(path), tolerance) {
            tally.unchanged += 1;
            continue;
        }
        if target.dirs.contains(path) {
            eprintln!(
                "ftpc: mirror: {}: a directory where a file goes; skipped",
                show(path)
            );
            tally.failed += 1;
            continue;
        }
        total += stat.size.unwrap_or(0);
        jobs.push_back(Job {
            path: path.clone(),
            modified: stat.modified,
        });
    }
    let verb = match options.direction {
        Direction::Download => "get",
        Direction::Upload => "put",
    };
    if options.dry_run {
        for job in &jobs {
            println!("{verb} {}", show(&job.path));
        }
        tally.transferred = jobs.len();
        tally.bytes = total;
    } else {
        transfer_all(
            connect,
            options,
            remote_root,
            local_root,
            jobs,
            total,
            &mut tally,
        )?;
    }

    if options.delete {
        delete_extra(
            client,
            options,
            remote_root,
            local_root,
            source,
            target,
            &mut tally,
        );
    }
    let took = started.elapsed().as_secs_f64().max(0.001);
    let rate = tally.bytes as f64 / took;
    let would = if options.dry_run { " (dry run)" } else { "" };
    eprintln!(
        "ftpc: mirror{would}: {} files transferred ({} bytes in {took:.1} s, {}/s), {} unchanged, \
         {} deleted, {} directories made, {} failed",
        tally.transferred,
        tally.bytes,
        human(rate),
        tally.unchanged,
        tally.deleted,
        tally.dirs_made,
        tally.failed
    );
    if tally.failed > 0 {
        return Err(failure(
            code::TRANSFER,
            format!("mirror: {} failed", tally.failed),
        ));
    }
    Ok(())
}

/// `12.3 MiB` and the like.
fn human(bytes: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", units[unit])
}

/// The copies, on `options.parallel` sessions at once, each taking the
/// next file from a shared queue. A failed file is reported and counted;
/// the others go on.
fn transfer_all(
    connect: &(dyn Fn() -> Result<Client, Failure> + Sync),
    options: &MirrorOptions,
    remote_root: &[u8],
    local_root: &Path,
    jobs: VecDeque<Job>,
    total: u64,
    tally: &mut Tally,
) -> Result<(), Failure> {
    if jobs.is_empty() {
        return Ok(());
    }
    let workers = options.parallel.clamp(1, jobs.len());
    let queue = Mutex::new(jobs);
    let done = Mutex::new((0usize, 0u64, 0usize));
    let bar = crate::progress_bar(Some(total));
    let first_error: Mutex<Option<Failure>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let mut client = match connect() {
                    Ok(client) => client,
                    Err(error) => {
                        let mut first = first_error.lock().unwrap_or_else(|e| e.into_inner());
                        first.get_or_insert(error);
                        return;
                    }
                };
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                    let Some(job) = next else {
                        break;
                    };
                    let result = copy_one(&mut client, options, remote_root, local_root, &job);
                    let mut done = done.lock().unwrap_or_else(|e| e.into_inner());
                    match result {
                        Ok(bytes) => {
                            done.0 += 1;
                            done.1 += bytes;
                            if let Some(bar) = &bar {
                                bar.inc(bytes);
                            }
                        }
                        Err(why) => {
                            done.2 += 1;
                            let line = format!("ftpc: mirror: {}: {why}", show(&job.path));
                            match &bar {
                                Some(bar) => bar.println(line),
                                None => eprintln!("{line}"),
                            }
                        }
                    }
                }
                let _ = client.quit();
            });
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let (transferred, bytes, failed) = *done.lock().unwrap_or_else(|e| e.into_inner());
    tally.transferred += transferred;
    tally.bytes += bytes;
    tally.failed += failed;
    // No session could start at all: the mirror did nothing.
    if transferred == 0
        && failed == 0
        && let Some(error) = first_error.into_inner().unwrap_or_else(|e| e.into_inner())
    {
        return Err(error);
    }
    Ok(())
}

/// `--delete`: what the target has and the source does not; files first,
/// then directories, deepest first.
fn delete_extra(
    client: &mut Client,
    options: &MirrorOptions,
    remote_root: &[u8],
    local_root: &Path,
    source: &Tree,
    target: &Tree,
    tally: &mut Tally,
) {
    let files: Vec<&Vec<u8>> = target
        .files
        .keys()
        .filter(|p| !source.files.contains_key(*p))
        .collect();
    let mut dirs: Vec<&Vec<u8>> = target
        .dirs
        .iter()
        .filter(|p| !source.dirs.contains(*p))
        .collect();
    dirs.sort_by_key(|p| std::cmp::Reverse(p.iter().filter(|&&b| b == b'/').count()));
    for (path, is_dir) in files
        .into_iter()
        .map(|p| (p, false))
        .chain(dirs.into_iter().map(|p| (p, true)))
    {
        if options.dry_run {
            println!("{} {}", if is_dir { "rmdir" } else { "rm" }, show(path));
            tally.deleted += 1;
            continue;
        }
        let removed = match (options.direction, is_dir) {
            (Direction::Download, false) => {
                std::fs::remove_file(local_path(local_root, path)).map_err(|e| e.to_string())
            }
            (Direction::Download, true) => {
                std::fs::remove_dir(local_path(local_root, path)).map_err(|e| e.to_string())
            }
            (Direction::Upload, false) => client
                .delete(&join(remote_root, path))
                .map_err(|e| e.to_string()),
            (Direction::Upload, true) => client
                .rmdir(&join(remote_root, path))
                .map_err(|e| e.to_string()),
        };
        match removed {
            Ok(()) => tally.deleted += 1,
            Err(why) => {
                eprintln!("ftpc: mirror: delete {}: {why}", show(path));
                tally.failed += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(size: u64, seconds: u64) -> Stat {
        Stat {
            size: Some(size),
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)),
        }
    }

    #[test]
    fn only_newer_compares_size_then_time_within_the_precision() {
        let second = Duration::from_secs(1);
        assert!(changed(&stat(10, 100), None, second));
        assert!(changed(&stat(10, 100), Some(&stat(11, 100)), second));
        assert!(!changed(&stat(10, 100), Some(&stat(10, 100)), second));
        assert!(!changed(&stat(10, 101), Some(&stat(10, 100)), second));
        assert!(changed(&stat(10, 102), Some(&stat(10, 100)), second));
        // The target newer: kept.
        assert!(!changed(&stat(10, 100), Some(&stat(10, 500)), second));
        // LIST times, to the minute.
        let minute = Duration::from_secs(60);
        assert!(!changed(&stat(10, 159), Some(&stat(10, 100)), minute));
        assert!(changed(&stat(10, 161), Some(&stat(10, 100)), minute));
    }

    #[test]
    fn paths_join_with_one_slash() {
        assert_eq!(join(b"", b"a"), b"a");
        assert_eq!(join(b"pub", b"a b"), b"pub/a b");
        assert_eq!(join(b"pub/", b"a"), b"pub/a");
        assert_eq!(join(b"/", b"a"), b"/a");
    }
}
