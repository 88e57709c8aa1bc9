//! The async client: [`Client`] drives the `ftp-proto` client engine on
//! smol / async-io. Each method queues one engine operation and performs
//! the engine's actions until that operation's outcome comes.
//!
//! Downloads stream into any [`AsyncWrite`] and uploads from any
//! [`AsyncRead`]; a file is never held in memory. Many clients run
//! concurrently on one executor (see `examples/parallel_downloads.rs`).

use ftp_backend::clock;
use ftp_proto::ascii::{AsciiDecoder, AsciiEncoder};
use ftp_proto::client::{
    Action, Client as Engine, ClientConfig, ClientError, DataError, Direction, Event, Features,
    OperationId, Output, StoreMode,
};
use ftp_proto::listing::parse::{Entry, Listing};
use smol::future::FutureExt;
use smol::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use smol::{Async, Timer};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, SystemTime};

pub use ftp_proto::client::DataMode;

const MAX_LISTING: usize = 64 * 1024 * 1024;
const BUFFER: usize = 256 * 1024;

/// Why a client call failed.
#[derive(Debug)]
pub enum Error {
    /// The connection could not be made, or broke.
    Io(io::Error),
    /// The FTP exchange failed: a refusal, a protocol violation, a timeout.
    Ftp(ClientError),
}

impl Error {
    /// The reply code of a refusal, if the server refused.
    pub fn reply_code(&self) -> Option<u16> {
        match self {
            Error::Ftp(ClientError::Rejected(reply) | ClientError::UnexpectedReply(reply)) => {
                Some(reply.code.get())
            }
            _ => None,
        }
    }

    /// Whether the server said the file or directory is not there (550,
    /// 450).
    pub fn is_not_found(&self) -> bool {
        matches!(self.reply_code(), Some(550 | 450))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(error) => write!(f, "{error}"),
            Error::Ftp(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Error {
        Error::Io(error)
    }
}

/// Where a transfer's bytes come from or go to.
enum Io<'a> {
    None,
    Sink(&'a mut (dyn AsyncWrite + Unpin + Send)),
    Source(&'a mut (dyn AsyncRead + Unpin + Send)),
}

/// What woke the driver.
enum Wake {
    Control(io::Result<usize>),
    Accepted(io::Result<(Async<TcpStream>, SocketAddr)>),
    Timeout,
}

/// An async FTP client on one control connection.
pub struct Client {
    engine: Engine,
    control: Async<TcpStream>,
    data: Option<Async<TcpStream>>,
    listener: Option<Async<TcpListener>>,
    buffer: Vec<u8>,
    data_timeout: Duration,
    progress: Option<Progress>,
}

type Progress = Box<dyn FnMut(u64) -> std::ops::ControlFlow<()> + Send>;

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("control", &self.control)
            .finish_non_exhaustive()
    }
}

fn transferred(output: Output) -> Result<u64, Error> {
    match output {
        Output::Transferred { bytes } => Ok(bytes),
        other => Err(unexpected(other)),
    }
}

fn unexpected(output: Output) -> Error {
    Error::Io(io::Error::other(format!("unexpected outcome {output:?}")))
}

impl Client {
    /// Connects to `address` and waits for the greeting.
    pub async fn connect(address: SocketAddr, config: ClientConfig) -> Result<Client, Error> {
        let timeout = config.reply_timeout;
        let control = Async::<TcpStream>::connect(address)
            .or(async {
                Timer::after(timeout).await;
                Err(io::Error::from(io::ErrorKind::TimedOut))
            })
            .await?;
        control.get_ref().set_nodelay(true)?;
        let (peer, local) = (
            control.get_ref().peer_addr()?,
            control.get_ref().local_addr()?,
        );
        let data_timeout = config.data_timeout;
        let engine = Engine::new(config, peer, local, clock::now());
        let mut client = Client {
            engine,
            control,
            data: None,
            listener: None,
            buffer: Vec::new(),
            data_timeout,
            progress: None,
        };
        client.run(OperationId(0), Io::None).await?;
        Ok(client)
    }

    /// Calls `progress` with the bytes moved so far during each transfer;
    /// returning `ControlFlow::Break` aborts the transfer (ABOR).
    pub fn set_progress(
        &mut self,
        progress: impl FnMut(u64) -> std::ops::ControlFlow<()> + Send + 'static,
    ) {
        self.progress = Some(Box::new(progress));
    }

