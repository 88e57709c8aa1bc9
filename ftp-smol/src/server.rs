//! The async server: a listener and one task per control connection, each a
//! thin driver loop around [`ftp_proto::server::Session`].
//!
//! The driver reads, feeds the engine, drains its actions and performs them:
//! storage and authentication on the blocking pool, data connections on
//! async sockets, and transfers with [`ftp_backend::transfer`] on the
//! blocking pool (listings and small files, already in memory, written by
//! the session task itself), so the control connection stays readable
//! (ABOR, STAT, QUIT) while bytes move. It makes no protocol decision.

use ftp_backend::clock;
use ftp_backend::disk::{DiskStorage, OpenedFile};
use ftp_backend::limits::{SessionLimits, SessionPermit};
use ftp_backend::net;
pub use ftp_backend::server::Settings;
use ftp_backend::server::{Backend, log_notice};
use ftp_backend::transfer::{AbortHandle, Payload, Transfer};
use ftp_proto::server::{Action, Direction, Event, RequestId, Session, TransferError};
use ftp_proto::storage::StorageError;
use smol::channel::{Receiver, Sender};
use smol::future::{self, FutureExt};
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::{Async, Executor, Task, Timer};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Tells a running server to stop. Cloning gives another handle to the
/// same signal.
#[derive(Debug, Clone)]
pub struct Shutdown {
    sender: Sender<()>,
    receiver: Receiver<()>,
}

impl Default for Shutdown {
    fn default() -> Self {
        let (sender, receiver) = smol::channel::bounded(1);
        Shutdown { sender, receiver }
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
        self.sender.close();
    }

    /// Waits until [`Shutdown::trigger`] is called.
    pub async fn wait(&self) {
        let _ = self.receiver.recv().await;
    }

    /// Whether [`Shutdown::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        self.sender.is_closed()
    }
}

/// Serves FTP on `listener` until `shutdown` triggers, spawning one task per
/// session on `executor`. Returns once every session has ended.
pub async fn serve(
    executor: Arc<Executor<'static>>,
    listener: TcpListener,
    settings: Arc<Settings>,
    shutdown: Shutdown,
) -> io::Result<()> {
    let listener = Async::new(listener)?;
    let local_listen = listener.get_ref().local_addr()?;
    let limits = SessionLimits::new(settings.max_sessions, settings.max_sessions_per_address);
    let backend = Arc::new(Backend::new(settings.clone())?);
    tracing::info!(address = %local_listen, root = %settings.root.display(), "listening");
    let mut sessions = Vec::new();
    loop {
        let accepted = async { Some(listener.accept().await) }
            .or(async {
                shutdown.wait().await;
                None
            })
            .await;
        let Some(accepted) = accepted else { break };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors, say: wait a little rather than spin.
                tracing::warn!(%error, "accept failed");
                Timer::after(Duration::from_millis(50)).await;
                continue;
            }
        };
        let permit = limits.try_acquire(peer.ip());
        let session = SessionTask {
            settings: settings.clone(),
            backend: backend.clone(),
            shutdown: shutdown.clone(),
        };
        sessions.retain(|task: &smol::Task<()>| !task.is_finished());
        sessions.push(executor.spawn(session.run(stream, peer, permit)));
    }
    tracing::info!(address = %local_listen, sessions = sessions.len(), "stopping");
    for task in sessions {
        task.await;
    }
    Ok(())
}

struct SessionTask {
    settings: Arc<Settings>,
    backend: Arc<Backend>,
    shutdown: Shutdown,
}

/// What a transfer reports: the bytes moved and the outcome.
type TransferOutcome = (u64, Result<(), TransferError>);

/// What woke the driver loop.
enum Wake {
    Control(io::Result<usize>),
    Incoming(io::Result<(Async<TcpStream>, SocketAddr)>),
    Connected(io::Result<TcpStream>),
    TransferDone(TransferOutcome),
    Timeout,
    Shutdown,
}

/// A session's I/O state: the sockets and files behind the engine's actions.
struct Driver {
    storage: Option<Arc<DiskStorage>>,
    files: HashMap<RequestId, OpenedFile>,
    listener: Option<Async<TcpListener>>,
    /// A connection reported to the engine, awaiting AcceptData/RejectData.
    incoming: Option<Async<TcpStream>>,
    data: Option<TcpStream>,
    /// An active-mode connect running on the blocking pool; dropped (its
    /// result ignored) when superseded.
    connecting: Option<Task<io::Result<TcpStream>>>,
    /// The running transfer: written by this task when its bytes are in
    /// memory, else run on the blocking pool. Either way polled by the
    /// session task itself, with no other executor or channel in between.
    transfer: Option<future::Boxed<TransferOutcome>>,
    abort: Option<AbortHandle>,
}

