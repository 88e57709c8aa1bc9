//! The async client: [`Client`] performs the [`ClientIo`] of a
//! [`ClientDriver`] (shared with the blocking client in `ftp-std`) on smol /
//! async-io. Each method queues one engine operation and performs I/O until
//! that operation's outcome comes.
//!
//! Downloads stream into any [`AsyncWrite`] and uploads from any
//! [`AsyncRead`]; a file is never held in memory. Many clients run
//! concurrently on one executor (see `examples/parallel_downloads.rs`).

use crate::deadline::{within, write_all_unless_stalled};
use ftp_driver::client::{ClientDriver, ClientIo, DataPump, data_error, local_error, output};
use ftp_proto::client::{DataTls, Direction, OperationId, Output};
use smol::future::FutureExt;
use smol::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use smol::net::AsyncToSocketAddrs;
use smol::{Async, Timer};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::ops::ControlFlow;
use std::time::{Duration, SystemTime};

pub use ftp_driver::client::{Error, TlsOptions, tls_settings};
pub use ftp_proto::client::{
    ClientConfig, ClientError, DataError, DataMode, Features, Notice, StoreMode,
};
pub use ftp_proto::listing::parse::{Entry, EntryKind, Listing};
pub use ftp_proto::tls::{TlsSummary, TlsVersions};

