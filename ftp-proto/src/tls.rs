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
//!   connection, as curl and lftp do under TLS 1.3. On an upload's data
//!   connection the TLS 1.3 tickets are held back until the client's
//!   `close_notify` has come: a client that never reads them (curl, lftp)
//!   would otherwise close with unread bytes, and its kernel's reset would
//!   cut the end of the upload; a client that reads to the end (ours)
//!   still gets fresh tickets from every data connection.
//! - The end of a protected stream is a `close_notify`; a connection that
//!   ends without one is a truncated transfer
//!   ([`TlsCodec::peer_closed`]).
//!
//! # The client side
//!
//! [`ClientTls`] verifies the server's certificate against the roots it is
//! given (or, asked explicitly, not at all) for the name the user connected
//! to. Data connections verify against, and resume the session of, that
//! same name, whatever address a PASV or EPSV reply named.
//!
//! Servers that require session reuse (vsftpd, ProFTPD, FileZilla Server)
//! expect every data connection to resume the control connection's
//! session, as many times as the session makes transfers. OpenSSL, GnuTLS
//! and Java clients re-offer the same TLS 1.3 ticket each time; a rustls
//! client uses each ticket once, by design, and cannot copy one. Under
//! TLS 1.3 it then depends on the server sending fresh tickets on data
//! connections: vsftpd and our server do (the adapters read every
//! protected data connection to its end, uploads too, to keep them);
//! ProFTPD 1.3.8 sends none on uploads, so after the control connection's
//! two tickets are spent, the next upload is refused. A TLS 1.2 session
//! may be resumed any number of times. So [`TlsVersions::ReusableSessions`]
//! (the default) offers TLS 1.2, and [`TlsVersions::Tls13`] offers TLS 1.3
//! first, for servers known to replenish tickets or not to require reuse;
//! the adapters fall back to it when a server refuses TLS 1.2.

use bytes::Bytes;
use rustls::client::{ClientConfig, ClientConnection};
use rustls::pki_types::ServerName;
use rustls::server::{ServerConfig, ServerConnection};
use rustls::{HandshakeKind, ProtocolVersion};
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;

pub use rustls::pki_types::pem::PemObject;
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
    /// The peer refused every TLS version offered.
    VersionRefused,
    /// The server's certificate is not trusted for the name connected to.
    Certificate {
        /// The name (or address) it was checked against.
        name: String,
        /// Why it was refused, in words.
        why: String,
    },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Config(why) => write!(f, "TLS configuration: {why}"),
            TlsError::Protocol(why) => write!(f, "TLS: {why}"),
            TlsError::NotResumed => f.write_str(
                "the data connection did not resume the control connection's TLS session",
            ),
            TlsError::VersionRefused => {
                f.write_str("TLS: the peer supports none of the versions offered")
            }
            TlsError::Certificate { name, why } => {
                write!(
                    f,
                    "the server's certificate is not trusted for {name}: {why}"
                )
            }
        }
    }
}

impl std::error::Error for TlsError {}

