//! The blocking client: [`Client`] drives the `ftp-proto` client engine over
//! std sockets. Each method queues one engine operation and performs the
//! engine's actions until that operation's outcome comes.
//!
//! Downloads stream into any [`Write`] and uploads from any [`Read`]; a file
//! is never held in memory. A progress callback sees the bytes moved so
//! far and can stop a transfer, which then is aborted with ABOR.

use ftp_backend::clock;
use ftp_proto::ascii::{AsciiDecoder, AsciiEncoder};
use ftp_proto::client::{
    Action, Client as Engine, ClientConfig, ClientError, DataError, Direction, Event, Features,
    Notice, OperationId, Output, StoreMode,
};
use ftp_proto::listing::parse::{Entry, Listing};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::ops::ControlFlow;
use std::time::{Duration, SystemTime};

pub use ftp_proto::client::DataMode;

/// Listings larger than this are refused rather than held in memory.
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

    /// Whether the server said the file or directory is not there or not
    /// available (550, 450).
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

type Progress = Box<dyn FnMut(u64) -> ControlFlow<()> + Send>;
type Trace = Box<dyn FnMut(&Notice) + Send>;

/// A blocking FTP client on one control connection.
pub struct Client {
    engine: Engine,
    control: TcpStream,
    data: Option<TcpStream>,
    listener: Option<TcpListener>,
    buffer: Vec<u8>,
    progress: Option<Progress>,
    trace: Option<Trace>,
    data_timeout: Duration,
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

    fn on_stream(control: TcpStream, options: Options) -> Result<Client, Error> {
        control.set_nodelay(true)?;
        let peer = control.peer_addr()?;
        let local = control.local_addr()?;
        let data_timeout = options.engine.data_timeout;
        let engine = Engine::new(options.engine, peer, local, clock::now());
        let mut client = Client {
            engine,
            control,
            data: None,
            listener: None,
            buffer: Vec::new(),
            progress: None,
            trace: None,
            data_timeout,
        };
        client.run(OperationId(0), Io::None)?;
        Ok(client)
    }

    /// Calls `progress` with the bytes moved so far during each transfer;
    /// returning `ControlFlow::Break` aborts the transfer.
    pub fn set_progress(&mut self, progress: impl FnMut(u64) -> ControlFlow<()> + Send + 'static) {
        self.progress = Some(Box::new(progress));
    }

    /// Calls `trace` with each command sent and reply received (needs
    /// `notices` in the engine's settings).
    pub fn set_trace(&mut self, trace: impl FnMut(&Notice) + Send + 'static) {
        self.trace = Some(Box::new(trace));
    }

    /// What the server's FEAT said.
    pub fn features(&self) -> &Features {
        self.engine.features()
    }

    /// Logs in (USER, PASS, ACCT if asked for), then asks for FEAT.
    pub fn login(&mut self, user: &str, password: &str) -> Result<(), Error> {
        let id = self
            .engine
            .login(user.as_bytes(), password.as_bytes(), None);
        self.run(id, Io::None).map(drop)
    }

    /// The working directory.
    pub fn pwd(&mut self) -> Result<Vec<u8>, Error> {
        let id = self.engine.pwd();
        match self.run(id, Io::None)? {
            Output::Path(path) => Ok(path.to_vec()),
            other => Err(unexpected(other)),
        }
    }

    /// Changes the working directory.
    pub fn cwd(&mut self, path: &[u8]) -> Result<(), Error> {
        let id = self.engine.cwd(path);
        self.run(id, Io::None).map(drop)
    }

    /// Changes to the parent directory.
    pub fn cdup(&mut self) -> Result<(), Error> {
        let id = self.engine.cdup();
        self.run(id, Io::None).map(drop)
    }

    /// Creates a directory; returns its path as the server names it.
    pub fn mkdir(&mut self, path: &[u8]) -> Result<Vec<u8>, Error> {
        let id = self.engine.mkdir(path);
        match self.run(id, Io::None)? {
            Output::Path(path) => Ok(path.to_vec()),
            other => Err(unexpected(other)),
        }
    }

    /// Removes a directory.
    pub fn rmdir(&mut self, path: &[u8]) -> Result<(), Error> {
        let id = self.engine.rmdir(path);
        self.run(id, Io::None).map(drop)
    }

    /// Deletes a file.
    pub fn delete(&mut self, path: &[u8]) -> Result<(), Error> {
        let id = self.engine.delete(path);
        self.run(id, Io::None).map(drop)
    }

    /// Renames or moves.
    pub fn rename(&mut self, from: &[u8], to: &[u8]) -> Result<(), Error> {
        let id = self.engine.rename(from, to);
        self.run(id, Io::None).map(drop)
    }

