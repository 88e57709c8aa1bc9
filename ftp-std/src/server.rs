//! The blocking server: a listener and a thread per control connection
//! (bounded by the session limits), each a thin driver loop around
//! [`ftp_proto::server::Session`].
//!
//! Each session thread waits on one channel fed by two helper threads: one
//! reads the control connection; the other, the data worker, started on
//! first use and kept for the session, runs the data-connection jobs one
//! after the other: accepting on a passive listener, connecting an active
//! data connection, running a transfer (the [`ftp_backend::transfer`] loop
//! shared with the async server). The control connection therefore stays
//! readable (ABOR, STAT, QUIT) while bytes move, and a session of many
//! transfers starts two threads, not two per transfer (measured: thread
//! start-up and stack unmapping were most of this server's CPU under many
//! small downloads). The thread makes no protocol decision.

use ftp_backend::clock;
use ftp_backend::disk::{DiskStorage, OpenedFile};
use ftp_backend::limits::{SessionLimits, SessionPermit};
use ftp_backend::net;
use ftp_backend::server::{Backend, log_notice};
use ftp_backend::transfer::{AbortHandle, Payload, Transfer};
use ftp_proto::server::{Action, Event, RequestId, Session, TransferError};
use ftp_proto::storage::StorageError;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

pub use ftp_backend::server::Settings;

/// Tells a running server to stop. Cloning gives another handle to the
/// same signal.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    triggered: Arc<AtomicBool>,
    /// Listeners to wake from their blocking accept.
    listeners: Arc<Mutex<Vec<TcpListener>>>,
    /// Running sessions, to wake at once: a transfer is aborted when the
    /// signal comes, not when its session next looks.
    sessions: Arc<Mutex<Sessions>>,
}

/// The inputs of the running sessions, by a number of their own.
#[derive(Debug, Default)]
struct Sessions {
    next: u64,
    inputs: HashMap<u64, Sender<Input>>,
}

/// A session's place in [`Shutdown`]'s list, left when dropped.
struct Registration<'a> {
    shutdown: &'a Shutdown,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        if let Ok(mut sessions) = self.shutdown.sessions.lock() {
            sessions.inputs.remove(&self.id);
        }
    }
}

impl Shutdown {
    /// A signal not yet triggered.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Stops the server: no new sessions; running ones end with 421, their
    /// transfers aborted (an upload in progress is not kept).
    pub fn trigger(&self) {
        self.triggered.store(true, Ordering::SeqCst);
        if let Ok(sessions) = self.sessions.lock() {
            for inputs in sessions.inputs.values() {
                let _ = inputs.send(Input::Shutdown);
            }
        }
        if let Ok(listeners) = self.listeners.lock() {
            listeners.iter().for_each(wake_accept);
        }
    }

    /// Whether [`Shutdown::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        self.triggered.load(Ordering::SeqCst)
    }

    /// Wakes `inputs` with `Input::Shutdown` when triggered, until the
    /// registration is dropped. A trigger that came before is seen by the
    /// session's own check of [`Shutdown::is_triggered`].
    fn register(&self, inputs: Sender<Input>) -> Registration<'_> {
        let mut id = 0;
        if let Ok(mut sessions) = self.sessions.lock() {
            id = sessions.next;
            sessions.next += 1;
            sessions.inputs.insert(id, inputs);
        }
        Registration { shutdown: self, id }
    }
}

