//! The storage protocol between the server engine and a file-system
//! backend: requests the engine asks for, the answers it expects, and the
//! errors a backend reports.
//!
//! Every path in a [`Request`] is a [`VirtualPath`]: absolute, normalised
//! and inside the user's root. A backend maps it below the user's real root
//! and must not let symlinks lead out of it.

use crate::hash::{ByteRange, HashAlgorithm};
use crate::path::VirtualPath;
use bytes::Bytes;
use std::fmt;
use std::time::SystemTime;

/// What kind of object a path names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link, with its target when known.
    Symlink(Option<Bytes>),
    /// Anything else (device, FIFO, socket).
    Other,
}

/// What the engine needs to know about one object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Metadata {
    /// The object's kind.
    pub kind: FileKind,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time, when known.
    pub modified: Option<SystemTime>,
    /// Unix permission bits (`0o644`), when known.
    pub mode: Option<u32>,
    /// A value equal for two paths exactly when they name the same object
    /// (device and inode, say), when known. MLSx `unique` fact.
    pub unique: Option<u64>,
}

impl Metadata {
    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == FileKind::Directory
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.kind == FileKind::File
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DirEntry {
    /// The entry's name within its directory.
    pub name: Bytes,
    /// Its metadata.
    pub metadata: Metadata,
}

/// How an upload writes its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteMode {
    /// STOR: create, or replace the whole content.
    Replace,
    /// STOR after REST n: keep the first n bytes, write from there, and
    /// truncate to what was written (RFC 3659 §5.3).
    Resume(u64),
    /// APPE: create, or add at the end.
    Append,
}

/// A storage request. The engine sends one at a time per session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Request {
    /// Metadata of one path. Answer: [`Response::Metadata`].
    Stat(VirtualPath),
    /// The entries of a directory, or the one object when the path is not a
    /// directory. Answer: [`Response::Listing`].
    List(VirtualPath),
    /// Open a file for download from `offset`. Answer: [`Response::Opened`].
    /// The open file is later used by the transfer that names this request.
    OpenRead {
        /// The file.
        path: VirtualPath,
        /// Where to start reading.
        offset: u64,
    },
    /// Open a file for upload. Answer: [`Response::Opened`]. A backend should
    /// write aside and put the file in place only when the transfer
    /// succeeds, so that a failed upload keeps the previous content.
    OpenWrite {
        /// The file.
        path: VirtualPath,
        /// How to write it.
        mode: WriteMode,
    },
    /// Create a new file with a unique name in `dir` (STOU) and open it for
    /// upload. Answer: [`Response::Created`].
    CreateUnique {
        /// The directory.
        dir: VirtualPath,
        /// A name to build on, if the client gave one.
        base: Option<Bytes>,
    },
    /// Create a directory. Answer: [`Response::Done`].
    MakeDir(VirtualPath),
    /// Remove an empty directory. Answer: [`Response::Done`].
    RemoveDir(VirtualPath),
    /// Delete a file. Answer: [`Response::Done`].
    Delete(VirtualPath),
    /// Rename or move. Answer: [`Response::Done`].
    Rename {
        /// The current path.
        from: VirtualPath,
        /// The new path.
        to: VirtualPath,
    },
    /// Set a file's or directory's permission bits (SITE CHMOD), at most
    /// `0o777`. Answer: [`Response::Done`].
    SetMode {
        /// The file or directory.
        path: VirtualPath,
        /// The new permission bits.
        mode: u32,
    },
    /// Set a file's modification time (MFMT). Answer: [`Response::Done`].
    SetModified {
        /// The file.
        path: VirtualPath,
        /// The new modification time.
        modified: std::time::SystemTime,
    },
    /// A digest of a regular file's content, or of the part of it `range`
    /// names (HASH). Answer: [`Response::Hash`]. Hashing reads the whole
    /// file: a backend should bound how many run at once.
    Hash {
        /// The file.
        path: VirtualPath,
        /// The digest to compute.
        algorithm: HashAlgorithm,
        /// The bytes to hash; `None`: all of them. A range past the end
        /// of the file stops at its end ([`ByteRange::within`]).
        range: Option<ByteRange>,
    },
}

/// A backend's successful answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// Answer to [`Request::Stat`].
    Metadata(Metadata),
    /// Answer to [`Request::List`].
    Listing {
        /// The directory's entries, or `None` when the path names a single
        /// object that is not a directory.
        entries: Option<Vec<DirEntry>>,
        /// Metadata of the listed path itself.
        metadata: Metadata,
        /// The wall-clock time of the listing: `ls -l` dates depend on it,
        /// and the engine reads no clock.
        now: SystemTime,
    },
    /// Answer to [`Request::OpenRead`] and [`Request::OpenWrite`]: the file
    /// is open.
    Opened {
        /// The file's size when opened, if known.
        size: Option<u64>,
    },
    /// Answer to [`Request::CreateUnique`]: the file made and opened.
    Created {
        /// Its name within the directory.
        name: Bytes,
    },
    /// Answer to [`Request::Hash`].
    Hash {
        /// The digest, `algorithm.digest_len()` bytes.
        digest: Bytes,
        /// The file's size when it was hashed.
        size: u64,
    },
    /// Answer to requests that report nothing but success.
    Done,
}

/// Why a storage request failed. The engine turns each kind into a reply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StorageError {
    /// No such file or directory (550).
    NotFound,
    /// Not permitted (550).
    PermissionDenied,
    /// The target exists already (550; 553 where a name is refused).
    AlreadyExists,
    /// A directory was needed (550).
    NotADirectory,
    /// A file was needed (550).
    IsADirectory,
    /// RMD of a directory that is not empty (550).
    DirectoryNotEmpty,
    /// The name is not valid for this file system (553).
    InvalidName,
    /// The disk is full (452 before a transfer, 552 during one).
    StorageFull,
    /// A quota was exceeded (552).
    QuotaExceeded,
    /// The object is busy or locked; retrying may succeed (450).
    Busy,
    /// Any other failure, described (451).
    Other(String),
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::NotFound => f.write_str("No such file or directory"),
            StorageError::PermissionDenied => f.write_str("Permission denied"),
            StorageError::AlreadyExists => f.write_str("File exists"),
            StorageError::NotADirectory => f.write_str("Not a directory"),
            StorageError::IsADirectory => f.write_str("Is a directory"),
            StorageError::DirectoryNotEmpty => f.write_str("Directory not empty"),
            StorageError::InvalidName => f.write_str("File name not allowed"),
            StorageError::StorageFull => f.write_str("Insufficient storage space"),
            StorageError::QuotaExceeded => f.write_str("Storage allocation exceeded"),
            StorageError::Busy => f.write_str("File busy"),
            StorageError::Other(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for StorageError {}
