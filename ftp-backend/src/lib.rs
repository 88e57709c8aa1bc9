//! What an FTP server built on `ftp-proto` runs on the local machine, shared
//! by the blocking (`ftp-std`) and async (`ftp-smol`) adapters so that each
//! stays a thin driver:
//!
//! - [`disk`]: storage on the local disk, jailed with cap-std, uploads
//!   written aside;
//! - [`accounts`]: users, plain or argon2 passwords, permissions;
//! - [`transfer`]: the blocking loop that moves file bytes over a data
//!   connection (through a buffer, the engine's codec for TYPE A),
//!   abortable from another thread, or hands an async adapter the bytes
//!   of a listing or small file to write itself;
//! - [`limits`]: session counts in all and per client address;
//! - [`net`]: control-socket options, passive listeners in a port range,
//!   active connections from a chosen port;
//! - [`server`]: the settings both servers take, the storage chosen at
//!   login, and log lines from the engine's notices;
//! - [`clock`]: the engines' timestamps on the real clock, for the servers
//!   and the clients of both adapters.
#![deny(missing_docs)]

pub mod accounts;
pub mod clock;
pub mod disk;
pub mod limits;
pub mod net;
pub mod server;
pub mod transfer;
