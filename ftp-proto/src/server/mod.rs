//! The server side: one [`Session`] per control connection.
//!
//! # Driving a session
//!
//! ```text
//! let mut s = Session::new(config, peer, local, now);
//! loop {
//!     while let Some(action) = s.poll_action() { perform(action) }   // drain rule
//!     wait for: control bytes, an answer to an action, or s.poll_timeout()
//!     s.handle_input(&bytes, now) | s.handle_event(event, now) | s.handle_timeout(now)
//! }
//! ```
//!
//! After every `handle_*` call the caller drains [`Session::poll_action`]
//! until it returns `None`, then waits for the next input, event or
//! [`Session::poll_timeout`]. Nothing happens between calls: the session
//! reads no clock and performs no I/O.
//!
//! # What the caller performs
//!
//! Every [`Action`] says what to do and, where an answer is expected, which
//! [`Event`] reports it:
//!
//! | action | the caller | then reports |
//! |---|---|---|
//! | [`Action::Send`] | writes the bytes to the control connection | — |
//! | [`Action::Authenticate`] | checks the credentials | [`Event::Authenticated`] |
//! | [`Action::Storage`] | runs the request on the user's file system | [`Event::Storage`] |
//! | [`Action::ListenData`] | closes any data connection or listener, listens on the address, a port from the range | [`Event::Listening`] or [`Event::ListenFailed`], then [`Event::DataIncoming`] for each connection |
//! | [`Action::AcceptData`] | keeps the connection just reported, closes the listener | — |
//! | [`Action::RejectData`] | closes the connection just reported, keeps listening | — |
//! | [`Action::ConnectData`] | closes any data connection or listener, connects | [`Event::DataConnected`] or [`Event::DataConnectFailed`] |
//! | [`Action::Transfer`] | moves the bytes between the opened file and the data connection, closes the data connection | [`Event::TransferDone`] |
//! | [`Action::SendListing`] | writes the bytes to the data connection, closes it | [`Event::TransferDone`] |
//! | [`Action::AbortTransfer`] | stops the running transfer | [`Event::TransferDone`] |
//! | [`Action::CloseFile`] | drops a file opened for a transfer that will not run (an upload written aside is discarded) | — |
//! | [`Action::CloseData`] | closes any data connection and listener | — |
//! | [`Action::Logout`] | drops the logged-out user's storage | — |
//! | [`Action::Close`] | closes the control connection after the bytes already sent | — |
//!
//! Bulk file bytes never pass through the session: it decides what moves
//! and the caller moves it, using [`crate::ascii`] when `ascii` is set.

mod config;
#[cfg(any(test, feature = "fuzz-checks"))]
#[doc(hidden)]
pub mod harness;
mod session;

pub use config::ServerConfig;
pub use session::Session;

use crate::command::{HostName, Password};
use crate::storage::{Request, Response, StorageError};
use bytes::Bytes;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;

/// Names one request so that its answer can be matched to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What a client offered to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name as sent.
    pub user: Bytes,
    /// The password as sent.
    pub password: Password,
    /// The account, after a 332 asked for one.
    pub account: Option<Bytes>,
    /// An anonymous login (`anonymous` or `ftp` with anonymous logins
    /// allowed); the password is then by custom an e-mail address.
    pub anonymous: bool,
    /// The virtual host named by HOST, if any (RFC 7151).
    pub host: Option<HostName>,
}

/// What a logged-in user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permissions {
    /// Listing and downloading only.
    ReadOnly,
    /// Also uploading, creating, renaming and deleting.
    ReadWrite,
}

/// Why a login was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// Unknown user or wrong password: the same answer either way
    /// (RFC 2577 §7).
    Rejected,
    /// The credentials are right but an account is needed (332, then ACCT).
    AccountRequired,
    /// The authentication service cannot answer now (421, close).
    Unavailable,
}

