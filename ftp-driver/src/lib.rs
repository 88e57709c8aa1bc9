//! What the `ftp-proto` adapters share besides I/O, so that each adapter
//! keeps only its I/O primitives (read, write, accept, connect, spawn,
//! sleep) and the blocking (`ftp-std`) and async (`ftp-smol`) ones cannot
//! drift apart:
//!
//! - [`server::SessionDriver`] (feature `server`): one server session's
//!   bookkeeping around the engine: the user's storage, opened files, the
//!   data connection and its listener's generation, transfers and their
//!   abort, shutdown, logging. It turns the engine's actions into the few
//!   [`server::Io`] operations an adapter performs;
//! - [`client`]: the client's errors, the outcome of each operation, and
//!   the data-transfer pump (TYPE A, progress, counting);
//! - [`transfer`] (feature `server`): the server's loop that moves file
//!   bytes over a data connection, abortable from another thread;
//! - [`limits`]: session counts in all and per client address;
//! - [`net`]: control-socket options, passive listeners in a port range,
//!   active connections from a chosen port, waking a blocked accept;
//! - [`clock`]: the engines' timestamps on the real clock.
//!
//! Without the `server` feature nothing of the server's storage or
//! accounts (cap-std, argon2) is pulled in: a program that embeds a client
//! stays lean.
#![deny(missing_docs)]

pub mod client;
pub mod clock;
pub mod limits;
pub mod net;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod transfer;
