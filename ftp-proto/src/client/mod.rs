//! The client side: one [`Client`] per control connection.
//!
//! The caller queues operations ([`Client::login`], [`Client::retrieve`],
//! [`Client::list`], …); each returns an [`OperationId`]. The client sends
//! the commands, reads the replies, asks the caller to open data
//! connections and move bytes, and reports each operation's outcome through
//! [`Client::poll_outcome`]. Like the server session it reads no clock and
//! performs no I/O; the drain rule is the same: after every `handle_*` call,
//! drain [`Client::poll_action`] and [`Client::poll_outcome`], then wait for
//! input, an answer to an action, or [`Client::poll_timeout`].
//!
//! | action | the caller | then reports |
//! |---|---|---|
//! | [`Action::Send`] | writes the bytes to the control connection | — |
//! | [`Action::SendUrgent`] | writes the bytes as TCP urgent data (`MSG_OOB`) | — |
//! | [`Action::ConnectData`] | connects a data connection | [`Event::DataConnected`] or [`Event::DataConnectFailed`] |
//! | [`Action::ListenData`] | listens on the address, any port; then accepts | [`Event::Listening`], then [`Event::DataAccepted`] per connection |
//! | [`Action::RejectData`] | closes the connection last accepted, keeps listening | — |
//! | [`Action::Transfer`] | moves bytes between its source or sink and the data connection, then closes it | [`Event::TransferDone`] |
//! | [`Action::ReceiveListing`] | reads the data connection to its end, keeping the bytes (up to a limit) | [`Event::ListingReceived`] |
//! | [`Action::AbortTransfer`] | stops the running transfer, closes the data connection | [`Event::TransferDone`] |
//! | [`Action::CloseData`] | closes any data connection and listener | — |
//! | [`Action::Close`] | closes the control connection | — |
//!
//! # FTPS (RFC 4217)
//!
//! With [`ClientConfig::tls`] set, the control connection is protected:
//! after the greeting with `AUTH TLS` (explicit), or from the first byte
//! (implicit). Then every [`Action::Send`] carries ciphertext and
//! [`Client::handle_input`] takes ciphertext; the engine runs the TLS
//! codec. After the login the client sends `PBSZ 0` and `PROT P`, and each
//! [`Action::Transfer`] and [`Action::ReceiveListing`] names the
//! [`DataTls`] its data connection runs through (the adapter starts the
//! codec and moves ciphertext). TLS asked for is TLS or an error: a refused
//! AUTH, a refused PROT P, a certificate not trusted fail the operation;
//! nothing falls back to clear text. Bytes that come after the `234` and
//! before the handshake (a reply injected in clear) end the connection.
//!
//! Data connections follow PROTOCOL.md §4 and §5: EPSV first, PASV after a
//! 500, 501, 502 or 522; in active mode EPRT first, PORT after the same.
//! The address in a 227 reply is replaced by the control connection's peer
//! unless [`ClientConfig::trust_pasv_address`] is set, as curl does. A
//! transfer is done when both the data connection has ended and the final
//! reply has come, in either order.

mod engine;

pub use engine::Client;

use crate::listing::parse::{Entry, Listing};
use crate::reply::{Reply, ReplyError};
pub use crate::server::DataTls;
#[cfg(feature = "tls")]
use crate::tls::{ClientTls, TlsError, TlsSummary};
use bytes::Bytes;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

/// How data connections are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataMode {
    /// The client connects (EPSV, then PASV).
    Passive,
    /// The server connects (EPRT, then PORT).
    Active,
}

/// Client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Passive or active data connections.
    pub mode: DataMode,
    /// Try EPSV and EPRT (RFC 2428) first. Off: PASV and PORT only (IPv4).
    pub extended: bool,
    /// Connect to the address a 227 reply names rather than to the control
    /// connection's peer.
    pub trust_pasv_address: bool,
    /// How long to wait for a reply before giving up on the connection.
    pub reply_timeout: Duration,
    /// How long to wait for a data connection, and how long one may then
    /// move no byte before the transfer fails ([`DataError::Stalled`]).
    pub data_timeout: Duration,
    /// Record the control dialogue for [`Client::poll_notice`] (a
    /// `--verbose` display). Off by default.
    pub notices: bool,
    /// FTPS: required when set, never used when not.
    pub tls: Option<TlsSettings>,
}

/// How a client protects its connections (RFC 4217).
#[cfg(feature = "tls")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The name to verify, the trusted roots, the session store.
    pub connector: ClientTls,
    /// TLS from the first byte (implicit FTPS, usually port 990), rather
    /// than `AUTH TLS` after the greeting.
    pub implicit: bool,
    /// When the server refuses `AUTH TLS`, try `AUTH SSL` (some old
    /// servers know only that name).
    pub auth_ssl_fallback: bool,
}

/// Built without the `tls` feature: no value exists.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSettings {}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            mode: DataMode::Passive,
            extended: true,
            trust_pasv_address: false,
            reply_timeout: Duration::from_secs(60),
            data_timeout: Duration::from_secs(30),
            notices: false,
            tls: None,
        }
    }
}

