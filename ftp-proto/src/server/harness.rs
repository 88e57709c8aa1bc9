//! A driver for [`Session`] that performs every action in memory: an
//! in-memory file system, a user table, data connections that connect when
//! told, and a fake clock. Engine tests, property tests and the session
//! fuzz target use it. Not part of the engine's API.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::indexing_slicing,
    missing_docs
)]

use super::{
    Action, AuthError, Direction, Event, Permissions, RequestId, ServerConfig, Session,
    TransferError,
};
use crate::clock::Timestamp;
use crate::path::VirtualPath;
use crate::storage::{DirEntry, FileKind, Metadata, Request, Response, StorageError, WriteMode};
use crate::timeval::from_unix_seconds;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The wall-clock time the in-memory file system reports.
pub const WALL_CLOCK: u64 = 1_795_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File(Vec<u8>),
}

/// A file system of whole paths, enough to serve every storage request.
#[derive(Debug, Clone, Default)]
pub struct MemoryFs {
    pub nodes: BTreeMap<Vec<u8>, Node>,
    /// Modification times set by MFMT; others are an hour before the
    /// wall clock.
    pub modified: BTreeMap<Vec<u8>, SystemTime>,
    unique_counter: u64,
}

/// The parent of a stored path (which may hold any byte but `/`).
fn parent_of(path: &[u8]) -> Vec<u8> {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) | None => b"/".to_vec(),
        Some(at) => path[..at].to_vec(),
    }
}

fn name_of(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or_default()
}

impl MemoryFs {
    pub fn new() -> MemoryFs {
        let mut fs = MemoryFs::default();
        fs.nodes.insert(b"/".to_vec(), Node::Dir);
        fs
    }

    pub fn dir(&mut self, path: &str) -> &mut Self {
        self.nodes.insert(path.as_bytes().to_vec(), Node::Dir);
        self
    }

    pub fn file(&mut self, path: &str, content: &[u8]) -> &mut Self {
        self.nodes
            .insert(path.as_bytes().to_vec(), Node::File(content.to_vec()));
        self
    }

    pub fn content(&self, path: &str) -> Option<&[u8]> {
        match self.nodes.get(path.as_bytes()) {
            Some(Node::File(content)) => Some(content),
            _ => None,
        }
    }

    fn metadata(&self, path: &[u8]) -> Result<Metadata, StorageError> {
        let node = self.nodes.get(path).ok_or(StorageError::NotFound)?;
        let (kind, size, mode) = match node {
            Node::Dir => (FileKind::Directory, 4096, 0o755),
            Node::File(content) => (FileKind::File, content.len() as u64, 0o644),
        };
        let unique = path.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Ok(Metadata {
            kind,
            size,
            modified: Some(
                self.modified
                    .get(path)
                    .copied()
                    .unwrap_or_else(|| from_unix_seconds(WALL_CLOCK as i64 - 3600)),
            ),
            mode: Some(mode),
            unique: Some(unique),
        })
    }

    fn children(&self, dir: &[u8]) -> Vec<DirEntry> {
        self.nodes
            .keys()
            .filter(|p| p.as_slice() != b"/" && parent_of(p) == dir)
            .map(|p| DirEntry {
                name: Bytes::copy_from_slice(name_of(p)),
                metadata: self.metadata(p).unwrap(),
            })
            .collect()
    }

    fn parent_must_be_dir(&self, path: &[u8]) -> Result<(), StorageError> {
        match self.nodes.get(&parent_of(path)) {
            Some(Node::Dir) => Ok(()),
            Some(Node::File(_)) => Err(StorageError::NotADirectory),
            None => Err(StorageError::NotFound),
        }
    }