/// Where a transfer's bytes come from or go to.
enum Io<'a> {
    None,
    Sink(&'a mut (dyn AsyncWrite + Unpin + Send)),
    Source(&'a mut (dyn AsyncRead + Unpin + Send)),
}

/// What woke the client.
enum Wake {
    Control(io::Result<usize>),
    Accepted(io::Result<(Async<TcpStream>, SocketAddr)>),
    Timeout,
}

/// An async FTP client on one control connection.
pub struct Client {
    driver: ClientDriver,
    control: Async<TcpStream>,
    data: Option<Async<TcpStream>>,
    listener: Option<Async<TcpListener>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("control", &self.control)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to `address` (a host name, IPv4 or IPv6; each address it
    /// resolves to in turn, each within the reply timeout) and waits for
    /// the greeting.
    pub async fn connect(
        address: impl AsyncToSocketAddrs,
        config: ClientConfig,
    ) -> Result<Client, Error> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
        for addr in smol::net::resolve(address).await? {
            match within(config.reply_timeout, Async::<TcpStream>::connect(addr)).await {
                Ok(control) => return Client::on_stream(control, config).await,
                Err(error) => last = error,
            }
        }
        Err(Error::Io(last))
    }

    /// Connects with FTPS to `host` (a name or an IP address) on `port`:
    /// the server's certificate is verified for `host`, against the
    /// system's roots and [`TlsOptions::ca_file`], on the control
    /// connection and on every data connection. A server that refuses
    /// the versions offered ([`TlsVersions`]) is tried once more with TLS
    /// 1.3.
    pub async fn connect_tls(
        host: &str,
        port: u16,
        mut config: ClientConfig,
        tls: &TlsOptions,
    ) -> Result<Client, Error> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        config.tls = Some(tls_settings(host, tls)?);
        match Client::connect((bare, port), config.clone()).await {
            Err(error) if ftp_driver::client::tls_version_refused(&error, tls) => {
                let newer = TlsOptions {
                    versions: TlsVersions::Tls13,
                    ..tls.clone()
                };
                config.tls = Some(tls_settings(host, &newer)?);
                Client::connect((bare, port), config).await
            }
            result => result,
        }
    }

    /// What the control connection's TLS negotiated (FTPS only).
    pub fn tls_summary(&self) -> Option<ftp_proto::tls::TlsSummary> {
        self.driver.engine_ref().tls_summary()
    }

    async fn on_stream(control: Async<TcpStream>, config: ClientConfig) -> Result<Client, Error> {
        control.get_ref().set_nodelay(true)?;
        let (peer, local) = (
            control.get_ref().peer_addr()?,
            control.get_ref().local_addr()?,
        );
        let mut client = Client {
            driver: ClientDriver::new(config, peer, local),
            control,
            data: None,
            listener: None,
        };
        client.run(OperationId(0), Io::None).await?;
        Ok(client)
    }

    /// Calls `progress` with the bytes moved so far during each transfer;
    /// returning `ControlFlow::Break` aborts the transfer (ABOR).
    pub fn set_progress(&mut self, progress: impl FnMut(u64) -> ControlFlow<()> + Send + 'static) {
        self.driver.set_progress(Box::new(progress));
    }

    /// Calls `trace` with each command sent and reply received (needs
    /// `notices` in the engine's settings).
    pub fn set_trace(&mut self, trace: impl FnMut(&Notice) + Send + 'static) {
        self.driver.set_trace(Box::new(trace));
    }

    /// What the server's FEAT said.
    pub fn features(&self) -> &Features {
        self.driver.engine_ref().features()
    }

    async fn simple(&mut self, id: OperationId) -> Result<Output, Error> {
        self.run(id, Io::None).await
    }

    /// Logs in (USER, PASS, ACCT if asked for), then asks for FEAT.
    pub async fn login(&mut self, user: &str, password: &str) -> Result<(), Error> {
        let id = self
            .driver
            .engine()
            .login(user.as_bytes(), password.as_bytes(), None);
        self.simple(id).await.and_then(output::done)
    }

    /// The working directory.
    pub async fn pwd(&mut self) -> Result<Vec<u8>, Error> {
        let id = self.driver.engine().pwd();
        self.simple(id).await.and_then(output::path)
    }

    /// Changes the working directory.
    pub async fn cwd(&mut self, path: &[u8]) -> Result<(), Error> {
        let id = self.driver.engine().cwd(path);
        self.simple(id).await.and_then(output::done)
    }

    /// Changes to the parent directory.
    pub async fn cdup(&mut self) -> Result<(), Error> {
        let id = self.driver.engine().cdup();
        self.simple(id).await.and_then(output::done)
    }

    /// Creates a directory; returns its path as the server names it.
    pub async fn mkdir(&mut self, path: &[u8]) -> Result<Vec<u8>, Error> {
        let id = self.driver.engine().mkdir(path);
        self.simple(id).await.and_then(output::path)
    }

    /// Removes a directory.
    pub async fn rmdir(&mut self, path: &[u8]) -> Result<(), Error> {
        let id = self.driver.engine().rmdir(path);
        self.simple(id).await.and_then(output::done)
    }

    /// Deletes a file.
    pub async fn delete(&mut self, path: &[u8]) -> Result<(), Error> {
        let id = self.driver.engine().delete(path);
        self.simple(id).await.and_then(output::done)
    }

    /// Renames or moves.
    pub async fn rename(&mut self, from: &[u8], to: &[u8]) -> Result<(), Error> {
        let id = self.driver.engine().rename(from, to);
        self.simple(id).await.and_then(output::done)
    }

    /// The size of a file (the engine asks in binary mode).
    pub async fn size(&mut self, path: &[u8]) -> Result<u64, Error> {
        let id = self.driver.engine().size(path);
        self.simple(id).await.and_then(output::size)
    }

    /// The modification time of a file.
    pub async fn mdtm(&mut self, path: &[u8]) -> Result<SystemTime, Error> {
        let id = self.driver.engine().mdtm(path);
        self.simple(id).await.and_then(output::modified)
    }

    /// Sets a file's modification time (MFMT, when
    /// [`Features::mfmt`](ftp_proto::client::Features::mfmt) says the
    /// server has it).
    pub async fn set_modified(&mut self, path: &[u8], modified: SystemTime) -> Result<(), Error> {
        let id = self.driver.engine().set_modified(path, modified);
        self.simple(id).await.map(drop)
    }

    /// One object's facts (MLST).
    pub async fn mlst(&mut self, path: Option<&[u8]>) -> Result<Entry, Error> {
        let id = self.driver.engine().mlst(path);
        self.simple(id).await.and_then(output::entry)
    }

    /// NOOP, to keep the connection alive.
    pub async fn noop(&mut self) -> Result<(), Error> {
        let id = self.driver.engine().noop();
        self.simple(id).await.and_then(output::done)
    }

    /// A directory listing: MLSD when offered, else LIST.
    pub async fn list(&mut self, path: Option<&[u8]>) -> Result<Listing, Error> {
        let id = self.driver.engine().list(path);
        self.simple(id).await.and_then(output::listing)
    }

    /// Names in a directory (NLST).
    pub async fn nlst(&mut self, path: Option<&[u8]>) -> Result<Vec<Vec<u8>>, Error> {
        let id = self.driver.engine().nlst(path);
        self.simple(id).await.and_then(output::names)
    }

    /// Downloads `path` from `offset` into `sink`, in binary mode; returns
    /// the bytes received.
    pub async fn retrieve(
        &mut self,
        path: &[u8],
        offset: u64,
        sink: &mut (dyn AsyncWrite + Unpin + Send),
    ) -> Result<u64, Error> {
        let id = self.driver.engine().retrieve(path, offset, false);
        self.run(id, Io::Sink(sink))
            .await
            .and_then(output::transferred)
    }

    /// Downloads `path` in ASCII mode (line ends become LF).
    pub async fn retrieve_ascii(
        &mut self,
        path: &[u8],
        sink: &mut (dyn AsyncWrite + Unpin + Send),
    ) -> Result<u64, Error> {
        let id = self.driver.engine().retrieve(path, 0, true);
        self.run(id, Io::Sink(sink))
            .await
            .and_then(output::transferred)
    }

    /// Uploads from `source` to `path`, in binary mode; returns the bytes
    /// sent.
    pub async fn store(
        &mut self,
        path: &[u8],
        mode: StoreMode,
        source: &mut (dyn AsyncRead + Unpin + Send),
    ) -> Result<u64, Error> {
        let id = self.driver.engine().store(path, mode, false);
        self.run(id, Io::Source(source))
            .await
            .and_then(output::transferred)
    }

    /// Uploads under a name the server chooses (STOU); returns it.
    pub async fn store_unique(
        &mut self,
        source: &mut (dyn AsyncRead + Unpin + Send),
    ) -> Result<(Vec<u8>, u64), Error> {
        let id = self.driver.engine().store_unique(false);
        self.run(id, Io::Source(source))
            .await
            .and_then(output::stored_as)
    }

    /// QUIT, and close the connection.
    pub async fn quit(mut self) -> Result<(), Error> {
        let id = self.driver.engine().quit();
        self.simple(id).await.and_then(output::done)
    }

    // ---- the driver loop ----------------------------------------------------

    async fn run(&mut self, id: OperationId, mut io: Io<'_>) -> Result<Output, Error> {
        let mut read_buffer = vec![0u8; 4096];
        loop {
            while let Some(op) = self.driver.poll_io() {
                self.perform(op, &mut io).await;
            }
            if let Some(result) = self.driver.outcome(id) {
                return result;
            }
            match self.wait(&mut read_buffer).await {
                Wake::Control(Ok(0) | Err(_)) => self.driver.control_closed(),
                Wake::Control(Ok(n)) => self
                    .driver
                    .control_input(read_buffer.get(..n).unwrap_or_default()),
                Wake::Accepted(Ok((stream, peer))) => {
                    self.data = Some(stream);
                    self.driver.accepted(peer);
                }
                // Not the server's connection after all, or out of
                // descriptors: stop listening; the engine's data timer
                // answers.
                Wake::Accepted(Err(_)) => self.listener = None,
                Wake::Timeout => self.driver.timeout(),
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
                (Some(_), Some(_)) | (None, _) => smol::future::pending().await,
            }
        };
        let timer = async {
            match self.driver.deadline() {
                Some(deadline) => {
                    Timer::at(deadline).await;
                    Wake::Timeout
                }
                None => smol::future::pending().await,
            }
        };
        read.or(accept).or(timer).await
    }

    async fn perform(&mut self, op: ClientIo, io: &mut Io<'_>) {
        match op {
            ClientIo::Send(bytes) => {
                let mut control = &self.control;
                if control.write_all(&bytes).await.is_err() {
                    self.driver.control_closed();
                }
            }
            ClientIo::SendUrgent(bytes) => {
                let _ = socket2::SockRef::from(self.control.get_ref()).send_out_of_band(&bytes);
            }
            ClientIo::Connect { to, timeout } => {
                self.close_data();
                let connected = within(timeout, Async::<TcpStream>::connect(to))
                    .await
                    .map(|stream| self.data = Some(stream));
                self.driver.connected(connected);
            }
            ClientIo::Listen(listener) => {
                self.close_data();
                self.listener = Async::new(listener).ok();
            }
            ClientIo::Reject => self.data = None,
            ClientIo::Transfer {
                direction,
                ascii,
                tls,
            } => {
                self.listener = None;
                let (moved, result) = match self.data.take() {
                    Some(data) => self.transfer(data, direction, ascii, tls, io).await,
                    None => (0, Err(DataError::ConnectionLost)),
                };
                self.driver.transfer_done(moved, result);
            }
            ClientIo::ReceiveListing { tls } => {
                self.listener = None;
                let received = match self.data.take() {
                    Some(data) => {
                        let timeout = self.driver.data_timeout();
                        let mut listing = Vec::new();
                        match self.driver.listing_pump(tls) {
                            Ok(mut pump) => receive(&data, &mut pump, &mut listing, timeout)
                                .await
                                .map(|()| listing),
                            Err(error) => Err(error),
                        }
                    }
                    None => Err(DataError::ConnectionLost),
                };
                self.driver.listing_received(received);
            }
            ClientIo::CloseData => self.close_data(),
            ClientIo::Close => {
                let _ = self.control.get_ref().shutdown(Shutdown::Both);
            }
        }
    }

    fn close_data(&mut self) {
        self.data = None;
        self.listener = None;
    }

    async fn transfer(
        &mut self,
        data: Async<TcpStream>,
        direction: Direction,
        ascii: bool,
        tls: Option<DataTls>,
        io: &mut Io<'_>,
    ) -> (u64, Result<(), DataError>) {
        let timeout = self.driver.data_timeout();
        let mut pump = match self.driver.pump(ascii, tls) {
            Ok(pump) => pump,
            Err(error) => return (0, Err(error)),
        };
        let result = match (direction, io) {
            (Direction::Download, Io::Sink(sink)) => receive(&data, &mut pump, sink, timeout).await,
            (Direction::Upload, Io::Source(source)) => {
                send(&data, &mut pump, source, timeout).await
            }
            (Direction::Download | Direction::Upload, _) => Err(DataError::Local(
                "no source or sink for this transfer".into(),
            )),
        };
        (pump.moved(), result)
    }
}

