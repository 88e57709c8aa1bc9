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
    Action, Client as Engine, ClientConfig, ClientError, DataError, Direction, Event, Notice,
    OperationId, Output,
};
use ftp_proto::listing::parse::{Entry, Listing};
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
    },
    /// Read the data connection to its end, at most [`MAX_LISTING`]
    /// bytes, then call [`ClientDriver::listing_received`].
    ReceiveListing,
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

    /// The pump for one transfer's bytes.
    pub fn pump(&mut self, ascii: bool) -> DataPump<'_> {
        if self.buffer.is_empty() {
            // Allocated at the first transfer: idle clients stay small.
            self.buffer = vec![0; BUFFER];
        }
        DataPump {
            ascii,
            buffer: &mut self.buffer,
            converted: Vec::new(),
            decoder: AsciiDecoder::new(),
            encoder: AsciiEncoder::new(),
            moved: 0,
            progress: self.progress.as_mut(),
        }
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
            Action::Transfer { direction, ascii } => ClientIo::Transfer { direction, ascii },
            Action::ReceiveListing => ClientIo::ReceiveListing,
            Action::AbortTransfer | Action::CloseData => ClientIo::CloseData,
            Action::Close => ClientIo::Close,
        };
        self.io.push_back(io);
    }
}

/// Where one transfer's bytes pass between the data connection and the
/// caller's source or sink: the TYPE A codec, the count, the progress
/// callback. The adapter reads into [`DataPump::buffer`] and writes what
/// the pump returns.
pub struct DataPump<'a> {
    ascii: bool,
    buffer: &'a mut Vec<u8>,
    converted: Vec<u8>,
    decoder: AsciiDecoder,
    encoder: AsciiEncoder,
    moved: u64,
    progress: Option<&'a mut Progress>,
}

impl DataPump<'_> {
    /// Where to read the next chunk.
    pub fn buffer(&mut self) -> &mut [u8] {
        self.buffer
    }

    /// `n` bytes were read from the data connection into the buffer
    /// (a download): what to write to the sink.
    pub fn received(&mut self, n: usize) -> &[u8] {
        self.moved += n as u64;
        let chunk = self.buffer.get(..n).unwrap_or_default();
        if !self.ascii {
            return chunk;
        }
        self.converted.clear();
        self.decoder.decode(chunk, &mut self.converted);
        &self.converted
    }

    /// The download reached its end: the last bytes for the sink.
    pub fn received_all(&mut self) -> &[u8] {
        self.converted.clear();
        self.decoder.finish(&mut self.converted);
        &self.converted
    }

    /// `n` bytes were read from the source into the buffer (an upload):
    /// what to write to the data connection, counted as moved.
    pub fn to_send(&mut self, n: usize) -> &[u8] {
        let chunk = self.buffer.get(..n).unwrap_or_default();
        let out = if self.ascii {
            self.converted.clear();
            self.encoder.encode(chunk, &mut self.converted);
            &self.converted[..]
        } else {
            chunk
        };
        self.moved += out.len() as u64;
        out
    }

    /// After each chunk: whether the caller's progress callback lets the
    /// transfer go on.
    pub fn carry_on(&mut self) -> Result<(), DataError> {
        match self.progress.as_mut().map(|p| p(self.moved)) {
            Some(ControlFlow::Break(())) => Err(DataError::Aborted),
            Some(ControlFlow::Continue(())) | None => Ok(()),
        }
    }

    /// Bytes moved over the data connection so far.
    pub fn moved(&self) -> u64 {
        self.moved
    }
}

/// The error for a source or sink that failed.
pub fn local_error(error: &io::Error) -> DataError {
    DataError::Local(error.to_string())
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
        let mut pump = driver.pump(true);
        pump.buffer()[..5].copy_from_slice(b"a\r\nb\r");
        assert_eq!(pump.received(5), b"a\nb");
        assert_eq!(pump.received_all(), b"\r");
        assert_eq!(pump.moved(), 5);

        let mut pump = driver.pump(true);
        pump.buffer()[..4].copy_from_slice(b"x\ny\n");
        assert_eq!(pump.to_send(4), b"x\r\ny\r\n");
        assert_eq!(pump.moved(), 6);

        let mut pump = driver.pump(false);
        pump.buffer()[..3].copy_from_slice(b"a\nb");
        assert_eq!(pump.received(3), b"a\nb");
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
        let mut pump = driver.pump(false);
        pump.received(3);
        assert_eq!(pump.carry_on(), Ok(()));
        pump.received(1);
        assert_eq!(pump.carry_on(), Err(DataError::Aborted));
    }
}