    /// What the server's FEAT said.
    pub fn features(&self) -> &Features {
        self.engine.features()
    }

    /// Logs in (USER, PASS, ACCT if asked for), then asks for FEAT.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<(), Error> {
        let id = self
            .engine
            .login(user.as_bytes(), password.as_bytes(), None);
        self.run(id, Io::None).await.map(drop)
    }

    async fn simple(&mut self, id: OperationId) -> Result<Output, Error> {
        self.run(id, Io::None).await
    }

    /// The working directory.
    pub async fn pwd(&mut self) -> Result<Vec<u8>, Error> {
        let id = self.engine.pwd();
        match self.simple(id).await? {
            Output::Path(path) => Ok(path.to_vec()),
            other => Err(unexpected(other)),
        }
    }

    /// Changes the working directory.
    pub async fn cwd(&mut self, path: &[u8]) -> Result<(), Error> {
        let id = self.engine.cwd(path);
        self.simple(id).await.map(drop)
    }

    /// Creates a directory; returns its path as the server names it.
    pub async fn mkdir(&mut self, path: &[u8]) -> Result<Vec<u8>, Error> {
        let id = self.engine.mkdir(path);
        match self.simple(id).await? {
            Output::Path(path) => Ok(path.to_vec()),
            other => Err(unexpected(other)),
        }
    }

    /// Removes a directory.
    pub async fn rmdir(&mut self, path: &[u8]) -> Result<(), Error> {
        let id = self.engine.rmdir(path);
        self.simple(id).await.map(drop)
    }

    /// Deletes a file.
    pub async fn delete(&mut self, path: &[u8]) -> Result<(), Error> {
        let id = self.engine.delete(path);
        self.simple(id).await.map(drop)
    }

    /// Renames or moves.
    pub async fn rename(&mut self, from: &[u8], to: &[u8]) -> Result<(), Error> {
        let id = self.engine.rename(from, to);
        self.simple(id).await.map(drop)
    }

    /// The size of a file, in binary mode.
    pub async fn size(&mut self, path: &[u8]) -> Result<u64, Error> {
        let id = self.engine.set_type(false);
        self.simple(id).await?;
        let id = self.engine.size(path);
        match self.simple(id).await? {
            Output::Size(size) => Ok(size),
            other => Err(unexpected(other)),
        }
    }

    /// The modification time of a file.
    pub async fn mdtm(&mut self, path: &[u8]) -> Result<SystemTime, Error> {
        let id = self.engine.mdtm(path);
        match self.simple(id).await? {
            Output::Modified(time) => Ok(time),
            other => Err(unexpected(other)),
        }
    }

    /// One object's facts (MLST).
    pub async fn mlst(&mut self, path: Option<&[u8]>) -> Result<Entry, Error> {
        let id = self.engine.mlst(path);
        match self.simple(id).await? {
            Output::Entry(entry) => Ok(entry),
            other => Err(unexpected(other)),
        }
    }

    /// NOOP.
    pub async fn noop(&mut self) -> Result<(), Error> {
        let id = self.engine.noop();
        self.simple(id).await.map(drop)
    }

    /// A directory listing: MLSD when offered, else LIST.
    pub async fn list(&mut self, path: Option<&[u8]>) -> Result<Listing, Error> {
        let id = self.engine.list(path);
        match self.simple(id).await? {
            Output::Listing(listing) => Ok(listing),
            other => Err(unexpected(other)),
        }
    }

    /// Names in a directory (NLST).
    pub async fn nlst(&mut self, path: Option<&[u8]>) -> Result<Vec<Vec<u8>>, Error> {
        let id = self.engine.nlst(path);
        match self.simple(id).await? {
            Output::Names(names) => Ok(names.into_iter().map(|n| n.to_vec()).collect()),
            other => Err(unexpected(other)),
        }
    }

    /// Downloads `path` from `offset` into `sink`, in binary mode.
    pub async fn retrieve(
        &mut self,
        path: &[u8],
        offset: u64,
        sink: &mut (dyn AsyncWrite + Unpin + Send),
    ) -> Result<u64, Error> {
        let id = self.engine.retrieve(path, offset, false);
        transferred(self.run(id, Io::Sink(sink)).await?)
    }