/// Serves FTP on `listener` until `shutdown` triggers, one thread per
/// session. Returns once every session has ended.
pub fn serve(listener: TcpListener, settings: Arc<Settings>, shutdown: Shutdown) -> io::Result<()> {
    let local = listener.local_addr()?;
    let handle = listener.try_clone()?;
    if let Ok(mut listeners) = shutdown.listeners.lock() {
        listeners.push(handle);
    }
    // A trigger before the handle was registered found nothing to wake.
    if shutdown.is_triggered() {
        return Ok(());
    }
    let backend = Arc::new(Backend::new(settings.clone())?);
    let limits = SessionLimits::new(settings.max_sessions, settings.max_sessions_per_address);
    tracing::info!(address = %local, root = %settings.root.display(), "listening");
    let mut sessions: Vec<thread::JoinHandle<()>> = Vec::new();
    while !shutdown.is_triggered() {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(_) if shutdown.is_triggered() => break,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if shutdown.is_triggered() {
            break;
        }
        let permit = limits.try_acquire(peer.ip());
        let (backend, shutdown) = (backend.clone(), shutdown.clone());
        sessions.retain(|t| !t.is_finished());
        let spawned = thread::Builder::new()
            .name(format!("ftp {peer}"))
            .spawn(move || run_session(stream, peer, permit, &backend, &shutdown));
        match spawned {
            Ok(handle) => sessions.push(handle),
            Err(error) => tracing::warn!(%error, "cannot start a session thread"),
        }
    }
    tracing::info!(address = %local, sessions = sessions.len(), "stopping");
    for session in sessions {
        let _ = session.join();
    }
    Ok(())
}

/// What helper threads report to a session thread.
enum Input {
    Control(Vec<u8>),
    ControlClosed,
    Incoming(TcpStream, SocketAddr, u64),
    Connected(io::Result<TcpStream>, u64),
    TransferDone(u64, Result<(), TransferError>),
    /// The server is stopping.
    Shutdown,
}

/// A passive listener's accept job, stopped by a flag and by shutting the
/// listener down, which wakes an `accept` blocked on it (Linux).
struct Acceptor {
    stop: Arc<AtomicBool>,
    listener: TcpListener,
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        wake_accept(&self.listener);
    }
}

/// Wakes a thread blocked in `accept` on `listener` (or on a clone of it):
/// shutting a listening socket down makes the call fail at once on Linux.
/// The accepting loop checks its stop flag first.
fn wake_accept(listener: &TcpListener) {
    let _ = socket2::SockRef::from(listener).shutdown(std::net::Shutdown::Read);
}

/// A piece of data-connection work for the session's data worker.
type Job = Box<dyn FnOnce() + Send>;

/// Runs `job` on the session's data worker, starting it on first use. The
/// worker ends when the session drops its sender.
fn on_data_worker(driver: &mut Driver, job: Job) {
    if let Some(worker) = &driver.worker {
        match worker.send(job) {
            Ok(()) => return,
            // The worker is gone (it could not start, or panicked): start
            // another one for this job.
            Err(mpsc::SendError(job)) => return start_data_worker(driver, job),
        }
    }
    start_data_worker(driver, job);
}

fn start_data_worker(driver: &mut Driver, job: Job) {
    let (sender, jobs) = mpsc::channel::<Job>();
    let _ = sender.send(job);
    let started = thread::Builder::new()
        .name("ftp data".into())
        .spawn(move || jobs.into_iter().for_each(|job| job()));
    driver.worker = started.is_ok().then_some(sender);
}

struct Driver {
    inputs: Sender<Input>,
    storage: Option<Arc<DiskStorage>>,
    files: HashMap<RequestId, OpenedFile>,
    acceptor: Option<Acceptor>,
    incoming: Option<TcpStream>,
    data: Option<TcpStream>,
    /// Bumped whenever the data connection set-up changes, so that a late
    /// accept or connect is ignored.
    generation: u64,
    abort: Option<AbortHandle>,
    worker: Option<Sender<Job>>,
}

