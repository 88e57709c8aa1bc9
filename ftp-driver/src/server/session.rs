//! One server session's driver: the engine and every piece of state around
//! it that is not I/O.
//!
//! [`SessionDriver`] performs the engine's actions that need no socket
//! (opened files, the user's storage, the data connection's bookkeeping,
//! aborting a transfer, logging) and hands the rest to the adapter as a
//! short list of [`Io`] operations. The adapter reports what happened by
//! calling the driver's methods, never the engine's. Its loop:
//!
//! ```text
//! loop {
//!     while let Some(io) = driver.poll_io() { perform(io) }
//!     if driver.is_closed() { break }
//!     wait for: control bytes (while driver.wants_input()), an accepted or
//!               connected data connection, a finished job or transfer,
//!               driver.deadline(), the server's shutdown
//!     driver.control_input(..) | driver.incoming(..) | driver.connected(..)
//!         | driver.job_done(..) | driver.transfer_done(..) | driver.timeout()
//!         | driver.shut_down()
//! }
//! ```

use super::{Backend, Who, log_notice};
use crate::clock;
use crate::limits::SessionPermit;
use crate::net;
use crate::transfer::{AbortHandle, Payload, Transfer};
use bytes::Bytes;
use ftp_fs::{DiskStorage, OpenedFile};
use ftp_proto::server::{
    Action, AuthError, Credentials, DataTls, Event, Permissions, RequestId, Session, TransferError,
};
use ftp_proto::storage::{Request, Response, StorageError};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Names one data-connection set-up (a listener or a connect). Whatever a
/// superseded set-up reports late is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

/// What the adapter performs for the driver.
#[derive(Debug)]
pub enum Io {
    /// Write these bytes to the control connection; if that fails, call
    /// [`SessionDriver::control_closed`].
    Send(Bytes),
    /// Run this job where it may block (argon2, the disk), then hand its
    /// result to [`SessionDriver::job_done`].
    Run(Job),
    /// Accept connections on this listener, replacing any previous one;
    /// report each with [`SessionDriver::incoming`], an error too.
    Listen(TcpListener, Generation),
    /// Stop accepting and close the listener.
    StopListening,
    /// Run this connect where it may block, replacing any running one; hand
    /// its result to [`SessionDriver::connected`].
    Connect(ConnectJob),
    /// Run this transfer where it may block (or write its bytes, if
    /// [`Transfer::into_memory`] gives them), then report it with
    /// [`SessionDriver::transfer_done`].
    Transfer(Transfer),
    /// Close the control connection once the bytes sent so far are out.
    Close,
}

/// A storage request or a login check, to run off the event loop.
#[derive(Debug)]
pub struct Job(JobKind);

#[derive(Debug)]
enum JobKind {
    Authenticate {
        id: RequestId,
        credentials: Credentials,
        backend: Arc<Backend>,
    },
    Storage {
        id: RequestId,
        request: Request,
        storage: Arc<DiskStorage>,
    },
}

/// What a [`Job`] found.
#[derive(Debug)]
pub struct JobDone(Done);

#[derive(Debug)]
enum Done {
    Authenticated {
        id: RequestId,
        result: Result<(Permissions, Arc<DiskStorage>), AuthError>,
    },
    Storage {
        id: RequestId,
        result: Result<(Response, Option<OpenedFile>), StorageError>,
    },
}

impl Job {
    /// Runs the job; it may block.
    pub fn run(self) -> JobDone {
        JobDone(match self.0 {
            JobKind::Authenticate {
                id,
                credentials,
                backend,
            } => Done::Authenticated {
                id,
                result: backend.authenticate(&credentials),
            },
            JobKind::Storage {
                id,
                request,
                storage,
            } => Done::Storage {
                id,
                result: storage.handle(&request),
            },
        })
    }
}

/// An active-mode data connection to make.
#[derive(Debug)]
pub struct ConnectJob {
    to: SocketAddr,
    from_ip: IpAddr,
    from_port: Option<u16>,
    timeout: Duration,
    generation: Generation,
}

impl ConnectJob {
    /// Connects (blocking, up to the data-connection timeout) and returns
    /// the connection with the set-up it belongs to.
    pub fn run(self) -> (Generation, io::Result<TcpStream>) {
        let connected = net::connect_data(self.to, self.from_ip, self.from_port, self.timeout);
        (self.generation, connected)
    }
}