impl SessionTask {
    async fn run(self, stream: Async<TcpStream>, peer: SocketAddr, permit: Option<SessionPermit>) {
        let local = match stream.get_ref().local_addr() {
            Ok(local) => local,
            Err(_) => return,
        };
        let _ = net::prepare_control(stream.get_ref());
        let now = clock::now();
        let config = self.settings.engine.clone();
        let session = match (&permit, self.shutdown.is_triggered()) {
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
        self.drive(session, stream, peer).await;
        tracing::info!(%peer, "session end");
        drop(permit);
    }

    async fn drive(&self, mut session: Session, control: Async<TcpStream>, peer: SocketAddr) {
        let mut driver = Driver {
            storage: None,
            files: HashMap::new(),
            listener: None,
            incoming: None,
            data: None,
            connecting: None,
            transfer: None,
            abort: None,
        };
        let mut buffer = vec![0u8; 4096];
        let mut user = String::new();
        let mut shutting_down = false;
        loop {
            while let Some(action) = session.poll_action() {
                if let Err(error) = self
                    .perform(action, &mut session, &mut driver, &control)
                    .await
                {
                    tracing::debug!(%peer, %error, "control connection lost");
                    session.handle_event(Event::ControlClosed, clock::now());
                }
            }
            while let Some(notice) = session.poll_notice() {
                log_notice(&notice, peer, &mut user);
            }
            if session.is_closed() {
                break;
            }
            let wake = self
                .wait(&session, &control, &mut buffer, &mut driver, shutting_down)
                .await;
            let now = clock::now();
            match wake {
                Wake::Control(Ok(0)) | Wake::Control(Err(_)) => {
                    session.handle_event(Event::ControlClosed, now)
                }
                Wake::Control(Ok(n)) => {
                    session.handle_input(buffer.get(..n).unwrap_or_default(), now)
                }
                Wake::Incoming(Ok((stream, from))) => {
                    driver.incoming = Some(stream);
                    session.handle_event(Event::DataIncoming { peer: from }, now);
                }
                Wake::Incoming(Err(_)) => {}
                Wake::Connected(Ok(stream)) => {
                    driver.connecting = None;
                    driver.data = Some(stream);
                    session.handle_event(Event::DataConnected, now);
                }
                Wake::Connected(Err(_)) => {
                    driver.connecting = None;
                    session.handle_event(Event::DataConnectFailed, now)
                }
                Wake::TransferDone((bytes, result)) => {
                    driver.transfer = None;
                    driver.abort = None;
                    session.handle_event(Event::TransferDone { bytes, result }, now);
                }
                Wake::Timeout => session.handle_timeout(now),
                Wake::Shutdown => {
                    shutting_down = true;
                    session.shut_down();
                }
            }
        }
        if let Some(abort) = driver.abort.take() {
            abort.abort();
        }
        let _ = (&control).flush().await;
    }

    async fn wait(
        &self,
        session: &Session,
        control: &Async<TcpStream>,
        buffer: &mut [u8],
        driver: &mut Driver,
        shutting_down: bool,
    ) -> Wake {
        let Driver {
            listener,
            incoming,
            connecting,
            transfer,
            ..
        } = driver;
        let read = async {
            if session.wants_input() {
                let mut reader = control;
                Wake::Control(reader.read(buffer).await)
            } else {
                future::pending().await
            }
        };
        let accept = async {
            match (listener.as_ref(), incoming.as_ref()) {
                (Some(listener), None) => Wake::Incoming(listener.accept().await),
                _ => future::pending().await,
            }
        };
        // A finished task is taken out of the driver by the caller, so it
        // is never polled again.
        let connected = async {
            match connecting.as_mut() {
                Some(task) => Wake::Connected(task.await),
                None => future::pending().await,
            }
        };
        let transferred = async {
            match transfer.as_mut() {
                Some(task) => Wake::TransferDone(task.await),
                None => future::pending().await,
            }
        };
        let timer = async {
            match session.poll_timeout().and_then(clock::deadline) {
                Some(deadline) => {
                    Timer::at(deadline).await;
                    Wake::Timeout
                }
                None => future::pending().await,
            }
        };
        let shutdown = async {
            if shutting_down {
                future::pending().await
            } else {
                self.shutdown.wait().await;
                Wake::Shutdown
            }
        };
        read.or(accept)
            .or(connected)
            .or(transferred)
            .or(timer)
            .or(shutdown)
            .await
    }

    async fn perform(
        &self,
        action: Action,
        session: &mut Session,
        driver: &mut Driver,
        control: &Async<TcpStream>,
    ) -> io::Result<()> {
        match action {
            Action::Send(bytes) => {
                let mut writer = control;
                writer.write_all(&bytes).await?;
            }
            Action::Authenticate { id, credentials } => {
                let backend = self.backend.clone();
                let login = smol::unblock(move || backend.authenticate(&credentials)).await;
                let result = login.map(|(permissions, storage)| {
                    driver.storage = Some(storage);
                    permissions
                });
                session.handle_event(Event::Authenticated { id, result }, clock::now());
            }
            Action::Storage { id, request } => {
                let result = match driver.storage.clone() {
                    Some(storage) => smol::unblock(move || storage.handle(&request)).await,
                    None => Err(StorageError::PermissionDenied),
                };
                let result = result.map(|(response, file)| {
                    if let Some(file) = file {
                        driver.files.insert(id, file);
                    }
                    response
                });
                session.handle_event(Event::Storage { id, result }, clock::now());
            }
            Action::ListenData { ip, ports } => {
                close_data(driver);
                let listened = net::listen_in_range(ip, &ports).and_then(|l| {
                    let port = l.local_addr()?.port();
                    Ok((Async::new(l)?, port))
                });
                let event = match listened {
                    Ok((listener, port)) => {
                        driver.listener = Some(listener);
                        Event::Listening { port }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "no passive port");
                        Event::ListenFailed
                    }
                };
                session.handle_event(event, clock::now());
            }
            Action::AcceptData => {
                driver.listener = None;
                driver.data = driver.incoming.take().and_then(|s| s.into_inner().ok());
            }
            Action::RejectData => driver.incoming = None,
            Action::ConnectData { to, from_port } => {
                close_data(driver);
                let local_ip = control
                    .get_ref()
                    .local_addr()
                    .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
                let timeout = self.settings.engine.data_connection_timeout;
                driver.connecting = Some(smol::unblock(move || {
                    net::connect_data(to, local_ip, from_port, timeout)
                }));
            }
            Action::Transfer {
                file,
                direction,
                ascii,
            } => {
                let opened = driver.files.remove(&file);
                self.start_transfer(driver, session, opened.map(Payload::File), direction, ascii);
            }
            Action::SendListing(bytes) => {
                self.start_transfer(
                    driver,
                    session,
                    Some(Payload::Listing(bytes)),
                    Direction::Download,
                    false,
                );
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
                let _ = writer.flush().await;
                let _ = control.get_ref().shutdown(std::net::Shutdown::Both);
            }
            _ => {}
        }
        Ok(())
    }