    /// Uploads from `source` to `path`, in binary mode.
    pub async fn store(
        &mut self,
        path: &[u8],
        mode: StoreMode,
        source: &mut (dyn AsyncRead + Unpin + Send),
    ) -> Result<u64, Error> {
        let id = self.engine.store(path, mode, false);
        transferred(self.run(id, Io::Source(source)).await?)
    }

    /// QUIT, and close the connection.
    pub async fn quit(mut self) -> Result<(), Error> {
        let id = self.engine.quit();
        self.run(id, Io::None).await.map(drop)
    }

    // ---- the driver loop ----------------------------------------------------

    async fn run(&mut self, id: OperationId, mut io: Io<'_>) -> Result<Output, Error> {
        let mut read_buffer = vec![0u8; 4096];
        loop {
            while let Some(action) = self.engine.poll_action() {
                self.perform(action, &mut io).await?;
            }
            let mut found = None;
            while let Some((done, result)) = self.engine.poll_outcome() {
                if done == id {
                    found = Some(result);
                }
            }
            if let Some(result) = found {
                return result.map_err(Error::Ftp);
            }
            if self.engine.is_closed() {
                return Err(Error::Ftp(ClientError::ConnectionClosed));
            }
            let wake = self.wait(&mut read_buffer).await;
            let now = clock::now();
            match wake {
                Wake::Control(Ok(0) | Err(_)) => {
                    self.engine.handle_event(Event::ControlClosed, now)
                }
                Wake::Control(Ok(n)) => self
                    .engine
                    .handle_input(read_buffer.get(..n).unwrap_or_default(), now),
                Wake::Accepted(Ok((stream, peer))) => {
                    self.data = Some(stream);
                    self.engine.handle_event(Event::DataAccepted { peer }, now);
                }
                Wake::Accepted(Err(_)) => {}
                Wake::Timeout => self.engine.handle_timeout(now),
            }
        }
    }

    async fn wait(&self, read_buffer: &mut [u8]) -> Wake {
        let read = async {
            let mut control = &self.control;
            Wake::Control(control.read(read_buffer).await)
        };
        let accept = async {
            match (&self.listener, &self.data) {
                (Some(listener), None) => Wake::Accepted(listener.accept().await),
                _ => smol::future::pending().await,
            }
        };
        let timer = async {
            match self.engine.poll_timeout().and_then(clock::deadline) {
                Some(deadline) => {
                    Timer::at(deadline).await;
                    Wake::Timeout
                }
                None => smol::future::pending().await,
            }
        };
        read.or(accept).or(timer).await
    }

    async fn perform(&mut self, action: Action, io: &mut Io<'_>) -> Result<(), Error> {
        let now = clock::now;
        match action {
            Action::Send(bytes) => {
                let mut control = &self.control;
                if control.write_all(&bytes).await.is_err() {
                    self.engine.handle_event(Event::ControlClosed, now());
                }
            }
            Action::SendUrgent(bytes) => {
                let _ = socket2::SockRef::from(self.control.get_ref()).send_out_of_band(&bytes);
            }
            Action::ConnectData { to } => {
                self.close_data();
                let timeout = self.data_timeout;
                let connected = Async::<TcpStream>::connect(to)
                    .or(async {
                        Timer::after(timeout).await;
                        Err(io::Error::from(io::ErrorKind::TimedOut))
                    })
                    .await;
                let event = match connected {
                    Ok(stream) => {
                        self.data = Some(stream);
                        Event::DataConnected
                    }
                    Err(_) => Event::DataConnectFailed,
                };
                self.engine.handle_event(event, now());
            }
            Action::ListenData { ip } => {
                self.close_data();
                let event = match Async::<TcpListener>::bind(SocketAddr::new(ip, 0))
                    .and_then(|l| Ok((l.get_ref().local_addr()?, l)))
                {
                    Ok((address, listener)) => {
                        self.listener = Some(listener);
                        Event::Listening { address }
                    }
                    Err(_) => Event::ListenFailed,
                };
                self.engine.handle_event(event, now());
            }
            Action::RejectData => self.data = None,
            Action::Transfer { direction, ascii } => {
                self.listener = None;
                let (bytes, result) = self.transfer(direction, ascii, io).await;
                if result == Err(DataError::Aborted) {
                    self.engine.abort();
                }
                self.engine
                    .handle_event(Event::TransferDone { bytes, result }, now());
            }
            Action::ReceiveListing => {
                self.listener = None;
                let event = match self.receive_listing().await {
                    Ok(data) => Event::ListingReceived {
                        data: data.into(),
                        now: SystemTime::now(),
                    },
                    Err(error) => Event::TransferDone {
                        bytes: 0,
                        result: Err(error),
                    },
                };
                self.engine.handle_event(event, now());
            }
            Action::AbortTransfer | Action::CloseData => self.close_data(),
            Action::Close => {
                let _ = self.control.get_ref().shutdown(Shutdown::Both);
            }
            _ => {}
        }
        Ok(())
    }

