//! FTP over TLS (RFC 4217): the one module that drives rustls.
//!
//! rustls runs on in-memory buffers here, like everything in the engine:
//! ciphertext in ([`TlsCodec::receive`]), plaintext out
//! ([`TlsCodec::take_plaintext`]), plaintext in ([`TlsCodec::send`]),
//! ciphertext out ([`TlsCodec::transmit`]). The server session runs its
//! control connection through a codec; the adapters run each protected
//! data connection through one the engine prepared ([`DataTls`]), in their
//! transfer loop, as they run TYPE A through [`crate::ascii`]. Keeping
//! every rustls call in this module means a rustls API change (0.24's
//! caller-owned buffers) touches one file.
//!
//! # What the engine decides here
//!
//! - Session reuse: the control connection's TLS session carries a token
//!   of its own in its resumption data; a protected data connection must
//!   resume a session that carries the same token, or it carries nothing
//!   ([`TlsError::NotResumed`]): a stranger cannot attach a data
//!   connection to someone else's session (RFC 4217 §10.2, as vsftpd's
//!   `require_ssl_reuse`).
//! - Tickets: stateless (a ticketer, not a single-use cache), so that a
//!   client may offer the control connection's session on every data
//!   connection, as curl and lftp do under TLS 1.3; and none are sent on
//!   an upload's data connection, where a client that never reads them
//!   would answer with a reset that truncates the upload.
//! - The end of a protected stream is a `close_notify`; a connection that
//!   ends without one is a truncated transfer
//!   ([`TlsCodec::peer_closed`]).

use bytes::Bytes;
use rustls::server::{ServerConfig, ServerConnection};
use rustls::{HandshakeKind, ProtocolVersion};
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;

pub use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsError {
    /// The certificate or key could not be used.
    Config(String),
    /// The peer's bytes were not TLS, or the handshake or a record failed.
    Protocol(String),
    /// A data connection did not resume its control connection's session.
    NotResumed,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Config(why) => write!(f, "TLS configuration: {why}"),
            TlsError::Protocol(why) => write!(f, "TLS: {why}"),
            TlsError::NotResumed => f.write_str(
                "the data connection did not resume the control connection's TLS session",
            ),
        }
    }
}

impl std::error::Error for TlsError {}

/// A server's certificate and the TLS settings of its connections.
#[derive(Clone)]
pub struct ServerTls {
    /// Control connections, downloads and listings.
    control: Arc<ServerConfig>,
    /// Upload data connections: the same certificate and tickets, but no
    /// TLS 1.3 tickets sent.
    upload: Arc<ServerConfig>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl PartialEq for ServerTls {
    fn eq(&self, other: &ServerTls) -> bool {
        Arc::ptr_eq(&self.control, &other.control)
    }
}

impl Eq for ServerTls {}

impl ServerTls {
    /// Settings for a certificate chain (leaf first) and its private key.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<ServerTls, TlsError> {
        // AES-128-GCM first, and the server's order over the client's:
        // curl and lftp (OpenSSL) list AES-256-GCM first, which costs a
        // third more CPU per byte for no practical gain (BENCHMARKS.md).
        let mut provider = rustls::crypto::ring::default_provider();
        provider.cipher_suites.sort_by_key(|suite| {
            use rustls::CipherSuite::*;
            match suite.suite() {
                TLS13_AES_128_GCM_SHA256
                | TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                | TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 0,
                TLS13_AES_256_GCM_SHA384
                | TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
                | TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => 1,
                _ => 2,
            }
        });
        let provider = Arc::new(provider);
        let mut control = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        control.ticketer =
            rustls::crypto::ring::Ticketer::new().map_err(|e| TlsError::Config(e.to_string()))?;
        control.ignore_client_order = true;
        let mut upload = control.clone();
        upload.send_tls13_tickets = 0;
        Ok(ServerTls {
            control: Arc::new(control),
            upload: Arc::new(upload),
        })
    }

    /// Settings from PEM text: the certificate chain and the private key
    /// (PKCS #8, PKCS #1 or SEC1).
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<ServerTls, TlsError> {
        use rustls::pki_types::pem::PemObject;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Config(format!("certificate: {e}")))?;
        if chain.is_empty() {
            return Err(TlsError::Config("no certificate in the file".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| TlsError::Config(format!("private key: {e}")))?;
        ServerTls::new(chain, key)
    }

    /// A codec for a control connection, whose sessions carry `token`.
    pub(crate) fn control_codec(&self, token: &[u8]) -> Result<TlsCodec, TlsError> {
        let mut connection = ServerConnection::new(self.control.clone())
            .map_err(|e| TlsError::Config(e.to_string()))?;
        connection.set_resumption_data(token);
        Ok(TlsCodec::new(connection.into(), None))
    }

    /// What a protected data connection of the control connection with
    /// `token` needs: `upload` sends no tickets; `require_resumption`
    /// refuses a handshake that does not resume a session with the token.
    pub(crate) fn data(&self, upload: bool, token: Bytes, require_resumption: bool) -> DataTls {
        DataTls {
            config: if upload {
                self.upload.clone()
            } else {
                self.control.clone()
            },
            token,
            require_resumption,
        }
    }
}

/// The protection of one data connection, as the engine decided it: made
/// into a codec with [`DataTls::start`] by whoever moves the bytes.
#[derive(Clone)]
pub struct DataTls {
    config: Arc<ServerConfig>,
    /// The control connection's token: carried by the tickets this
    /// connection issues too, so that a later data connection may resume
    /// from them.
    token: Bytes,
    require_resumption: bool,
}

impl fmt::Debug for DataTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataTls")
            .field("require_resumption", &self.require_resumption)
            .finish_non_exhaustive()
    }
}