/// A server's certificate and the TLS settings of its connections.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<ServerConfig>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl PartialEq for ServerTls {
    fn eq(&self, other: &ServerTls) -> bool {
        Arc::ptr_eq(&self.config, &other.config)
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
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        config.ticketer =
            rustls::crypto::ring::Ticketer::new().map_err(|e| TlsError::Config(e.to_string()))?;
        config.ignore_client_order = true;
        Ok(ServerTls {
            config: Arc::new(config),
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

    /// The settings of one FTP session: its own ticket key and no shared
    /// session-ID cache, so that a data connection can resume only a
    /// session this control connection made. Under TLS 1.3 the token in
    /// the resumption data says the same; under TLS 1.2 rustls carries no
    /// resumption data, and the key alone tells.
    pub(crate) fn for_session(&self) -> Result<ServerTls, TlsError> {
        let mut config = (*self.config).clone();
        config.ticketer =
            rustls::crypto::ring::Ticketer::new().map_err(|e| TlsError::Config(e.to_string()))?;
        config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        Ok(ServerTls {
            config: Arc::new(config),
        })
    }

    /// A codec for a control connection, whose sessions carry `token`.
    pub(crate) fn control_codec(&self, token: &[u8]) -> Result<TlsCodec, TlsError> {
        let mut connection = ServerConnection::new(self.config.clone())
            .map_err(|e| TlsError::Config(e.to_string()))?;
        connection.set_resumption_data(token);
        Ok(TlsCodec::new(connection.into(), None, None))
    }

    /// What a protected data connection of the control connection with
    /// `token` needs: `upload` holds its tickets back until the client's
    /// close_notify; `require_resumption` refuses a handshake that does not
    /// resume a session with the token.
    pub(crate) fn data(&self, upload: bool, token: Bytes, require_resumption: bool) -> DataTls {
        DataTls {
            side: DataSide::Server {
                config: self.config.clone(),
                token,
                require_resumption,
                upload,
            },
        }
    }
}

/// Which TLS versions a client offers; see the [module docs](self) for why
/// the default is TLS 1.2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TlsVersions {
    /// TLS 1.2, whose sessions data connections can resume any number of
    /// times.
    #[default]
    ReusableSessions,
    /// TLS 1.3 (or 1.2 if the server has nothing newer).
    Tls13,
}

impl TlsVersions {
    fn offered(self) -> &'static [&'static rustls::SupportedProtocolVersion] {
        static TLS12_ONLY: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
        match self {
            TlsVersions::ReusableSessions => &TLS12_ONLY,
            TlsVersions::Tls13 => rustls::DEFAULT_VERSIONS,
        }
    }
}

/// A client's TLS settings for one server: the roots it trusts (or none,
/// explicitly) and the name it connected to, which every connection to that
/// server, control and data, is verified against and resumes sessions of.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl PartialEq for ClientTls {
    fn eq(&self, other: &ClientTls) -> bool {
        Arc::ptr_eq(&self.config, &other.config) && self.server_name == other.server_name
    }
}

impl Eq for ClientTls {}

fn client_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn parse_server_name(name: &str) -> Result<ServerName<'static>, TlsError> {
    // A bracketed IPv6 literal, as it appears in a URL.
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    ServerName::try_from(bare.to_string())
        .map_err(|_| TlsError::Config(format!("{name:?} is not a host name or an IP address")))
}

impl ClientTls {
    /// Verifies servers against `roots` (CA certificates, DER) for
    /// `server_name`, the host name or IP address the user connected to.
    /// Certificates that cannot be used as roots are skipped; none usable
    /// is an error.
    pub fn new(
        server_name: &str,
        roots: &[CertificateDer<'static>],
        versions: TlsVersions,
    ) -> Result<ClientTls, TlsError> {
        let mut store = rustls::RootCertStore::empty();
        let (added, _ignored) = store.add_parsable_certificates(roots.iter().cloned());
        if added == 0 {
            return Err(TlsError::Config("no usable CA certificate".into()));
        }
        let config = ClientConfig::builder_with_provider(client_provider())
            .with_protocol_versions(versions.offered())
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(ClientTls {
            config: Arc::new(config),
            server_name: parse_server_name(server_name)?,
        })
    }

    /// Accepts any certificate the server shows: the connection is
    /// encrypted but the server is not authenticated. Only for a user who
    /// asked for it by name (`--insecure`).
    pub fn insecure(server_name: &str, versions: TlsVersions) -> Result<ClientTls, TlsError> {
        let provider = client_provider();
        let verifier = Arc::new(AnyCertificate {
            algorithms: provider.signature_verification_algorithms,
        });
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions.offered())
            .map_err(|e| TlsError::Config(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(ClientTls {
            config: Arc::new(config),
            server_name: parse_server_name(server_name)?,
        })
    }

    /// The name certificates are verified against.
    pub fn server_name(&self) -> String {
        self.server_name.to_str().into_owned()
    }

    /// A codec for the control connection.
    pub(crate) fn control_codec(&self) -> Result<TlsCodec, TlsError> {
        let connection = ClientConnection::new(self.config.clone(), self.server_name.clone())
            .map_err(|e| TlsError::Config(e.to_string()))?;
        Ok(TlsCodec::new(
            connection.into(),
            None,
            Some(self.server_name()),
        ))
    }

    /// The protection of a data connection: the same name, the same
    /// session store.
    pub(crate) fn data(&self) -> DataTls {
        DataTls {
            side: DataSide::Client {
                config: self.config.clone(),
                server_name: self.server_name.clone(),
            },
        }
    }
}

/// The verifier of [`ClientTls::insecure`]: signatures are still checked
/// (the handshake is sound), the certificate is not.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The protection of one data connection, as the engine decided it: made
/// into a codec with [`DataTls::start`] by whoever moves the bytes.
#[derive(Clone)]
pub struct DataTls {
    side: DataSide,
}

#[derive(Clone)]
enum DataSide {
    Server {
        config: Arc<ServerConfig>,
        /// The control connection's token: carried by the tickets this
        /// connection issues too, so that a later data connection may
        /// resume from them.
        token: Bytes,
        require_resumption: bool,
        /// Hold TLS 1.3 tickets back until the client's close_notify.
        upload: bool,
    },
    Client {
        config: Arc<ClientConfig>,
        server_name: ServerName<'static>,
    },
}

impl fmt::Debug for DataTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.side {
            DataSide::Server {
                require_resumption,
                upload,
                ..
            } => f
                .debug_struct("DataTls::Server")
                .field("require_resumption", require_resumption)
                .field("upload", upload)
                .finish_non_exhaustive(),
            DataSide::Client { server_name, .. } => f
                .debug_struct("DataTls::Client")
                .field("server_name", server_name)
                .finish_non_exhaustive(),
        }
    }
}