/// One control connection's engine and bookkeeping; see the module docs.
#[derive(Debug)]
pub struct SessionDriver {
    session: Session,
    backend: Arc<Backend>,
    peer: SocketAddr,
    local: SocketAddr,
    /// Who logged in, for the log lines.
    user: Who,
    /// The logged-in user's storage, dropped at logout.
    storage: Option<Arc<DiskStorage>>,
    /// Files opened for transfers that have not started.
    files: HashMap<RequestId, OpenedFile>,
    generation: Generation,
    listening: bool,
    /// A connection reported to the engine, awaiting AcceptData/RejectData.
    incoming: Option<TcpStream>,
    data: Option<TcpStream>,
    abort: Option<AbortHandle>,
    shutting_down: bool,
    io: VecDeque<Io>,
    _permit: Option<SessionPermit>,
    /// The control connection, looked at before an upload is put in place.
    control: Option<Arc<TcpStream>>,
}

impl SessionDriver {
    /// A session on a control connection from `peer` to `local`: served if
    /// it holds a permit and the server is not stopping, else refused with
    /// 421 and the reason.
    pub fn new(
        backend: Arc<Backend>,
        peer: SocketAddr,
        local: SocketAddr,
        permit: Option<SessionPermit>,
        shutting_down: bool,
    ) -> SessionDriver {
        Self::on_listener(backend, peer, local, permit, shutting_down, false)
    }

    /// As [`SessionDriver::new`], for a connection to a listener of
    /// `implicit_tls` (TLS from the first byte, port 990 by custom) or not.
    pub fn on_listener(
        backend: Arc<Backend>,
        peer: SocketAddr,
        local: SocketAddr,
        permit: Option<SessionPermit>,
        shutting_down: bool,
        implicit_tls: bool,
    ) -> SessionDriver {
        let config = backend.settings().engine.clone();
        let now = clock::now();
        let session = match (&permit, shutting_down) {
            (Some(_), false) if implicit_tls => Session::new_implicit(config, peer, local, now),
            (Some(_), false) => Session::new(config, peer, local, now),
            (_, true) => Session::refuse(config, peer, local, "Server shutting down.", now),
            (None, false) => Session::refuse(
                config,
                peer,
                local,
                "Too many connections; try again later.",
                now,
            ),
        };
        tracing::info!(%peer, admitted = permit.is_some(), "session start");
        SessionDriver {
            session,
            backend,
            peer,
            local,
            user: Who::default(),
            storage: None,
            files: HashMap::new(),
            generation: Generation(0),
            listening: false,
            incoming: None,
            data: None,
            abort: None,
            shutting_down,
            io: VecDeque::new(),
            _permit: permit,
            control: None,
        }
    }

    /// A second handle on the control connection (`try_clone`): before an
    /// upload is put in place, the driver looks whether the client closed
    /// it, and then discards the upload (a client that died mid-upload
    /// ends its data connection as a finished upload would).
    pub fn watch_control(&mut self, control: TcpStream) {
        self.control = Some(Arc::new(control));
    }

    /// The next operation to perform, in order; `None` once everything
    /// the last input caused is done (the drain rule).
    pub fn poll_io(&mut self) -> Option<Io> {
        loop {
            if let Some(io) = self.io.pop_front() {
                return Some(io);
            }
            let Some(action) = self.session.poll_action() else {
                while let Some(notice) = self.session.poll_notice() {
                    let log = self.backend.settings().transfer_log.as_ref();
                    log_notice(&notice, self.peer, &mut self.user, log);
                }
                return None;
            };
            self.perform(action);
        }
    }

    /// Whether to read the control connection now (back-pressure: a client
    /// that pipelines faster than the session answers waits).
    pub fn wants_input(&self) -> bool {
        self.session.wants_input()
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.session.is_closed()
    }

    /// When to call [`SessionDriver::timeout`], on the real clock.
    pub fn deadline(&self) -> Option<Instant> {
        self.session.poll_timeout().and_then(clock::deadline)
    }

    /// How long from now until [`SessionDriver::deadline`].
    pub fn time_left(&self) -> Option<Duration> {
        self.session
            .poll_timeout()
            .map(|at| at.saturating_duration_since(clock::now()))
    }

    /// Bytes read from the control connection.
    pub fn control_input(&mut self, bytes: &[u8]) {
        self.session.handle_input(bytes, clock::now());
    }

    /// The control connection was closed or broke.
    pub fn control_closed(&mut self) {
        self.session
            .handle_event(Event::ControlClosed, clock::now());
    }

    /// The deadline passed.
    pub fn timeout(&mut self) {
        self.session.handle_timeout(clock::now());
    }

    /// The server is stopping: the session ends with 421, its transfer
    /// aborted. Calling it again does nothing.
    pub fn shut_down(&mut self) {
        if !std::mem::replace(&mut self.shutting_down, true) {
            self.session.shut_down();
        }
    }