    /// Answers a request. Opening a file only checks it; the harness keeps
    /// what the transfer needs.
    pub fn answer(&mut self, request: &Request) -> Result<Response, StorageError> {
        match request {
            Request::Stat(path) => self.metadata(path.as_bytes()).map(Response::Metadata),
            Request::List(path) => {
                let metadata = self.metadata(path.as_bytes())?;
                let entries = metadata.is_dir().then(|| self.children(path.as_bytes()));
                Ok(Response::Listing {
                    entries,
                    metadata,
                    now: from_unix_seconds(WALL_CLOCK as i64),
                })
            }
            Request::OpenRead { path, .. } => match self.nodes.get(path.as_bytes()) {
                Some(Node::File(content)) => Ok(Response::Opened {
                    size: Some(content.len() as u64),
                }),
                Some(Node::Dir) => Err(StorageError::IsADirectory),
                None => Err(StorageError::NotFound),
            },
            Request::OpenWrite { path, .. } => {
                self.parent_must_be_dir(path.as_bytes())?;
                match self.nodes.get(path.as_bytes()) {
                    Some(Node::Dir) => Err(StorageError::IsADirectory),
                    Some(Node::File(content)) => Ok(Response::Opened {
                        size: Some(content.len() as u64),
                    }),
                    None => Ok(Response::Opened { size: None }),
                }
            }
            Request::CreateUnique { dir, base } => {
                self.parent_must_be_dir(dir.join(b"x").unwrap().as_bytes())?;
                loop {
                    self.unique_counter += 1;
                    let base = base.as_deref().unwrap_or(b"file");
                    let mut name = base.to_vec();
                    name.extend_from_slice(format!(".{}", self.unique_counter).as_bytes());
                    let path = dir.join(&name).unwrap();
                    if !self.nodes.contains_key(path.as_bytes()) {
                        self.nodes
                            .insert(path.as_bytes().to_vec(), Node::File(Vec::new()));
                        return Ok(Response::Created {
                            name: Bytes::from(name),
                        });
                    }
                }
            }
            Request::MakeDir(path) => {
                self.parent_must_be_dir(path.as_bytes())?;
                if self.nodes.contains_key(path.as_bytes()) {
                    return Err(StorageError::AlreadyExists);
                }
                self.nodes.insert(path.as_bytes().to_vec(), Node::Dir);
                Ok(Response::Done)
            }
            Request::RemoveDir(path) => match self.nodes.get(path.as_bytes()) {
                Some(Node::Dir) if path.is_root() => Err(StorageError::PermissionDenied),
                Some(Node::Dir) if !self.children(path.as_bytes()).is_empty() => {
                    Err(StorageError::DirectoryNotEmpty)
                }
                Some(Node::Dir) => {
                    self.nodes.remove(path.as_bytes());
                    Ok(Response::Done)
                }
                Some(Node::File(_)) => Err(StorageError::NotADirectory),
                None => Err(StorageError::NotFound),
            },
            Request::SetMode { path, .. } => match self.nodes.get(path.as_bytes()) {
                Some(_) => Ok(Response::Done),
                None => Err(StorageError::NotFound),
            },
            Request::SetModified { path, modified } => match self.nodes.get(path.as_bytes()) {
                Some(_) => {
                    self.modified.insert(path.as_bytes().to_vec(), *modified);
                    Ok(Response::Done)
                }
                None => Err(StorageError::NotFound),
            },
            // A stand-in digest that shows what was hashed: the hashed
            // bytes themselves, cut or zero-padded to the digest's length.
            Request::Hash {
                path,
                algorithm,
                range,
            } => match self.nodes.get(path.as_bytes()) {
                Some(Node::File(content)) => {
                    let size = content.len() as u64;
                    let (offset, len) = match range {
                        None => (0, size),
                        Some(range) => range.within(size).unwrap_or((size, 0)),
                    };
                    let mut digest = content[offset as usize..(offset + len) as usize].to_vec();
                    digest.resize(algorithm.digest_len(), 0);
                    Ok(Response::Hash {
                        digest: digest.into(),
                        size,
                    })
                }
                Some(Node::Dir) => Err(StorageError::IsADirectory),
                None => Err(StorageError::NotFound),
            },
            Request::Delete(path) => match self.nodes.get(path.as_bytes()) {
                Some(Node::File(_)) => {
                    self.nodes.remove(path.as_bytes());
                    Ok(Response::Done)
                }
                Some(Node::Dir) => Err(StorageError::IsADirectory),
                None => Err(StorageError::NotFound),
            },
            Request::Rename { from, to } => {
                if from.is_root()
                    || to.as_bytes().starts_with(from.as_bytes())
                        && to.as_bytes().get(from.as_bytes().len()) == Some(&b'/')
                {
                    return Err(StorageError::PermissionDenied);
                }
                self.metadata(from.as_bytes())?;
                self.parent_must_be_dir(to.as_bytes())?;
                if matches!(self.nodes.get(to.as_bytes()), Some(Node::Dir)) {
                    return Err(StorageError::AlreadyExists);
                }
                let moved: Vec<Vec<u8>> = self
                    .nodes
                    .keys()
                    .filter(|p| {
                        p.as_slice() == from.as_bytes()
                            || p.starts_with(from.as_bytes())
                                && p.get(from.as_bytes().len()) == Some(&b'/')
                    })
                    .cloned()
                    .collect();
                for old in moved {
                    let node = self.nodes.remove(&old).unwrap();
                    let mut new = to.as_bytes().to_vec();
                    new.extend_from_slice(&old[from.as_bytes().len()..]);
                    self.nodes.insert(new, node);
                }
                Ok(Response::Done)
            }
        }
    }
}

