//! A sans-IO FTP protocol engine.
//!
//! `ftp-proto` holds all protocol knowledge of the project and performs no
//! I/O: it never touches a socket, a file, a clock or a thread. Callers feed
//! it bytes and events and carry out what it asks for. This makes the same
//! engine usable from any event loop, testable without sockets and fuzzable
//! in isolation.
//!
//! # The wire layer
//!
//! | module | concept | RFC |
//! |---|---|---|
//! | [`line`](mod@line) | control-line framing: CRLF or bare LF, Telnet sequences, a line-length cap | 959 §5.3, 854, 1123 §4.1.2.12 |
//! | [`command`] | the [`Command`] type, its parser and serializer | 959 §5.3, 2228, 2389, 2428, 2640, 3659, 4217, 7151 |
//! | [`reply`] | [`Reply`], [`ReplyCode`], an incremental multi-line parser and a serializer | 959 §4.2, 1123 §4.1.2.11 |
//! | [`hostport`] | PORT/PASV `h1,h2,h3,h4,p1,p2`, the 227 text, EPRT, the 229 text | 959 §4.1.2, 1123 §4.1.2.6, 2428 |
//! | [`pathname`] | the quoted pathname of a 257 reply | 959 Appendix II |
//!
//! # Server building blocks
//!
//! | module | concept | RFC |
//! |---|---|---|
//! | [`path`] | virtual paths and the jail rule | 2577 §9 |
//! | [`storage`] | the request/response protocol with a file-system backend | — |
//! | [`listing`] | LIST, NLST and MLSx output | 959 §4.1.3, 3659 §7 |
//! | [`ascii`] | the TYPE A line-ending codec for data streams | 959 §3.1.1.1 |
//! | [`hash`] | HASH digests, OPTS HASH and RANG ranges | draft-bryan-ftpext-hash-02 |
//! | [`timeval`] | `time-val` and `ls -l` dates, from caller-supplied times | 3659 §2.3 |
//! | `tls` (feature `tls`, on by default) | TLS through rustls on in-memory buffers: control and data connections, session reuse | 4217 |
//!
//! # The server engine
//!
//! [`server::Session`] is one control connection's state machine: bytes,
//! events and time in; replies, storage and authentication requests, and
//! data-connection actions out. Time comes in as a [`clock::Timestamp`] on
//! the caller's clock, so a test can run a session on a clock of its own.
//! The [`server`] module documents the contract
//! an adapter follows. [`client::Client`] is the same for the other side:
//! operations queued, commands and data-connection actions out, outcomes
//! reported per operation.
//!
//! # Bytes, not strings
//!
//! Pathnames are bytes (RFC 2640 §3.1): valid UTF-8 is the common case, but
//! any other byte sequence survives a parse and a serialization unchanged.
//! Arguments are therefore [`bytes::Bytes`], which also lets the parser hand
//! out slices of the received line without copying.
//!
//! # Safety of what goes out
//!
//! Every serializer refuses an argument or a reply line that holds CR or LF
//! ([`EncodeError`]): no caller can smuggle a second command onto the
//! control connection or forge a reply line. The byte 0xFF is doubled (Telnet
//! IAC, RFC 3659 §2.2) on the way out and undoubled on the way in.
//!
//! # No panics
//!
//! Parsers return typed errors for every malformed input. The crate denies
//! `unwrap`, `expect`, `panic!` and unchecked indexing outside tests, and
//! fuzz targets in `fuzz/` exercise every parser.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

pub mod ascii;
pub mod client;
pub mod clock;
pub mod command;
mod encode;
#[cfg(feature = "fuzz-checks")]
#[doc(hidden)]
pub mod fuzz_checks;
pub mod hash;
pub mod hostport;
pub mod line;
pub mod listing;
pub mod path;
pub mod pathname;
pub mod reply;
pub mod server;
pub mod storage;
pub mod timeval;
#[cfg(feature = "tls")]
pub mod tls;

pub use command::{Command, CommandError};
pub use encode::EncodeError;
pub use line::{ControlItem, LineDecoder};
pub use reply::{Reply, ReplyCode, ReplyError, ReplyParser};
