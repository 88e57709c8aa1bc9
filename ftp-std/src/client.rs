//! The blocking client: [`Client`] performs the [`ClientIo`] of a
//! [`ClientDriver`] (shared with the async client in `ftp-smol`) over std
//! sockets. Each method queues one engine operation and performs I/O until
//! that operation's outcome comes.
//!
//! Downloads stream into any [`Write`] and uploads from any [`Read`]; a file
//! is never held in memory. A progress callback sees the bytes moved so
//! far and can stop a transfer, which then is aborted with ABOR.

use ftp_driver::client::{ClientDriver, ClientIo, DataPump, data_error, local_error, output};
use ftp_proto::client::{DataTls, Direction, OperationId, Output};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::ops::ControlFlow;
use std::time::{Duration, SystemTime};

pub use ftp_driver::client::{Error, TlsOptions, tls_settings};
pub use ftp_proto::client::{
    ClientConfig, ClientError, DataError, DataMode, Features, Notice, StoreMode,
};
pub use ftp_proto::listing::parse::{Entry, EntryKind, Listing};
pub use ftp_proto::tls::{TlsSummary, TlsVersions};

/// Client settings beyond the engine's.
#[derive(Debug, Clone)]
pub struct Options {
    /// The engine's settings (data mode, timeouts, 227 trust, notices).
    pub engine: ClientConfig,
    /// How long to wait to connect the control connection.
    pub connect_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            engine: ClientConfig::default(),
            connect_timeout: Duration::from_secs(30),
        }
    }
}

/// A blocking FTP client on one control connection.
pub struct Client {
    driver: ClientDriver,
    control: TcpStream,
    data: Option<TcpStream>,
    listener: Option<TcpListener>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("control", &self.control)
            .finish_non_exhaustive()
    }
}