/// A write of the data connection: a peer that takes no byte for
/// `timeout` has stalled.
async fn write(data: &Async<TcpStream>, bytes: &[u8], timeout: Duration) -> Result<(), DataError> {
    write_all_unless_stalled(data, bytes, Some(timeout))
        .await
        .map_err(|e| data_error(&e))
}

/// A read of the data connection: one that brings nothing for `timeout`
/// has stalled (the handshake's limit, and the transfer's).
async fn read(
    data: &Async<TcpStream>,
    buffer: &mut [u8],
    timeout: Duration,
) -> Result<usize, DataError> {
    let mut reader = data;
    loop {
        match within(timeout, reader.read(buffer)).await {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(data_error(&e)),
        }
    }
}

/// A download or a listing: to the end of the stream, then (under TLS)
/// our close_notify.
async fn receive(
    data: &Async<TcpStream>,
    pump: &mut DataPump<'_>,
    sink: &mut (dyn AsyncWrite + Unpin + Send),
    timeout: Duration,
) -> Result<(), DataError> {
    write(data, pump.outgoing(), timeout).await?;
    loop {
        let n = read(data, pump.buffer(), timeout).await?;
        if n == 0 {
            break;
        }
        sink.write_all(pump.received(n)?)
            .await
            .map_err(|e| local_error(&e))?;
        write(data, pump.outgoing(), timeout).await?;
        pump.carry_on()?;
        if pump.ended() {
            break;
        }
    }
    sink.write_all(pump.received_all()?)
        .await
        .map_err(|e| local_error(&e))?;
    sink.flush().await.map_err(|e| local_error(&e))?;
    let _ = write(data, pump.close(), timeout).await;
    let _ = data.get_ref().shutdown(Shutdown::Write);
    Ok(())
}

