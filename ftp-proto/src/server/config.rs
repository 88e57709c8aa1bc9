//! Server configuration, with safe defaults.

use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::time::Duration;

/// Settings shared by every session of a server. Build one, wrap it in an
/// `Arc`, and hand it to each [`Session`](super::Session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Text of the 220 greeting.
    pub banner: String,
    /// Whether `anonymous` and `ftp` may log in with any password. The
    /// authenticator still decides what such a login may do. Off by default.
    pub allow_anonymous: bool,
    /// Ports a passive listener may use. The adapter picks one at random in
    /// this range (RFC 2577 §8).
    pub passive_ports: RangeInclusive<u16>,
    /// The IPv4 address a 227 reply announces, for a server behind NAT.
    /// `None` announces the control connection's local address.
    pub passive_address: Option<Ipv4Addr>,
    /// Connect active data connections from port L-1 (the control port
    /// minus one, RFC 959 §3.2) rather than any port.
    pub active_from_port_l_minus_1: bool,
    /// Allow PORT/EPRT to addresses other than the client's, and passive
    /// connections from them (FXP). Off by default: RFC 2577 §3, §4.
    pub allow_foreign_data_addresses: bool,
    /// Close a control connection with no command for this long (421,
    /// RFC 1123 §4.1.3.2). Not counted while a transfer runs.
    pub idle_timeout: Duration,
    /// How long a transfer waits for its data connection before 425.
    pub data_connection_timeout: Duration,
    /// How long a running transfer's data connection may move no byte
    /// before the transfer is ended (426, [`TransferError::Stalled`](super::TransferError::Stalled)):
    /// a client that stops reading or sending without closing would
    /// otherwise hold its session, which the idle timeout does not end
    /// while a transfer runs. The adapters apply it to the data socket.
    /// 300 s, as vsftpd's `data_connection_timeout`.
    pub data_stall_timeout: Duration,
    /// Delay before answering the first failed login; it doubles with each
    /// further failure, up to `max_login_delay` (RFC 2577 §5).
    pub login_delay: Duration,
    /// The cap on the failed-login delay.
    pub max_login_delay: Duration,
    /// Failed logins after which the session is closed with 421.
    pub max_login_failures: u32,
    /// Close a connection that has not logged in this long after it came
    /// (or after its login ended) with 421: without it, connections that
    /// never log in hold session slots for the whole idle timeout.
    pub login_timeout: Duration,
    /// Longest command line accepted (500 beyond it).
    pub max_line: usize,
    /// Most bytes of unread input a session holds; past that it closes with
    /// 421. Adapters stop reading before it while
    /// [`Session::wants_input`](super::Session::wants_input) is false.
    pub max_buffered_input: usize,
    /// Record a [`Notice`](super::Notice) for each command, reply, login
    /// and transfer, for [`Session::poll_notice`](super::Session::poll_notice).
    /// Off by default: nothing is recorded unless asked for.
    pub notices: bool,
    /// Serve HASH (draft-bryan-ftpext-hash) and list it in FEAT: the
    /// storage computes digests ([`Request::Hash`](crate::storage::Request::Hash)).
    /// On by default; off for a backend that cannot hash (HASH then
    /// answers 502).
    pub hash: bool,
    /// FTPS (RFC 4217): the certificate that AUTH TLS and implicit TLS
    /// use. `None`: AUTH answers 502 and FEAT offers no TLS.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::ServerTls>,
    /// With TLS configured: USER and PASS of a non-anonymous user need TLS
    /// first (530 otherwise), as vsftpd's `force_local_logins_ssl`.
    pub tls_required_for_login: bool,
    /// With TLS configured: a transfer on a protected control connection
    /// needs PROT P (521 otherwise), as vsftpd's `force_local_data_ssl`.
    pub tls_required_for_data: bool,
    /// A protected data connection must resume its control connection's
    /// TLS session (522 otherwise), as vsftpd's `require_ssl_reuse`. Off
    /// for clients that never reuse sessions (Python's stock `FTP_TLS`).
    pub tls_session_reuse_required: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            banner: "FTP server ready.".into(),
            allow_anonymous: false,
            passive_ports: 49152..=65534,
            passive_address: None,
            active_from_port_l_minus_1: false,
            allow_foreign_data_addresses: false,
            idle_timeout: Duration::from_secs(300),
            data_connection_timeout: Duration::from_secs(30),
            data_stall_timeout: Duration::from_secs(300),
            login_delay: Duration::from_secs(1),
            max_login_delay: Duration::from_secs(5),
            max_login_failures: 3,
            login_timeout: Duration::from_secs(60),
            max_line: crate::line::DEFAULT_MAX_LINE,
            max_buffered_input: 64 * 1024,
            notices: false,
            hash: true,
            #[cfg(feature = "tls")]
            tls: None,
            tls_required_for_login: true,
            tls_required_for_data: true,
            tls_session_reuse_required: true,
        }
    }
}
