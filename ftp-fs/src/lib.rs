//! Local-disk storage, jailed with cap-std.
//!
//! Every request is resolved by [`cap_std::fs::Dir`] relative to the user's
//! root directory: `..`, absolute paths and symlinks that lead outside the
//! root fail inside cap-std, whatever the engine sent (it never sends `..`,
//! but the jail does not rely on that).
//!
//! Uploads that replace a file are written aside, to an unnamed file in
//! the same directory (Linux `O_TMPFILE`; elsewhere a hidden name), and
//! put into place only when the transfer succeeds
//! (after an fsync, unless turned off): a failed or aborted upload never
//! destroys the previous content. Appends and resumed uploads write in place,
//! so that a broken one can be resumed again.

use cap_std::ambient_authority;
use cap_std::fs::MetadataExt;
use cap_std::fs::{Dir, File, OpenOptions};
use ftp_proto::hash::{ByteRange, HashAlgorithm};
use ftp_proto::path::VirtualPath;
use ftp_proto::storage::{
    DirEntry, FileKind, Metadata, Request, Response, StorageError, WriteMode,
};
use std::ffi::OsStr;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, SystemTime};

/// A user's root directory on disk.
#[derive(Debug)]
pub struct DiskStorage {
    root: Dir,
    fsync: bool,
    unnamed_uploads: bool,
}

/// Replaced files from this size on are freed on a background thread
/// (about 10 ms of the upload's time at this size on ext4 here).
const RELEASE_IN_BACKGROUND_FROM: u64 = 16 << 20;

/// Downloads of at most this many bytes are read whole when opened.
pub const SMALL_FILE: usize = 64 * 1024;

/// A file opened for a transfer, as answered to `OpenRead`, `OpenWrite` or
/// `CreateUnique`.
#[derive(Debug)]
pub enum OpenedFile {
    /// For a download, positioned at the requested offset.
    Read(std::fs::File),
    /// For a download of a small regular file (at most [`SMALL_FILE`]
    /// bytes from the offset): its bytes, read while opening it, so that an
    /// async adapter sends them without a second trip to a blocking thread.
    Loaded(bytes::Bytes),
    /// For an upload.
    Write(Upload),
}

/// A file being uploaded. Dropping it without [`Upload::commit`] discards a
/// file written aside.
#[derive(Debug)]
pub struct Upload {
    file: std::fs::File,
    aside: Option<Aside>,
    fsync: bool,
}

#[derive(Debug)]
struct Aside {
    dir: Dir,
    temporary: PathBuf,
    name: PathBuf,
    /// The file has no name yet (`O_TMPFILE`): it is linked in as
    /// `temporary` at commit; until then no listing can show it, and a
    /// crash leaves nothing behind.
    unnamed: bool,
}

impl Upload {
    /// Where the bytes go.
    pub fn file(&mut self) -> &mut std::fs::File {
        &mut self.file
    }

    /// The upload succeeded: truncate to what was written, flush to disk,
    /// and put a file written aside in place.
    pub fn commit(mut self) -> io::Result<()> {
        let end = self.file.stream_position()?;
        self.file.set_len(end)?;
        if self.fsync {
            self.file.sync_all()?;
        }
        if let Some(aside) = &mut self.aside {
            if aside.unnamed {
                link_unnamed(&self.file, &aside.dir, &aside.temporary)?;
                aside.unnamed = false;
            }
            aside.put_in_place()?;
        }
        // In place: nothing left for `drop` to clean up. On an error above,
        // `drop` removes the file written aside.
        self.aside = None;
        Ok(())
    }
}

impl Aside {
    /// Puts the file written aside in place of `name`, atomically: readers
    /// see either the old or the new content, never no file.
    ///
    /// Two costs of a plain `rename` over an existing file are kept off the
    /// client's wait for 226 (measured with a 1 GiB file on ext4, release
    /// build, 2 cores): ext4 writes out the new file's delayed blocks when a
    /// rename replaces a file (its `auto_da_alloc` heuristic, 0.41-0.45 s),
    /// and freeing the replaced file's blocks and pages happens inside the
    /// call (0.66 s with the former). Exchanging the two names instead
    /// (`RENAME_EXCHANGE`, Linux 3.15+) skips the first; holding the old
    /// file open across its unlink moves the second to a background thread
    /// (for large files; see [`RELEASE_IN_BACKGROUND_FROM`]).
    /// With fsync on, the new file's blocks are already on disk either way.
    fn put_in_place(&self) -> io::Result<()> {
        // Only a regular file is exchanged: a rename over a directory must
        // still fail as it always did.
        let replaced_len = match self.dir.symlink_metadata(&self.name) {
            Ok(metadata) if metadata.is_file() => Some(metadata.len()),
            _ => None,
        };
        match replaced_len {
            Some(len) if self.exchange().is_ok() => {
                // The old content now sits under the temporary name. A large
                // one stays open across its unlink, so that its blocks are
                // freed on another thread; a small one is not worth a thread.
                let held = if len >= RELEASE_IN_BACKGROUND_FROM {
                    self.dir.open(&self.temporary).ok()
                } else {
                    None
                };
                // The upload has succeeded whatever happens here.
                if let Err(error) = self.dir.remove_file(&self.temporary) {
                    tracing::warn!(
                        file = %self.temporary.display(),
                        %error,
                        "could not remove a replaced file"
                    );
                }
                if let Some(file) = held {
                    release_in_background(file);
                }
            }
            _ => self.dir.rename(&self.temporary, &self.dir, &self.name)?,
        }
        Ok(())
    }