/// A file opened for a transfer.
#[derive(Debug, Clone)]
enum OpenFile {
    Read { path: VirtualPath, offset: u64 },
    Write { path: VirtualPath, mode: WriteMode },
}

/// How the harness answers, where a test may want something else.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// Answer storage requests at once.
    pub storage: bool,
    /// Answer authentication at once from `users`.
    pub auth: bool,
    /// A passive listener gets the client's connection at once.
    pub client_connects: bool,
    /// Active connections succeed at once.
    pub connect_succeeds: bool,
    /// Transfers complete at once.
    pub transfers_complete: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            storage: true,
            auth: true,
            client_connects: true,
            connect_succeeds: true,
            transfers_complete: true,
        }
    }
}

pub const CLIENT: &str = "127.0.0.1:40000";
pub const SERVER: &str = "127.0.0.1:21";
pub const PASSIVE_PORT: u16 = 50000;

/// A session with everything around it in memory.
pub struct Harness {
    pub session: Session,
    pub now: Timestamp,
    pub fs: MemoryFs,
    pub users: HashMap<Vec<u8>, (Vec<u8>, Permissions)>,
    pub behaviour: Behaviour,
    /// Bytes the client will send on the next upload.
    pub upload: Vec<u8>,
    /// Everything the client received over data connections, one entry per
    /// transfer.
    pub downloads: Vec<Vec<u8>>,
    /// Every action seen, in order, except `Send`.
    pub actions: Vec<Action>,
    /// Actions not performed yet (behaviour turned off for them).
    pub held: Vec<Action>,
    /// Control bytes sent and not yet taken by [`Harness::output`].
    sent: Vec<u8>,
    open: HashMap<RequestId, OpenFile>,
    running: Option<(RequestId, Direction)>,
    pub closed: bool,
    invariants: Invariants,
    /// The client's address: where data connections come from, and the
    /// only place active ones may go.
    peer: SocketAddr,
}

/// What the harness checks on every action, whatever drives it (tests and
/// the session fuzz target alike); a broken invariant panics.
#[derive(Debug, Default)]
struct Invariants {
    /// The Authenticate request waiting for its answer.
    pending_auth: Option<RequestId>,
    /// A login was accepted and no Logout came since.
    logged_in: bool,
    /// Close was emitted: nothing may follow.
    closed: bool,
}