impl PartialEq for DataTls {
    fn eq(&self, other: &DataTls) -> bool {
        match (&self.side, &other.side) {
            (
                DataSide::Server {
                    config: a,
                    token: ta,
                    require_resumption: ra,
                    upload: ua,
                },
                DataSide::Server {
                    config: b,
                    token: tb,
                    require_resumption: rb,
                    upload: ub,
                },
            ) => Arc::ptr_eq(a, b) && ta == tb && ra == rb && ua == ub,
            (
                DataSide::Client {
                    config: a,
                    server_name: na,
                },
                DataSide::Client {
                    config: b,
                    server_name: nb,
                },
            ) => Arc::ptr_eq(a, b) && na == nb,
            (DataSide::Server { .. }, DataSide::Client { .. })
            | (DataSide::Client { .. }, DataSide::Server { .. }) => false,
        }
    }
}

impl Eq for DataTls {}

impl DataTls {
    /// The codec for the data connection. The FTP client is the TLS
    /// client whichever side connected (RFC 4217 §7).
    pub fn start(&self) -> Result<TlsCodec, TlsError> {
        match &self.side {
            DataSide::Server {
                config,
                token,
                require_resumption,
                upload,
            } => {
                let mut connection = ServerConnection::new(config.clone())
                    .map_err(|e| TlsError::Config(e.to_string()))?;
                connection.set_resumption_data(token);
                let resume = require_resumption.then(|| token.clone());
                let mut codec = TlsCodec::new(connection.into(), resume, None);
                codec.hold_tickets = *upload;
                Ok(codec)
            }
            DataSide::Client {
                config,
                server_name,
            } => {
                let connection = ClientConnection::new(config.clone(), server_name.clone())
                    .map_err(|e| TlsError::Config(e.to_string()))?;
                let name = server_name.to_str().into_owned();
                Ok(TlsCodec::new(connection.into(), None, Some(name)))
            }
        }
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
    /// The server name a client verifies, for error messages.
    peer_name: Option<String>,
    /// A server's upload connection: TLS 1.3 tickets wait for the close.
    hold_tickets: bool,
    closing: bool,
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
    /// The peer's certificate (DER), when it showed one.
    pub peer_certificate: Option<CertificateDer<'static>>,
}

impl TlsCodec {
    fn new(
        mut connection: rustls::Connection,
        resume: Option<Bytes>,
        peer_name: Option<String>,
    ) -> TlsCodec {
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
            peer_name,
            hold_tickets: false,
            closing: false,
        }
    }