/// Which way file bytes move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the file to the data connection (RETR).
    Download,
    /// From the data connection to the file (STOR, STOU, APPE).
    Upload,
}

/// The TLS protection of a data connection ([`crate::tls::DataTls`]), or,
/// built without the `tls` feature, nothing: no value exists.
#[cfg(feature = "tls")]
pub use crate::tls::DataTls;
/// Built without the `tls` feature: no data connection is protected.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataTls {}

/// Why a transfer did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferError {
    /// The data connection broke (426).
    ConnectionLost,
    /// A protected data connection ended without TLS `close_notify`: what
    /// came may be cut short (426, never 226).
    Truncated,
    /// The data connection's TLS failed, or did not resume the control
    /// connection's session (522).
    Tls(String),
    /// Stopped by [`Action::AbortTransfer`] (426).
    Aborted,
    /// The data connection moved no byte for
    /// [`ServerConfig::data_stall_timeout`](crate::server::ServerConfig::data_stall_timeout) (426).
    Stalled,
    /// The file could not be read or written (451, or 552 for a full disk
    /// or quota).
    Storage(StorageError),
}

impl std::fmt::Display for TransferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransferError::ConnectionLost => f.write_str("the data connection broke"),
            TransferError::Truncated => {
                f.write_str("the data connection ended without TLS close_notify")
            }
            TransferError::Tls(why) => write!(f, "data connection TLS: {why}"),
            TransferError::Aborted => f.write_str("aborted"),
            TransferError::Stalled => f.write_str("the data connection stalled"),
            TransferError::Storage(error) => write!(f, "storage: {error}"),
        }
    }
}

/// Something the caller must do; see the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
// Exhaustive on purpose: a variant added later must fail to compile
// wherever it is not handled, rather than fall into a wildcard arm.
pub enum Action {
    /// Write these bytes to the control connection.
    Send(Bytes),
    /// Check credentials; answer with [`Event::Authenticated`].
    Authenticate {
        /// Names the answer.
        id: RequestId,
        /// What the client sent.
        credentials: Credentials,
    },
    /// Run a storage request; answer with [`Event::Storage`].
    Storage {
        /// Names the answer.
        id: RequestId,
        /// What to do.
        request: Request,
    },
    /// Listen for one data connection; answer with [`Event::Listening`].
    ListenData {
        /// The local address to listen on.
        ip: IpAddr,
        /// The ports to choose from.
        ports: RangeInclusive<u16>,
    },
    /// Keep the data connection last reported by [`Event::DataIncoming`]
    /// and stop listening.
    AcceptData,
    /// Close the data connection last reported by [`Event::DataIncoming`]
    /// and keep listening: it did not come from the client.
    RejectData,
    /// Connect to the client's data port; answer with
    /// [`Event::DataConnected`] or [`Event::DataConnectFailed`].
    ConnectData {
        /// The client's address.
        to: SocketAddr,
        /// Bind to this local port first (RFC 959's L-1), if set.
        from_port: Option<u16>,
    },
    /// Move a file's bytes over the data connection, then close it; answer
    /// with [`Event::TransferDone`].
    Transfer {
        /// The request that opened the file.
        file: RequestId,
        /// Which way.
        direction: Direction,
        /// TYPE A: translate line ends with [`crate::ascii`].
        ascii: bool,
        /// PROT P: run the data connection through this TLS.
        tls: Option<DataTls>,
    },
    /// Write a listing to the data connection, then close it; answer with
    /// [`Event::TransferDone`].
    SendListing {
        /// The listing, formatted.
        listing: Bytes,
        /// PROT P: run the data connection through this TLS.
        tls: Option<DataTls>,
    },
    /// Stop the running transfer; it still reports [`Event::TransferDone`].
    AbortTransfer,
    /// Drop a file opened for a transfer that will not run.
    CloseFile(RequestId),
    /// Close any data connection and any listener.
    CloseData,
    /// The user logged out (REIN, or USER while logged in): drop the
    /// storage [`Event::Authenticated`] opened for them. No storage request
    /// comes until the next successful login.
    Logout,
    /// Close the control connection once the bytes sent so far are out.
    Close,
}

