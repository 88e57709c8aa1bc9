//! The blocking server: a listener and a thread per control connection
//! (bounded by the session limits), each a thin loop that performs the
//! [`Io`] of a [`SessionDriver`] (shared with the async server in
//! `ftp-smol`, which holds every decision and all bookkeeping).
//!
//! Each session thread waits on one channel fed by two helper threads: one
//! reads the control connection, a chunk at a time and only while the
//! session wants input (back-pressure); the other, the data worker, started
//! on first use and kept for the session, runs the data-connection jobs one
//! after the other: accepting on a passive listener, connecting an active
//! data connection, running a transfer. The control connection therefore
//! stays readable (ABOR, STAT, QUIT) while bytes move, and a session of
//! many transfers starts two threads, not two per transfer (measured:
//! thread start-up and stack unmapping were most of this server's CPU
//! under many small downloads).

use ftp_driver::limits::{SessionLimits, SessionPermit};
use ftp_driver::net;
pub use ftp_driver::server::SharedSettings;
use ftp_driver::server::{Backend, Generation, Io, SessionDriver};
use ftp_proto::server::TransferError;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

pub use ftp_accounts::{Account, Accounts, Secret};
pub use ftp_driver::server::{Settings, load_tls};
pub use ftp_proto::server::{Permissions, ServerConfig};

/// Tells a running server to stop. Cloning gives another handle to the
/// same signal.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    triggered: Arc<AtomicBool>,
    /// Addresses of the listeners to wake from their blocking accept.
    listeners: Arc<Mutex<Vec<SocketAddr>>>,
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
            listeners.iter().copied().for_each(net::wake_accept);
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
pub fn serve(
    listener: TcpListener,
    settings: impl Into<SharedSettings>,
    shutdown: Shutdown,
) -> io::Result<()> {
    serve_listener(listener, false, settings.into(), shutdown)
}

/// As [`serve`], for implicit FTPS (port 990 by custom): TLS from the
/// first byte, with the certificate of the engine's settings.
pub fn serve_implicit_tls(
    listener: TcpListener,
    settings: impl Into<SharedSettings>,
    shutdown: Shutdown,
) -> io::Result<()> {
    serve_listener(listener, true, settings.into(), shutdown)
}

fn serve_listener(
    listener: TcpListener,
    implicit_tls: bool,
    shared: SharedSettings,
    shutdown: Shutdown,
) -> io::Result<()> {
    let local = listener.local_addr()?;
    if let Ok(mut listeners) = shutdown.listeners.lock() {
        listeners.push(local);
    }
    // A trigger before the address was registered found nothing to wake.
    if shutdown.is_triggered() {
        return Ok(());
    }
    let first = shared.backend()?;
    let settings = first.settings().clone();
    let limits = SessionLimits::new(settings.max_sessions, settings.max_sessions_per_address);
    tracing::info!(address = %local, root = %settings.root.display(), implicit_tls, "listening");
    let mut sessions: Vec<thread::JoinHandle<()>> = Vec::new();
    while !shutdown.is_triggered() {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(_) if shutdown.is_triggered() => break,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                thread::sleep(net::ACCEPT_BACKOFF);
                continue;
            }
        };
        if shutdown.is_triggered() {
            break;
        }
        let permit = limits.try_acquire(peer.ip());
        // The settings as they are now (a reload replaces them for new
        // sessions only).
        let backend = shared.backend().unwrap_or_else(|_| first.clone());
        let shutdown = shutdown.clone();
        sessions.retain(|t| !t.is_finished());
        let spawned = thread::Builder::new()
            .name(format!("ftp {peer}"))
            .spawn(move || run_session(stream, peer, permit, implicit_tls, backend, &shutdown));
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
    Incoming(Generation, io::Result<(TcpStream, SocketAddr)>),
    Connected(Generation, io::Result<TcpStream>),
    TransferDone(u64, Result<(), TransferError>),
    /// The server is stopping.
    Shutdown,
}

/// A passive listener's accept job, stopped by a flag and by a connection
/// that wakes its blocking accept.
struct Acceptor {
    stop: Arc<AtomicBool>,
    address: Option<SocketAddr>,
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(address) = self.address {
            net::wake_accept(address);
        }
    }
}

/// A piece of data-connection work for the session's data worker.
type Job = Box<dyn FnOnce() + Send>;

/// The session's data worker: a thread started on first use that runs
/// jobs one after the other, and ends when the session drops it.
#[derive(Default)]
struct DataWorker {
    jobs: Option<Sender<Job>>,
}