impl PartialEq for DataTls {
    fn eq(&self, other: &DataTls) -> bool {
        Arc::ptr_eq(&self.config, &other.config)
            && self.token == other.token
            && self.require_resumption == other.require_resumption
    }
}

impl Eq for DataTls {}

impl DataTls {
    /// The codec for the data connection (the server side of its
    /// handshake: the FTP client is the TLS client whichever side
    /// connected, RFC 4217 §7).
    pub fn start(&self) -> Result<TlsCodec, TlsError> {
        let mut connection = ServerConnection::new(self.config.clone())
            .map_err(|e| TlsError::Config(e.to_string()))?;
        connection.set_resumption_data(&self.token);
        let resume = self.require_resumption.then(|| self.token.clone());
        Ok(TlsCodec::new(connection.into(), resume))
    }
}

/// One TLS connection on in-memory buffers.
pub struct TlsCodec {
    connection: rustls::Connection,
    plaintext: Vec<u8>,
    peer_closed: bool,
    /// The token a resumed session must carry, checked once the handshake
    /// is done.
    resume: Option<Bytes>,
    checked: bool,
}

impl fmt::Debug for TlsCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsCodec")
            .field("handshaking", &self.connection.is_handshaking())
            .field("peer_closed", &self.peer_closed)
            .finish_non_exhaustive()
    }
}

/// What was negotiated, for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSummary {
    /// `TLSv1.3`, say.
    pub version: String,
    /// The cipher suite's name.
    pub cipher_suite: String,
    /// Whether the handshake resumed an earlier session.
    pub resumed: bool,
}

impl TlsCodec {
    fn new(mut connection: rustls::Connection, resume: Option<Bytes>) -> TlsCodec {
        // The caller transmits after every send: what waits is at most the
        // last chunk it sent, so no limit of rustls's own (64 KiB by
        // default, which a larger chunk would overflow).
        connection.set_buffer_limit(None);
        TlsCodec {
            connection,
            plaintext: Vec::new(),
            peer_closed: false,
            resume,
            checked: false,
        }
    }

    /// Ciphertext from the peer. After an error, [`TlsCodec::transmit`]
    /// may still hold an alert for the peer; the connection is then done.
    pub fn receive(&mut self, mut ciphertext: &[u8]) -> Result<(), TlsError> {
        while !ciphertext.is_empty() {
            match self.connection.read_tls(&mut ciphertext) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) => return Err(TlsError::Protocol(error.to_string())),
            }
            self.process()?;
        }
        self.process()
    }

    fn process(&mut self) -> Result<(), TlsError> {
        self.connection
            .process_new_packets()
            .map_err(|e| TlsError::Protocol(e.to_string()))?;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.connection.reader().read(&mut chunk) {
                Ok(0) => {
                    self.peer_closed = true;
                    break;
                }
                Ok(n) => self
                    .plaintext
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                // Ended without close_notify: the caller sees no
                // `peer_closed` and calls it truncated.
                Err(_) => break,
            }
        }
        if !self.checked && !self.connection.is_handshaking() {
            self.checked = true;
            if let Some(token) = &self.resume {
                let resumed = self.connection.handshake_kind() == Some(HandshakeKind::Resumed);
                let ours = match &self.connection {
                    rustls::Connection::Server(server) => {
                        server.received_resumption_data() == Some(token.as_ref())
                    }
                    rustls::Connection::Client(_) => false,
                };
                if !(resumed && ours) {
                    return Err(TlsError::NotResumed);
                }
            }
        }
        Ok(())
    }

    /// Plaintext received so far, taken out.
    pub fn take_plaintext(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.plaintext)
    }

    /// Whether plaintext waits in [`TlsCodec::take_plaintext`].
    pub fn has_plaintext(&self) -> bool {
        !self.plaintext.is_empty()
    }

    /// Plaintext to send; encrypted once the handshake allows.
    pub fn send(&mut self, plaintext: &[u8]) -> Result<(), TlsError> {
        self.connection
            .writer()
            .write_all(plaintext)
            .map_err(|e| TlsError::Protocol(e.to_string()))
    }

    /// Appends the ciphertext to send to the peer.
    pub fn transmit(&mut self, out: &mut Vec<u8>) {
        while self.connection.wants_write() {
            match self.connection.write_tls(out) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }

    /// Whether ciphertext waits for [`TlsCodec::transmit`].
    pub fn wants_transmit(&self) -> bool {
        self.connection.wants_write()
    }

    /// Ends the stream with a `close_notify` (then transmit).
    pub fn close(&mut self) {
        self.connection.send_close_notify();
    }

    /// Whether the handshake is still running.
    pub fn is_handshaking(&self) -> bool {
        self.connection.is_handshaking()
    }

    /// Whether the peer ended the stream with a `close_notify`: a stream
    /// that ends without one was cut short.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// What the handshake negotiated, once it is done.
    pub fn summary(&self) -> Option<TlsSummary> {
        if self.connection.is_handshaking() {
            return None;
        }
        let version = match self.connection.protocol_version()? {
            ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
            ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
            other => format!("{other:?}"),
        };
        let cipher_suite = format!("{:?}", self.connection.negotiated_cipher_suite()?.suite());
        Some(TlsSummary {
            version,
            cipher_suite,
            resumed: self.connection.handshake_kind() == Some(HandshakeKind::Resumed),
        })
    }
}