    fn close_data(&mut self) {
        self.data = None;
        self.listener = None;
    }

    async fn receive_listing(&mut self) -> Result<Vec<u8>, DataError> {
        let data = self.data.take().ok_or(DataError::ConnectionLost)?;
        let mut out = Vec::new();
        let mut limited = (&data).take(MAX_LISTING as u64 + 1);
        limited
            .read_to_end(&mut out)
            .await
            .map_err(|_| DataError::ConnectionLost)?;
        if out.len() > MAX_LISTING {
            return Err(DataError::TooLarge);
        }
        Ok(out)
    }

    async fn transfer(
        &mut self,
        direction: Direction,
        ascii: bool,
        io: &mut Io<'_>,
    ) -> (u64, Result<(), DataError>) {
        let Some(data) = self.data.take() else {
            return (0, Err(DataError::ConnectionLost));
        };
        if self.buffer.is_empty() {
            // Allocated at the first transfer: idle clients stay small.
            self.buffer = vec![0; BUFFER];
        }
        let mut moved = 0u64;
        let mut converted = Vec::new();
        let result = match (direction, io) {
            (Direction::Download, Io::Sink(sink)) => {
                let mut decoder = AsciiDecoder::new();
                let mut reader = &data;
                let result = loop {
                    let n = match reader.read(&mut self.buffer).await {
                        Ok(0) => break Ok(()),
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(_) => break Err(DataError::ConnectionLost),
                    };
                    moved += n as u64;
                    let chunk = self.buffer.get(..n).unwrap_or_default();
                    let out = if ascii {
                        converted.clear();
                        decoder.decode(chunk, &mut converted);
                        &converted[..]
                    } else {
                        chunk
                    };
                    if let Err(e) = sink.write_all(out).await {
                        break Err(DataError::Local(e.to_string()));
                    }
                    if self.progress.as_mut().is_some_and(|p| p(moved).is_break()) {
                        break Err(DataError::Aborted);
                    }
                };
                match result {
                    Ok(()) => {
                        converted.clear();
                        decoder.finish(&mut converted);
                        let flushed = async {
                            sink.write_all(&converted).await?;
                            sink.flush().await
                        };
                        flushed.await.map_err(|e| DataError::Local(e.to_string()))
                    }
                    Err(e) => Err(e),
                }
            }
            (Direction::Upload, Io::Source(source)) => {
                let mut encoder = AsciiEncoder::new();
                let mut writer = &data;
                loop {
                    let n = match source.read(&mut self.buffer).await {
                        Ok(0) => break Ok(()),
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => break Err(DataError::Local(e.to_string())),
                    };
                    let chunk = self.buffer.get(..n).unwrap_or_default();
                    let out = if ascii {
                        converted.clear();
                        encoder.encode(chunk, &mut converted);
                        &converted[..]
                    } else {
                        chunk
                    };
                    if writer.write_all(out).await.is_err() {
                        break Err(DataError::ConnectionLost);
                    }
                    moved += out.len() as u64;
                    if self.progress.as_mut().is_some_and(|p| p(moved).is_break()) {
                        break Err(DataError::Aborted);
                    }
                }
            }
            _ => Err(DataError::Local(
                "no source or sink for this transfer".into(),
            )),
        };
        let _ = data.get_ref().shutdown(Shutdown::Write);
        if result.is_ok() && direction == Direction::Upload {
            // Wait for the server to close its side: the file is whole
            // before the 226 is awaited.
            let mut reader = &data;
            let _ = reader
                .read(&mut [0u8; 1])
                .or(async {
                    Timer::after(Duration::from_secs(30)).await;
                    Ok(0)
                })
                .await;
        }
        (moved, result)
    }
}