    fn failed(&mut self, error: rustls::Error) -> TlsError {
        // An alert may follow; nothing else will.
        self.closing = true;
        match error {
            rustls::Error::InvalidCertificate(why) => TlsError::Certificate {
                name: self.peer_name.clone().unwrap_or_default(),
                why: certificate_problem(&why),
            },
            rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion)
            | rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::SupportedVersionsExtensionRequired
                | rustls::PeerIncompatible::Tls12NotOffered
                | rustls::PeerIncompatible::Tls12NotOfferedOrEnabled
                | rustls::PeerIncompatible::Tls13RequiredForQuic,
            ) => TlsError::VersionRefused,
            other => TlsError::Protocol(other.to_string()),
        }
    }

    /// Ciphertext from the peer. After an error, [`TlsCodec::transmit`]
    /// may still hold an alert for the peer; the connection is then done.
    pub fn receive(&mut self, mut ciphertext: &[u8]) -> Result<(), TlsError> {
        while !ciphertext.is_empty() {
            match self.connection.read_tls(&mut ciphertext) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) => {
                    self.closing = true;
                    return Err(TlsError::Protocol(error.to_string()));
                }
            }
            self.process()?;
        }
        self.process()
    }

    fn process(&mut self) -> Result<(), TlsError> {
        if let Err(error) = self.connection.process_new_packets() {
            return Err(self.failed(error));
        }
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
                let tls12 = self.connection.protocol_version() == Some(ProtocolVersion::TLSv1_2);
                let ours = match &self.connection {
                    rustls::Connection::Server(server) => match server.received_resumption_data() {
                        Some(data) => data == token.as_ref(),
                        // TLS 1.2 carries no resumption data: the
                        // session's own ticket key made the ticket.
                        None => tls12,
                    },
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
        if self.holding() {
            return;
        }
        while self.connection.wants_write() {
            match self.connection.write_tls(out) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }

    /// The ciphertext to send to the peer, if any: what a control
    /// connection writes after each step.
    pub fn take_transmit(&mut self) -> Option<Bytes> {
        let mut out = Vec::new();
        self.transmit(&mut out);
        (!out.is_empty()).then(|| Bytes::from(out))
    }

    /// Whether ciphertext waits for [`TlsCodec::transmit`].
    pub fn wants_transmit(&self) -> bool {
        self.connection.wants_write() && !self.holding()
    }

    /// On a server's upload connection under TLS 1.3, once the handshake
    /// is done, what rustls has to send is tickets: they wait until the
    /// client's close_notify (or ours), so that a client that never reads
    /// has nothing unread when it closes.
    fn holding(&self) -> bool {
        self.hold_tickets
            && !self.closing
            && !self.peer_closed
            && !self.connection.is_handshaking()
            && self.connection.protocol_version() == Some(ProtocolVersion::TLSv1_3)
    }

    /// Ends the stream with a `close_notify` (then transmit).
    pub fn close(&mut self) {
        self.closing = true;
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
            peer_certificate: self
                .connection
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| leaf.clone().into_owned()),
        })
    }
}

/// A refused certificate, in words: an operator reads this, not a
/// developer, so no variant is shown as Rust debug text.
fn certificate_problem(error: &rustls::CertificateError) -> String {
    use rustls::CertificateError::*;
    match error {
        UnknownIssuer => "it is not signed by a trusted authority".into(),
        NotValidForName | NotValidForNameContext { .. } => "it is not issued for that name".into(),
        Expired | ExpiredContext { .. } => "it has expired".into(),
        NotValidYet | NotValidYetContext { .. } => "it is not valid yet".into(),
        Revoked => "it was revoked".into(),
        BadSignature => "its signature is invalid".into(),
        BadEncoding => "it is not a well-formed certificate".into(),
        UnhandledCriticalExtension => {
            "it has a critical extension this client does not know".into()
        }
        UnknownRevocationStatus => "its revocation status is unknown".into(),
        ExpiredRevocationList | ExpiredRevocationListContext { .. } => {
            "the revocation list it was checked against has expired".into()
        }
        UnsupportedSignatureAlgorithmContext { .. }
        | UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "it is signed with an algorithm this client does not accept".into()
        }
        InvalidPurpose | InvalidPurposeContext { .. } => {
            "it is not issued for TLS servers (extended key usage)".into()
        }
        InvalidOcspResponse => "its OCSP response is invalid".into(),
        ApplicationVerificationFailure => "the application refused it".into(),
        Other(other) => verifier_problem(&other.to_string()),
        // A variant added by a later rustls.
        _ => "the certificate verifier refused it".into(),
    }
}