    fn start_transfer(
        &self,
        driver: &mut Driver,
        session: &mut Session,
        payload: Option<Payload>,
        direction: Direction,
        ascii: bool,
    ) {
        let data = driver.data.take();
        let (Some(payload), Some(data)) = (payload, data) else {
            let missing = TransferError::Storage(StorageError::Other(
                "no open file or data connection".into(),
            ));
            session.handle_event(
                Event::TransferDone {
                    bytes: 0,
                    result: Err(missing),
                },
                clock::now(),
            );
            return;
        };
        let _ = data.set_nonblocking(false);
        let _ = direction;
        match Transfer::new(payload, data, ascii) {
            Ok((transfer, abort)) => {
                driver.abort = Some(abort);
                driver.transfer = Some(match transfer.into_memory() {
                    Ok((bytes, data, end)) => Box::pin(async move {
                        let written = match Async::new(data) {
                            Ok(mut data) => {
                                let written = data.write_all(&bytes).await;
                                let _ = data.get_ref().shutdown(std::net::Shutdown::Both);
                                written
                            }
                            Err(error) => Err(error),
                        };
                        end.finish(written, bytes.len())
                    }),
                    Err(transfer) => Box::pin(smol::unblock(move || transfer.run())),
                });
            }
            Err(error) => {
                let failed = TransferError::Storage(StorageError::Other(error.to_string()));
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
}

fn close_data(driver: &mut Driver) {
    driver.listener = None;
    driver.incoming = None;
    driver.data = None;
    driver.connecting = None;
}
