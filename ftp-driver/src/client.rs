//! What the blocking and async clients share besides I/O: the error type,
//! the [`ClientDriver`] that runs the engine's actions down to a few
//! [`ClientIo`] operations, the outcomes of operations, and the
//! [`DataPump`] every transfer's bytes go through.
//!
//! An adapter's client queues an operation on [`ClientDriver::engine`],
//! then performs [`ClientDriver::poll_io`] until
//! [`ClientDriver::outcome`] has the operation's result; it waits for
//! control bytes, an accepted data connection or
//! [`ClientDriver::deadline`] in between.

use crate::clock;
use bytes::Bytes;
use ftp_proto::ascii::{AsciiDecoder, AsciiEncoder};
use ftp_proto::client::{
    Action, Client as Engine, ClientConfig, ClientError, DataError, DataTls, Direction, Event,
    Notice, OperationId, Output, TlsSettings,
};
use ftp_proto::listing::parse::{Entry, Listing};
use ftp_proto::tls::{TlsCodec, TlsError, TlsVersions};
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::ops::ControlFlow;
use std::time::{Duration, Instant, SystemTime};

/// Listings larger than this are refused rather than held in memory.
pub const MAX_LISTING: usize = 64 * 1024 * 1024;
/// The transfer buffer: large enough for loopback speed.
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
            Error::Ftp(error) => error.reply_code(),
            Error::Io(_) => None,
        }
    }

    /// Whether the server refused for good
    /// ([`ClientError::is_permanent_refusal`]).
    pub fn is_permanent_refusal(&self) -> bool {
        matches!(self, Error::Ftp(error) if error.is_permanent_refusal())
    }

    /// Whether trying again may succeed: the connection failed, or
    /// [`ClientError::is_transient`].
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Ftp(error) => error.is_transient(),
            Error::Io(_) => true,
        }
    }

    /// Whether the server said the file or directory is not there or not
    /// available ([`ClientError::is_not_found`]).
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Ftp(error) => error.is_not_found(),
            Error::Io(_) => false,
        }
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

/// An operation's output that is not the kind its call expects.
fn unexpected(output: Output) -> Error {
    Error::Io(io::Error::other(format!("unexpected outcome {output:?}")))
}

/// Reads one kind of [`Output`] out of an operation's result.
pub mod output {
    use super::{Entry, Error, Listing, Output, SystemTime, unexpected};

    /// Nothing to read: the operation succeeded.
    pub fn done(_: Output) -> Result<(), Error> {
        Ok(())
    }

    /// A path (PWD, MKD).
    pub fn path(output: Output) -> Result<Vec<u8>, Error> {
        match output {
            Output::Path(path) => Ok(path.to_vec()),
            other => Err(unexpected(other)),
        }
    }

    /// A size (SIZE).
    pub fn size(output: Output) -> Result<u64, Error> {
        match output {
            Output::Size(size) => Ok(size),
            other => Err(unexpected(other)),
        }
    }

    /// A modification time (MDTM).
    pub fn modified(output: Output) -> Result<SystemTime, Error> {
        match output {
            Output::Modified(time) => Ok(time),
            other => Err(unexpected(other)),
        }
    }

    /// One object's facts (MLST).
    pub fn entry(output: Output) -> Result<Entry, Error> {
        match output {
            Output::Entry(entry) => Ok(entry),
            other => Err(unexpected(other)),
        }
    }

    /// A listing (MLSD or LIST).
    pub fn listing(output: Output) -> Result<Listing, Error> {
        match output {
            Output::Listing(listing) => Ok(listing),
            other => Err(unexpected(other)),
        }
    }

    /// Names (NLST).
    pub fn names(output: Output) -> Result<Vec<Vec<u8>>, Error> {
        match output {
            Output::Names(names) => Ok(names.into_iter().map(|n| n.to_vec()).collect()),
            other => Err(unexpected(other)),
        }
    }

    /// Bytes moved (RETR, STOR, APPE).
    pub fn transferred(output: Output) -> Result<u64, Error> {
        match output {
            Output::Transferred { bytes } => Ok(bytes),
            other => Err(unexpected(other)),
        }
    }