    /// The size of a file, in binary mode.
    pub fn size(&mut self, path: &[u8]) -> Result<u64, Error> {
        let id = self.engine.set_type(false);
        self.run(id, Io::None)?;
        let id = self.engine.size(path);
        match self.run(id, Io::None)? {
            Output::Size(size) => Ok(size),
            other => Err(unexpected(other)),
        }
    }

    /// The modification time of a file.
    pub fn mdtm(&mut self, path: &[u8]) -> Result<SystemTime, Error> {
        let id = self.engine.mdtm(path);
        match self.run(id, Io::None)? {
            Output::Modified(time) => Ok(time),
            other => Err(unexpected(other)),
        }
    }

    /// One object's facts (MLST).
    pub fn mlst(&mut self, path: Option<&[u8]>) -> Result<Entry, Error> {
        let id = self.engine.mlst(path);
        match self.run(id, Io::None)? {
            Output::Entry(entry) => Ok(entry),
            other => Err(unexpected(other)),
        }
    }

    /// NOOP, to keep the connection alive.
    pub fn noop(&mut self) -> Result<(), Error> {
        let id = self.engine.noop();
        self.run(id, Io::None).map(drop)
    }

    /// A directory listing: MLSD when the server offers it, else LIST.
    pub fn list(&mut self, path: Option<&[u8]>) -> Result<Listing, Error> {
        let id = self.engine.list(path);
        match self.run(id, Io::None)? {
            Output::Listing(listing) => Ok(listing),
            other => Err(unexpected(other)),
        }
    }

    /// Names in a directory (NLST).
    pub fn nlst(&mut self, path: Option<&[u8]>) -> Result<Vec<Vec<u8>>, Error> {
        let id = self.engine.nlst(path);
        match self.run(id, Io::None)? {
            Output::Names(names) => Ok(names.into_iter().map(|n| n.to_vec()).collect()),
            other => Err(unexpected(other)),
        }
    }

    /// Downloads `path` from `offset` into `sink`, in binary mode; returns
    /// the bytes received.
    pub fn retrieve(
        &mut self,
        path: &[u8],
        offset: u64,
        sink: &mut dyn Write,
    ) -> Result<u64, Error> {
        let id = self.engine.retrieve(path, offset, false);
        transferred(self.run(id, Io::Sink(sink))?)
    }

    /// Downloads `path` in ASCII mode (line ends become LF).
    pub fn retrieve_ascii(&mut self, path: &[u8], sink: &mut dyn Write) -> Result<u64, Error> {
        let id = self.engine.retrieve(path, 0, true);
        transferred(self.run(id, Io::Sink(sink))?)
    }

    /// Uploads from `source` to `path`, in binary mode; returns the bytes
    /// sent.
    pub fn store(
        &mut self,
        path: &[u8],
        mode: StoreMode,
        source: &mut dyn Read,
    ) -> Result<u64, Error> {
        let id = self.engine.store(path, mode, false);
        transferred(self.run(id, Io::Source(source))?)
    }

    /// Uploads under a name the server chooses (STOU); returns it.
    pub fn store_unique(&mut self, source: &mut dyn Read) -> Result<(Vec<u8>, u64), Error> {
        let id = self.engine.store_unique(false);
        match self.run(id, Io::Source(source))? {
            Output::StoredAs { name, bytes } => Ok((name.to_vec(), bytes)),
            other => Err(unexpected(other)),
        }
    }

    /// QUIT, and close the connection.
    pub fn quit(mut self) -> Result<(), Error> {
        let id = self.engine.quit();
        self.run(id, Io::None).map(drop)
    }

    // ---- the driver loop ----------------------------------------------------

