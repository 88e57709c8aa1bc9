//! The async server: a listener and one task per control connection, each
//! a thin loop that performs the [`Io`] of a [`SessionDriver`] (shared with
//! the blocking server in `ftp-std`, which holds every decision and all
//! bookkeeping).
//!
//! Storage and authentication run on the blocking pool, data connections
//! on async sockets, transfers on the blocking pool (listings and small
//! files, already in memory, are written by the session task itself), so
//! the control connection stays readable (ABOR, STAT, QUIT) while bytes
//! move.

use crate::deadline::write_all_unless_stalled;
pub use ftp_accounts::{Account, Accounts, Secret};
use ftp_driver::limits::{SessionLimits, SessionPermit};
use ftp_driver::net;
pub use ftp_driver::server::SharedSettings;
use ftp_driver::server::{Backend, Generation, Io, SessionDriver};
pub use ftp_driver::server::{Settings, load_tls};
use ftp_proto::server::TransferError;
pub use ftp_proto::server::{Permissions, ServerConfig};
use smol::channel::{Receiver, Sender};
use smol::future::{self, FutureExt};
use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::{Async, Executor, Task, Timer};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

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
/// session on `executor`. Returns once every session has ended. The
/// settings are an `Arc<Settings>`, or [`SharedSettings`] to replace them
/// while serving (new sessions take the new ones).
pub async fn serve(
    executor: Arc<Executor<'static>>,
    listener: TcpListener,
    settings: impl Into<SharedSettings>,
    shutdown: Shutdown,
) -> io::Result<()> {
    serve_listener(executor, listener, false, settings.into(), shutdown).await
}

/// As [`serve`], for implicit FTPS (port 990 by custom): TLS from the
/// first byte, with the certificate of the engine's settings.
pub async fn serve_implicit_tls(
    executor: Arc<Executor<'static>>,
    listener: TcpListener,
    settings: impl Into<SharedSettings>,
    shutdown: Shutdown,
) -> io::Result<()> {
    serve_listener(executor, listener, true, settings.into(), shutdown).await
}

async fn serve_listener(
    executor: Arc<Executor<'static>>,
    listener: TcpListener,
    implicit_tls: bool,
    shared: SharedSettings,
    shutdown: Shutdown,
) -> io::Result<()> {
    let listener = Async::new(listener)?;
    let local_listen = listener.get_ref().local_addr()?;
    let first = shared.backend()?;
    let settings = first.settings().clone();
    let limits = SessionLimits::new(settings.max_sessions, settings.max_sessions_per_address);
    tracing::info!(address = %local_listen, root = %settings.root.display(), implicit_tls, "listening");
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
                Timer::after(net::ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let permit = limits.try_acquire(peer.ip());
        sessions.retain(|task: &smol::Task<()>| !task.is_finished());
        // The settings as they are now (a reload replaces them for new
        // sessions only).
        let backend = shared.backend().unwrap_or_else(|_| first.clone());
        let session = run_session(
            stream,
            peer,
            permit,
            implicit_tls,
            backend,
            shutdown.clone(),
        );
        sessions.push(executor.spawn(session));
    }
    tracing::info!(address = %local_listen, sessions = sessions.len(), "stopping");
    for task in sessions {
        task.await;
    }
    Ok(())
}

/// What a transfer reports: the bytes moved and the outcome.
type TransferOutcome = (u64, Result<(), TransferError>);

/// What woke the session task.
enum Wake {
    Control(io::Result<usize>),
    Incoming(Generation, io::Result<(TcpStream, SocketAddr)>),
    Connected(Generation, io::Result<TcpStream>),
    TransferDone(TransferOutcome),
    Timeout,
    Shutdown,
}

/// A session task's I/O: the control connection and what runs beside it.
struct SessionTask {
    control: Async<TcpStream>,
    listener: Option<(Async<TcpListener>, Generation)>,
    /// An active-mode connect on the blocking pool; a superseded one is
    /// dropped by the driver when it reports.
    connecting: Option<Task<(Generation, io::Result<TcpStream>)>>,
    /// The running transfer, polled by the session task itself.
    transfer: Option<future::Boxed<TransferOutcome>>,
}