    /// The name the server chose and the bytes sent (STOU).
    pub fn stored_as(output: Output) -> Result<(Vec<u8>, u64), Error> {
        match output {
            Output::StoredAs { name, bytes } => Ok((name.to_vec(), bytes)),
            other => Err(unexpected(other)),
        }
    }
}

/// Sees the bytes moved so far during a transfer; `Break` aborts it.
pub type Progress = Box<dyn FnMut(u64) -> ControlFlow<()> + Send>;
/// Sees each command sent and reply received.
pub type Trace = Box<dyn FnMut(&Notice) + Send>;

/// What the adapter performs for the client driver.
#[derive(Debug)]
pub enum ClientIo {
    /// Write to the control connection; if that fails, call
    /// [`ClientDriver::control_closed`].
    Send(Bytes),
    /// Send as TCP urgent data (the Telnet Synch before ABOR).
    SendUrgent(Bytes),
    /// Drop any data connection or listener, connect to `to` within
    /// `timeout`, then call [`ClientDriver::connected`].
    Connect {
        /// The server's data address.
        to: SocketAddr,
        /// How long to try.
        timeout: Duration,
    },
    /// Drop any data connection, accept on this listener (bound and
    /// already announced); report the connection with
    /// [`ClientDriver::accepted`].
    Listen(TcpListener),
    /// Close the data connection just accepted: it did not come from the
    /// server.
    Reject,
    /// Run a transfer over the data connection through a
    /// [`ClientDriver::pump`], close it, then call
    /// [`ClientDriver::transfer_done`].
    Transfer {
        /// Which way.
        direction: Direction,
        /// TYPE A.
        ascii: bool,
        /// PROT P: for the pump.
        tls: Option<DataTls>,
    },
    /// Read the data connection to its end through a
    /// [`ClientDriver::listing_pump`], then call
    /// [`ClientDriver::listing_received`].
    ReceiveListing {
        /// PROT P: for the pump.
        tls: Option<DataTls>,
    },
    /// Close the data connection and the listener.
    CloseData,
    /// Close the control connection.
    Close,
}

/// One client connection's engine and everything around it that is not
/// I/O; see the module docs.
pub struct ClientDriver {
    engine: Engine,
    data_timeout: Duration,
    progress: Option<Progress>,
    trace: Option<Trace>,
    buffer: Vec<u8>,
    io: std::collections::VecDeque<ClientIo>,
}