    fn run(&mut self, id: OperationId, mut io: Io<'_>) -> Result<Output, Error> {
        let mut read_buffer = [0u8; 4096];
        loop {
            while let Some(action) = self.engine.poll_action() {
                self.perform(action, &mut io)?;
            }
            if let Some(trace) = &mut self.trace {
                while let Some(notice) = self.engine.poll_notice() {
                    trace(&notice);
                }
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
            self.wait(&mut read_buffer)?;
        }
    }

    /// Waits for control bytes, a data connection, or the engine's deadline.
    fn wait(&mut self, read_buffer: &mut [u8]) -> Result<(), Error> {
        let now = clock::now();
        let deadline = self.engine.poll_timeout();
        if deadline.is_some_and(|d| d <= now) {
            self.engine.handle_timeout(now);
            return Ok(());
        }
        let mut slice = deadline.map_or(Duration::from_secs(3600), |d| {
            d.saturating_duration_since(now)
        });
        if self.listener.is_some() && self.data.is_none() {
            // Poll the listener between short waits on the control socket.
            slice = slice.min(Duration::from_millis(20));
            if let Some(listener) = &self.listener {
                match listener.accept() {
                    Ok((stream, peer)) => {
                        stream.set_nonblocking(false)?;
                        self.data = Some(stream);
                        self.engine
                            .handle_event(Event::DataAccepted { peer }, clock::now());
                        return Ok(());
                    }
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => {}
                }
            }
        }
        self.control
            .set_read_timeout(Some(slice.max(Duration::from_millis(1))))?;
        match self.control.read(read_buffer) {
            Ok(0) => self.engine.handle_event(Event::ControlClosed, clock::now()),
            Ok(n) => self
                .engine
                .handle_input(read_buffer.get(..n).unwrap_or_default(), clock::now()),
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                self.engine.handle_timeout(clock::now());
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => self.engine.handle_event(Event::ControlClosed, clock::now()),
        }
        Ok(())
    }

    fn perform(&mut self, action: Action, io: &mut Io<'_>) -> Result<(), Error> {
        match action {
            Action::Send(bytes) if self.control.write_all(&bytes).is_err() => {
                self.engine.handle_event(Event::ControlClosed, clock::now());
            }
            Action::Send(_) => {}
            Action::SendUrgent(bytes) => {
                let _ = socket2::SockRef::from(&self.control).send_out_of_band(&bytes);
            }
            Action::ConnectData { to } => {
                self.close_data();
                let event = match TcpStream::connect_timeout(&to, self.data_timeout) {
                    Ok(stream) => {
                        self.data = Some(stream);
                        Event::DataConnected
                    }
                    Err(_) => Event::DataConnectFailed,
                };
                self.engine.handle_event(event, clock::now());
            }
            Action::ListenData { ip } => {
                self.close_data();
                let event = match TcpListener::bind(SocketAddr::new(ip, 0)).and_then(|l| {
                    l.set_nonblocking(true)?;
                    let address = l.local_addr()?;
                    Ok((l, address))
                }) {
                    Ok((listener, address)) => {
                        self.listener = Some(listener);
                        Event::Listening { address }
                    }
                    Err(_) => Event::ListenFailed,
                };
                self.engine.handle_event(event, clock::now());
            }
            Action::RejectData => self.data = None,
            Action::Transfer { direction, ascii } => {
                self.listener = None;
                let (bytes, result) = self.transfer(direction, ascii, io);
                if result == Err(DataError::Aborted) {
                    self.engine.abort();
                }
                self.engine
                    .handle_event(Event::TransferDone { bytes, result }, clock::now());
            }
            Action::ReceiveListing => {
                self.listener = None;
                let event = match self.receive_listing() {
                    Ok(data) => Event::ListingReceived {
                        data: data.into(),
                        now: SystemTime::now(),
                    },
                    Err(error) => Event::TransferDone {
                        bytes: 0,
                        result: Err(error),
                    },
                };
                self.engine.handle_event(event, clock::now());
            }
            Action::AbortTransfer | Action::CloseData => self.close_data(),
            Action::Close => {
                let _ = self.control.shutdown(Shutdown::Both);
            }
            _ => {}
        }
        Ok(())
    }

    fn close_data(&mut self) {
        self.data = None;
        self.listener = None;
    }

    fn receive_listing(&mut self) -> Result<Vec<u8>, DataError> {
        let mut data = self.data.take().ok_or(DataError::ConnectionLost)?;
        let mut out = Vec::new();
        (&mut data)
            .take(MAX_LISTING as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| DataError::ConnectionLost)?;
        if out.len() > MAX_LISTING {
            return Err(DataError::TooLarge);
        }
        Ok(out)
    }

    fn transfer(
        &mut self,
        direction: Direction,
        ascii: bool,
        io: &mut Io<'_>,
    ) -> (u64, Result<(), DataError>) {
        let Some(mut data) = self.data.take() else {
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
                loop {
                    let n = match data.read(&mut self.buffer) {
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
                    if let Err(e) = sink.write_all(out) {
                        break Err(DataError::Local(e.to_string()));
                    }
                    if self.progress.as_mut().is_some_and(|p| p(moved).is_break()) {
                        break Err(DataError::Aborted);
                    }
                }
                .and_then(|()| {
                    converted.clear();
                    decoder.finish(&mut converted);
                    sink.write_all(&converted)
                        .and_then(|()| sink.flush())
                        .map_err(|e| DataError::Local(e.to_string()))
                })
            }
            (Direction::Upload, Io::Source(source)) => {
                let mut encoder = AsciiEncoder::new();
                loop {
                    let n = match source.read(&mut self.buffer) {
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
                    if data.write_all(out).is_err() {
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
        // STREAM mode: closing the data connection ends the file.
        let _ = data.shutdown(Shutdown::Write);
        if result.is_ok() && direction == Direction::Upload {
            // Wait for the server to close its side, so the file is whole
            // before the 226 is awaited.
            let _ = data.set_read_timeout(Some(self.data_timeout));
            let _ = data.read(&mut [0u8; 1]);
        }
        (moved, result)
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