/// An upload: the handshake, the bytes, the end of the stream (STREAM
/// mode: closing the data connection ends the file), then the server's
/// side read to its end, so that the file is whole before the 226 is
/// awaited and TLS tickets on the connection are kept, not reset.
async fn send(
    data: &Async<TcpStream>,
    pump: &mut DataPump<'_>,
    source: &mut (dyn AsyncRead + Unpin + Send),
    timeout: Duration,
) -> Result<(), DataError> {
    while pump.handshaking() {
        write(data, pump.outgoing(), timeout).await?;
        match read(data, pump.buffer(), timeout).await? {
            0 => return Err(DataError::Tls("closed during the handshake".into())),
            n => pump.received(n).map(|_| ())?,
        }
    }
    write(data, pump.outgoing(), timeout).await?;
    loop {
        let n = match source.read(pump.buffer()).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(local_error(&e)),
        };
        let out = pump.to_send(n)?;
        write(data, out, timeout).await?;
        pump.carry_on()?;
    }
    write(data, pump.close(), timeout).await?;
    let _ = data.get_ref().shutdown(Shutdown::Write);
    // What the server sends is TLS records (tickets, its close_notify) or
    // nothing; each read within the timeout.
    while let Ok(n) = read(data, pump.buffer(), timeout).await {
        if n == 0 || pump.received(n).is_err() || pump.ended() {
            break;
        }
    }
    Ok(())
}