impl fmt::Debug for ClientDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientDriver")
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl ClientDriver {
    /// A driver for a control connection from `local` to `peer`.
    pub fn new(config: ClientConfig, peer: SocketAddr, local: SocketAddr) -> ClientDriver {
        let data_timeout = config.data_timeout;
        ClientDriver {
            engine: Engine::new(config, peer, local, clock::now()),
            data_timeout,
            progress: None,
            trace: None,
            buffer: Vec::new(),
            io: std::collections::VecDeque::new(),
        }
    }

    /// The engine, to queue operations and read what the server offers.
    pub fn engine(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// The engine, to read what the server offers.
    pub fn engine_ref(&self) -> &Engine {
        &self.engine
    }

    /// How long the data connection may take, to connect or to close.
    pub fn data_timeout(&self) -> Duration {
        self.data_timeout
    }

    /// Calls `progress` with the bytes moved so far during each transfer.
    pub fn set_progress(&mut self, progress: Progress) {
        self.progress = Some(progress);
    }

    /// Calls `trace` with each command and reply (needs `notices` in the
    /// engine's settings).
    pub fn set_trace(&mut self, trace: Trace) {
        self.trace = Some(trace);
    }

    /// The next operation to perform; `None` once everything the last
    /// input caused is done.
    pub fn poll_io(&mut self) -> Option<ClientIo> {
        loop {
            if let Some(io) = self.io.pop_front() {
                return Some(io);
            }
            let Some(action) = self.engine.poll_action() else {
                while let Some(notice) = self.engine.poll_notice() {
                    if let Some(trace) = &mut self.trace {
                        trace(&notice);
                    }
                }
                return None;
            };
            self.perform(action);
        }
    }

    /// The result of operation `id`, once it has one. An operation that
    /// can no longer end (the connection closed) fails.
    pub fn outcome(&mut self, id: OperationId) -> Option<Result<Output, Error>> {
        let mut found = None;
        while let Some((done, result)) = self.engine.poll_outcome() {
            if done == id {
                found = Some(result.map_err(Error::Ftp));
            }
        }
        if found.is_none() && self.engine.is_closed() {
            return Some(Err(Error::Ftp(ClientError::ConnectionClosed)));
        }
        found
    }

    /// When to call [`ClientDriver::timeout`], on the real clock.
    pub fn deadline(&self) -> Option<Instant> {
        self.engine.poll_timeout().and_then(clock::deadline)
    }

    /// How long from now until [`ClientDriver::deadline`]; zero if due.
    pub fn time_left(&self) -> Option<Duration> {
        self.engine
            .poll_timeout()
            .map(|at| at.saturating_duration_since(clock::now()))
    }

    /// Bytes read from the control connection.
    pub fn control_input(&mut self, bytes: &[u8]) {
        self.engine.handle_input(bytes, clock::now());
    }

    /// The control connection closed or broke.
    pub fn control_closed(&mut self) {
        self.engine.handle_event(Event::ControlClosed, clock::now());
    }

    /// The deadline passed.
    pub fn timeout(&mut self) {
        self.engine.handle_timeout(clock::now());
    }

    /// The connect of [`ClientIo::Connect`] ended.
    pub fn connected(&mut self, result: io::Result<()>) {
        let event = match result {
            Ok(()) => Event::DataConnected,
            Err(_) => Event::DataConnectFailed,
        };
        self.engine.handle_event(event, clock::now());
    }

    /// The listener of [`ClientIo::Listen`] accepted a connection from
    /// `peer`.
    pub fn accepted(&mut self, peer: SocketAddr) {
        self.engine
            .handle_event(Event::DataAccepted { peer }, clock::now());
    }

    /// A transfer ended: `moved` bytes over the data connection.
    pub fn transfer_done(&mut self, moved: u64, result: Result<(), DataError>) {
        if result == Err(DataError::Aborted) {
            self.engine.abort();
        }
        let event = Event::TransferDone {
            bytes: moved,
            result,
        };
        self.engine.handle_event(event, clock::now());
    }

    /// A listing was read to its end (or failed).
    pub fn listing_received(&mut self, result: Result<Vec<u8>, DataError>) {
        let event = match result {
            Ok(data) if data.len() > MAX_LISTING => Event::TransferDone {
                bytes: 0,
                result: Err(DataError::TooLarge),
            },
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

    /// The pump for one transfer's bytes; `tls` from the transfer's
    /// [`ClientIo`]. Fails when the TLS codec cannot start.
    pub fn pump(&mut self, ascii: bool, tls: Option<DataTls>) -> Result<DataPump<'_>, DataError> {
        if self.buffer.is_empty() {
            // Allocated at the first transfer: idle clients stay small.
            self.buffer = vec![0; BUFFER];
        }
        let codec = match tls {
            Some(tls) => Some(Box::new(
                tls.start().map_err(|e| DataError::Tls(e.to_string()))?,
            )),
            None => None,
        };
        Ok(DataPump {
            ascii,
            buffer: &mut self.buffer,
            converted: Vec::new(),
            decoder: AsciiDecoder::new(),
            encoder: AsciiEncoder::new(),
            moved: 0,
            limit: None,
            progress: self.progress.as_mut(),
            trace: self.trace.as_mut(),
            codec,
            ciphertext: Vec::new(),
            plaintext: Vec::new(),
            reported: false,
        })
    }

    /// The pump for a listing: at most [`MAX_LISTING`] bytes, in TYPE A
    /// as the server sent them (the listing parser reads CRLF and LF).
    pub fn listing_pump(&mut self, tls: Option<DataTls>) -> Result<DataPump<'_>, DataError> {
        let mut pump = self.pump(false, tls)?;
        pump.limit = Some(MAX_LISTING as u64);
        pump.progress = None;
        Ok(pump)
    }

    fn perform(&mut self, action: Action) {
        let io = match action {
            Action::Send(bytes) => ClientIo::Send(bytes),
            Action::SendUrgent(bytes) => ClientIo::SendUrgent(bytes),
            Action::ConnectData { to } => ClientIo::Connect {
                to,
                timeout: self.data_timeout,
            },
            Action::ListenData { ip } => {
                let bound = TcpListener::bind(SocketAddr::new(ip, 0))
                    .and_then(|l| Ok((l.local_addr()?, l)));
                let event = match bound {
                    Ok((address, listener)) => {
                        self.io.push_back(ClientIo::Listen(listener));
                        Event::Listening { address }
                    }
                    Err(_) => Event::ListenFailed,
                };
                return self.engine.handle_event(event, clock::now());
            }
            Action::RejectData => ClientIo::Reject,
            Action::Transfer {
                direction,
                ascii,
                tls,
            } => ClientIo::Transfer {
                direction,
                ascii,
                tls,
            },
            Action::ReceiveListing { tls } => ClientIo::ReceiveListing { tls },
            Action::AbortTransfer | Action::CloseData => ClientIo::CloseData,
            Action::Close => ClientIo::Close,
        };
        self.io.push_back(io);
    }
}

/// Where one transfer's bytes pass between the data connection and the
/// caller's source or sink: the TLS codec under PROT P, the TYPE A codec,
/// the count, the progress callback. The adapter reads from the data
/// connection into [`DataPump::buffer`] and passes what it read to
/// [`DataPump::received`], reads from its source into the same buffer and
/// passes it to [`DataPump::to_send`], and after each step writes
/// [`DataPump::outgoing`] to the data connection (TLS handshake records,
/// alerts; empty without TLS). Every step is the same with and without
/// TLS, so an adapter has one loop for both:
///
/// - download: write `outgoing`; until the end of the stream (EOF, or
///   [`DataPump::ended`]), read, `received` → sink, write `outgoing`;
///   then `received_all` → sink
///   (an error if the TLS stream was cut short); write `close`.
/// - upload: while [`DataPump::handshaking`], write `outgoing`, read,
///   `received`; then write `outgoing` and `to_send` → connection
///   per chunk; write `close`, shut the write side, and read to the end
///   through `received` (the server's close, and TLS 1.3 tickets the next
///   data connection resumes from).
pub struct DataPump<'a> {
    ascii: bool,
    buffer: &'a mut Vec<u8>,
    converted: Vec<u8>,
    decoder: AsciiDecoder,
    encoder: AsciiEncoder,
    moved: u64,
    limit: Option<u64>,
    progress: Option<&'a mut Progress>,
    trace: Option<&'a mut Trace>,
    codec: Option<Box<TlsCodec>>,
    ciphertext: Vec<u8>,
    plaintext: Vec<u8>,
    /// The handshake's summary went to the trace.
    reported: bool,
}

