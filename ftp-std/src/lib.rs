//! Blocking adapter: drives the `ftp-proto` engine over `std::net` sockets.
//!
//! The server and client drivers land here; until then this crate only
//! re-exports the engine so that embedders can depend on one name.

pub use ftp_proto as proto;
