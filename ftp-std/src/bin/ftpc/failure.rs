//! Why `ftpc` stopped, and the exit code that says so (the README's
//! table).

use ftp_proto::client::ClientError;
use ftp_proto::tls::TlsError;
use ftp_std::{Client, Error};

/// Exit codes.
pub(crate) mod code {
    /// Anything not below: an unexpected reply, a protocol violation.
    pub(crate) const OTHER: u8 = 1;
    /// Bad arguments: a malformed URL, a local directory given to `put`.
    pub(crate) const USAGE: u8 = 2;
    /// The server could not be reached, or the connection broke.
    pub(crate) const CONNECT: u8 = 3;
    /// The login was refused.
    pub(crate) const LOGIN: u8 = 4;
    /// The remote file or directory does not exist.
    pub(crate) const NOT_FOUND: u8 = 5;
    /// The server refused otherwise (permission, a directory not empty,
    /// a name that exists already).
    pub(crate) const REFUSED: u8 = 6;
    /// The transfer or the connection failed, or a local file could not
    /// be read or written (or would be replaced, with `--no-clobber`).
    pub(crate) const TRANSFER: u8 = 7;
    /// TLS required and not offered.
    pub(crate) const TLS_NOT_OFFERED: u8 = 8;
    /// The server's certificate is not trusted.
    pub(crate) const CERTIFICATE: u8 = 9;
    /// The TLS handshake or a TLS record failed.
    pub(crate) const TLS: u8 = 10;
}

/// Why ftpc stopped, with its exit code.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

pub(crate) fn failure(code: u8, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

/// Exit code for a TLS failure, if the error is one.
pub(crate) fn tls_failure_code(error: &Error) -> Option<u8> {
    match error {
        Error::Ftp(ClientError::TlsNotOffered(_)) => Some(code::TLS_NOT_OFFERED),
        Error::Ftp(ClientError::Tls(TlsError::Certificate { .. })) => Some(code::CERTIFICATE),
        Error::Ftp(ClientError::Tls(_)) => Some(code::TLS),
        _ => None,
    }
}

/// The failure of a command on `path` (not the login): a 450/550 is "not
/// found" only if the path is indeed not there; "permission denied" and
/// "directory not empty" are refusals.
pub(crate) fn command_failure(
    client: &mut Client,
    what: &str,
    path: &[u8],
    error: &Error,
) -> Failure {
    let code = match error {
        e if tls_failure_code(e).is_some() => tls_failure_code(e).unwrap_or(code::TLS),
        Error::Io(_) | Error::Ftp(ClientError::Timeout | ClientError::ConnectionClosed) => {
            code::TRANSFER
        }
        e if e.is_not_found() => match crate::remote::exists(client, path) {
            Ok(true) => code::REFUSED,
            _ => code::NOT_FOUND,
        },
        Error::Ftp(ClientError::Rejected(_)) => code::REFUSED,
        Error::Ftp(ClientError::Transfer(_) | ClientError::DataConnection) => code::TRANSFER,
        Error::Ftp(_) => code::OTHER,
    };
    failure(code, format!("{what}: {error}"))
}