impl DataWorker {
    fn run(&mut self, job: Job) {
        let job = match &self.jobs {
            Some(jobs) => match jobs.send(job) {
                Ok(()) => return,
                // The worker is gone (it could not start, or panicked):
                // start another one for this job.
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        let (sender, jobs) = mpsc::channel::<Job>();
        let _ = sender.send(job);
        let started = thread::Builder::new()
            .name("ftp data".into())
            .spawn(move || jobs.into_iter().for_each(|job| job()));
        self.jobs = started.is_ok().then_some(sender);
    }
}

fn run_session(
    control: TcpStream,
    peer: SocketAddr,
    permit: Option<SessionPermit>,
    implicit_tls: bool,
    backend: Arc<Backend>,
    shutdown: &Shutdown,
) {
    let Ok(local) = control.local_addr() else {
        return;
    };
    let _ = net::prepare_control(&control);
    let stopping = shutdown.is_triggered();
    let mut driver =
        SessionDriver::on_listener(backend, peer, local, permit, stopping, implicit_tls);
    if let Ok(watched) = control.try_clone() {
        driver.watch_control(watched);
    }
    let (inputs, received) = mpsc::channel();
    let _registration = shutdown.register(inputs.clone());
    // One credit lets the reader read one chunk.
    let (credit, credits) = mpsc::sync_channel(1);
    if let Ok(reader) = control.try_clone() {
        let inputs = inputs.clone();
        let _ = thread::Builder::new()
            .name(format!("ftp {peer} reader"))
            .spawn(move || read_control(reader, &inputs, &credits));
    }
    let mut session = SessionThread {
        control: &control,
        inputs,
        worker: DataWorker::default(),
        acceptor: None,
    };
    session.drive(&mut driver, &received, &credit, shutdown);
    drop(driver);
    let _ = control.shutdown(std::net::Shutdown::Both);
}

/// Reads the control connection a chunk per credit, so that a session
/// that wants no input (back-pressure) is not sent any.
fn read_control(mut reader: TcpStream, inputs: &Sender<Input>, credits: &Receiver<()>) {
    let mut buffer = [0u8; 4096];
    while credits.recv().is_ok() {
        let input = match reader.read(&mut buffer) {
            Ok(0) | Err(_) => Input::ControlClosed,
            Ok(n) => Input::Control(buffer.get(..n).unwrap_or_default().to_vec()),
        };
        let closed = matches!(input, Input::ControlClosed);
        if inputs.send(input).is_err() || closed {
            return;
        }
    }
}

/// A session thread's I/O: the control connection, the data worker and
/// the passive listener's accept job.
struct SessionThread<'a> {
    control: &'a TcpStream,
    inputs: Sender<Input>,
    worker: DataWorker,
    acceptor: Option<Acceptor>,
}

impl SessionThread<'_> {
    fn drive(
        &mut self,
        driver: &mut SessionDriver,
        received: &Receiver<Input>,
        credit: &SyncSender<()>,
        shutdown: &Shutdown,
    ) {
        let mut reader_waits = true;
        loop {
            while let Some(io) = driver.poll_io() {
                self.perform(io, driver);
            }
            if driver.is_closed() {
                return;
            }
            if shutdown.is_triggered() && !driver.is_shutting_down() {
                driver.shut_down();
                continue;
            }
            if reader_waits && driver.wants_input() {
                reader_waits = credit.try_send(()).is_err();
            }
            // Wake at the next input (a shutdown is one) or the deadline.
            let input = match driver.time_left() {
                Some(left) => received.recv_timeout(left),
                None => received.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match input {
                Ok(Input::Control(bytes)) => {
                    reader_waits = true;
                    driver.control_input(&bytes);
                }
                Ok(Input::ControlClosed) | Err(RecvTimeoutError::Disconnected) => {
                    driver.control_closed()
                }
                Ok(Input::Incoming(generation, accepted)) => driver.incoming(generation, accepted),
                Ok(Input::Connected(generation, result)) => driver.connected(generation, result),
                Ok(Input::TransferDone(bytes, result)) => driver.transfer_done(bytes, result),
                // Seen at the top of the loop.
                Ok(Input::Shutdown) => {}
                Err(RecvTimeoutError::Timeout) => driver.timeout(),
            }
        }
    }

    fn perform(&mut self, io: Io, driver: &mut SessionDriver) {
        match io {
            Io::Send(bytes) => {
                let mut writer = self.control;
                if writer.write_all(&bytes).is_err() {
                    driver.control_closed();
                }
            }
            Io::Run(job) => driver.job_done(job.run()),
            Io::Listen(listener, generation) => {
                let stop = Arc::new(AtomicBool::new(false));
                let (flag, inputs) = (stop.clone(), self.inputs.clone());
                // Accepts until stopped: the engine may refuse a connection
                // (wrong peer) and wait for the next one. An error ends the
                // job, reported once.
                let address = listener.local_addr().ok();
                self.worker.run(Box::new(move || {
                    while !flag.load(Ordering::SeqCst) {
                        let accepted = listener.accept();
                        let failed = accepted.is_err();
                        if flag.load(Ordering::SeqCst)
                            || inputs.send(Input::Incoming(generation, accepted)).is_err()
                            || failed
                        {
                            return;
                        }
                    }
                }));
                self.acceptor = Some(Acceptor { stop, address });
            }
            Io::StopListening => self.acceptor = None,
            Io::Connect(job) => {
                let inputs = self.inputs.clone();
                self.worker.run(Box::new(move || {
                    let (generation, result) = job.run();
                    let _ = inputs.send(Input::Connected(generation, result));
                }));
            }
            Io::Transfer(transfer) => {
                let inputs = self.inputs.clone();
                self.worker.run(Box::new(move || {
                    let (bytes, result) = transfer.run();
                    let _ = inputs.send(Input::TransferDone(bytes, result));
                }));
            }
            Io::Close => {
                let mut writer = self.control;
                let _ = writer.flush();
                let _ = self.control.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}