fn tls_error(error: ftp_proto::tls::TlsError) -> DataError {
    DataError::Tls(error.to_string())
}

impl DataPump<'_> {
    /// Where to read the next chunk.
    pub fn buffer(&mut self) -> &mut [u8] {
        self.buffer
    }

    /// Whether the TLS handshake still needs bytes from the server before
    /// anything can be sent.
    pub fn handshaking(&self) -> bool {
        self.codec.as_ref().is_some_and(|c| c.is_handshaking())
    }

    /// Ciphertext to write to the data connection now (empty without TLS).
    pub fn outgoing(&mut self) -> &[u8] {
        self.ciphertext.clear();
        if let Some(codec) = &mut self.codec {
            codec.transmit(&mut self.ciphertext);
        }
        &self.ciphertext
    }

    /// `n` bytes were read from the data connection into the buffer (a
    /// download, a listing, or what follows an upload): what to write to
    /// the sink.
    pub fn received(&mut self, n: usize) -> Result<&[u8], DataError> {
        let chunk = self.buffer.get(..n).unwrap_or_default();
        let chunk = match &mut self.codec {
            Some(codec) => {
                codec.receive(chunk).map_err(tls_error)?;
                self.plaintext = codec.take_plaintext();
                if !self.reported && !codec.is_handshaking() {
                    self.reported = true;
                    if let (Some(trace), Some(summary)) = (&mut self.trace, codec.summary()) {
                        trace(&Notice::Protected {
                            data: true,
                            summary,
                        });
                    }
                }
                &self.plaintext[..]
            }
            None => chunk,
        };
        self.moved += chunk.len() as u64;
        if self.limit.is_some_and(|limit| self.moved > limit) {
            return Err(DataError::TooLarge);
        }
        if !self.ascii {
            return Ok(chunk);
        }
        self.converted.clear();
        self.decoder.decode(chunk, &mut self.converted);
        Ok(&self.converted)
    }

    /// Whether the server ended the protected stream (its `close_notify`):
    /// stop reading; some servers (vsftpd) keep the connection open until
    /// ours comes back. Without TLS the stream ends only at EOF.
    pub fn ended(&self) -> bool {
        self.codec.as_ref().is_some_and(|c| c.peer_closed())
    }

    /// The download reached the end of the stream: the last bytes for the
    /// sink. Under TLS, a stream that ended without `close_notify` was cut
    /// short: [`DataError::Truncated`].
    pub fn received_all(&mut self) -> Result<&[u8], DataError> {
        if let Some(codec) = &self.codec {
            if codec.is_handshaking() {
                return Err(DataError::Tls("closed during the handshake".into()));
            }
            if !codec.peer_closed() {
                return Err(DataError::Truncated);
            }
        }
        self.converted.clear();
        self.decoder.finish(&mut self.converted);
        Ok(&self.converted)
    }

    /// `n` bytes were read from the source into the buffer (an upload):
    /// what to write to the data connection, counted as moved.
    pub fn to_send(&mut self, n: usize) -> Result<&[u8], DataError> {
        let chunk = self.buffer.get(..n).unwrap_or_default();
        let out = if self.ascii {
            self.converted.clear();
            self.encoder.encode(chunk, &mut self.converted);
            &self.converted[..]
        } else {
            chunk
        };
        self.moved += out.len() as u64;
        match &mut self.codec {
            Some(codec) => {
                codec.send(out).map_err(tls_error)?;
                self.ciphertext.clear();
                codec.transmit(&mut self.ciphertext);
                Ok(&self.ciphertext)
            }
            None => Ok(out),
        }
    }

    /// The end of what we send: TLS `close_notify` (empty without TLS).
    pub fn close(&mut self) -> &[u8] {
        if let Some(codec) = &mut self.codec {
            codec.close();
        }
        self.outgoing()
    }

    /// After each chunk: whether the caller's progress callback lets the
    /// transfer go on.
    pub fn carry_on(&mut self) -> Result<(), DataError> {
        match self.progress.as_mut().map(|p| p(self.moved)) {
            Some(ControlFlow::Break(())) => Err(DataError::Aborted),
            Some(ControlFlow::Continue(())) | None => Ok(()),
        }
    }

    /// Bytes moved over the data connection so far (plaintext under TLS).
    pub fn moved(&self) -> u64 {
        self.moved
    }
}