impl Invariants {
    fn on_action(&mut self, action: &Action, peer: SocketAddr) {
        assert!(!self.closed, "{action:?} after Close");
        match action {
            Action::Authenticate { id, .. } => self.pending_auth = Some(*id),
            Action::Storage { request, .. } => {
                assert!(self.logged_in, "{request:?} asked while logged out")
            }
            Action::Logout => self.logged_in = false,
            Action::ConnectData { to, .. } => {
                // The default configuration allows no foreign address.
                assert_eq!(
                    crate::hostport::canonical_ip(to.ip()),
                    crate::hostport::canonical_ip(peer.ip()),
                    "active connection to {to}, not to the control peer {peer}"
                );
                assert!(to.port() >= 1024, "active connection to port {}", to.port());
            }
            Action::Close => self.closed = true,
            Action::Send(_)
            | Action::ListenData { .. }
            | Action::AcceptData
            | Action::RejectData
            | Action::Transfer { .. }
            | Action::SendListing { .. }
            | Action::AbortTransfer
            | Action::CloseFile(_)
            | Action::CloseData => {}
        }
    }

    fn on_event(&mut self, event: &Event) {
        if let Event::Authenticated { id, result } = event
            && self.pending_auth == Some(*id)
        {
            self.pending_auth = None;
            self.logged_in = result.is_ok();
        }
    }
}

impl Harness {
    pub fn new(config: ServerConfig) -> Harness {
        Self::with_addresses(config, CLIENT.parse().unwrap(), SERVER.parse().unwrap())
    }

    pub fn with_addresses(config: ServerConfig, peer: SocketAddr, local: SocketAddr) -> Harness {
        let mut h =
            Self::with_session(Session::new(Arc::new(config), peer, local, Timestamp::ZERO));
        h.peer = peer;
        h
    }

    /// A harness around an implicit-TLS session.
    #[cfg(feature = "tls")]
    pub fn implicit(config: ServerConfig) -> Harness {
        Self::with_session(Session::new_implicit(
            Arc::new(config),
            CLIENT.parse().unwrap(),
            SERVER.parse().unwrap(),
            Timestamp::ZERO,
        ))
    }

    pub fn with_session(session: Session) -> Harness {
        let now = Timestamp::ZERO;
        let mut users = HashMap::new();
        users.insert(
            b"alice".to_vec(),
            (b"secret".to_vec(), Permissions::ReadWrite),
        );
        users.insert(
            b"bob".to_vec(),
            (b"hunter2".to_vec(), Permissions::ReadOnly),
        );
        let mut fs = MemoryFs::new();
        fs.dir("/pub")
            .file("/pub/a.txt", b"hello\nworld\n")
            .file("/readme", b"read me");
        let mut h = Harness {
            session,
            now,
            fs,
            users,
            behaviour: Behaviour::default(),
            upload: Vec::new(),
            downloads: Vec::new(),
            actions: Vec::new(),
            held: Vec::new(),
            sent: Vec::new(),
            open: HashMap::new(),
            running: None,
            closed: false,
            invariants: Invariants::default(),
            peer: CLIENT.parse().unwrap(),
        };
        h.drain();
        h
    }

    /// A harness past the greeting, logged in as read-write `alice`.
    pub fn logged_in() -> Harness {
        Harness::logged_in_with(ServerConfig::default())
    }

    /// As [`Harness::logged_in`], with `config`.
    pub fn logged_in_with(config: ServerConfig) -> Harness {
        let mut h = Harness::new(config);
        h.output();
        h.input("USER alice\r\nPASS secret\r\n");
        assert_eq!(
            h.output(),
            "331 Please specify the password.\r\n230 Login successful.\r\n"
        );
        h
    }

    /// Control bytes sent since the last call, as text.
    pub fn output(&mut self) -> String {
        String::from_utf8_lossy(&self.output_bytes()).into_owned()
    }

