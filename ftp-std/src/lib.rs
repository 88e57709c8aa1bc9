//! Blocking adapter: drives the `ftp-proto` engine over `std::net` sockets.
//!
//! `server::serve` (feature `server`, on by default) runs an FTP server
//! with a thread per session, on the same session driver, storage and
//! transfer loop as the async server in `ftp-smol` (see
//! `examples/server.rs`).
//!
//! [`Client`] is a blocking FTP client: connect (host names, IPv4, IPv6),
//! log in, list, download into any `Write`, upload from any `Read`, in
//! passive or active mode, with timeouts and a progress callback. The
//! `ftpc` binary wraps it with a command line (feature `cli`).
//!
//! A program that only needs the client depends on this crate with
//! `default-features = false`: neither the server's storage and accounts
//! (cap-std, argon2) nor the binary's dependencies (clap, indicatif) come
//! along.
//!
//! ```no_run
//! use ftp_std::{Client, Options};
//!
//! let mut client = Client::connect("127.0.0.1:2121", Options::default())?;
//! client.login("anonymous", "guest@example.com")?;
//! for entry in client.list(None)?.entries {
//!     println!("{}", String::from_utf8_lossy(&entry.name));
//! }
//! let mut file = Vec::new();
//! client.retrieve(b"readme.txt", 0, &mut file)?;
//! client.quit()?;
//! # Ok::<(), ftp_std::Error>(())
//! ```
//!
//! FTPS (RFC 4217): [`Client::connect_tls`] requires TLS (`AUTH TLS`, or
//! implicit TLS from the first byte), verifies the server's certificate
//! for the host name given against the system's roots and an optional CA
//! file, protects every data connection (`PROT P`) and resumes the control
//! connection's TLS session on each, as servers that require session reuse
//! check:
//!
//! ```no_run
//! use ftp_std::{Client, Options, TlsOptions};
//!
//! let tls = TlsOptions {
//!     ca_file: Some("ca.pem".into()),
//!     ..TlsOptions::default()
//! };
//! let mut client = Client::connect_tls("ftp.example.com", 21, Options::default(), &tls)?;
//! client.login("alice", "secret")?;
//! let mut file = Vec::new();
//! client.retrieve(b"report.pdf", 0, &mut file)?;
//! client.quit()?;
//! # Ok::<(), ftp_std::Error>(())
//! ```

pub mod client;
#[cfg(feature = "server")]
pub mod server;

pub use client::{Client, DataMode, Error, Options, TlsOptions, TlsVersions};
pub use ftp_proto as proto;