/// The control dialogue, for display ([`Client::poll_notice`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A command line sent, without its CRLF; a password is replaced by
    /// `****`.
    Sent(String),
    /// A reply received.
    Received(Reply),
    /// A TLS handshake finished: on the control connection (`data`
    /// false) or on a data connection (reported by the adapter).
    #[cfg(feature = "tls")]
    Protected {
        /// Whether it was a data connection.
        data: bool,
        /// What was negotiated.
        summary: TlsSummary,
    },
}

/// Names one queued operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperationId(pub u64);

/// Which way file bytes move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the server (RETR).
    Download,
    /// To the server (STOR, APPE, STOU).
    Upload,
}

/// How an upload writes the remote file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreMode {
    /// STOR: create or replace.
    Replace,
    /// APPE: add at the end.
    Append,
    /// REST n then STOR: keep the first n bytes, write from there.
    Resume(u64),
}

/// What the server said it supports (FEAT, RFC 2389), as far as the client
/// acts on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// Whether FEAT answered at all.
    pub known: bool,
    /// MLST/MLSD (RFC 3659 §7).
    pub mlst: bool,
    /// UTF8 (RFC 2640).
    pub utf8: bool,
    /// REST STREAM (RFC 3659 §5).
    pub rest_stream: bool,
    /// SIZE (RFC 3659 §4).
    pub size: bool,
    /// MDTM (RFC 3659 §3).
    pub mdtm: bool,
    /// MFMT (draft-somers-ftp-mfxx): modification times can be set.
    pub mfmt: bool,
    /// EPSV listed (it is tried first anyway).
    pub epsv: bool,
    /// Every feature line, trimmed.
    pub lines: Vec<String>,
}

/// What a successful operation produced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// The server is ready (the greeting came).
    Connected,
    /// Logged in; FEAT was asked.
    LoggedIn,
    /// The operation succeeded and returns nothing.
    Done,
    /// A pathname (PWD, MKD).
    Path(Bytes),
    /// A size (SIZE).
    Size(u64),
    /// A modification time (MDTM).
    Modified(SystemTime),
    /// A parsed listing (MLSD or LIST).
    Listing(Listing),
    /// Names (NLST).
    Names(Vec<Bytes>),
    /// One object's facts (MLST).
    Entry(Entry),
    /// A download or upload completed; bytes moved over the data
    /// connection.
    Transferred {
        /// Bytes moved.
        bytes: u64,
    },
    /// STOU completed: the name the server chose.
    StoredAs {
        /// The file's name, from the 150 reply.
        name: Bytes,
        /// Bytes moved.
        bytes: u64,
    },
}

/// Why a data transfer failed on the caller's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    /// The data connection broke.
    ConnectionLost,
    /// The local source or sink failed.
    Local(String),
    /// Stopped by [`Action::AbortTransfer`].
    Aborted,
    /// A listing was larger than the caller accepts.
    TooLarge,
    /// The data connection's TLS failed (the handshake, a record, the
    /// session not resumed).
    Tls(String),
    /// A protected data connection ended without TLS `close_notify`: the
    /// bytes may be cut short.
    Truncated,
    /// The data connection moved no byte for
    /// [`ClientConfig::data_timeout`]: a peer that stopped without closing.
    Stalled,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::ConnectionLost => f.write_str("the data connection broke"),
            DataError::Local(why) => f.write_str(why),
            DataError::Aborted => f.write_str("aborted"),
            DataError::TooLarge => f.write_str("the listing is too large"),
            DataError::Tls(why) => write!(f, "data connection TLS: {why}"),
            DataError::Truncated => f.write_str(
                "the data connection ended without TLS close_notify: the transfer may be cut short",
            ),
            DataError::Stalled => f.write_str("the data connection stalled (nothing moved)"),
        }
    }
}

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused: the reply that failed the operation.
    Rejected(Reply),
    /// A reply the protocol does not allow here.
    UnexpectedReply(Reply),
    /// A reply that could not be read (malformed, or over the size limit).
    MalformedReply(ReplyError),
    /// A reply's text lacked what the operation needed (an address, a
    /// number, a quoted path).
    BadReplyText(Reply),
    /// No reply, or no data connection, in time. The control connection is
    /// closed.
    Timeout,
    /// The control connection closed.
    ConnectionClosed,
    /// The data connection could not be opened.
    DataConnection,
    /// The data transfer failed.
    Transfer(DataError),
    /// Stopped by [`Client::abort`].
    Aborted,
    /// An argument could not be sent (it holds CR or LF, or is empty).
    InvalidArgument(crate::EncodeError),
    /// TLS was required and the server refused `AUTH TLS` (and `AUTH SSL`
    /// when asked for): the reply.
    TlsNotOffered(Reply),
    /// The control connection's TLS failed: the certificate, the
    /// handshake, a record, or bytes injected in clear after the 234.
    #[cfg(feature = "tls")]
    Tls(TlsError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Rejected(reply) => write!(f, "server refused: {reply}"),
            ClientError::UnexpectedReply(reply) => write!(f, "unexpected reply: {reply}"),
            ClientError::MalformedReply(error) => write!(f, "{error}"),
            ClientError::BadReplyText(reply) => write!(f, "unreadable reply: {reply}"),
            ClientError::Timeout => f.write_str("the server did not answer in time"),
            ClientError::ConnectionClosed => f.write_str("the control connection closed"),
            ClientError::DataConnection => f.write_str("the data connection could not be opened"),
            ClientError::Transfer(error) => write!(f, "data transfer failed: {error}"),
            ClientError::Aborted => f.write_str("aborted"),
            ClientError::InvalidArgument(error) => write!(f, "cannot send the command: {error}"),
            ClientError::TlsNotOffered(reply) => {
                write!(f, "the server does not offer TLS: {reply}")
            }
            #[cfg(feature = "tls")]
            ClientError::Tls(error) => write!(f, "{error}"),
        }
    }
}