/// Where a client's FTPS trust comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// TLS from the first byte (implicit FTPS, `ftps://`, port 990)
    /// rather than `AUTH TLS` after the greeting.
    pub implicit: bool,
    /// A PEM file of CA certificates trusted besides the system's.
    pub ca_file: Option<std::path::PathBuf>,
    /// Accept any certificate: encrypted, but the server unauthenticated.
    pub insecure: bool,
    /// Try `AUTH SSL` when `AUTH TLS` is refused.
    pub auth_ssl_fallback: bool,
    /// The TLS versions offered ([`TlsVersions`]: TLS 1.2 by default, for
    /// sessions data connections can resume without limit).
    pub versions: TlsVersions,
}

/// Whether a connection failed because the server refused the TLS
/// versions offered: worth one more try with [`TlsVersions::Tls13`].
pub fn tls_version_refused(error: &Error, options: &TlsOptions) -> bool {
    options.versions != TlsVersions::Tls13
        && matches!(
            error,
            Error::Ftp(ClientError::Tls(TlsError::VersionRefused))
        )
}

/// FTPS settings for the engine's [`ClientConfig::tls`]: certificates
/// verified for `server_name` (the host name or address connected to)
/// against the system's roots and the CA file, or not at all when
/// [`TlsOptions::insecure`] asks so.
pub fn tls_settings(server_name: &str, options: &TlsOptions) -> Result<TlsSettings, Error> {
    use ftp_proto::tls::{CertificateDer, ClientTls};
    let config = |e: TlsError| Error::Ftp(ClientError::Tls(e));
    let connector = if options.insecure {
        ClientTls::insecure(server_name, options.versions).map_err(config)?
    } else {
        let mut roots: Vec<CertificateDer<'static>> =
            rustls_native_certs::load_native_certs().certs;
        if let Some(path) = &options.ca_file {
            use ftp_proto::tls::PemObject;
            let pem = std::fs::read(path)
                .map_err(|e| config(TlsError::Config(format!("{}: {e}", path.display()))))?;
            let before = roots.len();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                roots.push(
                    cert.map_err(|e| config(TlsError::Config(format!("{}: {e}", path.display()))))?,
                );
            }
            if roots.len() == before {
                return Err(config(TlsError::Config(format!(
                    "{}: no certificate in the file",
                    path.display()
                ))));
            }
        }
        ClientTls::new(server_name, &roots, options.versions).map_err(config)?
    };
    Ok(TlsSettings {
        connector,
        implicit: options.implicit,
        auth_ssl_fallback: options.auth_ssl_fallback,
    })
}