/// Something the session did, for logs and metrics
/// ([`Session::poll_notice`], when [`ServerConfig::notices`] is on).
#[derive(Debug, Clone, PartialEq, Eq)]
// Exhaustive on purpose: a log that misses a new kind of event should fail
// to compile, not drop it.
pub enum Notice {
    /// A command was received. The argument is left out for PASS.
    Command {
        /// The verb.
        verb: crate::command::Verb,
        /// The argument as it would be sent, if any.
        argument: Option<Bytes>,
    },
    /// A reply was sent.
    Reply {
        /// Its code.
        code: crate::reply::ReplyCode,
    },
    /// A login succeeded.
    LoggedIn {
        /// The user name.
        user: Bytes,
        /// Whether it was an anonymous login.
        anonymous: bool,
        /// What the user may do.
        permissions: Permissions,
    },
    /// A login was refused.
    LoginFailed {
        /// The user name tried.
        user: Bytes,
    },
    /// A transfer or listing ended.
    TransferFinished {
        /// Which way a file moved; `None` for a listing.
        direction: Option<Direction>,
        /// What moved, e.g. `download of /pub/a.txt`.
        description: String,
        /// The file's path; `None` for a listing.
        path: Option<String>,
        /// TYPE A (line ends translated) rather than TYPE I.
        ascii: bool,
        /// Bytes moved over the data connection.
        bytes: u64,
        /// From the transfer command to the end.
        duration: std::time::Duration,
        /// How it ended.
        result: Result<(), TransferError>,
    },
    /// A file or directory was deleted, renamed or created, or that was
    /// tried and refused.
    Changed {
        /// What was asked.
        change: Change,
        /// How it ended.
        result: Result<(), StorageError>,
    },
}

/// A change to the served tree, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// DELE.
    Delete(crate::path::VirtualPath),
    /// RNFR, then RNTO.
    Rename {
        /// The old path.
        from: crate::path::VirtualPath,
        /// The new path.
        to: crate::path::VirtualPath,
    },
    /// MKD.
    MakeDir(crate::path::VirtualPath),
    /// RMD.
    RemoveDir(crate::path::VirtualPath),
    /// MFMT: a new modification time.
    Modified(crate::path::VirtualPath),
    /// SITE CHMOD: new permission bits.
    Mode(crate::path::VirtualPath, u32),
}

/// Something that happened, reported by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
// Exhaustive on purpose: a variant added later must fail to compile
// wherever it is not handled, rather than fall into a wildcard arm.
pub enum Event {
    /// Answer to [`Action::Authenticate`].
    Authenticated {
        /// The request answered.
        id: RequestId,
        /// The outcome.
        result: Result<Permissions, AuthError>,
    },
    /// Answer to [`Action::Storage`].
    Storage {
        /// The request answered.
        id: RequestId,
        /// The outcome.
        result: Result<Response, StorageError>,
    },
    /// The listener asked for by [`Action::ListenData`] is open.
    Listening {
        /// Its port.
        port: u16,
    },
    /// No listener could be opened.
    ListenFailed,
    /// A connection arrived on the listener; answer with
    /// [`Action::AcceptData`] or [`Action::RejectData`].
    DataIncoming {
        /// Where it came from.
        peer: SocketAddr,
    },
    /// The connection asked for by [`Action::ConnectData`] is open.
    DataConnected,
    /// The connection asked for by [`Action::ConnectData`] failed.
    DataConnectFailed,
    /// A transfer or listing ended.
    TransferDone {
        /// Bytes moved over the data connection.
        bytes: u64,
        /// How it ended.
        result: Result<(), TransferError>,
    },
    /// The client closed the control connection.
    ControlClosed,
}