/// Where a transfer's bytes come from or go to.
enum Io<'a> {
    None,
    Sink(&'a mut dyn Write),
    Source(&'a mut dyn Read),
}

impl Client {
    /// Connects to `address` (a host name, IPv4 or IPv6) and waits for the
    /// greeting.
    pub fn connect(address: impl ToSocketAddrs, options: Options) -> Result<Client, Error> {
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
        for addr in address.to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, options.connect_timeout) {
                Ok(control) => return Client::on_stream(control, options),
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
    pub fn connect_tls(
        host: &str,
        port: u16,
        mut options: Options,
        tls: &TlsOptions,
    ) -> Result<Client, Error> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        options.engine.tls = Some(tls_settings(host, tls)?);
        match Client::connect((bare, port), options.clone()) {
            Err(error) if ftp_driver::client::tls_version_refused(&error, tls) => {
                let newer = TlsOptions {
                    versions: TlsVersions::Tls13,
                    ..tls.clone()
                };
                options.engine.tls = Some(tls_settings(host, &newer)?);
                Client::connect((bare, port), options)
            }
            result => result,
        }
    }

    /// What the control connection's TLS negotiated (FTPS only).
    pub fn tls_summary(&self) -> Option<ftp_proto::tls::TlsSummary> {
        self.driver.engine_ref().tls_summary()
    }

    fn on_stream(control: TcpStream, options: Options) -> Result<Client, Error> {
        control.set_nodelay(true)?;
        let driver = ClientDriver::new(options.engine, control.peer_addr()?, control.local_addr()?);
        let mut client = Client {
            driver,
            control,
            data: None,
            listener: None,
        };
        client.run(OperationId(0), Io::None)?;
        Ok(client)
    }

    /// Calls `progress` with the bytes moved so far during each transfer;
    /// returning `ControlFlow::Break` aborts the transfer.
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

    fn simple(&mut self, id: OperationId) -> Result<Output, Error> {
        self.run(id, Io::None)
    }

    /// Logs in (USER, PASS, ACCT if asked for), then asks for FEAT.
    pub fn login(&mut self, user: &str, password: &str) -> Result<(), Error> {
        let id = self
            .driver
            .engine()
            .login(user.as_bytes(), password.as_bytes(), None);
        self.simple(id).and_then(output::done)
    }

    /// The working directory.
    pub fn pwd(&mut self) -> Result<Vec<u8>, Error> {
        let id = self.driver.engine().pwd();
        self.simple(id).and_then(output::path)
    }

    /// Changes the working directory.
    pub fn cwd(&mut self, path: &[u8]) -> Result<(), Error> {
        let id = self.driver.engine().cwd(path);
        self.simple(id).and_then(output::done)
    }

    /// Changes to the parent directory.
    pub fn cdup(&mut self) -> Result<(), Error> {
        let id = self.driver.engine().cdup();
        self.simple(id).and_then(output::done)
    }

    /// Creates a directory; returns its path as the server names it.
    pub fn mkdir(&mut self, path: &[u8]) -> Result<Vec<u8>, Error> {
        let id = self.driver.engine().mkdir(path);
        self.simple(id).and_then(output::path)
    }

    /// Removes a directory.
    pub fn rmdir(&mut self, path: &[u8]) -> Result<(), Error> {
        let id = self.driver.engine().rmdir(path);
        self.simple(id).and_then(output::done)
    }

    /// Deletes a file.
    pub fn delete(&mut self, path: &[u8]) -> Result<(), Error> {
        let id = self.driver.engine().delete(path);
        self.simple(id).and_then(output::done)
    }

    /// Renames or moves.
    pub fn rename(&mut self, from: &[u8], to: &[u8]) -> Result<(), Error> {
        let id = self.driver.engine().rename(from, to);
        self.simple(id).and_then(output::done)
    }

    /// The size of a file (the engine asks in binary mode).
    pub fn size(&mut self, path: &[u8]) -> Result<u64, Error> {
        let id = self.driver.engine().size(path);
        self.simple(id).and_then(output::size)
    }

    /// The modification time of a file.
    pub fn mdtm(&mut self, path: &[u8]) -> Result<SystemTime, Error> {
        let id = self.driver.engine().mdtm(path);
        self.simple(id).and_then(output::modified)
    }

    /// Sets a file's modification time (MFMT, when
    /// [`Features::mfmt`](ftp_proto::client::Features::mfmt) says the
    /// server has it).
    pub fn set_modified(&mut self, path: &[u8], modified: SystemTime) -> Result<(), Error> {
        let id = self.driver.engine().set_modified(path, modified);
        self.simple(id).map(drop)
    }

    /// One object's facts (MLST).
    pub fn mlst(&mut self, path: Option<&[u8]>) -> Result<Entry, Error> {
        let id = self.driver.engine().mlst(path);
        self.simple(id).and_then(output::entry)
    }

    /// NOOP, to keep the connection alive.
    pub fn noop(&mut self) -> Result<(), Error> {
        let id = self.driver.engine().noop();
        self.simple(id).and_then(output::done)
    }

    /// A directory listing: MLSD when the server offers it, else LIST.
    pub fn list(&mut self, path: Option<&[u8]>) -> Result<Listing, Error> {
        let id = self.driver.engine().list(path);
        self.simple(id).and_then(output::listing)
    }

    /// Names in a directory (NLST).
    pub fn nlst(&mut self, path: Option<&[u8]>) -> Result<Vec<Vec<u8>>, Error> {
        let id = self.driver.engine().nlst(path);
        self.simple(id).and_then(output::names)
    }

    /// Downloads `path` from `offset` into `sink`, in binary mode; returns
    /// the bytes received.
    pub fn retrieve(
        &mut self,
        path: &[u8],
        offset: u64,
        sink: &mut dyn Write,
    ) -> Result<u64, Error> {
        let id = self.driver.engine().retrieve(path, offset, false);
        self.run(id, Io::Sink(sink)).and_then(output::transferred)
    }

    /// Downloads `path` in ASCII mode (line ends become LF).
    pub fn retrieve_ascii(&mut self, path: &[u8], sink: &mut dyn Write) -> Result<u64, Error> {
        let id = self.driver.engine().retrieve(path, 0, true);
        self.run(id, Io::Sink(sink)).and_then(output::transferred)
    }

    /// Uploads from `source` to `path`, in binary mode; returns the bytes
    /// sent.
    pub fn store(
        &mut self,
        path: &[u8],
        mode: StoreMode,
        source: &mut dyn Read,
    ) -> Result<u64, Error> {
        let id = self.driver.engine().store(path, mode, false);
        self.run(id, Io::Source(source))
            .and_then(output::transferred)
    }

    /// Uploads under a name the server chooses (STOU); returns it.
    pub fn store_unique(&mut self, source: &mut dyn Read) -> Result<(Vec<u8>, u64), Error> {
        let id = self.driver.engine().store_unique(false);
        self.run(id, Io::Source(source)).and_then(output::stored_as)
    }

    /// QUIT, and close the connection.
    pub fn quit(mut self) -> Result<(), Error> {
        let id = self.driver.engine().quit();
        self.simple(id).and_then(output::done)
    }

    // ---- the driver loop ----------------------------------------------------

    fn run(&mut self, id: OperationId, mut io: Io<'_>) -> Result<Output, Error> {
        let mut read_buffer = [0u8; 4096];
        loop {
            while let Some(op) = self.driver.poll_io() {
                self.perform(op, &mut io);
            }
            if let Some(result) = self.driver.outcome(id) {
                return result;
            }
            self.wait(&mut read_buffer)?;
        }
    }

    /// Waits for control bytes, a data connection, or the engine's deadline.
    fn wait(&mut self, read_buffer: &mut [u8]) -> Result<(), Error> {
        let left = self.driver.time_left();
        if left == Some(Duration::ZERO) {
            self.driver.timeout();
            return Ok(());
        }
        let mut slice = left.unwrap_or(Duration::from_secs(3600));
        if let (Some(listener), None) = (&self.listener, &self.data) {
            // Poll the listener between short waits on the control socket.
            slice = slice.min(Duration::from_millis(20));
            if let Ok((stream, peer)) = listener.accept() {
                stream.set_nonblocking(false)?;
                self.data = Some(stream);
                self.driver.accepted(peer);
                return Ok(());
            }
        }
        self.control
            .set_read_timeout(Some(slice.max(Duration::from_millis(1))))?;
        match self.control.read(read_buffer) {
            Ok(0) => self.driver.control_closed(),
            Ok(n) => self
                .driver
                .control_input(read_buffer.get(..n).unwrap_or_default()),
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                self.driver.timeout();
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => self.driver.control_closed(),
        }
        Ok(())
    }

    fn perform(&mut self, op: ClientIo, io: &mut Io<'_>) {
        match op {
            ClientIo::Send(bytes) => {
                if self.control.write_all(&bytes).is_err() {
                    self.driver.control_closed();
                }
            }
            ClientIo::SendUrgent(bytes) => {
                let _ = socket2::SockRef::from(&self.control).send_out_of_band(&bytes);
            }
            ClientIo::Connect { to, timeout } => {
                self.close_data();
                let connected = TcpStream::connect_timeout(&to, timeout).map(|stream| {
                    self.data = Some(stream);
                });
                self.driver.connected(connected);
            }
            ClientIo::Listen(listener) => {
                self.close_data();
                self.listener = listener.set_nonblocking(true).is_ok().then_some(listener);
            }
            ClientIo::Reject => self.data = None,
            ClientIo::Transfer {
                direction,
                ascii,
                tls,
            } => {
                self.listener = None;
                let (moved, result) = match self.data.take() {
                    Some(data) => self.transfer(data, direction, ascii, tls, io),
                    None => (0, Err(DataError::ConnectionLost)),
                };
                self.driver.transfer_done(moved, result);
            }
            ClientIo::ReceiveListing { tls } => {
                self.listener = None;
                let received = match self.data.take() {
                    Some(mut data) => {
                        let timeout = self.driver.data_timeout();
                        let mut listing = Vec::new();
                        self.driver
                            .listing_pump(tls)
                            .and_then(|mut pump| {
                                receive(&mut data, &mut pump, &mut listing, timeout)
                            })
                            .map(|()| listing)
                    }
                    None => Err(DataError::ConnectionLost),
                };
                self.driver.listing_received(received);
            }
            ClientIo::CloseData => self.close_data(),
            ClientIo::Close => {
                let _ = self.control.shutdown(Shutdown::Both);
            }
        }
    }

    fn close_data(&mut self) {
        self.data = None;
        self.listener = None;
    }

    fn transfer(
        &mut self,
        mut data: TcpStream,
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
            (Direction::Download, Io::Sink(sink)) => receive(&mut data, &mut pump, sink, timeout),
            (Direction::Upload, Io::Source(source)) => send(&mut data, &mut pump, source, timeout),
            (Direction::Download | Direction::Upload, _) => Err(DataError::Local(
                "no source or sink for this transfer".into(),
            )),
        };
        (pump.moved(), result)
    }
}