    /// Whether [`SessionDriver::shut_down`] was called (or the server was
    /// stopping when the session came).
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// A [`Job`] ended.
    pub fn job_done(&mut self, done: JobDone) {
        let event = match done.0 {
            Done::Authenticated { id, result } => Event::Authenticated {
                id,
                result: result.map(|(permissions, storage)| {
                    self.storage = Some(storage);
                    permissions
                }),
            },
            Done::Storage { id, result } => Event::Storage {
                id,
                result: result.map(|(response, file)| {
                    if let Some(file) = file {
                        self.files.insert(id, file);
                    }
                    response
                }),
            },
        };
        self.session.handle_event(event, clock::now());
    }

    /// A listener of [`Io::Listen`] accepted a connection, or failed. After
    /// a failure the listener is closed, never retried at once (out of
    /// descriptors, a retry would spin); the engine's data-connection
    /// timer then answers the transfer.
    pub fn incoming(
        &mut self,
        generation: Generation,
        accepted: io::Result<(TcpStream, SocketAddr)>,
    ) {
        if generation != self.generation || !self.listening {
            return;
        }
        match accepted {
            Ok((stream, from)) => {
                // Transfers run blocking; an async accept gives a
                // non-blocking socket.
                let _ = stream.set_nonblocking(false);
                self.incoming = Some(stream);
                let event = Event::DataIncoming { peer: from };
                self.session.handle_event(event, clock::now());
            }
            Err(error) => {
                tracing::warn!(peer = %self.peer, %error, "passive accept failed");
                self.stop_listening();
            }
        }
    }

    /// A [`ConnectJob`] ended.
    pub fn connected(&mut self, generation: Generation, result: io::Result<TcpStream>) {
        if generation != self.generation {
            return;
        }
        let event = match result {
            Ok(stream) => {
                self.data = Some(stream);
                Event::DataConnected
            }
            Err(_) => Event::DataConnectFailed,
        };
        self.session.handle_event(event, clock::now());
    }

    /// An [`Io::Transfer`] ended.
    pub fn transfer_done(&mut self, bytes: u64, result: Result<(), TransferError>) {
        self.abort = None;
        let event = Event::TransferDone { bytes, result };
        self.session.handle_event(event, clock::now());
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::Send(bytes) => self.io.push_back(Io::Send(bytes)),
            Action::Authenticate { id, credentials } => {
                let backend = self.backend.clone();
                self.io.push_back(Io::Run(Job(JobKind::Authenticate {
                    id,
                    credentials,
                    backend,
                })));
            }
            Action::Storage { id, request } => match self.storage.clone() {
                Some(storage) => self.io.push_back(Io::Run(Job(JobKind::Storage {
                    id,
                    request,
                    storage,
                }))),
                // The engine asks only after a login; refuse if it did not.
                None => self.session.handle_event(
                    Event::Storage {
                        id,
                        result: Err(StorageError::PermissionDenied),
                    },
                    clock::now(),
                ),
            },
            Action::ListenData { ip, ports } => {
                self.close_data();
                let event = match net::listen_in_range(ip, &ports)
                    .and_then(|l| Ok((l.local_addr()?.port(), l)))
                {
                    Ok((port, listener)) => {
                        self.listening = true;
                        self.io.push_back(Io::Listen(listener, self.generation));
                        Event::Listening { port }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "no passive port");
                        Event::ListenFailed
                    }
                };
                self.session.handle_event(event, clock::now());
            }
            Action::AcceptData => {
                self.data = self.incoming.take();
                self.stop_listening();
            }
            Action::RejectData => self.incoming = None,
            Action::ConnectData { to, from_port } => {
                self.close_data();
                self.io.push_back(Io::Connect(ConnectJob {
                    to,
                    from_ip: self.local.ip(),
                    from_port,
                    timeout: self.backend.settings().engine.data_connection_timeout,
                    generation: self.generation,
                }));
            }
            Action::Transfer {
                file, ascii, tls, ..
            } => {
                let payload = self.files.remove(&file).map(Payload::File);
                self.start_transfer(payload, ascii, tls);
            }
            Action::SendListing { listing, tls } => {
                self.start_transfer(Some(Payload::Listing(listing)), false, tls)
            }
            Action::AbortTransfer => {
                if let Some(abort) = &self.abort {
                    abort.abort();
                }
            }
            Action::CloseFile(id) => {
                self.files.remove(&id);
            }
            Action::CloseData => self.close_data(),
            Action::Logout => self.storage = None,
            Action::Close => self.io.push_back(Io::Close),
        }
    }

    fn stop_listening(&mut self) {
        if std::mem::take(&mut self.listening) {
            self.io.push_back(Io::StopListening);
        }
    }

    fn close_data(&mut self) {
        self.stop_listening();
        self.incoming = None;
        self.data = None;
        self.generation.0 += 1;
    }

    fn start_transfer(&mut self, payload: Option<Payload>, ascii: bool, tls: Option<DataTls>) {
        let codec = match tls.map(|tls| tls.start()).transpose() {
            Ok(codec) => codec,
            Err(error) => return self.transfer_done(0, Err(TransferError::Tls(error.to_string()))),
        };
        let started = match (payload, self.data.take()) {
            (Some(payload), Some(data)) => {
                Transfer::new(payload, data, ascii, codec).map_err(|e| e.to_string())
            }
            _ => Err("no open file or data connection".to_string()),
        };
        match started {
            Ok((transfer, abort)) => {
                self.abort = Some(abort);
                let stall = self.backend.settings().engine.data_stall_timeout;
                let transfer = transfer
                    .watching(self.control.clone())
                    .stalling_after(stall);
                self.io.push_back(Io::Transfer(transfer));
            }
            Err(message) => {
                let failed = TransferError::Storage(StorageError::Other(message));
                self.transfer_done(0, Err(failed));
            }
        }
    }
}