/// The error for a source or sink that failed.
pub fn local_error(error: &io::Error) -> DataError {
    DataError::Local(error.to_string())
}

/// The error for a read or write of the data connection that failed: a
/// timeout (the adapters give each one `ClientConfig::data_timeout`) is a
/// stall, anything else a broken connection.
pub fn data_error(error: &io::Error) -> DataError {
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => DataError::Stalled,
        _ => DataError::ConnectionLost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn driver() -> ClientDriver {
        ClientDriver::new(
            ClientConfig::default(),
            "127.0.0.1:21".parse().unwrap(),
            "127.0.0.1:40000".parse().unwrap(),
        )
    }

    #[test]
    fn the_pump_translates_type_a_both_ways_and_counts_wire_bytes() {
        let mut driver = driver();
        let mut pump = driver.pump(true, None).unwrap();
        pump.buffer()[..5].copy_from_slice(b"a\r\nb\r");
        assert_eq!(pump.received(5).unwrap(), b"a\nb");
        assert_eq!(pump.received_all().unwrap(), b"\r");
        assert_eq!(pump.moved(), 5);

        let mut pump = driver.pump(true, None).unwrap();
        pump.buffer()[..4].copy_from_slice(b"x\ny\n");
        assert_eq!(pump.to_send(4).unwrap(), b"x\r\ny\r\n");
        assert_eq!(pump.moved(), 6);

        let mut pump = driver.pump(false, None).unwrap();
        pump.buffer()[..3].copy_from_slice(b"a\nb");
        assert_eq!(pump.received(3).unwrap(), b"a\nb");
        // Without TLS there is nothing of its own to send.
        assert!(pump.outgoing().is_empty() && pump.close().is_empty());
        assert!(!pump.handshaking());
    }

    #[test]
    fn a_listing_pump_stops_at_the_limit() {
        let mut driver = driver();
        let mut pump = driver.listing_pump(None).unwrap();
        for _ in 0..MAX_LISTING / BUFFER {
            assert!(pump.received(BUFFER).is_ok());
        }
        assert_eq!(pump.received(1).err(), Some(DataError::TooLarge));
    }

    #[test]
    fn progress_can_stop_a_transfer() {
        let mut driver = driver();
        driver.set_progress(Box::new(|moved| {
            if moved > 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }));
        let mut pump = driver.pump(false, None).unwrap();
        pump.received(3).unwrap();
        assert_eq!(pump.carry_on(), Ok(()));
        pump.received(1).unwrap();
        assert_eq!(pump.carry_on(), Err(DataError::Aborted));
    }
}