/// Each read and write of the data connection gives up after `timeout`
/// without progress: a peer that stopped without closing has stalled.
fn limit_each_operation(data: &TcpStream, timeout: Duration) -> Result<(), DataError> {
    data.set_read_timeout(Some(timeout))
        .and_then(|()| data.set_write_timeout(Some(timeout)))
        .map_err(|e| data_error(&e))
}

fn write(data: &mut TcpStream, bytes: &[u8]) -> Result<(), DataError> {
    data.write_all(bytes).map_err(|e| data_error(&e))
}

fn read(data: &mut TcpStream, buffer: &mut [u8]) -> Result<usize, DataError> {
    loop {
        match data.read(buffer) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(data_error(&e)),
        }
    }
}

/// A download or a listing: to the end of the stream, then (under TLS)
/// our close_notify.
fn receive(
    data: &mut TcpStream,
    pump: &mut DataPump<'_>,
    sink: &mut dyn Write,
    timeout: Duration,
) -> Result<(), DataError> {
    limit_each_operation(data, timeout)?;
    write(data, pump.outgoing())?;
    loop {
        let n = read(data, pump.buffer())?;
        if n == 0 {
            break;
        }
        sink.write_all(pump.received(n)?)
            .map_err(|e| local_error(&e))?;
        write(data, pump.outgoing())?;
        pump.carry_on()?;
        if pump.ended() {
            break;
        }
    }
    sink.write_all(pump.received_all()?)
        .and_then(|()| sink.flush())
        .map_err(|e| local_error(&e))?;
    let _ = data.write_all(pump.close());
    let _ = data.shutdown(Shutdown::Write);
    Ok(())
}