    /// Control bytes sent since the last call.
    pub fn output_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.sent)
    }

    /// Sends control bytes and performs what follows.
    pub fn input(&mut self, text: &str) {
        self.input_bytes(text.as_bytes());
    }

    pub fn input_bytes(&mut self, bytes: &[u8]) {
        self.session.handle_input(bytes, self.now);
        self.drain();
    }

    /// Sends a command and returns the control output it caused.
    pub fn exchange(&mut self, text: &str) -> String {
        self.input(text);
        self.output()
    }

    pub fn event(&mut self, event: Event) {
        self.deliver(event);
        self.drain();
    }

    /// Hands the session an event, as every answer of the harness does.
    fn deliver(&mut self, event: Event) {
        self.invariants.on_event(&event);
        self.session.handle_event(event, self.now);
    }

    /// Fires the session's timers at `self.now`; a timer that fired is not
    /// due again at the same instant.
    fn fire_timers(&mut self) {
        self.session.handle_timeout(self.now);
        if let Some(next) = self.session.poll_timeout() {
            assert!(
                next > self.now,
                "timer at {next:?} still due at {:?}",
                self.now
            );
        }
        self.drain();
    }

    /// Moves the fake clock forward, firing timers on the way.
    pub fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(deadline) = self.session.poll_timeout() {
            if deadline > end {
                break;
            }
            self.now = self.now.max(deadline);
            self.fire_timers();
        }
        self.now = end;
        self.fire_timers();
    }

    fn client_ip(&self) -> SocketAddr {
        self.peer
    }

    /// Drains the session's actions and performs them as `behaviour` says.
    pub fn drain(&mut self) {
        let peer = self.client_ip();
        while let Some(action) = self.session.poll_action() {
            self.invariants.on_action(&action, peer);
            if let Action::Send(bytes) = &action {
                self.sent.extend_from_slice(bytes);
                continue;
            }
            self.actions.push(action.clone());
            self.perform(action);
        }
    }

    /// Performs an action that was held.
    pub fn release(&mut self) {
        let held = std::mem::take(&mut self.held);
        for action in held {
            self.perform_now(action);
        }
        self.drain();
    }

    fn perform(&mut self, action: Action) {
        let now = match &action {
            Action::Storage { .. } => self.behaviour.storage,
            Action::Authenticate { .. } => self.behaviour.auth,
            Action::ListenData { .. } => true,
            Action::ConnectData { .. } => self.behaviour.connect_succeeds,
            Action::Transfer { .. } | Action::SendListing { .. } => {
                self.behaviour.transfers_complete
            }
            Action::Send(_)
            | Action::AcceptData
            | Action::RejectData
            | Action::AbortTransfer
            | Action::CloseFile(_)
            | Action::CloseData
            | Action::Logout
            | Action::Close => true,
        };
        if now {
            self.perform_now(action);
        } else {
            self.held.push(action);
        }
    }

    fn perform_now(&mut self, action: Action) {
        match action {
            Action::Send(_) => unreachable!(),
            Action::Authenticate { id, credentials } => {
                let result = if credentials.anonymous {
                    Ok(Permissions::ReadOnly)
                } else {
                    match self.users.get(credentials.user.as_ref()) {
                        Some((password, permissions))
                            if password.as_slice() == credentials.password.0.as_ref() =>
                        {
                            Ok(*permissions)
                        }
                        _ => Err(AuthError::Rejected),
                    }
                };
                self.deliver(Event::Authenticated { id, result });
            }
            Action::Storage { id, request } => {
                let result = self.fs.answer(&request);
                if result.is_ok() {
                    match &request {
                        Request::OpenRead { path, offset } => {
                            self.open.insert(
                                id,
                                OpenFile::Read {
                                    path: path.clone(),
                                    offset: *offset,
                                },
                            );
                        }
                        Request::OpenWrite { path, mode } => {
                            self.open.insert(
                                id,
                                OpenFile::Write {
                                    path: path.clone(),
                                    mode: *mode,
                                },
                            );
                        }
                        Request::CreateUnique { dir, .. } => {
                            if let Ok(Response::Created { name }) = &result {
                                let path = dir.join(name).unwrap();
                                self.open.insert(
                                    id,
                                    OpenFile::Write {
                                        path,
                                        mode: WriteMode::Replace,
                                    },
                                );
                            }
                        }
                        _ => {}
                    }
                }
                self.deliver(Event::Storage { id, result });
            }
            Action::ListenData { .. } => {
                self.deliver(Event::Listening { port: PASSIVE_PORT });
                if self.behaviour.client_connects {
                    self.deliver(Event::DataIncoming {
                        peer: self.client_ip(),
                    });
                }
            }
            Action::AbortTransfer => {
                if self.running.take().is_some() {
                    let aborted = Event::TransferDone {
                        bytes: 0,
                        result: Err(TransferError::Aborted),
                    };
                    self.deliver(aborted);
                }
            }
            Action::AcceptData | Action::RejectData | Action::CloseData | Action::Logout => {}
            Action::ConnectData { .. } => self.deliver(Event::DataConnected),
            Action::Transfer {
                file,
                direction,
                ascii,
                ..
            } => {
                let bytes = self.transfer(file, direction, ascii);
                self.deliver(Event::TransferDone {
                    bytes,
                    result: Ok(()),
                });
            }
            Action::SendListing { listing, .. } => {
                self.downloads.push(listing.to_vec());
                self.deliver(Event::TransferDone {
                    bytes: listing.len() as u64,
                    result: Ok(()),
                });
            }
            Action::CloseFile(id) => {
                self.open.remove(&id);
            }
            Action::Close => self.closed = true,
        }
    }

    /// Starts a transfer that completes later, with [`Harness::finish_transfer`].
    pub fn transfer(&mut self, file: RequestId, direction: Direction, ascii: bool) -> u64 {
        match self
            .open
            .remove(&file)
            .expect("transfer of a file the harness opened")
        {
            OpenFile::Read { path, offset } => {
                let content = self
                    .fs
                    .content(&path.to_string())
                    .unwrap_or_default()
                    .to_vec();
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(content.len());
                let mut sent = content[start..].to_vec();
                if ascii {
                    let mut wire = Vec::new();
                    crate::ascii::AsciiEncoder::new().encode(&sent, &mut wire);
                    sent = wire;
                }
                let n = sent.len() as u64;
                self.downloads.push(sent);
                let _ = direction;
                n
            }
            OpenFile::Write { path, mode } => {
                let mut received = std::mem::take(&mut self.upload);
                if ascii {
                    let mut local = Vec::new();
                    let mut decoder = crate::ascii::AsciiDecoder::new();
                    decoder.decode(&received, &mut local);
                    decoder.finish(&mut local);
                    received = local;
                }
                let n = received.len() as u64;
                let old = self
                    .fs
                    .content(&path.to_string())
                    .unwrap_or_default()
                    .to_vec();
                let new = match mode {
                    WriteMode::Replace => received,
                    WriteMode::Append => [old, received].concat(),
                    WriteMode::Resume(offset) => {
                        let keep = usize::try_from(offset).unwrap_or(usize::MAX).min(old.len());
                        [&old[..keep], &received[..]].concat()
                    }
                };
                self.fs
                    .nodes
                    .insert(path.as_bytes().to_vec(), Node::File(new));
                n
            }
        }
    }

    /// Starts the held transfer without completing it: it then runs until
    /// [`Harness::finish_transfer`] or an abort.
    pub fn start_held_transfer(&mut self) {
        let position = self
            .held
            .iter()
            .position(|a| matches!(a, Action::Transfer { .. } | Action::SendListing { .. }));
        let action = self.held.remove(position.expect("a held transfer"));
        if let Action::Transfer {
            file, direction, ..
        } = action
        {
            self.running = Some((file, direction));
        } else {
            self.running = Some((RequestId(0), Direction::Download));
        }
    }

    /// Starts a held transfer, if there is one.
    pub fn start_transfer_if_held(&mut self) {
        if self
            .held
            .iter()
            .any(|a| matches!(a, Action::Transfer { .. } | Action::SendListing { .. }))
        {
            self.start_held_transfer();
        }
    }

    /// Ends the running transfer with `result`.
    pub fn finish_transfer(&mut self, result: Result<(), TransferError>) {
        self.running = None;
        self.event(Event::TransferDone { bytes: 0, result });
    }

    pub fn wall_clock() -> SystemTime {
        from_unix_seconds(WALL_CLOCK as i64)
    }
}