async fn run_session(
    stream: Async<TcpStream>,
    peer: SocketAddr,
    permit: Option<SessionPermit>,
    implicit_tls: bool,
    backend: Arc<Backend>,
    shutdown: Shutdown,
) {
    let Ok(local) = stream.get_ref().local_addr() else {
        return;
    };
    let _ = net::prepare_control(stream.get_ref());
    let stopping = shutdown.is_triggered();
    let mut driver =
        SessionDriver::on_listener(backend, peer, local, permit, stopping, implicit_tls);
    if let Ok(watched) = stream.get_ref().try_clone() {
        driver.watch_control(watched);
    }
    let mut task = SessionTask {
        control: stream,
        listener: None,
        connecting: None,
        transfer: None,
    };
    let mut buffer = vec![0u8; 4096];
    loop {
        while let Some(io) = driver.poll_io() {
            task.perform(io, &mut driver).await;
        }
        if driver.is_closed() {
            break;
        }
        match task.wait(&driver, &mut buffer, &shutdown).await {
            Wake::Control(Ok(0) | Err(_)) => driver.control_closed(),
            Wake::Control(Ok(n)) => driver.control_input(buffer.get(..n).unwrap_or_default()),
            Wake::Incoming(generation, accepted) => driver.incoming(generation, accepted),
            Wake::Connected(generation, result) => {
                task.connecting = None;
                driver.connected(generation, result);
            }
            Wake::TransferDone((bytes, result)) => {
                task.transfer = None;
                driver.transfer_done(bytes, result);
            }
            Wake::Timeout => driver.timeout(),
            Wake::Shutdown => driver.shut_down(),
        }
    }
    drop(driver);
    let _ = (&task.control).flush().await;
}

impl SessionTask {
    async fn wait(
        &mut self,
        driver: &SessionDriver,
        buffer: &mut [u8],
        shutdown: &Shutdown,
    ) -> Wake {
        let SessionTask {
            control,
            listener,
            connecting,
            transfer,
        } = self;
        let read = async {
            if driver.wants_input() {
                let mut reader = &*control;
                Wake::Control(reader.read(buffer).await)
            } else {
                future::pending().await
            }
        };
        let accept = async {
            match listener.as_ref() {
                Some((listener, generation)) => {
                    let accepted = listener
                        .accept()
                        .await
                        .and_then(|(stream, from)| Ok((stream.into_inner()?, from)));
                    Wake::Incoming(*generation, accepted)
                }
                None => future::pending().await,
            }
        };
        // A finished task is taken out by the caller, never polled again.
        let connected = async {
            match connecting.as_mut() {
                Some(task) => {
                    let (generation, result) = task.await;
                    Wake::Connected(generation, result)
                }
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
            match driver.deadline() {
                Some(deadline) => {
                    Timer::at(deadline).await;
                    Wake::Timeout
                }
                None => future::pending().await,
            }
        };
        let stopping = async {
            if driver.is_shutting_down() {
                future::pending().await
            } else {
                shutdown.wait().await;
                Wake::Shutdown
            }
        };
        read.or(accept)
            .or(connected)
            .or(transferred)
            .or(timer)
            .or(stopping)
            .await
    }

    async fn perform(&mut self, io: Io, driver: &mut SessionDriver) {
        match io {
            Io::Send(bytes) => {
                let mut writer = &self.control;
                if writer.write_all(&bytes).await.is_err() {
                    driver.control_closed();
                }
            }
            Io::Run(job) => driver.job_done(smol::unblock(move || job.run()).await),
            Io::Listen(listener, generation) => match Async::new(listener) {
                Ok(listener) => self.listener = Some((listener, generation)),
                Err(error) => driver.incoming(generation, Err(error)),
            },
            Io::StopListening => self.listener = None,
            Io::Connect(job) => self.connecting = Some(smol::unblock(move || job.run())),
            Io::Transfer(transfer) => {
                self.transfer = Some(match transfer.into_memory() {
                    Ok((bytes, data, end)) => Box::pin(async move {
                        let written = match Async::new(data) {
                            Ok(data) => {
                                let stall = end.stall_timeout();
                                let written = write_all_unless_stalled(&data, &bytes, stall).await;
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
            Io::Close => {
                let mut writer = &self.control;
                let _ = writer.flush().await;
                let _ = self.control.get_ref().shutdown(std::net::Shutdown::Both);
            }
        }
    }
}
