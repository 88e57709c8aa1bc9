//! Async adapter: drives the `ftp-proto` engine on smol / async-io.
//!
//! [`server::serve`] runs an FTP server on a listener: one task per control
//! connection, each a thin loop that feeds the engine and performs its
//! actions, with the session driver of `ftp-driver`, disk storage from `ftp-fs` and
//! accounts from `ftp-accounts` (feature `server`, on by default). The
//! `ftpd` binary wraps it with a command line.
//!
//! [`client::Client`] is an async FTP client on the same engine as
//! `ftp-std`'s blocking one, streaming from any `AsyncRead` and into any
//! `AsyncWrite`.

pub mod client;
#[cfg(feature = "server")]
pub mod server;

pub use ftp_proto as proto;