/// The verifier's own errors (rustls-webpki's, which rustls passes on
/// as `Other`) name themselves in CamelCase: the common ones in words,
/// the rest split into words.
fn verifier_problem(name: &str) -> String {
    let known = match name {
        "CaUsedAsEndEntity" => "it is a CA certificate, not a server's",
        "EndEntityUsedAsCa" => "its chain has a server certificate in a CA's place",
        "CertDistrusted" => "it is distrusted",
        "MaximumPathDepthExceeded" | "MaximumPathBuildCallsExceeded" => "its chain is too long",
        "NameConstraintViolation" => "its name is outside what its issuer may certify",
        "PathLenConstraintViolated" => "its chain is longer than its issuer allows",
        "UnsupportedCertVersion" => "its X.509 version is not supported",
        "InvalidCertValidity" => "its validity period is malformed",
        "BadDer" | "BadDerTime" | "MalformedExtensions" | "ExtensionValueInvalid" => {
            "it is not a well-formed certificate"
        }
        _ => "",
    };
    if !known.is_empty() {
        return known.into();
    }
    let mut words = String::from("the verifier refused it: ");
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
        }
        words.extend(c.to_lowercase());
    }
    words
}

/// Test certificates, made by rcgen once per test run.
#[cfg(test)]
pub(crate) mod testing {
    use super::{CertificateDer, PrivateKeyDer, ServerTls};
    use std::sync::OnceLock;

