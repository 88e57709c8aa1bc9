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
//!
//! Connect, list, download, upload (from memory and from a file), resume,
//! and handle errors; here against a server started on the same executor
//! (the hidden lines):
//!
//! ```
//! # use std::sync::Arc;
//! # use ftp_smol::server::{Account, Accounts, Permissions, Secret, Settings, Shutdown};
//! # let dir = std::env::temp_dir().join(format!("ftp-smol-doc-{}", std::process::id()));
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
//! # let executor = Arc::new(smol::Executor::new());
//! # let shutdown = Shutdown::new();
//! # let server = executor.spawn(ftp_smol::server::serve(
//! #     executor.clone(), listener, settings, shutdown.clone(),
//! # ));
//! # smol::block_on(executor.run(async {
//! use ftp_smol::client::{Client, ClientConfig, EntryKind, StoreMode};
//!
//! let mut client = Client::connect(address, ClientConfig::default()).await?;
//! client.login("alice", "secret").await?;
//!
//! // List the login directory.
//! for entry in client.list(None).await?.entries {
//!     let kind = if entry.kind == EntryKind::Directory { "dir" } else { "file" };
//!     println!("{kind} {} {:?}", String::from_utf8_lossy(&entry.name), entry.size);
//! }
//!
//! // Download into any `AsyncWrite`: memory here, a file as well.
//! let mut text = Vec::new();
//! client.retrieve(b"readme.txt", 0, &mut text).await?;
//! assert_eq!(text, b"Hello, FTP.\n");
//!
//! // Upload from any `AsyncRead`: memory, then a file.
//! client.store(b"notes.txt", StoreMode::Replace, &mut &b"first line\n"[..]).await?;
//! let local = dir.join("report.txt");
//! std::fs::write(&local, "quarterly figures\n")?;
//! let mut file = smol::fs::File::open(&local).await?;
//! client.store(b"report.txt", StoreMode::Replace, &mut file).await?;
//! client.store(b"notes.txt", StoreMode::Append, &mut &b"second line\n"[..]).await?;
//! assert_eq!(client.size(b"notes.txt").await?, 23);
//!
//! // Resume a download: fetch from an offset (REST) and append.
//! let mut partial = b"Hello, ".to_vec();
//! client.retrieve(b"readme.txt", partial.len() as u64, &mut partial).await?;
//! assert_eq!(partial, b"Hello, FTP.\n");
//!
//! // Errors are typed, with the server's reply.
//! match client.retrieve(b"missing.txt", 0, &mut Vec::new()).await {
//!     Err(error) if error.is_not_found() => {
//!         assert_eq!(error.reply_code(), Some(550));
//!         eprintln!("not there: {error}");
//!     }
//!     other => panic!("expected 550, got {other:?}"),
//! }
//! client.quit().await?;
//! # shutdown.trigger();
//! # server.await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }))?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod client;
mod deadline;
#[cfg(feature = "server")]
pub mod server;

pub use ftp_proto as proto;