impl ClientError {
    /// The reply code, when the server refused or answered out of turn.
    pub fn reply_code(&self) -> Option<u16> {
        match self {
            ClientError::Rejected(reply)
            | ClientError::UnexpectedReply(reply)
            | ClientError::TlsNotOffered(reply) => Some(reply.code.get()),
            #[cfg(feature = "tls")]
            ClientError::Tls(_) => None,
            ClientError::MalformedReply(_)
            | ClientError::BadReplyText(_)
            | ClientError::Timeout
            | ClientError::ConnectionClosed
            | ClientError::DataConnection
            | ClientError::Transfer(_)
            | ClientError::Aborted
            | ClientError::InvalidArgument(_) => None,
        }
    }

    /// Whether the server said the file or directory is not there or not
    /// available: 550 (RFC 959 §4.2: file unavailable, not found, no
    /// access) and 450 (unavailable now).
    pub fn is_not_found(&self) -> bool {
        matches!(self.reply_code(), Some(450 | 550))
    }

    /// Whether the server refused for good: a permanent negative reply
    /// (5yz, RFC 959 §4.2), whatever its number (a missing directory is
    /// 550 from most servers, 501 from pyftpdlib).
    pub fn is_permanent_refusal(&self) -> bool {
        matches!(self, ClientError::Rejected(_))
            && self.reply_code().is_some_and(|c| (500..600).contains(&c))
    }

    /// Whether trying again later may succeed: a transient negative
    /// reply (4yz, RFC 959 §4.2), a timeout, or a control or data
    /// connection that broke or could not be made.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Timeout
            | ClientError::ConnectionClosed
            | ClientError::DataConnection
            | ClientError::Transfer(
                DataError::ConnectionLost | DataError::Truncated | DataError::Stalled,
            ) => true,
            other => other.reply_code().is_some_and(|c| (400..500).contains(&c)),
        }
    }
}

impl std::error::Error for ClientError {}

/// Something the caller must do; see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
// Exhaustive on purpose: a variant added later must fail to compile
// wherever it is not handled, rather than fall into a wildcard arm.
pub enum Action {
    /// Write to the control connection.
    Send(Bytes),
    /// Write to the control connection as urgent data (`MSG_OOB`): the
    /// Telnet Synch before ABOR (RFC 959 §4.1.3).
    SendUrgent(Bytes),
    /// Connect a data connection.
    ConnectData {
        /// Where to.
        to: SocketAddr,
    },
    /// Listen for the server's data connection.
    ListenData {
        /// The local address to listen on (the control connection's).
        ip: IpAddr,
    },
    /// Close the connection last accepted: it did not come from the server.
    RejectData,
    /// Move bytes over the data connection, then close it.
    Transfer {
        /// Which way.
        direction: Direction,
        /// TYPE A: translate line ends with [`crate::ascii`].
        ascii: bool,
        /// PROT P: the TLS the bytes go through ([`DataTls::start`]).
        tls: Option<DataTls>,
    },
    /// Read the data connection to its end and report the bytes.
    ReceiveListing {
        /// PROT P: the TLS the bytes go through.
        tls: Option<DataTls>,
    },
    /// Stop the running transfer.
    AbortTransfer,
    /// Close any data connection and listener.
    CloseData,
    /// Close the control connection.
    Close,
}

/// Something that happened, reported by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
// Exhaustive on purpose: a variant added later must fail to compile
// wherever it is not handled, rather than fall into a wildcard arm.
pub enum Event {
    /// The data connection asked for by [`Action::ConnectData`] is open.
    DataConnected,
    /// It could not be opened.
    DataConnectFailed,
    /// The listener asked for by [`Action::ListenData`] is open.
    Listening {
        /// Its address.
        address: SocketAddr,
    },
    /// No listener could be opened.
    ListenFailed,
    /// A connection arrived on the listener.
    DataAccepted {
        /// Where from.
        peer: SocketAddr,
    },
    /// A transfer ended.
    TransferDone {
        /// Bytes moved over the data connection.
        bytes: u64,
        /// How it ended.
        result: Result<(), DataError>,
    },
    /// A listing was read to its end.
    ListingReceived {
        /// Its bytes.
        data: Bytes,
        /// The wall-clock time, for dates without a year.
        now: SystemTime,
    },
    /// The control connection closed.
    ControlClosed,
}