impl Drop for SessionDriver {
    fn drop(&mut self) {
        if let Some(abort) = self.abort.take() {
            abort.abort();
        }
        tracing::info!(peer = %self.peer, "session end");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::SessionLimits;
    use crate::server::Settings;
    use ftp_proto::server::ServerConfig;

    /// A driver for an anonymous session over a temporary root.
    fn driver(root: &std::path::Path) -> SessionDriver {
        let settings = Settings {
            engine: Arc::new(ServerConfig {
                allow_anonymous: true,
                ..ServerConfig::default()
            }),
            root: root.to_path_buf(),
            ..Settings::default()
        };
        let backend = Arc::new(Backend::new(Arc::new(settings)).unwrap());
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let permit = SessionLimits::new(10, 10).try_acquire(peer.ip());
        assert!(permit.is_some());
        SessionDriver::new(
            backend,
            peer,
            "127.0.0.1:21".parse().unwrap(),
            permit,
            false,
        )
    }

    /// Performs what needs no socket (jobs run in place) and returns the
    /// rest, replies as text.
    fn drain(driver: &mut SessionDriver) -> (String, Vec<Io>) {
        let (mut replies, mut rest) = (String::new(), Vec::new());
        while let Some(io) = driver.poll_io() {
            match io {
                Io::Send(bytes) => replies.push_str(&String::from_utf8_lossy(&bytes)),
                Io::Run(job) => driver.job_done(job.run()),
                other @ (Io::Listen(..)
                | Io::StopListening
                | Io::Connect(_)
                | Io::Transfer(_)
                | Io::Close) => rest.push(other),
            }
        }
        (replies, rest)
    }

    fn listening(io: &[Io]) -> Generation {
        match io {
            [Io::Listen(_, generation)] => *generation,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_failed_passive_accept_closes_the_listener_and_stale_reports_are_dropped() {
        let root = tempfile::tempdir().unwrap();
        let mut driver = driver(root.path());
        driver.control_input(b"USER anonymous\r\nPASS guest\r\nPASV\r\n");
        let (replies, io) = drain(&mut driver);
        assert!(replies.contains("227 "), "{replies}");
        let first = listening(&io);

        // Out of descriptors: the listener is closed, never retried at once.
        let emfile = io::Error::from_raw_os_error(24);
        driver.incoming(first, Err(emfile));
        let (replies, io) = drain(&mut driver);
        assert_eq!(replies, "");
        assert!(matches!(io[..], [Io::StopListening]), "{io:?}");
        // Reported again (a second accept was already running): nothing.
        driver.incoming(first, Err(io::Error::from_raw_os_error(24)));
        assert!(drain(&mut driver).1.is_empty());

        // A connection for a listener since replaced is dropped, unseen.
        driver.control_input(b"PASV\r\n");
        let (_, io) = drain(&mut driver);
        let second = listening(&io);
        assert_ne!(first, second);
        let stray = TcpListener::bind("127.0.0.1:0").unwrap();
        let late = TcpStream::connect(stray.local_addr().unwrap()).unwrap();
        driver.incoming(first, Ok((late, "127.0.0.1:40001".parse().unwrap())));
        let (replies, io) = drain(&mut driver);
        assert_eq!((replies.as_str(), io.len()), ("", 0));
    }

    #[test]
    fn logout_drops_the_storage_and_storage_needs_a_login() {
        let root = tempfile::tempdir().unwrap();
        let mut driver = driver(root.path());
        driver.control_input(b"USER anonymous\r\nPASS guest\r\n");
        drain(&mut driver);
        assert!(driver.storage.is_some());
        driver.control_input(b"REIN\r\n");
        let (replies, _) = drain(&mut driver);
        assert!(replies.starts_with("220 "), "{replies}");
        assert!(driver.storage.is_none());
        driver.control_input(b"STAT /\r\n");
        let (replies, _) = drain(&mut driver);
        assert!(replies.starts_with("530 "), "{replies}");
    }
}
