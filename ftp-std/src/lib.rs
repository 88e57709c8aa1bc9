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
//! Connect, list, download, upload (from memory and from a file), resume,
//! and handle errors; here against a server started in the same process
//! (the hidden lines):
//!
//! ```
//! # use std::sync::Arc;
//! # use ftp_std::server::{Account, Accounts, Permissions, Secret, Settings, Shutdown};
//! # let dir = std::env::temp_dir().join(format!("ftp-std-doc-{}", std::process::id()));
//! # let root = dir.join("served");
//! # std::fs::create_dir_all(&root)?;
//! # std::fs::write(root.join("readme.txt"), "Hello, FTP.\n")?;
//! # let mut accounts = Accounts::new();
//! # accounts.insert("alice", Account {
//! #     secret: Secret::Plain("secret".into()),
//! #     permissions: Permissions::ReadWrite,
//! #     root: None,
//! # });
//! # let settings = Settings { root: root.clone(), accounts, fsync: false, ..Settings::default() };
//! # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! # let address = listener.local_addr()?;
//! # let shutdown = Shutdown::new();
//! # let server = {
//! #     let shutdown = shutdown.clone();
//! #     std::thread::spawn(move || ftp_std::server::serve(listener, settings, shutdown))
//! # };
//! use ftp_std::{Client, EntryKind, Options, StoreMode};
//!
//! let mut client = Client::connect(address, Options::default())?;
//! client.login("alice", "secret")?;
//!
//! // List the login directory.
//! for entry in client.list(None)?.entries {
//!     let kind = if entry.kind == EntryKind::Directory { "dir" } else { "file" };
//!     println!("{kind} {} {:?}", String::from_utf8_lossy(&entry.name), entry.size);
//! }
//!
//! // Download into any `Write`: memory here, a `File` as well.
//! let mut text = Vec::new();
//! client.retrieve(b"readme.txt", 0, &mut text)?;
//! assert_eq!(text, b"Hello, FTP.\n");
//!
//! // Upload from any `Read`: memory, then a file.
//! client.store(b"notes.txt", StoreMode::Replace, &mut &b"first line\n"[..])?;
//! let local = dir.join("report.txt");
//! std::fs::write(&local, "quarterly figures\n")?;
//! client.store(b"report.txt", StoreMode::Replace, &mut std::fs::File::open(&local)?)?;
//! client.store(b"notes.txt", StoreMode::Append, &mut &b"second line\n"[..])?;
//! assert_eq!(client.size(b"notes.txt")?, 23);
//!
//! // Resume a download: fetch from an offset (REST) and append.
//! let mut partial = b"Hello, ".to_vec();
//! client.retrieve(b"readme.txt", partial.len() as u64, &mut partial)?;
//! assert_eq!(partial, b"Hello, FTP.\n");
//!
//! // Errors are typed, with the server's reply.
//! match client.retrieve(b"missing.txt", 0, &mut Vec::new()) {
//!     Err(error) if error.is_not_found() => {
//!         assert_eq!(error.reply_code(), Some(550));
//!         eprintln!("not there: {error}");
//!     }
//!     other => panic!("expected 550, got {other:?}"),
//! }
//! client.quit()?;
//! # shutdown.trigger();
//! # server.join().unwrap()?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
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

pub use client::{
    Client, ClientConfig, ClientError, DataError, DataMode, Entry, EntryKind, Error, Features,
    Listing, Notice, Options, StoreMode, TlsOptions, TlsSummary, TlsVersions,
};
pub use ftp_proto as proto;