fn run_session(
    control: TcpStream,
    peer: SocketAddr,
    permit: Option<SessionPermit>,
    backend: &Backend,
    shutdown: &Shutdown,
) {
    let Ok(local) = control.local_addr() else {
        return;
    };
    let _ = net::prepare_control(&control);
    let config = backend.settings().engine.clone();
    let now = clock::now();
    let mut session = match (&permit, shutdown.is_triggered()) {
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
    let (inputs, received) = mpsc::channel();
    let _registration = shutdown.register(inputs.clone());
    if let Ok(reader) = control.try_clone() {
        let inputs = inputs.clone();
        let _ = thread::Builder::new()
            .name(format!("ftp {peer} reader"))
            .spawn(move || read_control(reader, &inputs));
    }
    let mut driver = Driver {
        inputs,
        storage: None,
        files: HashMap::new(),
        acceptor: None,
        incoming: None,
        data: None,
        generation: 0,
        abort: None,
        worker: None,
    };
    drive(
        &mut session,
        &mut driver,
        &control,
        &received,
        peer,
        backend,
        shutdown,
    );
    if let Some(abort) = driver.abort.take() {
        abort.abort();
    }
    let _ = control.shutdown(std::net::Shutdown::Both);
    tracing::info!(%peer, "session end");
    drop(permit);
}

fn read_control(mut reader: TcpStream, inputs: &Sender<Input>) {
    let mut buffer = [0u8; 4096];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) | Err(_) => {
                let _ = inputs.send(Input::ControlClosed);
                return;
            }
            Ok(n) => {
                if inputs
                    .send(Input::Control(buffer.get(..n).unwrap_or_default().to_vec()))
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

fn drive(
    session: &mut Session,
    driver: &mut Driver,
    control: &TcpStream,
    received: &Receiver<Input>,
    peer: SocketAddr,
    backend: &Backend,
    shutdown: &Shutdown,
) {
    let mut user = String::new();
    let mut shut_down = false;
    loop {
        while let Some(action) = session.poll_action() {
            perform(action, session, driver, control, backend);
        }
        while let Some(notice) = session.poll_notice() {
            log_notice(&notice, peer, &mut user);
        }
        if session.is_closed() {
            return;
        }
        if shutdown.is_triggered() && !shut_down {
            shut_down = true;
            session.shut_down();
            continue;
        }
        // Wake at the next input (a shutdown is one) or the engine's
        // deadline.
        let input = match session.poll_timeout() {
            Some(deadline) => {
                received.recv_timeout(deadline.saturating_duration_since(clock::now()))
            }
            None => received.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match input {
            Ok(input) => on_input(input, session, driver),
            Err(RecvTimeoutError::Timeout) => session.handle_timeout(clock::now()),
            Err(RecvTimeoutError::Disconnected) => {
                session.handle_event(Event::ControlClosed, clock::now())
            }
        }
    }
}

fn on_input(input: Input, session: &mut Session, driver: &mut Driver) {
    let now = clock::now();
    match input {
        Input::Control(bytes) => session.handle_input(&bytes, now),
        Input::ControlClosed => session.handle_event(Event::ControlClosed, now),
        Input::Incoming(stream, from, generation) if generation == driver.generation => {
            driver.incoming = Some(stream);
            session.handle_event(Event::DataIncoming { peer: from }, now);
        }
        Input::Connected(result, generation) if generation == driver.generation => match result {
            Ok(stream) => {
                driver.data = Some(stream);
                session.handle_event(Event::DataConnected, now);
            }
            Err(_) => session.handle_event(Event::DataConnectFailed, now),
        },
        Input::TransferDone(bytes, result) => {
            driver.abort = None;
            session.handle_event(Event::TransferDone { bytes, result }, now);
        }
        // A connection from a set-up since replaced; a shutdown, which the
        // driver loop sees next.
        Input::Incoming(..) | Input::Connected(..) | Input::Shutdown => {}
    }
}

fn close_data(driver: &mut Driver) {
    driver.acceptor = None;
    driver.incoming = None;
    driver.data = None;
    driver.generation += 1;
}

fn perform(
    action: Action,
    session: &mut Session,
    driver: &mut Driver,
    control: &TcpStream,
    backend: &Backend,
) {
    let now = clock::now;
    match action {
        Action::Send(bytes) => {
            let mut writer = control;
            if writer.write_all(&bytes).is_err() {
                session.handle_event(Event::ControlClosed, now());
            }
        }
        Action::Authenticate { id, credentials } => {
            let result = backend
                .authenticate(&credentials)
                .map(|(permissions, storage)| {
                    driver.storage = Some(storage);
                    permissions
                });
            session.handle_event(Event::Authenticated { id, result }, now());
        }
        Action::Storage { id, request } => {
            let result = match &driver.storage {
                Some(storage) => storage.handle(&request),
                None => Err(StorageError::PermissionDenied),
            };
            let result = result.map(|(response, file)| {
                if let Some(file) = file {
                    driver.files.insert(id, file);
                }
                response
            });
            session.handle_event(Event::Storage { id, result }, now());
        }
        Action::ListenData { ip, ports } => {
            close_data(driver);
            let listened = net::listen_in_range(ip, &ports)
                .and_then(|l| Ok((l.local_addr()?.port(), l.try_clone()?, l)));
            let event = match listened {
                Ok((port, handle, listener)) => {
                    let stop = Arc::new(AtomicBool::new(false));
                    let (flag, inputs, generation) =
                        (stop.clone(), driver.inputs.clone(), driver.generation);
                    // Accepts until stopped: the engine may refuse a
                    // connection (wrong peer) and wait for the next one.
                    // An accept error ends the job; the engine's timer
                    // then reports the missing connection.
                    on_data_worker(
                        driver,
                        Box::new(move || {
                            while !flag.load(Ordering::SeqCst) {
                                let Ok((stream, from)) = listener.accept() else {
                                    return;
                                };
                                if flag.load(Ordering::SeqCst)
                                    || inputs
                                        .send(Input::Incoming(stream, from, generation))
                                        .is_err()
                                {
                                    return;
                                }
                            }
                        }),
                    );
                    driver.acceptor = Some(Acceptor {
                        stop,
                        listener: handle,
                    });
                    Event::Listening { port }
                }
                Err(error) => {
                    tracing::warn!(%error, "no passive port");
                    Event::ListenFailed
                }
            };
            session.handle_event(event, now());
        }
        Action::AcceptData => {
            driver.acceptor = None;
            driver.data = driver.incoming.take();
        }
        Action::RejectData => driver.incoming = None,
        Action::ConnectData { to, from_port } => {
            close_data(driver);
            let local_ip = control
                .local_addr()
                .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip());
            let timeout = backend.settings().engine.data_connection_timeout;
            let (inputs, generation) = (driver.inputs.clone(), driver.generation);
            on_data_worker(
                driver,
                Box::new(move || {
                    let _ = inputs.send(Input::Connected(
                        net::connect_data(to, local_ip, from_port, timeout),
                        generation,
                    ));
                }),
            );
        }
        Action::Transfer { file, ascii, .. } => {
            let payload = driver.files.remove(&file).map(Payload::File);
            start_transfer(payload, ascii, session, driver);
        }
        Action::SendListing(bytes) => {
            start_transfer(Some(Payload::Listing(bytes)), false, session, driver)
        }
        Action::AbortTransfer => {
            if let Some(abort) = &driver.abort {
                abort.abort();
            }
        }
        Action::CloseFile(id) => {
            driver.files.remove(&id);
        }
        Action::CloseData => close_data(driver),
        Action::Close => {
            let mut writer = control;
            let _ = writer.flush();
            let _ = control.shutdown(std::net::Shutdown::Both);
        }
        _ => {}
    }
}

fn start_transfer(
    payload: Option<Payload>,
    ascii: bool,
    session: &mut Session,
    driver: &mut Driver,
) {
    let started = match (payload, driver.data.take()) {
        (Some(payload), Some(data)) => {
            Transfer::new(payload, data, ascii).map_err(|e| e.to_string())
        }
        _ => Err("no open file or data connection".to_string()),
    };
    match started {
        Ok((transfer, abort)) => {
            driver.abort = Some(abort);
            let inputs = driver.inputs.clone();
            on_data_worker(
                driver,
                Box::new(move || {
                    let (bytes, result) = transfer.run();
                    let _ = inputs.send(Input::TransferDone(bytes, result));
                }),
            );
        }
        Err(message) => {
            let failed = TransferError::Storage(StorageError::Other(message));
            session.handle_event(
                Event::TransferDone {
                    bytes: 0,
                    result: Err(failed),
                },
                clock::now(),
            );
        }
    }
}