    #[cfg(target_os = "linux")]
    fn exchange(&self) -> io::Result<()> {
        use rustix::fs::{RenameFlags, renameat_with};
        // Both names are single components in `dir` (the jail's own
        // handle), so nothing here resolves a path outside it.
        renameat_with(
            &self.dir,
            &self.temporary,
            &self.dir,
            &self.name,
            RenameFlags::EXCHANGE,
        )?;
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    fn exchange(&self) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// The rest of `file` (positioned at `offset`) in memory, or the file
/// itself if it has grown past [`SMALL_FILE`] since its size was read.
fn read_small(mut file: std::fs::File, offset: u64) -> io::Result<OpenedFile> {
    let mut bytes = Vec::new();
    (&mut file)
        .take(SMALL_FILE as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > SMALL_FILE {
        file.seek(SeekFrom::Start(offset))?;
        return Ok(OpenedFile::Read(file));
    }
    Ok(OpenedFile::Loaded(bytes.into()))
}

/// Closes `file` on a short-lived thread, or here if no thread can start.
fn release_in_background(file: File) {
    let _ = std::thread::Builder::new()
        .name("release-replaced".into())
        .spawn(move || drop(file));
}

impl Drop for Upload {
    fn drop(&mut self) {
        // An unnamed file is freed with its last descriptor.
        if let Some(aside) = self.aside.as_ref().filter(|a| !a.unnamed) {
            let _ = aside.dir.remove_file(&aside.temporary);
        }
    }
}

/// Whether this process can give an `O_TMPFILE` file a name: `linkat`
/// through `/proc/self/fd` needs `/proc` (it is missing in some
/// containers). Checked once.
fn can_link_unnamed() -> bool {
    static PROC: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    cfg!(target_os = "linux") && *PROC.get_or_init(|| Path::new("/proc/self/fd").is_dir())
}

/// An unnamed (`O_TMPFILE`) file in `dir`, or `None` where the file
/// system or the kernel has none (then an upload is written to a hidden
/// name instead).
#[cfg(target_os = "linux")]
fn create_unnamed(dir: &Dir) -> Option<std::fs::File> {
    use rustix::fs::{Mode, OFlags, openat};
    if !can_link_unnamed() {
        return None;
    }
    let flags = OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC;
    // 0o666 less the umask, as a named file gets.
    openat(dir, ".", flags, Mode::from_raw_mode(0o666))
        .ok()
        .map(std::fs::File::from)
}

#[cfg(not(target_os = "linux"))]
fn create_unnamed(_dir: &Dir) -> Option<std::fs::File> {
    None
}

/// Gives the unnamed `file` the name `name` in `dir` (a single component:
/// nothing is resolved outside the jail's own directory handle).
#[cfg(target_os = "linux")]
fn link_unnamed(file: &std::fs::File, dir: &Dir, name: &Path) -> io::Result<()> {
    use rustix::fs::{AtFlags, CWD, linkat};
    use std::os::fd::AsRawFd;
    use std::sync::atomic::AtomicBool;
    // By descriptor is the cheaper call, but before Linux 6.10 it needs
    // CAP_DAC_READ_SEARCH; once refused, it is not tried again.
    static BY_DESCRIPTOR: AtomicBool = AtomicBool::new(true);
    if BY_DESCRIPTOR.load(Ordering::Relaxed) {
        match linkat(file, "", dir, name, AtFlags::EMPTY_PATH) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::NOENT) => BY_DESCRIPTOR.store(false, Ordering::Relaxed),
            Err(error) => return Err(error.into()),
        }
    }
    let by_proc = format!("/proc/self/fd/{}", file.as_raw_fd());
    linkat(CWD, by_proc.as_str(), dir, name, AtFlags::SYMLINK_FOLLOW)?;
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn link_unnamed(_file: &std::fs::File, _dir: &Dir, _name: &Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// A storage error from an I/O error.
pub fn storage_error(error: &io::Error) -> StorageError {
    use io::ErrorKind as K;
    match error.kind() {
        K::NotFound => StorageError::NotFound,
        K::PermissionDenied => StorageError::PermissionDenied,
        K::AlreadyExists => StorageError::AlreadyExists,
        K::NotADirectory => StorageError::NotADirectory,
        K::IsADirectory => StorageError::IsADirectory,
        K::DirectoryNotEmpty => StorageError::DirectoryNotEmpty,
        K::InvalidInput | K::InvalidFilename => StorageError::InvalidName,
        K::StorageFull => StorageError::StorageFull,
        K::QuotaExceeded | K::FileTooLarge => StorageError::QuotaExceeded,
        K::ResourceBusy | K::WouldBlock => StorageError::Busy,
        _ => match error.raw_os_error() {
            // ELOOP and EXDEV: cap-std's refusal to leave the root, and
            // symlink loops, read as "not permitted".
            Some(40 | 18) => StorageError::PermissionDenied,
            _ if error.to_string().contains("outside of the filesystem") => {
                StorageError::PermissionDenied
            }
            _ => StorageError::Other(error.to_string()),
        },
    }
}

fn relative(path: &VirtualPath) -> &Path {
    match path.relative() {
        [] => Path::new("."),
        bytes => Path::new(OsStr::from_bytes(bytes)),
    }
}

/// The paths a request names.
fn request_paths(request: &Request) -> Vec<&VirtualPath> {
    match request {
        Request::Stat(path)
        | Request::List(path)
        | Request::OpenRead { path, .. }
        | Request::OpenWrite { path, .. }
        | Request::MakeDir(path)
        | Request::RemoveDir(path)
        | Request::Delete(path)
        | Request::SetModified { path, .. }
        | Request::SetMode { path, .. }
        | Request::Hash { path, .. } => vec![path],
        Request::CreateUnique { dir, .. } => vec![dir],
        Request::Rename { from, to } => vec![from, to],
    }
}

fn metadata_of(meta: &cap_std::fs::Metadata, link_target: Option<PathBuf>) -> Metadata {
    let file_type = meta.file_type();
    let kind = if file_type.is_dir() {
        FileKind::Directory
    } else if file_type.is_file() {
        FileKind::File
    } else if file_type.is_symlink() {
        FileKind::Symlink(link_target.map(|t| t.as_os_str().as_bytes().to_vec().into()))
    } else {
        FileKind::Other
    };
    Metadata {
        kind,
        size: meta.len(),
        modified: meta.modified().ok().map(|t| t.into_std()),
        mode: Some(meta.mode() & 0o7777),
        unique: Some(meta.dev().rotate_left(32) ^ meta.ino()),
    }
}

/// Bounds the HASH work of the whole process: at most one digest per core
/// at once. A request waits up to [`HASH_WAIT`] for its turn, then fails as
/// busy (450, "try again"), so that a flood of HASH commands queues up
/// neither CPU nor threads without end.
struct HashTurns {
    running: Mutex<usize>,
    freed: Condvar,
}

/// How long a HASH waits for a turn.
const HASH_WAIT: Duration = Duration::from_secs(30);

static HASH_TURNS: HashTurns = HashTurns {
    running: Mutex::new(0),
    freed: Condvar::new(),
};

/// A turn to hash; dropping it lets the next one in.
struct HashTurn;

impl HashTurns {
    fn limit() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }

    fn wait(&'static self) -> io::Result<HashTurn> {
        let busy = || io::Error::from(io::ErrorKind::ResourceBusy);
        let running = self.running.lock().map_err(|_| busy())?;
        let (mut running, timeout) = self
            .freed
            .wait_timeout_while(running, HASH_WAIT, |n| *n >= HashTurns::limit())
            .map_err(|_| busy())?;
        if timeout.timed_out() && *running >= HashTurns::limit() {
            return Err(busy());
        }
        *running += 1;
        Ok(HashTurn)
    }
}

impl Drop for HashTurn {
    fn drop(&mut self) {
        if let Ok(mut running) = HASH_TURNS.running.lock() {
            *running = running.saturating_sub(1);
        }
        HASH_TURNS.freed.notify_one();
    }
}

/// The digest of everything `reader` gives.
fn digest(algorithm: HashAlgorithm, mut reader: impl Read) -> io::Result<Vec<u8>> {
    use sha2::Digest;
    fn run<D: Digest>(mut hasher: D, reader: &mut impl Read) -> io::Result<Vec<u8>> {
        each_chunk(reader, |chunk| hasher.update(chunk))?;
        Ok(hasher.finalize().to_vec())
    }
    match algorithm {
        HashAlgorithm::Sha1 => run(sha1::Sha1::new(), &mut reader),
        HashAlgorithm::Sha256 => run(sha2::Sha256::new(), &mut reader),
        HashAlgorithm::Sha512 => run(sha2::Sha512::new(), &mut reader),
        HashAlgorithm::Md5 => run(md5::Md5::new(), &mut reader),
        HashAlgorithm::Crc32 => {
            let mut crc = crc32fast::Hasher::new();
            each_chunk(&mut reader, |chunk| crc.update(chunk))?;
            Ok(crc.finalize().to_be_bytes().to_vec())
        }
    }
}

/// Feeds `reader`'s bytes to `consume`, a buffer at a time.
fn each_chunk(reader: &mut impl Read, mut consume: impl FnMut(&[u8])) -> io::Result<()> {
    let mut buffer = vec![0; 256 * 1024];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => consume(buffer.get(..n).unwrap_or_default()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

static UPLOADS: AtomicU64 = AtomicU64::new(0);

/// The name of a file an upload is written to before it is put in place:
/// `.ftp-upload.<pid>.<n>.part`, in the target's directory.
fn aside_name(n: u64) -> PathBuf {
    PathBuf::from(format!(".ftp-upload.{}.{n}.part", std::process::id()))
}

/// If `name` is a file written aside by an upload, the id of the process
/// that wrote it.
fn aside_owner(name: &[u8]) -> Option<u32> {
    let rest = name.strip_prefix(b".ftp-upload.")?.strip_suffix(b".part")?;
    let (pid, n) = std::str::from_utf8(rest).ok()?.split_once('.')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether the process that wrote a file aside is gone: its upload can
/// never complete. (A pid reused by another process keeps the file until
/// that one is gone too: the safe way round.)
fn owner_gone(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    !Path::new("/proc").join(pid.to_string()).exists()
}

/// How many entries a start-up sweep looks at, at most.
const SWEEP_LIMIT: usize = 100_000;

/// Removes what uploads of dead processes left written aside (a server
/// killed with SIGKILL, a crash) under `root`, on a thread of its own;
/// symlinks are not followed, and at most [`SWEEP_LIMIT`] entries are
/// looked at. Directory listings remove any others they meet.
fn sweep_leftovers(root: Dir) {
    let spawned = std::thread::Builder::new()
        .name("ftp-fs sweep".into())
        .spawn(move || {
            let mut pending = vec![root];
            let mut seen = 0;
            let mut removed = 0;
            while let Some(dir) = pending.pop() {
                let Ok(entries) = dir.entries() else {
                    continue;
                };
                for entry in entries.flatten() {
                    seen += 1;
                    if seen > SWEEP_LIMIT {
                        return;
                    }
                    let name = entry.file_name();
                    let Ok(kind) = entry.file_type() else {
                        continue;
                    };
                    if kind.is_dir() {
                        if let Ok(sub) = dir.open_dir(&name) {
                            pending.push(sub);
                        }
                    } else if aside_owner(name.as_bytes()).is_some_and(owner_gone)
                        && dir.remove_file(&name).is_ok()
                    {
                        removed += 1;
                    }
                }
            }
            if removed > 0 {
                tracing::info!(
                    removed,
                    "removed uploads left unfinished by a stopped server"
                );
            }
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot sweep unfinished uploads");
    }
}

impl DiskStorage {
    /// Opens `root` as a jail. `fsync`: uploads reach the disk before they
    /// are reported done.
    /// Files that uploads of a stopped server left written aside are
    /// removed in the background.
    pub fn open(root: &Path, fsync: bool) -> io::Result<DiskStorage> {
        let root = Dir::open_ambient_dir(root, ambient_authority())?;
        if let Ok(sweeper) = root.try_clone() {
            sweep_leftovers(sweeper);
        }
        Ok(DiskStorage {
            root,
            fsync,
            unnamed_uploads: true,
        })
    }

    /// Writes uploads to a hidden file (`.ftp-upload.<pid>.<n>.part`)
    /// rather than to an unnamed one (`O_TMPFILE`, the default where the
    /// file system has it). Both are invisible to clients; the unnamed
    /// file also leaves nothing behind after a crash. For comparison and
    /// for file systems that mishandle `O_TMPFILE`.
    pub fn with_named_uploads(mut self) -> DiskStorage {
        self.unnamed_uploads = false;
        self
    }

    /// Runs one storage request. Requests that open a file also return it.
    pub fn handle(
        &self,
        request: &Request,
    ) -> Result<(Response, Option<OpenedFile>), StorageError> {
        self.run(request).map_err(|e| storage_error(&e))
    }

    fn stat(&self, path: &VirtualPath) -> io::Result<Metadata> {
        let meta = self.root.metadata(relative(path))?;
        Ok(metadata_of(&meta, None))
    }

    fn run(&self, request: &Request) -> io::Result<(Response, Option<OpenedFile>)> {
        let done = |response| Ok((response, None));
        // An upload in progress (or left by a stopped server) is not there
        // for clients: not listed, not downloadable, not deletable.
        if request_paths(request)
            .iter()
            .any(|path| path.file_name().is_some_and(|n| aside_owner(n).is_some()))
        {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        match request {
            Request::Stat(path) => done(Response::Metadata(self.stat(path)?)),
            Request::List(path) => {
                let metadata = self.stat(path)?;
                let entries = if metadata.is_dir() {
                    Some(self.read_dir(path)?)
                } else {
                    None
                };
                done(Response::Listing {
                    entries,
                    metadata,
                    now: SystemTime::now(),
                })
            }
            Request::OpenRead { path, offset } => {
                let file = self.root.open(relative(path))?;
                let meta = file.metadata()?;
                if meta.is_dir() {
                    return Err(io::Error::from(io::ErrorKind::IsADirectory));
                }
                let mut file = file.into_std();
                file.seek(SeekFrom::Start(*offset))?;
                let opened =
                    if meta.is_file() && meta.len().saturating_sub(*offset) <= SMALL_FILE as u64 {
                        read_small(file, *offset)?
                    } else {
                        OpenedFile::Read(file)
                    };
                Ok((
                    Response::Opened {
                        size: Some(meta.len()),
                    },
                    Some(opened),
                ))
            }
            Request::OpenWrite { path, mode } => {
                let upload = self.open_upload(path, *mode)?;
                let size = upload.file.metadata().ok().map(|m| m.len());
                Ok((Response::Opened { size }, Some(OpenedFile::Write(upload))))
            }
            Request::CreateUnique { dir, base } => {
                let base = base.as_deref().unwrap_or(b"ftp-upload");
                for _ in 0..100 {
                    let mut name = base.to_vec();
                    name.extend_from_slice(format!(".{:08x}", fastrand::u32(..)).as_bytes());
                    let path = dir
                        .join(&name)
                        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
                    let mut options = OpenOptions::new();
                    options.write(true).create_new(true);
                    match self.root.open_with(relative(&path), &options) {
                        Ok(file) => {
                            let upload = Upload {
                                file: file.into_std(),
                                aside: None,
                                fsync: self.fsync,
                            };
                            return Ok((
                                Response::Created { name: name.into() },
                                Some(OpenedFile::Write(upload)),
                            ));
                        }
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                        Err(e) => return Err(e),
                    }
                }
                Err(io::Error::from(io::ErrorKind::AlreadyExists))
            }
            Request::MakeDir(path) => {
                self.root.create_dir(relative(path))?;
                done(Response::Done)
            }
            Request::RemoveDir(path) => {
                if path.is_root() {
                    return Err(io::Error::from(io::ErrorKind::PermissionDenied));
                }
                self.root.remove_dir(relative(path))?;
                done(Response::Done)
            }
            Request::SetMode { path, mode } => {
                use std::os::unix::fs::PermissionsExt;
                let permissions = std::fs::Permissions::from_mode(mode & 0o777);
                self.root.set_permissions(
                    relative(path),
                    cap_std::fs::Permissions::from_std(permissions),
                )?;
                done(Response::Done)
            }
            Request::SetModified { path, modified } => {
                let file = self.root.open(relative(path))?.into_std();
                file.set_times(std::fs::FileTimes::new().set_modified(*modified))?;
                done(Response::Done)
            }
            Request::Hash {
                path,
                algorithm,
                range,
            } => self.hash(path, *algorithm, *range).map(|r| (r, None)),
            Request::Delete(path) => {
                if self.root.symlink_metadata(relative(path))?.is_dir() {
                    return Err(io::Error::from(io::ErrorKind::IsADirectory));
                }
                self.root.remove_file(relative(path))?;
                done(Response::Done)
            }
            Request::Rename { from, to } => {
                if from.is_root() || to.is_root() {
                    return Err(io::Error::from(io::ErrorKind::PermissionDenied));
                }
                self.root.rename(relative(from), &self.root, relative(to))?;
                done(Response::Done)
            }
        }
    }

    /// HASH: the digest of a regular file, or of the part `range` names,
    /// once the process-wide [`HashTurns`] lets it run.
    fn hash(
        &self,
        path: &VirtualPath,
        algorithm: HashAlgorithm,
        range: Option<ByteRange>,
    ) -> io::Result<Response> {
        // Checked before opening: opening a FIFO would wait for a writer.
        let meta = self.root.metadata(relative(path))?;
        if meta.is_dir() {
            return Err(io::Error::from(io::ErrorKind::IsADirectory));
        }
        if !meta.is_file() {
            return Err(io::Error::from(io::ErrorKind::PermissionDenied));
        }
        let mut file = self.root.open(relative(path))?.into_std();
        let size = file.metadata()?.len();
        let (offset, len) = match range {
            None => (0, size),
            Some(range) => range.within(size).unwrap_or((size, 0)),
        };
        let _turn = HASH_TURNS.wait()?;
        file.seek(SeekFrom::Start(offset))?;
        let digest = digest(algorithm, file.take(len))?;
        Ok(Response::Hash {
            digest: digest.into(),
            size,
        })
    }

    fn read_dir(&self, path: &VirtualPath) -> io::Result<Vec<DirEntry>> {
        let dir = self.root.open_dir(relative(path))?;
        let mut entries = Vec::new();
        for entry in dir.entries()? {
            let entry = entry?;
            let name = entry.file_name();
            if let Some(pid) = aside_owner(name.as_bytes()) {
                if owner_gone(pid) {
                    let _ = dir.remove_file(&name);
                }
                continue;
            }
            let Ok(meta) = dir.symlink_metadata(&name) else {
                continue;
            };
            let target = if meta.file_type().is_symlink() {
                dir.read_link_contents(&name).ok()
            } else {
                None
            };
            entries.push(DirEntry {
                name: name.as_bytes().to_vec().into(),
                metadata: metadata_of(&meta, target),
            });
        }
        Ok(entries)
    }

    fn open_upload(&self, path: &VirtualPath, mode: WriteMode) -> io::Result<Upload> {
        let target = relative(path);
        if let Ok(meta) = self.root.metadata(target)
            && meta.is_dir()
        {
            return Err(io::Error::from(io::ErrorKind::IsADirectory));
        }
        let mut options = OpenOptions::new();
        match mode {
            WriteMode::Append => {
                options.append(true).create(true);
                let file = self.root.open_with(target, &options)?;
                Ok(Upload {
                    file: file.into_std(),
                    aside: None,
                    fsync: self.fsync,
                })
            }
            WriteMode::Resume(offset) => {
                options.write(true).create(true);
                let mut file = self.root.open_with(target, &options)?.into_std();
                file.seek(SeekFrom::Start(offset))?;
                Ok(Upload {
                    file,
                    aside: None,
                    fsync: self.fsync,
                })
            }
            WriteMode::Replace => {
                let parent = path.parent();
                let name = path
                    .file_name()
                    .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
                let dir = self.root.open_dir(relative(&parent))?;
                let temporary = aside_name(UPLOADS.fetch_add(1, Ordering::Relaxed));
                let unnamed = self.unnamed_uploads.then(|| create_unnamed(&dir)).flatten();
                let (file, unnamed) = match unnamed {
                    Some(file) => (file, true),
                    None => {
                        options.write(true).create_new(true);
                        let file: File = dir.open_with(&temporary, &options)?;
                        (file.into_std(), false)
                    }
                };
                Ok(Upload {
                    file,
                    aside: Some(Aside {
                        dir,
                        temporary,
                        name: PathBuf::from(OsStr::from_bytes(name)),
                        unnamed,
                    }),
                    fsync: self.fsync,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn path(p: &str) -> VirtualPath {
        VirtualPath::root().resolve(p.as_bytes()).unwrap()
    }

    fn open_upload(storage: &DiskStorage, at: &str, mode: WriteMode) -> Upload {
        let request = Request::OpenWrite {
            path: path(at),
            mode,
        };
        match storage.handle(&request).unwrap().1 {
            Some(OpenedFile::Write(upload)) => upload,
            other => panic!("{other:?}"),
        }
    }

    fn setup() -> (tempfile::TempDir, DiskStorage) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("root")).unwrap();
        std::fs::write(dir.path().join("root/a.txt"), b"hello").unwrap();
        std::fs::write(dir.path().join("secret"), b"outside").unwrap();
        let storage = DiskStorage::open(&dir.path().join("root"), true).unwrap();
        (dir, storage)
    }

    /// A pid no process has: the highest the kernel hands out, plus one.
    fn dead_pid() -> u32 {
        let max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .ok()
            .and_then(|m| m.trim().parse().ok())
            .unwrap_or(4_194_304);
        max + 1
    }

    fn names(storage: &DiskStorage, dir: &str) -> Vec<Vec<u8>> {
        let (response, _) = storage.handle(&Request::List(path(dir))).unwrap();
        let Response::Listing {
            entries: Some(entries),
            ..
        } = response
        else {
            panic!("{response:?}")
        };
        let mut names: Vec<Vec<u8>> = entries.iter().map(|e| e.name.to_vec()).collect();
        names.sort();
        names
    }

    #[test]
    fn modes_are_set() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, storage) = setup();
        storage
            .handle(&Request::SetMode {
                path: path("/a.txt"),
                mode: 0o640,
            })
            .unwrap();
        let mode = std::fs::metadata(dir.path().join("root/a.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o640);
    }

    #[test]
    fn modification_times_are_set() {
        let (_dir, storage) = setup();
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
        storage
            .handle(&Request::SetModified {
                path: path("/a.txt"),
                modified: when,
            })
            .unwrap();
        let (response, _) = storage.handle(&Request::Stat(path("/a.txt"))).unwrap();
        let Response::Metadata(metadata) = response else {
            panic!()
        };
        assert_eq!(metadata.modified, Some(when));
        let missing = storage.handle(&Request::SetModified {
            path: path("/missing"),
            modified: when,
        });
        assert_eq!(missing.err(), Some(StorageError::NotFound));
    }

    fn hash_of(
        storage: &DiskStorage,
        file: &str,
        algorithm: HashAlgorithm,
        range: Option<ByteRange>,
    ) -> Result<(String, u64), StorageError> {
        let request = Request::Hash {
            path: path(file),
            algorithm,
            range,
        };
        match storage.handle(&request)? {
            (Response::Hash { digest, size }, None) => Ok((ftp_proto::hash::hex(&digest), size)),
            other => panic!("{other:?}"),
        }
    }

    /// Published test vectors for "abc" (FIPS 180, RFC 1321, CRC-32/IEEE),
    /// hashed whole and as the middle of a longer file.
    #[test]
    fn digests_match_the_published_vectors() {
        let (dir, storage) = setup();
        std::fs::write(dir.path().join("root/abc"), b"abc").unwrap();
        std::fs::write(dir.path().join("root/xabcx"), b"xabcx").unwrap();
        let vectors = [
            (
                HashAlgorithm::Sha1,
                "a9993e364706816aba3e25717850c26c9cd0d89d",
            ),
            (
                HashAlgorithm::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                HashAlgorithm::Sha512,
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                 2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
            (HashAlgorithm::Md5, "900150983cd24fb0d6963f7d28e17f72"),
            (HashAlgorithm::Crc32, "352441c2"),
        ];
        let middle = ByteRange { start: 1, end: 3 };
        for (algorithm, expected) in vectors {
            assert_eq!(
                hash_of(&storage, "/abc", algorithm, None),
                Ok((expected.to_string(), 3)),
                "{algorithm}"
            );
            assert_eq!(
                hash_of(&storage, "/xabcx", algorithm, Some(middle)),
                Ok((expected.to_string(), 5)),
                "{algorithm}"
            );
        }
        // A range that runs past the end stops there.
        let tail = ByteRange {
            start: 1,
            end: u64::MAX,
        };
        let (tail_digest, _) = hash_of(&storage, "/xabcx", HashAlgorithm::Md5, Some(tail)).unwrap();
        let (whole, _) = hash_of(&storage, "/xabcx", HashAlgorithm::Md5, None).unwrap();
        assert_ne!(tail_digest, whole);
    }

    #[test]
    fn only_regular_files_are_hashed() {
        let (dir, storage) = setup();
        std::fs::create_dir(dir.path().join("root/sub")).unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            dir.path().join("root/fifo"),
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let sha = HashAlgorithm::Sha256;
        assert_eq!(
            hash_of(&storage, "/sub", sha, None),
            Err(StorageError::IsADirectory)
        );
        // Refused without opening it: opening a FIFO waits for a writer.
        assert_eq!(
            hash_of(&storage, "/fifo", sha, None),
            Err(StorageError::PermissionDenied)
        );
        assert_eq!(
            hash_of(&storage, "/missing", sha, None),
            Err(StorageError::NotFound)
        );
        std::os::unix::fs::symlink(dir.path().join("secret"), dir.path().join("root/out")).unwrap();
        assert_eq!(
            hash_of(&storage, "/out", sha, None),
            Err(StorageError::PermissionDenied)
        );
    }

    /// No more digests run at once than there are cores; the next waits
    /// for a turn.
    #[test]
    fn hashing_waits_for_a_turn() {
        let held: Vec<HashTurn> = (0..HashTurns::limit())
            .map(|_| HASH_TURNS.wait().unwrap())
            .collect();
        let (sender, receiver) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let turn = HASH_TURNS.wait();
            sender.send(()).unwrap();
            turn.map(drop)
        });
        assert!(
            receiver.recv_timeout(Duration::from_millis(200)).is_err(),
            "a turn beyond the limit was granted at once"
        );
        drop(held);
        receiver.recv_timeout(Duration::from_secs(10)).unwrap();
        waiter.join().unwrap().unwrap();
    }

    fn on_disk(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// By default an upload that replaces a file has no name until it is
    /// committed: nothing on disk shows it, and a failed one leaves
    /// nothing; the old content stays until the commit.
    #[cfg(target_os = "linux")]
    #[test]
    fn uploads_are_unnamed_until_committed() {
        let (dir, storage) = setup();
        let root = dir.path().join("root");
        for fails in [true, false] {
            let mut upload = open_upload(&storage, "/a.txt", WriteMode::Replace);
            upload.file().write_all(b"new content").unwrap();
            assert_eq!(on_disk(&root), ["a.txt"]);
            assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"hello");
            let mut fresh = open_upload(&storage, "/fresh.txt", WriteMode::Replace);
            fresh.file().write_all(b"fresh").unwrap();
            assert_eq!(on_disk(&root), ["a.txt"]);
            if fails {
                drop((upload, fresh));
                assert_eq!(on_disk(&root), ["a.txt"]);
                assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"hello");
            } else {
                upload.commit().unwrap();
                fresh.commit().unwrap();
                assert_eq!(on_disk(&root), ["a.txt", "fresh.txt"]);
                assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"new content");
                assert_eq!(std::fs::read(root.join("fresh.txt")).unwrap(), b"fresh");
            }
        }
        // Created with the mode a named file gets (0o666 less the umask).
        std::fs::write(root.join("named"), b"").unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = |name: &str| {
            std::fs::metadata(root.join(name))
                .unwrap()
                .permissions()
                .mode()
        };
        assert_eq!(mode("fresh.txt"), mode("named"));
    }

    /// A named upload in progress (`with_named_uploads`, or a file system
    /// without `O_TMPFILE`) is invisible until it is put in place: not
    /// listed, not there to download, stat, delete or rename.
    #[test]
    fn uploads_in_progress_are_invisible() {
        let (dir, storage) = setup();
        let storage = storage.with_named_uploads();
        let mut upload = open_upload(&storage, "/a.txt", WriteMode::Replace);
        upload.file().write_all(b"half").unwrap();
        let aside = on_disk(&dir.path().join("root"))
            .into_iter()
            .find(|n| n.starts_with(".ftp-upload."))
            .expect("written aside");
        assert_eq!(names(&storage, "/"), [b"a.txt".to_vec()]);
        let hidden = path(&format!("/{aside}"));
        for request in [
            Request::Stat(hidden.clone()),
            Request::OpenRead {
                path: hidden.clone(),
                offset: 0,
            },
            Request::Delete(hidden.clone()),
            Request::Rename {
                from: hidden.clone(),
                to: path("/taken"),
            },
            Request::Rename {
                from: path("/a.txt"),
                to: hidden.clone(),
            },
        ] {
            assert_eq!(
                storage.handle(&request).err(),
                Some(StorageError::NotFound),
                "{request:?}"
            );
        }
        upload.commit().unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("root/a.txt")).unwrap(),
            b"half"
        );
        assert_eq!(on_disk(&dir.path().join("root")), ["a.txt"]);
    }

    /// What a killed server left written aside goes: at start, in the
    /// background, the whole tree; a listing removes any it meets. An
    /// upload of this process is never touched.
    #[test]
    fn uploads_left_by_a_dead_server_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        let dead = dead_pid();
        let leftovers = [
            root.join(format!(".ftp-upload.{dead}.0.part")),
            root.join(format!("sub/deeper/.ftp-upload.{dead}.7.part")),
        ];
        for leftover in &leftovers {
            std::fs::write(leftover, b"partial").unwrap();
        }
        let ours = root.join(format!(".ftp-upload.{}.999.part", std::process::id()));
        std::fs::write(&ours, b"in progress").unwrap();
        let lookalike = root.join(".ftp-upload.notes.txt");
        std::fs::write(&lookalike, b"a user's file").unwrap();
        let storage = DiskStorage::open(&root, false).unwrap();
        let gone = (0..200).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(25));
            leftovers.iter().all(|l| !l.exists())
        });
        assert!(gone, "{leftovers:?}");
        assert!(ours.exists() && lookalike.exists());
        assert_eq!(
            names(&storage, "/"),
            [b".ftp-upload.notes.txt".to_vec(), b"sub".to_vec()]
        );
        // Left behind later (the sweep is over): the listing removes it.
        let late = root.join(format!("sub/.ftp-upload.{dead}.8.part"));
        std::fs::write(&late, b"partial").unwrap();
        assert_eq!(names(&storage, "/sub"), [b"deeper".to_vec()]);
        assert!(!late.exists());
    }

    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        let (dir, storage) = setup();
        std::os::unix::fs::symlink(dir.path().join("secret"), dir.path().join("root/escape"))
            .unwrap();
        std::os::unix::fs::symlink("../secret", dir.path().join("root/relative-escape")).unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("root/escape-dir")).unwrap();
        for p in ["/escape", "/relative-escape", "/escape-dir/secret"] {
            let read = storage.handle(&Request::OpenRead {
                path: path(p),
                offset: 0,
            });
            assert!(
                matches!(read, Err(StorageError::PermissionDenied)),
                "{p}: {read:?}"
            );
        }
        let list = storage.handle(&Request::List(path("/escape-dir")));
        assert!(
            matches!(list, Err(StorageError::PermissionDenied)),
            "{list:?}"
        );
        let write = storage.handle(&Request::OpenWrite {
            path: path("/escape-dir/new"),
            mode: WriteMode::Replace,
        });
        assert!(write.is_err());
        assert!(!dir.path().join("new").exists());
        // A symlink inside the root is followed.
        std::os::unix::fs::symlink("a.txt", dir.path().join("root/inside")).unwrap();
        assert!(
            storage
                .handle(&Request::OpenRead {
                    path: path("/inside"),
                    offset: 0
                })
                .is_ok()
        );
    }

    #[test]
    fn failed_upload_keeps_the_previous_content() {
        let (dir, storage) = setup();
        let mut upload = open_upload(&storage, "/a.txt", WriteMode::Replace);
        upload.file().write_all(b"partial").unwrap();
        drop(upload);
        assert_eq!(
            std::fs::read(dir.path().join("root/a.txt")).unwrap(),
            b"hello"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path().join("root"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.txt"]);

        let mut upload = open_upload(&storage, "/a.txt", WriteMode::Replace);
        upload.file().write_all(b"new").unwrap();
        upload.commit().unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("root/a.txt")).unwrap(),
            b"new"
        );
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_committed_upload_replaces_only_what_a_rename_would() {
        let (dir, storage) = setup();
        let root = dir.path().join("root");
        // A file: replaced; a reader that opened it before keeps the old
        // content; no temporary file is left behind.
        let mut reader = std::fs::File::open(root.join("a.txt")).unwrap();
        let mut upload = open_upload(&storage, "/a.txt", WriteMode::Replace);
        upload.file().write_all(b"replaced").unwrap();
        upload.commit().unwrap();
        assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"replaced");
        let mut old = String::new();
        reader.read_to_string(&mut old).unwrap();
        assert_eq!(old, "hello");
        assert_eq!(names_in(&root), ["a.txt"]);
        // A large file, released on another thread: replaced all the same.
        std::fs::write(
            root.join("large"),
            vec![1u8; RELEASE_IN_BACKGROUND_FROM as usize],
        )
        .unwrap();
        let mut upload = open_upload(&storage, "/large", WriteMode::Replace);
        upload.file().write_all(b"small now").unwrap();
        upload.commit().unwrap();
        assert_eq!(std::fs::read(root.join("large")).unwrap(), b"small now");
        std::fs::remove_file(root.join("large")).unwrap();
        // A new name: created.
        let mut upload = open_upload(&storage, "/new.txt", WriteMode::Replace);
        upload.file().write_all(b"fresh").unwrap();
        upload.commit().unwrap();
        assert_eq!(std::fs::read(root.join("new.txt")).unwrap(), b"fresh");
        // A symlink: the link itself is replaced, its target is untouched.
        std::os::unix::fs::symlink("new.txt", root.join("link")).unwrap();
        let mut upload = open_upload(&storage, "/link", WriteMode::Replace);
        upload.file().write_all(b"via link").unwrap();
        upload.commit().unwrap();
        assert!(!root.join("link").is_symlink());
        assert_eq!(std::fs::read(root.join("link")).unwrap(), b"via link");
        assert_eq!(std::fs::read(root.join("new.txt")).unwrap(), b"fresh");
        // A directory: refused up front, and never swapped for the file
        // when it appears while the upload runs.
        std::fs::create_dir(root.join("d")).unwrap();
        let refused = storage.handle(&Request::OpenWrite {
            path: path("/d"),
            mode: WriteMode::Replace,
        });
        assert!(matches!(refused, Err(StorageError::IsADirectory)));
        let mut upload = open_upload(&storage, "/d2", WriteMode::Replace);
        upload.file().write_all(b"not a dir").unwrap();
        std::fs::create_dir(root.join("d2")).unwrap();
        assert!(upload.commit().is_err());
        assert!(root.join("d").is_dir() && root.join("d2").is_dir());
        assert_eq!(names_in(&root), ["a.txt", "d", "d2", "link", "new.txt"]);
    }

    #[test]
    fn append_and_resume_write_in_place() {
        let (dir, storage) = setup();
        let mut upload = open_upload(&storage, "/a.txt", WriteMode::Append);
        upload.file().write_all(b" world").unwrap();
        upload.commit().unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("root/a.txt")).unwrap(),
            b"hello world"
        );
        let mut upload = open_upload(&storage, "/a.txt", WriteMode::Resume(2));
        upload.file().write_all(b"LP").unwrap();
        upload.commit().unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("root/a.txt")).unwrap(),
            b"heLP"
        );
    }

    #[test]
    fn read_from_an_offset() {
        let (_dir, storage) = setup();
        let (response, file) = storage
            .handle(&Request::OpenRead {
                path: path("/a.txt"),
                offset: 2,
            })
            .unwrap();
        assert_eq!(response, Response::Opened { size: Some(5) });
        let Some(OpenedFile::Loaded(rest)) = file else {
            panic!("{file:?}")
        };
        assert_eq!(rest, "llo");
        // Past the small-file limit: the open file, at its offset.
        let big = vec![7u8; SMALL_FILE + 10];
        std::fs::write(_dir.path().join("root/big"), &big).unwrap();
        let (_, file) = storage
            .handle(&Request::OpenRead {
                path: path("/big"),
                offset: 5,
            })
            .unwrap();
        let Some(OpenedFile::Read(mut file)) = file else {
            panic!("{file:?}")
        };
        let mut rest = Vec::new();
        file.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, big[5..]);
        // Within it again from a later offset: loaded.
        let (_, file) = storage
            .handle(&Request::OpenRead {
                path: path("/big"),
                offset: 20,
            })
            .unwrap();
        assert!(
            matches!(&file, Some(OpenedFile::Loaded(b)) if b.len() == SMALL_FILE - 10),
            "{file:?}"
        );
    }

    #[test]
    fn directory_operations_and_errors() {
        let (dir, storage) = setup();
        assert_eq!(
            storage.handle(&Request::MakeDir(path("/d"))).unwrap().0,
            Response::Done
        );
        assert_eq!(
            storage.handle(&Request::MakeDir(path("/d"))).unwrap_err(),
            StorageError::AlreadyExists
        );
        std::fs::write(dir.path().join("root/d/f"), b"").unwrap();
        assert_eq!(
            storage.handle(&Request::RemoveDir(path("/d"))).unwrap_err(),
            StorageError::DirectoryNotEmpty
        );
        assert_eq!(
            storage.handle(&Request::Delete(path("/d"))).unwrap_err(),
            StorageError::IsADirectory
        );
        assert_eq!(
            storage.handle(&Request::Delete(path("/d/f"))).unwrap().0,
            Response::Done
        );
        assert_eq!(
            storage.handle(&Request::RemoveDir(path("/d"))).unwrap().0,
            Response::Done
        );
        assert_eq!(
            storage.handle(&Request::Stat(path("/d"))).unwrap_err(),
            StorageError::NotFound
        );
        assert_eq!(
            storage.handle(&Request::RemoveDir(path("/"))).unwrap_err(),
            StorageError::PermissionDenied
        );
        assert_eq!(
            storage
                .handle(&Request::Rename {
                    from: path("/a.txt"),
                    to: path("/b.txt")
                })
                .unwrap()
                .0,
            Response::Done
        );
        assert!(dir.path().join("root/b.txt").exists());
        assert_eq!(
            storage
                .handle(&Request::OpenRead {
                    path: path("/"),
                    offset: 0
                })
                .unwrap_err(),
            StorageError::IsADirectory
        );
    }

    #[test]
    fn listing_and_unique_names() {
        let (_dir, storage) = setup();
        let (response, _) = storage
            .handle(&Request::CreateUnique {
                dir: path("/"),
                base: Some(b"up".to_vec().into()),
            })
            .unwrap();
        let Response::Created { name } = response else {
            panic!()
        };
        assert!(name.starts_with(b"up."));
        let (response, _) = storage.handle(&Request::List(path("/"))).unwrap();
        let Response::Listing {
            entries: Some(entries),
            metadata,
            ..
        } = response
        else {
            panic!()
        };
        assert!(metadata.is_dir());
        let mut names: Vec<_> = entries.iter().map(|e| e.name.clone()).collect();
        names.sort();
        assert_eq!(names[0], bytes::Bytes::from_static(b"a.txt"));
        assert_eq!(names[1], name);
        let file = entries
            .iter()
            .find(|e| e.name.as_ref() == b"a.txt")
            .unwrap();
        assert_eq!(file.metadata.size, 5);
        assert!(file.metadata.modified.is_some() && file.metadata.unique.is_some());
    }
}
