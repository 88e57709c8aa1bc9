//! Async adapter: drives the `ftp-proto` engine on smol / async-io.
//!
//! `server::serve` (feature `server`, on by default) runs an FTP server on
//! a listener: one task per control connection, each a thin loop that
//! performs the I/O of `ftp-driver`'s session driver, with disk storage
//! from `ftp-fs` and accounts from `ftp-accounts`. The `ftpd` binary wraps
//! it with a command line (feature `cli`).
//!
//! [`client::Client`] is an async FTP client on the same engine and client
//! driver as `ftp-std`'s blocking one, streaming from any `AsyncRead` and
//! into any `AsyncWrite`. A program that only needs the client depends on
//! this crate with `default-features = false`. FTPS:
//! [`client::Client::connect_tls`], with the same verification and session
//! reuse as the blocking client (the TLS is the engine's, shared).

pub mod client;
#[cfg(feature = "server")]
pub mod server;

pub use ftp_proto as proto;