/// An upload: the handshake, the bytes, the end of the stream (STREAM
/// mode: closing the data connection ends the file), then the server's
/// side read to its end, so that the file is whole before the 226 is
/// awaited and TLS tickets on the connection are kept, not reset.
fn send(
    data: &mut TcpStream,
    pump: &mut DataPump<'_>,
    source: &mut dyn Read,
    timeout: Duration,
) -> Result<(), DataError> {
    limit_each_operation(data, timeout)?;
    while pump.handshaking() {
        write(data, pump.outgoing())?;
        match read(data, pump.buffer())? {
            0 => return Err(DataError::Tls("closed during the handshake".into())),
            n => pump.received(n).map(|_| ())?,
        }
    }
    write(data, pump.outgoing())?;
    loop {
        let n = match source.read(pump.buffer()) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(local_error(&e)),
        };
        let out = pump.to_send(n)?;
        write(data, out)?;
        pump.carry_on()?;
    }
    write(data, pump.close())?;
    let _ = data.shutdown(Shutdown::Write);
    // Bounded by the read timeout; what the server sends is TLS records
    // (tickets, its close_notify) or nothing.
    while let Ok(n) = read(data, pump.buffer()) {
        if n == 0 || pump.received(n).is_err() || pump.ended() {
            break;
        }
    }
    Ok(())
}