    /// A CA, a leaf for localhost signed by it, and the leaf's key.
    pub(crate) fn certificates()
    -> &'static (CertificateDer<'static>, CertificateDer<'static>, Vec<u8>) {
        static MADE: OnceLock<(CertificateDer<'static>, CertificateDer<'static>, Vec<u8>)> =
            OnceLock::new();
        MADE.get_or_init(|| {
            let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            let ca_key = rcgen::KeyPair::generate().unwrap();
            let ca_cert = ca.self_signed(&ca_key).unwrap();
            let issuer = rcgen::Issuer::new(ca, ca_key);
            let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            let leaf_key = rcgen::KeyPair::generate().unwrap();
            let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
            (
                ca_cert.der().clone(),
                leaf_cert.der().clone(),
                leaf_key.serialize_der(),
            )
        })
    }

    pub(crate) fn server_tls() -> ServerTls {
        let (_, leaf, key) = certificates();
        let key = PrivateKeyDer::try_from(key.clone()).unwrap();
        ServerTls::new(vec![leaf.clone()], key).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{certificates, server_tls};
    use super::*;

    /// One handshake between a client and a server codec, in memory.
    fn handshake(client: &mut TlsCodec, server: &mut TlsCodec) -> Result<(), TlsError> {
        for _ in 0..20 {
            let mut wire = Vec::new();
            client.transmit(&mut wire);
            server.receive(&wire)?;
            wire.clear();
            server.transmit(&mut wire);
            client.receive(&wire)?;
            if !client.is_handshaking() && !server.is_handshaking() && !client.wants_transmit() {
                return Ok(());
            }
        }
        Err(TlsError::Protocol("no end to the handshake".into()))
    }

    /// A server that sends no TLS 1.3 tickets at all (ProFTPD sends a few
    /// on the control connection and none on uploads: the same, sooner).
    /// A TLS 1.2 session is resumed by every data connection; under TLS
    /// 1.3 a rustls client has no ticket to offer, so the server's reuse
    /// check refuses the data connection.
    #[test]
    fn tls12_sessions_resume_without_limit_where_tls13_tickets_run_out() {
        let (ca, _, _) = certificates();
        let mut config = (*server_tls().config).clone();
        config.send_tls13_tickets = 0;
        let stingy = ServerTls {
            config: Arc::new(config),
        }
        .for_session()
        .unwrap();
        let token = Bytes::from_static(b"control connection 1");
        for versions in [TlsVersions::ReusableSessions, TlsVersions::Tls13] {
            let client = ClientTls::new("localhost", std::slice::from_ref(ca), versions).unwrap();
            let mut control = client.control_codec().unwrap();
            let mut server = stingy.control_codec(&token).unwrap();
            handshake(&mut control, &mut server).unwrap();
            for n in 0..20 {
                let data = stingy.data(n % 2 == 0, token.clone(), true);
                let mut server = data.start().unwrap();
                let mut client = client.data().start().unwrap();
                let result = handshake(&mut client, &mut server);
                match versions {
                    TlsVersions::ReusableSessions => {
                        assert_eq!(result, Ok(()), "data connection {n}");
                        assert!(
                            client
                                .summary()
                                .is_some_and(|s| s.resumed && s.version == "TLSv1.2")
                        );
                    }
                    TlsVersions::Tls13 => {
                        assert_eq!(result, Err(TlsError::NotResumed));
                        break;
                    }
                }
            }
        }
    }

    /// Why a certificate is refused is said in words, for the verifier's
    /// own reasons too (rustls passes those on as `Other`, whose text is
    /// Rust debug output: `Other(OtherError(CaUsedAsEndEntity))`).
    #[test]
    fn refused_certificates_are_explained_in_words() {
        let refusal = |server: ServerTls, trusted: &CertificateDer<'static>| {
            let client = ClientTls::new(
                "localhost",
                std::slice::from_ref(trusted),
                TlsVersions::ReusableSessions,
            )
            .unwrap();
            let mut control = client.control_codec().unwrap();
            let token = Bytes::from_static(b"control");
            let mut server = server.for_session().unwrap().control_codec(&token).unwrap();
            match handshake(&mut control, &mut server) {
                Err(TlsError::Certificate { name, why }) => {
                    assert_eq!(name, "localhost");
                    why
                }
                other => panic!("expected a refused certificate, got {other:?}"),
            }
        };
        // A CA's own certificate used as the server's.
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Another CA");
        let key = rcgen::KeyPair::generate().unwrap();
        let ca_as_leaf = params.self_signed(&key).unwrap().der().clone();
        let server = ServerTls::new(
            vec![ca_as_leaf.clone()],
            PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            refusal(server, &ca_as_leaf),
            "it is a CA certificate, not a server's"
        );
        // A server whose CA the client does not trust.
        assert_eq!(
            refusal(server_tls(), &ca_as_leaf),
            "it is not signed by a trusted authority"
        );
        // A reason of a later verifier: split into words.
        assert_eq!(
            verifier_problem("SomeNewReason"),
            "the verifier refused it: some new reason"
        );
    }

    /// A stranger with a valid session of their own (another control
    /// connection to the same server) cannot attach it to our data
    /// connection, under TLS 1.2 (no resumption data: the session's own
    /// ticket key refuses it) as under TLS 1.3.
    #[test]
    fn another_sessions_resumption_is_refused() {
        let (ca, _, _) = certificates();
        let server = server_tls();
        for versions in [TlsVersions::ReusableSessions, TlsVersions::Tls13] {
            let ours = server.for_session().unwrap();
            let theirs = server.for_session().unwrap();
            let our_token = Bytes::from_static(b"ours");
            let their_token = Bytes::from_static(b"theirs");
            let stranger = ClientTls::new("localhost", std::slice::from_ref(ca), versions).unwrap();
            let mut control = stranger.control_codec().unwrap();
            let mut their_control = theirs.control_codec(&their_token).unwrap();
            handshake(&mut control, &mut their_control).unwrap();
            // Their own data connection resumes.
            let mut data = theirs
                .data(false, their_token.clone(), true)
                .start()
                .unwrap();
            let mut client = stranger.data().start().unwrap();
            assert_eq!(handshake(&mut client, &mut data), Ok(()), "{versions:?}");
            // Ours does not.
            let mut data = ours.data(false, our_token.clone(), true).start().unwrap();
            let mut client = stranger.data().start().unwrap();
            assert_eq!(
                handshake(&mut client, &mut data),
                Err(TlsError::NotResumed),
                "{versions:?}"
            );
        }
    }
}
