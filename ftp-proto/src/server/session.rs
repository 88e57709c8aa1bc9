//! The server session state machine.

use super::{
    Action, AuthError, Change, Credentials, DataTls, Direction, Event, Notice, Permissions,
    RequestId, ServerConfig, TransferError,
};
use crate::clock::Timestamp;
use crate::command::{
    AuthMechanism, Command, EpsvArgument, FileStructure, HostName, Password, ProtectionLevel,
    TextFormat, TransferMode, TransferType, Verb,
};
use crate::hash::{ByteRange, HashAlgorithm};
use crate::hostport;
use crate::line::{ControlItem, LineDecoder};
use crate::listing::{self, Facts, ListOptions};
use crate::path::VirtualPath;
use crate::pathname;
use crate::reply::{Reply, ReplyCode};
use crate::storage::{DirEntry, Metadata, Request, Response, StorageError, WriteMode};
use crate::timeval::UtcDateTime;
use bytes::{Bytes, BytesMut};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::SystemTime;

/// Commands received during a transfer wait here, up to this many; the rest
/// stay unread in the line decoder.
const MAX_DEFERRED: usize = 32;

/// Notices not yet taken by [`Session::poll_notice`] are kept up to this
/// many; older ones are dropped.
const MAX_NOTICES: usize = 256;

/// Where the login sequence stands (RFC 959 §4.1.1).
#[derive(Debug, Clone)]
enum Login {
    NeedUser,
    NeedPassword {
        user: Bytes,
    },
    NeedAccount {
        user: Bytes,
        password: Password,
    },
    LoggedIn {
        user: Bytes,
        permissions: Permissions,
    },
}

/// What the session waits for before it reads the next command.
#[derive(Debug)]
enum Waiting {
    Nothing,
    Auth {
        id: RequestId,
        user: Bytes,
        password: Password,
    },
    Storage {
        id: RequestId,
        then: Then,
    },
    Listen {
        extended: bool,
    },
    LoginDelay {
        until: Timestamp,
        close: bool,
    },
}

/// What to do with a storage answer.
#[derive(Debug)]
enum Then {
    ChangeDir(VirtualPath),
    Size,
    Mdtm,
    Mlst(VirtualPath),
    Stat,
    List {
        kind: ListKind,
        options: ListOptions,
        shown_as: Option<Bytes>,
        /// LIST and NLST of `dir/*.txt`: the directory is listed, and only
        /// names matching the pattern are shown.
        pattern: Option<Bytes>,
    },
    Open {
        direction: Direction,
        path: VirtualPath,
    },
    CreateUnique,
    RenameFrom(VirtualPath),
    /// A change to the tree: noticed (for the log), then the reply.
    Changed(Change, Reply),
    /// HASH: the reply names the algorithm, the range and the path as the
    /// client gave it.
    Hash {
        algorithm: HashAlgorithm,
        range: Option<ByteRange>,
        shown: Bytes,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListKind {
    List,
    Nlst,
    Mlsd,
}

/// The data connection set up by PASV, EPSV, PORT or EPRT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataChannel {
    None,
    Passive { connected: bool },
    Active { to: SocketAddr, connected: bool },
}

#[derive(Debug)]
enum Payload {
    File { id: RequestId, direction: Direction },
    Listing(Bytes),
}

#[derive(Debug)]
struct Transfer {
    payload: Payload,
    /// What STAT reports while it runs.
    description: String,
    /// The file's path, for the log (`None` for a listing).
    path: Option<String>,
    started: bool,
    /// When waiting for the data connection gives up (425).
    deadline: Option<Timestamp>,
    abort: bool,
    /// ABORs that came while the first one was stopping the transfer:
    /// each gets its reply once it has stopped.
    more_aborts: u32,
    quit: bool,
    /// When the transfer command was accepted, for [`Notice::TransferFinished`].
    accepted_at: Timestamp,
}

/// One control connection's protocol state. See the [module
/// docs](super) for how to drive it.
#[derive(Debug)]
pub struct Session {
    config: Arc<ServerConfig>,
    peer: SocketAddr,
    local: SocketAddr,
    lines: LineDecoder,
    deferred: VecDeque<ControlItem>,
    actions: VecDeque<Action>,
    login: Login,
    failed_logins: u32,
    host: Option<HostName>,
    cwd: VirtualPath,
    ascii: bool,
    restart: u64,
    /// RANG: the bytes the next HASH covers.
    range: Option<ByteRange>,
    /// OPTS HASH: the algorithm HASH uses.
    hash_algorithm: HashAlgorithm,
    rename_from: Option<VirtualPath>,
    epsv_all: bool,
    facts: Facts,
    data: DataChannel,
    transfer: Option<Transfer>,
    waiting: Waiting,
    next_id: u64,
    idle_deadline: Timestamp,
    /// When a session that has not logged in is closed.
    login_deadline: Timestamp,
    /// The time of the last input, event or timeout.
    now: Timestamp,
    closed: bool,
    notices: VecDeque<Notice>,
    security: Security,
    /// The control connection's TLS, from AUTH TLS (or the first byte, for
    /// implicit TLS) on: every byte in and out goes through it.
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsCodec>,
}

/// Where RFC 4217's negotiation stands.
#[derive(Debug, Clone, Default)]
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
struct Security {
    /// AUTH TLS was accepted (or the connection is implicitly TLS).
    auth: bool,
    /// PBSZ came after AUTH.
    pbsz: bool,
    /// PROT P: data connections run TLS.
    private_data: bool,
    /// Implicit TLS: the greeting waits for the handshake.
    greeting_pending: bool,
    /// Names this control connection's TLS sessions: a data connection
    /// must resume one that carries it. The connection's addresses and
    /// start: no two connections at once have the same.
    token: Bytes,
    /// This session's TLS settings: its own ticket key
    /// ([`crate::tls::ServerTls`]'s `for_session`).
    #[cfg(feature = "tls")]
    session_tls: Option<crate::tls::ServerTls>,
}

use crate::hostport::canonical_ip as canonical;

/// `YYYYMMDDHHMMSS[.sss] path`: the time and the path, when the argument
/// starts with fourteen digits and a space.
fn split_time_and_path(argument: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = argument.iter().position(|&b| b == b' ')?;
    let (time, rest) = argument.split_at(at);
    let path = rest.get(1..).filter(|p| !p.is_empty())?;
    let digits = time.split(|&b| b == b'.').next()?;
    (digits.len() == 14 && digits.iter().all(u8::is_ascii_digit)).then_some((time, path))
}

/// Reply text never holds CR or LF: they would forge reply lines.
fn line_safe(text: &[u8]) -> Cow<'_, [u8]> {
    if text.iter().any(|&b| b == b'\r' || b == b'\n') {
        Cow::Owned(
            text.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(text)
    }
}

fn is_anonymous(user: &[u8]) -> bool {
    user.eq_ignore_ascii_case(b"anonymous") || user.eq_ignore_ascii_case(b"ftp")
}

/// Commands answered before login (PROTOCOL.md §3.2); the rest get 530.
/// Commands served before a login. STAT is, in its bare form only: with a
/// path it lists files, which needs a login like LIST does.
fn allowed_before_login(command: &Command) -> bool {
    if let Command::Stat(Some(_)) = command {
        return false;
    }
    matches!(
        command.verb(),
        Verb::User
            | Verb::Pass
            | Verb::Acct
            | Verb::Quit
            | Verb::Rein
            | Verb::Feat
            | Verb::Opts
            | Verb::Help
            | Verb::Noop
            | Verb::Syst
            | Verb::Auth
            | Verb::Adat
            | Verb::Pbsz
            | Verb::Prot
            | Verb::Ccc
            | Verb::Host
            | Verb::Lang
            | Verb::Abor
            | Verb::Stat
    )
}

impl Session {
    /// A session for a new control connection from `peer` to `local`. The
    /// greeting is the first action.
    pub fn new(
        config: Arc<ServerConfig>,
        peer: SocketAddr,
        local: SocketAddr,
        now: Timestamp,
    ) -> Session {
        let mut session = Session {
            lines: LineDecoder::new(config.max_line),
            idle_deadline: now + config.idle_timeout,
            login_deadline: now + config.login_timeout,
            now,
            config,
            peer,
            local,
            deferred: VecDeque::new(),
            actions: VecDeque::new(),
            login: Login::NeedUser,
            failed_logins: 0,
            host: None,
            cwd: VirtualPath::root(),
            ascii: true,
            restart: 0,
            range: None,
            hash_algorithm: HashAlgorithm::default(),
            rename_from: None,
            epsv_all: false,
            facts: Facts::ALL,
            data: DataChannel::None,
            transfer: None,
            waiting: Waiting::Nothing,
            next_id: 0,
            closed: false,
            notices: VecDeque::new(),
            security: Security {
                token: Bytes::from(format!("{peer}/{local}/{now:?}")),
                ..Security::default()
            },
            #[cfg(feature = "tls")]
            tls: None,
        };
        let banner = session.config.banner.clone();
        session.reply(ReplyCode::SERVICE_READY, banner);
        session
    }

    /// A session on an implicit-TLS connection (port 990 by custom): TLS
    /// from the first byte, the greeting once the handshake is done, PBSZ 0
    /// and PROT P in force. Without TLS configured, the connection is
    /// refused with 421 (in clear: there is no other way to say it).
    #[cfg(feature = "tls")]
    pub fn new_implicit(
        config: Arc<ServerConfig>,
        peer: SocketAddr,
        local: SocketAddr,
        now: Timestamp,
    ) -> Session {
        let mut session = Session::new(config, peer, local, now);
        session.actions.clear();
        session.notices.clear();
        let codec = match &session.config.tls {
            Some(tls) => tls.for_session().and_then(|own| {
                let codec = own.control_codec(&session.security.token)?;
                Ok((own, codec))
            }),
            None => Err(crate::tls::TlsError::Config("no certificate".into())),
        };
        match codec {
            Ok((own, codec)) => {
                session.security.session_tls = Some(own);
                session.tls = Some(codec);
                session.security.auth = true;
                session.security.pbsz = true;
                session.security.private_data = true;
                session.security.greeting_pending = true;
            }
            Err(_) => {
                session.reply(ReplyCode::SERVICE_NOT_AVAILABLE, "TLS is not configured.");
                session.close();
            }
        }
        session
    }

    /// Feeds bytes read from the control connection, split anywhere.
    pub fn handle_input(&mut self, bytes: &[u8], now: Timestamp) {
        if self.closed {
            return;
        }
        self.clock_to(now);
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return self.handle_protected_input(bytes, now);
        }
        self.handle_plaintext(bytes, now);
    }

    /// Ciphertext from a protected control connection: decrypted, then
    /// read as commands. A TLS failure (garbage instead of a ClientHello,
    /// a broken record) ends the session at once, with no reply: there is
    /// no protected way to send one (RFC 4217 §10.1).
    #[cfg(feature = "tls")]
    fn handle_protected_input(&mut self, bytes: &[u8], now: Timestamp) {
        let Some(tls) = &mut self.tls else {
            return;
        };
        let received = tls.receive(bytes);
        let plaintext = tls.take_plaintext();
        let peer_closed = tls.peer_closed();
        let handshaking = tls.is_handshaking();
        self.flush_tls();
        if received.is_err() {
            self.tls = None;
            return self.close();
        }
        if self.security.greeting_pending && !handshaking {
            self.security.greeting_pending = false;
            let banner = self.config.banner.clone();
            self.reply(ReplyCode::SERVICE_READY, banner);
        }
        if !plaintext.is_empty() {
            self.handle_plaintext(&plaintext, now);
        }
        if peer_closed && !self.closed {
            self.on_control_closed();
        }
    }

    /// Sends what the control connection's TLS has to send.
    #[cfg(feature = "tls")]
    fn flush_tls(&mut self) {
        if let Some(out) = self.tls.as_mut().and_then(|tls| tls.take_transmit()) {
            self.send_raw(out);
        }
    }

    fn handle_plaintext(&mut self, bytes: &[u8], now: Timestamp) {
        if self.lines.buffered().saturating_add(bytes.len()) > self.config.max_buffered_input {
            self.reply(ReplyCode::SERVICE_NOT_AVAILABLE, "Too much unread input.");
            self.close();
            return;
        }
        self.lines.push(bytes);
        self.process(now);
    }

    /// Feeds the outcome of an action.
    pub fn handle_event(&mut self, event: Event, now: Timestamp) {
        if self.closed {
            return;
        }
        self.clock_to(now);
        match event {
            Event::Authenticated { id, result } => self.on_authenticated(id, result, now),
            Event::Storage { id, result } => self.on_storage(id, result, now),
            Event::Listening { port } => self.on_listening(port),
            Event::ListenFailed => self.on_listen_failed(),
            Event::DataIncoming { peer } => self.on_data_incoming(peer),
            Event::DataConnected => self.on_data_connected(),
            Event::DataConnectFailed => self.on_data_connect_failed(),
            Event::TransferDone { bytes, result } => self.on_transfer_done(bytes, result, now),
            Event::ControlClosed => self.on_control_closed(),
        }
        self.process(now);
    }

    /// Tells the session the time is `now`; call it at
    /// [`Session::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.closed {
            return;
        }
        self.clock_to(now);
        if let Waiting::LoginDelay { until, close } = self.waiting
            && now >= until
        {
            self.waiting = Waiting::Nothing;
            self.reply(ReplyCode::NOT_LOGGED_IN, "Login incorrect.");
            if close {
                self.reply(ReplyCode::SERVICE_NOT_AVAILABLE, "Too many failed logins.");
                self.close();
                return;
            }
        }
        if let Some(transfer) = &self.transfer
            && !transfer.started
            && transfer.deadline.is_some_and(|d| now >= d)
        {
            self.fail_before_start(
                ReplyCode::CANT_OPEN_DATA_CONNECTION,
                "Failed to establish connection.",
            );
        }
        if self.idle_timer_applies() && now >= self.idle_deadline {
            self.reply(ReplyCode::SERVICE_NOT_AVAILABLE, "Timeout.");
            self.close();
            return;
        }
        if self.logged_in().is_none() && now >= self.login_deadline {
            self.reply(ReplyCode::SERVICE_NOT_AVAILABLE, "Login timed out.");
            self.close();
            return;
        }
        self.process(now);
    }

    /// The next notice for logs or metrics, when
    /// [`ServerConfig::notices`] is on.
    pub fn poll_notice(&mut self) -> Option<Notice> {
        self.notices.pop_front()
    }

    /// A session that refuses its client at once: 421 with `reason`, then
    /// close. For a server over its session limits, or shutting down.
    pub fn refuse(
        config: Arc<ServerConfig>,
        peer: SocketAddr,
        local: SocketAddr,
        reason: &str,
        now: Timestamp,
    ) -> Session {
        let mut session = Session::new(config, peer, local, now);
        session.actions.clear();
        session.notices.clear();
        session.reply(ReplyCode::SERVICE_NOT_AVAILABLE, reason);
        session.close();
        session
    }

    /// Ends the session because the server stops: a running transfer is
    /// aborted (an upload is not kept), then 421 and close.
    pub fn shut_down(&mut self) {
        if self.closed {
            return;
        }
        self.reply(ReplyCode::SERVICE_NOT_AVAILABLE, "Server shutting down.");
        self.close();
    }

    /// The next action to perform, or `None` once all are drained.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Session::handle_timeout`] must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if self.closed {
            return None;
        }
        let mut earliest: Option<Timestamp> = None;
        let mut consider = |t: Timestamp| {
            earliest = Some(earliest.map_or(t, |e| e.min(t)));
        };
        if let Waiting::LoginDelay { until, .. } = self.waiting {
            consider(until);
        }
        if let Some(deadline) = self.transfer.as_ref().and_then(|t| t.deadline) {
            consider(deadline);
        }
        if self.idle_timer_applies() {
            consider(self.idle_deadline);
        }
        if self.logged_in().is_none() {
            consider(self.login_deadline);
        }
        earliest
    }

    /// Whether the caller should keep reading the control connection. False
    /// while much input waits unread (a client pipelining without end), and
    /// once the session is closed.
    pub fn wants_input(&self) -> bool {
        !self.closed && self.lines.buffered() < self.config.max_buffered_input / 2
    }

    /// Whether the session has ended ([`Action::Close`] was emitted).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The session is idle when it has nothing in hand: no transfer, no
    /// answer awaited (storage, authentication, a listener, a login delay).
    fn idle_timer_applies(&self) -> bool {
        self.transfer.is_none() && matches!(self.waiting, Waiting::Nothing)
    }

    /// Moves the clock to `now`. While the session is busy the idle timer
    /// keeps restarting, so that it counts from the end of the work, not
    /// from the command that started it: a download that outlasts the
    /// idle timeout is followed by its 226, not by a 421 right after.
    fn clock_to(&mut self, now: Timestamp) {
        self.now = now;
        if !self.idle_timer_applies() {
            self.idle_deadline = now + self.config.idle_timeout;
        }
    }

    // ---- output ---------------------------------------------------------

    fn push(&mut self, action: Action) {
        self.actions.push_back(action);
    }

    /// Control-connection output, through TLS when it is on.
    fn send(&mut self, bytes: Bytes) {
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            if tls.send(&bytes).is_ok() {
                self.flush_tls();
            }
            return;
        }
        self.send_raw(bytes);
    }

    /// Bytes for the control connection as they are.
    fn send_raw(&mut self, bytes: Bytes) {
        if let Some(Action::Send(previous)) = self.actions.back_mut() {
            let mut joined = BytesMut::with_capacity(previous.len() + bytes.len());
            joined.extend_from_slice(previous);
            joined.extend_from_slice(&bytes);
            *previous = joined.freeze();
        } else {
            self.actions.push_back(Action::Send(bytes));
        }
    }

    fn notice(&mut self, notice: Notice) {
        if self.notices.len() >= MAX_NOTICES {
            self.notices.pop_front();
        }
        self.notices.push_back(notice);
    }

    fn send_reply(&mut self, reply: &Reply) {
        if self.config.notices {
            self.notice(Notice::Reply { code: reply.code });
        }
        let mut out = BytesMut::new();
        if reply.encode(&mut out).is_err() {
            // Only line breaks make encoding fail, and every text is made
            // line-safe before it gets here; answer something valid anyway.
            out.clear();
            out.extend_from_slice(b"451 Internal error.\r\n");
        }
        self.send(out.freeze());
    }

    fn reply(&mut self, code: ReplyCode, text: impl AsRef<[u8]>) {
        let text = Bytes::copy_from_slice(&line_safe(text.as_ref()));
        self.send_reply(&Reply::new(code, text));
    }

    fn reply_lines(&mut self, code: ReplyCode, lines: Vec<Vec<u8>>) {
        let lines = lines
            .into_iter()
            .map(|l| Bytes::copy_from_slice(&line_safe(&l)))
            .collect();
        self.send_reply(&Reply::multiline(code, lines));
    }

    fn close(&mut self) {
        if let Some(transfer) = self.transfer.take() {
            if transfer.started {
                self.push(Action::AbortTransfer);
            } else if let Payload::File { id, .. } = transfer.payload {
                self.push(Action::CloseFile(id));
            }
        }
        if self.data != DataChannel::None {
            self.push(Action::CloseData);
            self.data = DataChannel::None;
        }
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            tls.close();
            self.flush_tls();
        }
        self.push(Action::Close);
        self.closed = true;
    }

    fn new_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    fn storage(&mut self, request: Request, then: Then) {
        let id = self.new_id();
        self.push(Action::Storage { id, request });
        self.waiting = Waiting::Storage { id, then };
    }

    // ---- input ----------------------------------------------------------

    fn process(&mut self, now: Timestamp) {
        while !self.closed && matches!(self.waiting, Waiting::Nothing) {
            let item = match self.transfer {
                None => self.deferred.pop_front(),
                Some(_) => None,
            };
            let item = match item {
                Some(item) => item,
                None => {
                    if self.transfer.is_some() && self.deferred.len() >= MAX_DEFERRED {
                        return;
                    }
                    let Some(item) = self.lines.next_item() else {
                        return;
                    };
                    self.idle_deadline = now + self.config.idle_timeout;
                    item
                }
            };
            match item {
                ControlItem::TelnetReply(bytes) => self.send(Bytes::copy_from_slice(&bytes)),
                item if self.transfer.is_some() => self.during_transfer(item),
                ControlItem::TooLong { .. } => {
                    self.rename_from = None;
                    self.reply(ReplyCode::SYNTAX_ERROR, "Command line too long.");
                }
                ControlItem::Line(line) => self.command(line),
            }
        }
    }

    /// ABOR, STAT and QUIT act at once during a transfer (RFC 959 §4.1.3);
    /// other commands wait for its final reply.
    fn during_transfer(&mut self, item: ControlItem) {
        if let ControlItem::Line(line) = &item
            && let Ok(command) = Command::parse(line.clone())
        {
            if let Command::Abor = command {
                return self.abort();
            }
            if let Command::Quit = command {
                if let Some(transfer) = &mut self.transfer {
                    transfer.quit = true;
                }
                return;
            }
            if let Command::Stat(None) = command {
                return self.status();
            }
        }
        // Anything else waits for the transfer's final reply.
        self.deferred.push_back(item);
    }

    fn logged_in(&self) -> Option<Permissions> {
        match self.login {
            Login::LoggedIn { permissions, .. } => Some(permissions),
            _ => None,
        }
    }

    fn command(&mut self, line: Bytes) {
        let command = match Command::parse(line) {
            Ok(command) => command,
            Err(error) => {
                self.rename_from = None;
                let text = match error.verb() {
                    None if matches!(error, crate::CommandError::Unknown(_)) => {
                        "Unknown command.".to_string()
                    }
                    _ => format!("{}.", capitalise(&error.to_string())),
                };
                return self.reply(error.reply_code(), text);
            }
        };
        if self.config.notices {
            let argument = loggable_argument(&command);
            self.notice(Notice::Command {
                verb: command.verb(),
                argument,
            });
        }
        let rename_from = self.rename_from.take();
        if self.logged_in().is_none() && !allowed_before_login(&command) {
            return self.reply(ReplyCode::NOT_LOGGED_IN, "Please login with USER and PASS.");
        }
        match command {
            Command::User(user) => self.user(user),
            Command::Pass(password) => self.pass(password),
            Command::Acct(account) => self.acct(account),
            Command::Quit => {
                self.reply(ReplyCode::CLOSING_CONTROL_CONNECTION, "Goodbye.");
                self.close();
            }
            Command::Rein => self.reinitialize(),
            Command::Noop => self.reply(ReplyCode::COMMAND_OK, "NOOP ok."),
            Command::Syst => self.reply(ReplyCode::SYSTEM_TYPE, "UNIX Type: L8"),
            Command::Feat => self.feat(),
            Command::Opts { command, options } => self.opts(&command, options.as_deref()),
            Command::Help(topic) => self.help(topic.as_deref()),
            Command::Stat(None) => self.status(),
            Command::Stat(Some(path)) => self.with_path(&path, |s, path| {
                s.storage(Request::List(path), Then::Stat);
            }),
            Command::Host(host) => self.host(host),
            Command::Lang(tag) => self.lang(tag.as_deref()),
            Command::Auth(mechanism) => self.auth(&mechanism),
            Command::Adat(_) => {
                self.reply(ReplyCode::BAD_SEQUENCE, "No security exchange in progress.")
            }
            Command::Pbsz(_) => self.pbsz(),
            Command::Prot(level) => self.prot(level),
            Command::Ccc if self.security.auth => self.reply(
                ReplyCode::POLICY_DENIED,
                "CCC refused: the control connection stays protected.",
            ),
            Command::Ccc => self.reply(
                ReplyCode::COMMAND_PROTECTION_DENIED,
                "Command channel is not protected.",
            ),
            Command::Mic(_) | Command::Conf(_) | Command::Enc(_) => self.reply(
                ReplyCode::NOT_IMPLEMENTED,
                "Protected commands are not supported.",
            ),
            Command::Smnt(_) => self.reply(ReplyCode::NOT_IMPLEMENTED, "SMNT not implemented."),
            Command::Abor => self.abort(),
            Command::Pwd | Command::Xpwd => {
                let mut text = pathname::quote(self.cwd.as_bytes());
                text.extend_from_slice(b" is the current directory");
                self.reply(ReplyCode::PATHNAME_CREATED, text);
            }
            Command::Cwd(path) | Command::Xcwd(path) => self.with_path(&path, |s, path| {
                s.storage(Request::Stat(path.clone()), Then::ChangeDir(path));
            }),
            Command::Cdup | Command::Xcup => {
                let parent = self.cwd.parent();
                self.storage(Request::Stat(parent.clone()), Then::ChangeDir(parent));
            }
            Command::Type(kind) => self.transfer_type(kind),
            Command::Mode(TransferMode::Stream) => {
                self.reply(ReplyCode::COMMAND_OK, "Mode set to S.")
            }
            Command::Mode(_) => self.reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Only MODE S is supported.",
            ),
            Command::Stru(FileStructure::File) => {
                self.reply(ReplyCode::COMMAND_OK, "Structure set to F.")
            }
            Command::Stru(_) => self.reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Only STRU F is supported.",
            ),
            Command::Allo { .. } => self.reply(ReplyCode::SUPERFLUOUS, "ALLO command ignored."),
            Command::Rest(offset) => self.rest(offset),
            Command::Pasv => self.passive(false, None),
            Command::Epsv(None) => self.passive(true, None),
            Command::Epsv(Some(EpsvArgument::Protocol(n))) => self.passive(true, Some(n)),
            Command::Epsv(Some(EpsvArgument::All)) => {
                self.epsv_all = true;
                self.reply(ReplyCode::COMMAND_OK, "EPSV ALL ok.");
            }
            Command::Port(addr) => self.active(SocketAddr::V4(addr), "PORT"),
            Command::Eprt(addr) => self.active(addr, "EPRT"),
            Command::Retr(path) => self.retrieve(&path),
            Command::Stor(path) => self.store(&path, Verb::Stor),
            Command::Appe(path) => self.store(&path, Verb::Appe),
            Command::Stou(base) => self.store_unique(base),
            Command::List(argument) => self.list(ListKind::List, argument.as_deref()),
            Command::Nlst(argument) => self.list(ListKind::Nlst, argument.as_deref()),
            Command::Mlsd(argument) => self.list(ListKind::Mlsd, argument.as_deref()),
            Command::Mlst(argument) => {
                let path = argument.unwrap_or_default();
                self.with_path(&path, |s, path| {
                    s.storage(Request::Stat(path.clone()), Then::Mlst(path));
                })
            }
            Command::Size(path) => {
                if self.ascii {
                    return self.reply(
                        ReplyCode::FILE_NOT_AVAILABLE,
                        "SIZE not allowed in ASCII mode.",
                    );
                }
                self.with_path(&path, |s, path| s.storage(Request::Stat(path), Then::Size))
            }
            // `MDTM YYYYMMDDHHMMSS path`, the older form of MFMT that
            // ncftpput and some mirroring clients send.
            Command::Mdtm(argument) if split_time_and_path(&argument).is_some() => {
                self.set_modified(&argument, "MDTM")
            }
            Command::Mdtm(path) => {
                self.with_path(&path, |s, path| s.storage(Request::Stat(path), Then::Mdtm))
            }
            Command::Mfmt(argument) => self.set_modified(&argument, "MFMT"),
            Command::Hash(path) => self.hash(path),
            Command::Rang { start, end } => self.rang(start, end),
            Command::Mkd(path) | Command::Xmkd(path) => self.write_op(&path, |s, path| {
                let mut text = pathname::quote(path.as_bytes());
                text.extend_from_slice(b" created");
                let reply = Reply::new(ReplyCode::PATHNAME_CREATED, Bytes::from(text));
                let change = Change::MakeDir(path.clone());
                s.storage(Request::MakeDir(path), Then::Changed(change, reply));
            }),
            Command::Rmd(path) | Command::Xrmd(path) => self.write_op(&path, |s, path| {
                if path.is_root() {
                    return s.root_is_fixed();
                }
                let reply = Reply::new(
                    ReplyCode::FILE_ACTION_OK,
                    "Remove directory operation successful.",
                );
                let change = Change::RemoveDir(path.clone());
                s.storage(Request::RemoveDir(path), Then::Changed(change, reply));
            }),
            Command::Dele(path) => self.write_op(&path, |s, path| {
                let reply = Reply::new(ReplyCode::FILE_ACTION_OK, "Delete operation successful.");
                let change = Change::Delete(path.clone());
                s.storage(Request::Delete(path), Then::Changed(change, reply));
            }),
            Command::Rnfr(path) => self.write_op(&path, |s, path| {
                if path.is_root() {
                    return s.root_is_fixed();
                }
                s.storage(Request::Stat(path.clone()), Then::RenameFrom(path));
            }),
            Command::Rnto(path) => match rename_from {
                None => self.reply(ReplyCode::BAD_SEQUENCE, "RNFR required first."),
                Some(from) => self.write_op(&path, |s, to| {
                    if to.is_root() {
                        return s.root_is_fixed();
                    }
                    let reply = Reply::new(ReplyCode::FILE_ACTION_OK, "Rename successful.");
                    let change = Change::Rename {
                        from: from.clone(),
                        to: to.clone(),
                    };
                    s.storage(Request::Rename { from, to }, Then::Changed(change, reply));
                }),
            },
            Command::Site(argument) => {
                let word = argument.split(|&b| b == b' ').next().unwrap_or_default();
                if word.eq_ignore_ascii_case(b"HELP") {
                    self.reply(ReplyCode::HELP_MESSAGE, "SITE CHMOD mode path.");
                } else if word.eq_ignore_ascii_case(b"CHMOD") {
                    let rest = argument.get(word.len() + 1..).unwrap_or_default();
                    self.site_chmod(rest);
                } else {
                    self.reply(
                        ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                        "SITE command not implemented.",
                    );
                }
            }
        }
    }

    /// The root of the user's tree can be neither removed nor renamed, nor
    /// replaced by a rename: whatever the storage would allow.
    fn root_is_fixed(&mut self) {
        self.reply(
            ReplyCode::FILE_NOT_AVAILABLE,
            "The root directory cannot be removed or renamed.",
        );
    }

    /// Resolves a client path against the working directory, answering 501
    /// for a name that cannot be valid.
    fn with_path(&mut self, pathname: &[u8], then: impl FnOnce(&mut Session, VirtualPath)) {
        match self.cwd.resolve(pathname) {
            Ok(path) => then(self, path),
            Err(error) => self.reply(
                ReplyCode::SYNTAX_ERROR_IN_ARGUMENTS,
                format!("{}.", capitalise(&error.to_string())),
            ),
        }
    }

    /// As [`Session::with_path`], for commands that change the file system.
    fn write_op(&mut self, pathname: &[u8], then: impl FnOnce(&mut Session, VirtualPath)) {
        if self.logged_in() != Some(Permissions::ReadWrite) {
            return self.reply(ReplyCode::FILE_NOT_AVAILABLE, "Permission denied.");
        }
        self.with_path(pathname, then);
    }

    // ---- login ----------------------------------------------------------

    /// USER is always allowed, also when logged in: it restarts the login
    /// (RFC 959 §4.1.1).
    fn user(&mut self, user: Bytes) {
        if !self.login_allowed_in_clear(&user) {
            return self.reply(
                ReplyCode::NOT_LOGGED_IN,
                "Non-anonymous logins need TLS: send AUTH TLS first.",
            );
        }
        self.log_out();
        self.login = Login::NeedPassword { user };
        self.cwd = VirtualPath::root();
        // The same reply for every name: no user enumeration (RFC 2577 §7).
        self.reply(ReplyCode::NEED_PASSWORD, "Please specify the password.");
    }

    fn host_locked_after_user(&self) -> bool {
        !matches!(self.login, Login::NeedUser)
    }

    fn pass(&mut self, password: Password) {
        match std::mem::replace(&mut self.login, Login::NeedUser) {
            Login::NeedPassword { user } => self.authenticate(user, password, None),
            login @ Login::LoggedIn { .. } => {
                self.login = login;
                self.reply(ReplyCode::SUPERFLUOUS, "Already logged in.");
            }
            login => {
                self.login = login;
                self.reply(ReplyCode::BAD_SEQUENCE, "Login with USER first.");
            }
        }
    }

    fn acct(&mut self, account: Bytes) {
        match std::mem::replace(&mut self.login, Login::NeedUser) {
            Login::NeedAccount { user, password } => {
                self.authenticate(user, password, Some(account))
            }
            login @ Login::LoggedIn { .. } => {
                self.login = login;
                self.reply(ReplyCode::SUPERFLUOUS, "ACCT not needed.");
            }
            login => {
                self.login = login;
                self.reply(ReplyCode::BAD_SEQUENCE, "Login with USER first.");
            }
        }
    }

    fn authenticate(&mut self, user: Bytes, password: Password, account: Option<Bytes>) {
        let id = self.new_id();
        let credentials = Credentials {
            anonymous: self.config.allow_anonymous && is_anonymous(&user),
            user: user.clone(),
            password: password.clone(),
            account,
            host: self.host.clone(),
        };
        self.push(Action::Authenticate { id, credentials });
        self.waiting = Waiting::Auth { id, user, password };
    }

    fn on_authenticated(
        &mut self,
        id: RequestId,
        result: Result<Permissions, AuthError>,
        now: Timestamp,
    ) {
        let Waiting::Auth { id: expected, .. } = &self.waiting else {
            return;
        };
        if *expected != id {
            return;
        }
        let Waiting::Auth { user, password, .. } =
            std::mem::replace(&mut self.waiting, Waiting::Nothing)
        else {
            return;
        };
        match result {
            Ok(permissions) => {
                self.failed_logins = 0;
                self.cwd = VirtualPath::root();
                if self.config.notices {
                    let anonymous = self.config.allow_anonymous && is_anonymous(&user);
                    self.notice(Notice::LoggedIn {
                        user: user.clone(),
                        anonymous,
                        permissions,
                    });
                }
                self.login = Login::LoggedIn { user, permissions };
                self.reply(ReplyCode::LOGGED_IN, "Login successful.");
            }
            Err(AuthError::AccountRequired) => {
                self.login = Login::NeedAccount { user, password };
                self.reply(ReplyCode::NEED_ACCOUNT, "Need account for login.");
            }
            Err(AuthError::Unavailable) => {
                self.reply(
                    ReplyCode::SERVICE_NOT_AVAILABLE,
                    "Login service unavailable.",
                );
                self.close();
            }
            Err(AuthError::Rejected) => {
                if self.config.notices {
                    self.notice(Notice::LoginFailed { user: user.clone() });
                }
                self.login = Login::NeedUser;
                self.failed_logins = self.failed_logins.saturating_add(1);
                let doublings = self.failed_logins.saturating_sub(1).min(16);
                let delay = self
                    .config
                    .login_delay
                    .saturating_mul(1 << doublings)
                    .min(self.config.max_login_delay);
                self.waiting = Waiting::LoginDelay {
                    until: now + delay,
                    close: self.failed_logins >= self.config.max_login_failures,
                };
            }
        }
    }

    /// Ends a login (REIN, or USER while logged in): the caller drops what
    /// it opened for that user, its storage first.
    fn log_out(&mut self) {
        if let Login::LoggedIn { .. } = self.login {
            self.push(Action::Logout);
            self.login_deadline = self.now + self.config.login_timeout;
        }
        self.login = Login::NeedUser;
    }

    fn reinitialize(&mut self) {
        self.host = None;
        self.start_over();
        self.reply(ReplyCode::SERVICE_READY, "Service ready for new user.");
    }

    /// Back to the state of a new connection (REIN, and AUTH by RFC 4217
    /// §4.2; AUTH keeps HOST, which may come before it).
    fn start_over(&mut self) {
        self.log_out();
        self.rename_from = None;
        self.cwd = VirtualPath::root();
        self.ascii = true;
        self.restart = 0;
        self.range = None;
        self.hash_algorithm = HashAlgorithm::default();
        self.epsv_all = false;
        self.facts = Facts::ALL;
        if self.data != DataChannel::None {
            self.push(Action::CloseData);
            self.data = DataChannel::None;
        }
    }

    fn host(&mut self, host: HostName) {
        if self.host_locked_after_user() {
            return self.reply(ReplyCode::BAD_SEQUENCE, "HOST must come before USER.");
        }
        self.host = Some(host);
        let banner = self.config.banner.clone();
        self.reply(ReplyCode::SERVICE_READY, banner);
    }

    // ---- information ----------------------------------------------------

    fn feat(&mut self) {
        let mut lines = vec![b"Extensions supported:".to_vec()];
        if self.tls_configured() {
            lines.extend([b" AUTH TLS".to_vec(), b" PBSZ".to_vec(), b" PROT".to_vec()]);
        }
        lines.extend([
            b" EPRT".to_vec(),
            b" EPSV".to_vec(),
            b" HOST".to_vec(),
            b" LANG EN*".to_vec(),
            b" MDTM".to_vec(),
            b" MFMT".to_vec(),
        ]);
        if self.config.hash {
            lines.push(format!(" HASH {}", HashAlgorithm::feat(self.hash_algorithm)).into_bytes());
        }
        lines.extend([
            format!(" MLST {}", self.facts.feat()).into_bytes(),
            b" REST STREAM".to_vec(),
            b" SIZE".to_vec(),
            b" TVFS".to_vec(),
            b" UTF8".to_vec(),
            b"End".to_vec(),
        ]);
        self.reply_lines(ReplyCode::SYSTEM_STATUS, lines);
    }

    // ---- security (RFC 2228, RFC 4217) -----------------------------------

    fn tls_configured(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.config.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// Whether the control connection runs TLS now.
    fn tls_active(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// AUTH TLS (and its synonyms): 234 in clear, then TLS. Whatever came
    /// after the AUTH line in clear is dropped unread: a man in the middle
    /// could have put commands there (the STARTTLS injection class).
    fn auth(&mut self, mechanism: &AuthMechanism) {
        if !self.tls_configured() {
            return self.reply(ReplyCode::NOT_IMPLEMENTED, "TLS is not configured.");
        }
        if self.security.auth {
            return self.reply(ReplyCode::BAD_SEQUENCE, "TLS is already on.");
        }
        match mechanism {
            AuthMechanism::Tls | AuthMechanism::TlsC | AuthMechanism::Ssl => {}
            AuthMechanism::TlsP | AuthMechanism::Other(_) => {
                return self.reply(
                    ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                    "Only AUTH TLS is supported.",
                );
            }
        }
        #[cfg(feature = "tls")]
        {
            let codec = match &self.config.tls {
                Some(tls) => tls.for_session().and_then(|own| {
                    let codec = own.control_codec(&self.security.token)?;
                    Ok((own, codec))
                }),
                None => return,
            };
            let Ok((own, codec)) = codec else {
                return self.reply(
                    ReplyCode::SECURITY_RESOURCE_UNAVAILABLE,
                    "TLS is not available now.",
                );
            };
            // RFC 4217 §4.2: AUTH starts over as REIN would.
            self.start_over();
            self.reply(
                ReplyCode::SECURITY_EXCHANGE_COMPLETE,
                "Proceed with negotiation.",
            );
            self.lines.clear();
            self.deferred.clear();
            self.tls = Some(codec);
            self.security.auth = true;
            self.security.session_tls = Some(own);
        }
    }

    fn pbsz(&mut self) {
        if !self.security.auth {
            return self.reply(ReplyCode::BAD_SEQUENCE, "PBSZ needs AUTH first.");
        }
        // TLS protects streams, not buffers: the size is 0 whatever was
        // asked (RFC 4217 §8).
        self.security.pbsz = true;
        self.reply(ReplyCode::COMMAND_OK, "PBSZ=0");
    }

    fn prot(&mut self, level: ProtectionLevel) {
        if !self.security.auth {
            return self.reply(ReplyCode::BAD_SEQUENCE, "PROT needs AUTH first.");
        }
        if !self.security.pbsz {
            return self.reply(ReplyCode::BAD_SEQUENCE, "PROT needs PBSZ first.");
        }
        match level {
            ProtectionLevel::Private => {
                self.security.private_data = true;
                self.reply(ReplyCode::COMMAND_OK, "Protection level set to Private.");
            }
            ProtectionLevel::Clear => {
                self.security.private_data = false;
                self.reply(ReplyCode::COMMAND_OK, "Protection level set to Clear.");
            }
            ProtectionLevel::Safe | ProtectionLevel::Confidential => self.reply(
                ReplyCode::PROTECTION_LEVEL_NOT_SUPPORTED,
                "Only PROT P and PROT C are supported.",
            ),
        }
    }

    /// Whether USER or PASS may go on: a non-anonymous login needs TLS
    /// first when so configured.
    fn login_allowed_in_clear(&self, user: &[u8]) -> bool {
        !self.tls_configured()
            || !self.config.tls_required_for_login
            || self.tls_active()
            || (self.config.allow_anonymous && is_anonymous(user))
    }

    /// The TLS of the next data connection, or `None` for a clear one.
    fn data_tls(&self, direction: Option<Direction>) -> Option<DataTls> {
        if !self.security.private_data {
            return None;
        }
        #[cfg(feature = "tls")]
        {
            let tls = self.security.session_tls.as_ref()?;
            let upload = direction == Some(Direction::Upload);
            let token = self.security.token.clone();
            Some(tls.data(upload, token, self.config.tls_session_reuse_required))
        }
        #[cfg(not(feature = "tls"))]
        {
            let _ = direction;
            None
        }
    }

    fn opts(&mut self, command: &[u8], options: Option<&[u8]>) {
        if command.eq_ignore_ascii_case(b"UTF8") {
            match options.map(<[u8]>::trim_ascii) {
                None => self.reply(ReplyCode::COMMAND_OK, "Always in UTF8 mode."),
                Some(on) if on.eq_ignore_ascii_case(b"ON") => {
                    self.reply(ReplyCode::COMMAND_OK, "Always in UTF8 mode.")
                }
                Some(_) => self.reply(
                    ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                    "UTF8 cannot be turned off.",
                ),
            }
        } else if command.eq_ignore_ascii_case(b"HASH") && self.config.hash {
            match options.map(<[u8]>::trim_ascii).filter(|o| !o.is_empty()) {
                None => {}
                Some(name) => match HashAlgorithm::from_name(name) {
                    Some(algorithm) => self.hash_algorithm = algorithm,
                    None => {
                        return self.reply(
                            ReplyCode::SYNTAX_ERROR_IN_ARGUMENTS,
                            "Unknown algorithm, current selection not changed.",
                        );
                    }
                },
            }
            self.reply(ReplyCode::COMMAND_OK, self.hash_algorithm.name());
        } else if command.eq_ignore_ascii_case(b"MLST") {
            self.facts = Facts::from_opts(options.unwrap_or_default());
            let text = format!("MLST OPTS {}", self.facts.to_opts());
            self.reply(ReplyCode::COMMAND_OK, text.trim_end());
        } else {
            self.reply(
                ReplyCode::SYNTAX_ERROR_IN_ARGUMENTS,
                "Option not understood.",
            );
        }
    }

    fn help(&mut self, topic: Option<&[u8]>) {
        if let Some(topic) = topic.map(<[u8]>::trim_ascii).filter(|t| !t.is_empty()) {
            return match Verb::from_bytes(topic) {
                Some(verb) => self.reply(ReplyCode::HELP_MESSAGE, format!("{verb} is supported.")),
                None => self.reply(ReplyCode::NOT_IMPLEMENTED, "Unknown command."),
            };
        }
        let mut lines = vec![b"The following commands are recognized.".to_vec()];
        for chunk in Verb::ALL.chunks(12) {
            let mut line = String::new();
            for verb in chunk {
                line.push(' ');
                line.push_str(&format!("{:<4}", verb.as_str()));
            }
            lines.push(line.into_bytes());
        }
        lines.push(b"Help OK.".to_vec());
        self.reply_lines(ReplyCode::HELP_MESSAGE, lines);
    }

    fn lang(&mut self, tag: Option<&str>) {
        match tag {
            None => self.reply(ReplyCode::COMMAND_OK, "Using the default language, EN."),
            Some(tag)
                if tag.eq_ignore_ascii_case("EN")
                    || tag.to_ascii_uppercase().starts_with("EN-") =>
            {
                self.reply(ReplyCode::COMMAND_OK, "Using EN.")
            }
            Some(_) => self.reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Only EN is available.",
            ),
        }
    }

    fn status(&mut self) {
        let mut lines = vec![b"FTP server status:".to_vec()];
        lines.push(format!("     Connected to {}", canonical(self.peer.ip())).into_bytes());
        match &self.login {
            Login::LoggedIn { user, .. } => {
                let mut line = b"     Logged in as ".to_vec();
                line.extend_from_slice(user);
                lines.push(line);
            }
            _ => lines.push(b"     Not logged in".to_vec()),
        }
        lines.push(
            format!("     TYPE: {}", if self.ascii { "ASCII" } else { "BINARY" }).into_bytes(),
        );
        let data = match self.data {
            DataChannel::None => "No data connection",
            DataChannel::Passive { connected: false } => "Passive mode, waiting for a connection",
            DataChannel::Passive { connected: true } => "Passive mode, connected",
            DataChannel::Active { .. } => "Active mode",
        };
        lines.push(format!("     {data}").into_bytes());
        if let Some(transfer) = &self.transfer {
            lines.push(format!("     In progress: {}", transfer.description).into_bytes());
        }
        lines.push(b"End of status".to_vec());
        self.reply_lines(ReplyCode::SYSTEM_STATUS, lines);
    }

    // ---- transfer parameters --------------------------------------------

    fn transfer_type(&mut self, kind: TransferType) {
        match kind {
            TransferType::Ascii(None | Some(TextFormat::NonPrint | TextFormat::Telnet)) => {
                self.ascii = true;
                self.reply(ReplyCode::COMMAND_OK, "Switching to ASCII mode.");
            }
            TransferType::Image | TransferType::Local(8) => {
                self.ascii = false;
                self.reply(ReplyCode::COMMAND_OK, "Switching to Binary mode.");
            }
            _ => self.reply(ReplyCode::PARAMETER_NOT_IMPLEMENTED, "Unsupported TYPE."),
        }
    }

    fn rest(&mut self, offset: u64) {
        if self.ascii && offset > 0 {
            // Offsets count transferred bytes, which in TYPE A differ from
            // the file's (RFC 3659 §5.2); ProFTPD refuses the same way.
            return self.reply(
                ReplyCode::SYNTAX_ERROR_IN_ARGUMENTS,
                "REST not allowed in ASCII mode.",
            );
        }
        self.restart = offset;
        self.range = None;
        self.reply(
            ReplyCode::PENDING_FURTHER_INFORMATION,
            format!("Restart position accepted ({offset})."),
        );
    }

    fn data_address_allowed(&self, ip: IpAddr) -> bool {
        self.config.allow_foreign_data_addresses || canonical(ip) == canonical(self.peer.ip())
    }

    fn passive(&mut self, extended: bool, protocol: Option<u16>) {
        if self.epsv_all && !extended {
            return self.reply(ReplyCode::SYNTAX_ERROR, "EPSV ALL in effect; use EPSV.");
        }
        let ip = canonical(self.local.ip());
        if let Some(protocol) = protocol {
            let ours = if ip.is_ipv4() { 1 } else { 2 };
            if protocol != ours {
                return self.reply(
                    ReplyCode::NETWORK_PROTOCOL_NOT_SUPPORTED,
                    format!("Network protocol not supported, use ({ours})"),
                );
            }
        }
        self.data = DataChannel::None;
        self.push(Action::ListenData {
            ip,
            ports: self.config.passive_ports.clone(),
        });
        self.waiting = Waiting::Listen { extended };
    }

    fn on_listening(&mut self, port: u16) {
        let Waiting::Listen { extended } = self.waiting else {
            return;
        };
        self.waiting = Waiting::Nothing;
        self.data = DataChannel::Passive { connected: false };
        if extended {
            self.reply(
                ReplyCode::ENTERING_EXTENDED_PASSIVE_MODE,
                hostport::format_epsv_reply(port),
            );
        } else {
            // The IPv4 form of the local address, or the configured one; a
            // pure IPv6 connection gets 0.0.0.0, as from vsftpd, and
            // clients connect to the control peer instead.
            let ip = self
                .config
                .passive_address
                .unwrap_or(match canonical(self.local.ip()) {
                    IpAddr::V4(v4) => v4,
                    IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
                });
            let text = hostport::format_pasv_reply(SocketAddrV4::new(ip, port));
            self.reply(ReplyCode::ENTERING_PASSIVE_MODE, text);
        }
    }

    fn on_listen_failed(&mut self) {
        if let Waiting::Listen { .. } = self.waiting {
            self.waiting = Waiting::Nothing;
            self.data = DataChannel::None;
            self.reply(
                ReplyCode::CANT_OPEN_DATA_CONNECTION,
                "Could not open a passive port.",
            );
        }
    }

    fn active(&mut self, to: SocketAddr, verb: &str) {
        if self.epsv_all {
            return self.reply(ReplyCode::SYNTAX_ERROR, "EPSV ALL in effect; use EPSV.");
        }
        // `EPRT |2|::|port|` (lftp's active mode on IPv6) and the IPv4
        // `0.0.0.0`: no address, so the control connection's peer, as
        // vsftpd reads it; the one address a data connection may go to
        // anyway.
        let to = if to.ip().is_unspecified() {
            SocketAddr::new(self.peer.ip(), to.port())
        } else {
            to
        };
        if !self.data_address_allowed(to.ip()) || to.port() < 1024 {
            // RFC 2577 §3: no bounce to other hosts or privileged ports.
            return self.reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                format!("Illegal {verb} command."),
            );
        }
        if self.data != DataChannel::None {
            self.push(Action::CloseData);
        }
        self.data = DataChannel::Active {
            to,
            connected: false,
        };
        self.reply(
            ReplyCode::COMMAND_OK,
            format!("{verb} command successful. Consider using EPSV."),
        );
    }

    // ---- transfers ------------------------------------------------------

    /// Checks that a transfer can start: a data connection is set up.
    fn data_ready(&mut self) -> bool {
        if self.tls_active() && !self.security.private_data && self.config.tls_required_for_data {
            self.reply(
                ReplyCode::PROTECTION_LEVEL_REFUSED,
                "Data connections must be protected: send PROT P.",
            );
            return false;
        }
        if self.data == DataChannel::None {
            self.reply(
                ReplyCode::CANT_OPEN_DATA_CONNECTION,
                "Use PORT, PASV, EPRT or EPSV first.",
            );
            false
        } else {
            true
        }
    }

    fn retrieve(&mut self, pathname: &[u8]) {
        let offset = std::mem::take(&mut self.restart);
        if self.refuse_range() {
            return;
        }
        if !self.data_ready() {
            return;
        }
        self.with_path(pathname, |s, path| {
            let request = Request::OpenRead {
                path: path.clone(),
                offset,
            };
            s.storage(
                request,
                Then::Open {
                    direction: Direction::Download,
                    path,
                },
            );
        });
    }

    fn store(&mut self, pathname: &[u8], verb: Verb) {
        let offset = std::mem::take(&mut self.restart);
        if self.refuse_range() {
            return;
        }
        if self.logged_in() != Some(Permissions::ReadWrite) {
            return self.reply(ReplyCode::FILE_NOT_AVAILABLE, "Permission denied.");
        }
        if !self.data_ready() {
            return;
        }
        let mode = match (verb, offset) {
            (Verb::Appe, 0) => WriteMode::Append,
            (_, 0) => WriteMode::Replace,
            (_, offset) => WriteMode::Resume(offset),
        };
        self.with_path(pathname, |s, path| {
            let request = Request::OpenWrite {
                path: path.clone(),
                mode,
            };
            s.storage(
                request,
                Then::Open {
                    direction: Direction::Upload,
                    path,
                },
            );
        });
    }

    fn store_unique(&mut self, base: Option<Bytes>) {
        self.restart = 0;
        if self.refuse_range() {
            return;
        }
        if self.logged_in() != Some(Permissions::ReadWrite) {
            return self.reply(ReplyCode::FILE_NOT_AVAILABLE, "Permission denied.");
        }
        if !self.data_ready() {
            return;
        }
        let dir = self.cwd.clone();
        // A base that is not one file name (a slash, `..`, NUL) is ignored:
        // the server names the file on its own.
        let base = base.filter(|b| dir.join(b).is_ok());
        self.storage(Request::CreateUnique { dir, base }, Then::CreateUnique);
    }

    /// SITE CHMOD: permission bits (octal, at most 777: no set-id or
    /// sticky bits), as mirroring clients (lftp `mirror -R`) send them to
    /// keep modes.
    fn site_chmod(&mut self, argument: &[u8]) {
        let Some(at) = argument.iter().position(|&b| b == b' ') else {
            return self.reply(
                ReplyCode::SYNTAX_ERROR_IN_ARGUMENTS,
                "SITE CHMOD needs a mode and a path.",
            );
        };
        let (digits, path) = argument.split_at(at);
        let path = path.get(1..).unwrap_or_default();
        let mode = std::str::from_utf8(digits)
            .ok()
            .filter(|d| !d.is_empty() && d.len() <= 4)
            .and_then(|d| u32::from_str_radix(d, 8).ok())
            .filter(|&m| m <= 0o777);
        let (Some(mode), false) = (mode, path.is_empty()) else {
            return self.reply(
                ReplyCode::SYNTAX_ERROR_IN_ARGUMENTS,
                "SITE CHMOD needs an octal mode up to 777 and a path.",
            );
        };
        self.write_op(path, |s, path| {
            let reply = Reply::new(ReplyCode::COMMAND_OK, "SITE CHMOD command ok.");
            let change = Change::Mode(path.clone(), mode);
            s.storage(
                Request::SetMode { path, mode },
                Then::Changed(change, reply),
            );
        });
    }

    /// RANG (draft-bryan-ftp-range): the bytes `start..=end` of the next
    /// HASH; `RANG 1 0` resets. REST and RANG replace each other. Transfers
    /// refuse a range (504): serving the whole file instead would hand the
    /// client bytes it did not ask for.
    fn rang(&mut self, start: u64, end: u64) {
        if (start, end) == (1, 0) {
            self.range = None;
            return self.reply(ReplyCode::PENDING_FURTHER_INFORMATION, "Byte range reset.");
        }
        if end < start {
            return self.reply(
                ReplyCode::SYNTAX_ERROR_IN_ARGUMENTS,
                "RANG end must not come before its start.",
            );
        }
        self.range = Some(ByteRange { start, end });
        self.restart = 0;
        self.reply(
            ReplyCode::PENDING_FURTHER_INFORMATION,
            format!("Range set: bytes {start} to {end}, for HASH."),
        );
    }

    /// A transfer command after RANG: refused, and the range dropped.
    fn refuse_range(&mut self) -> bool {
        if self.range.take().is_none() {
            return false;
        }
        self.reply(
            ReplyCode::PARAMETER_NOT_IMPLEMENTED,
            "RANG applies to HASH only; range reset.",
        );
        true
    }

    /// HASH (draft-bryan-ftpext-hash): the digest of a file, or of the
    /// range RANG set, with the algorithm OPTS HASH chose. The storage
    /// computes it.
    fn hash(&mut self, pathname: Bytes) {
        let range = self.range.take();
        if !self.config.hash {
            return self.reply(ReplyCode::NOT_IMPLEMENTED, "HASH is not enabled.");
        }
        let algorithm = self.hash_algorithm;
        self.with_path(&pathname, |s, path| {
            let request = Request::Hash {
                path,
                algorithm,
                range,
            };
            let then = Then::Hash {
                algorithm,
                range,
                shown: pathname.clone(),
            };
            s.storage(request, then);
        });
    }

    /// MFMT (and two-argument MDTM): sets a file's modification time, so
    /// that mirroring clients (rclone, lftp `mirror -R`) keep times.
    fn set_modified(&mut self, argument: &[u8], verb: &'static str) {
        let Some((time, path)) = split_time_and_path(argument) else {
            return self.reply(
                ReplyCode::SYNTAX_ERROR_IN_ARGUMENTS,
                format!("{verb} needs YYYYMMDDHHMMSS and a path."),
            );
        };
        let Some(modified) = crate::listing::parse::parse_time_val(time) else {
            return self.reply(ReplyCode::SYNTAX_ERROR_IN_ARGUMENTS, "Bad time value.");
        };
        let shown = Bytes::copy_from_slice(path);
        let time_text = UtcDateTime::from_system_time(modified).time_val();
        self.write_op(path, |s, path| {
            // draft-somers-ftp-mfxx: `213 Modify=time; path`.
            let mut text = format!("Modify={time_text}; ").into_bytes();
            text.extend_from_slice(&line_safe(&shown));
            let reply = Reply::new(ReplyCode::FILE_STATUS, Bytes::from(text));
            let change = Change::Modified(path.clone());
            s.storage(
                Request::SetModified { path, modified },
                Then::Changed(change, reply),
            );
        });
    }

    fn list(&mut self, kind: ListKind, argument: Option<&[u8]>) {
        self.restart = 0;
        let (options, pathname) = match kind {
            ListKind::Mlsd => (
                ListOptions {
                    all: true,
                    recursive: false,
                },
                argument,
            ),
            _ => listing::split_list_argument(argument),
        };
        if options.recursive {
            // Said, not silently ignored: a client that asked for a tree
            // and got one directory would take it for the whole tree.
            return self.reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Recursive listing (-R) is not supported; list each directory.",
            );
        }
        // A wildcard in the last component (`NLST *.txt`, as mget and
        // mdelete send it): the directory before it is listed, filtered.
        let (pathname, pattern) = match pathname {
            Some(path) if kind != ListKind::Mlsd => {
                let (dir, last) = match path.iter().rposition(|&b| b == b'/') {
                    // The root's `/` stays: `NLST /*.txt` lists `/`.
                    Some(at) => {
                        let (dir, slash_and_last) = path.split_at(at);
                        let (slash, last) = slash_and_last.split_at(1.min(slash_and_last.len()));
                        (Some(if at == 0 { slash } else { dir }), last)
                    }
                    None => (None, path),
                };
                if listing::is_pattern(last) {
                    if last.len() > listing::MAX_PATTERN {
                        return self.reply(
                            ReplyCode::SYNTAX_ERROR_IN_ARGUMENTS,
                            "Wildcard pattern too long.",
                        );
                    }
                    (dir, Some(Bytes::copy_from_slice(last)))
                } else {
                    (Some(path), None)
                }
            }
            other => (other, None),
        };
        if !self.data_ready() {
            return;
        }
        let shown_as = pathname.map(Bytes::copy_from_slice);
        self.with_path(pathname.unwrap_or_default(), |s, path| {
            s.storage(
                Request::List(path),
                Then::List {
                    kind,
                    options,
                    shown_as,
                    pattern,
                },
            );
        });
    }

    /// A file or listing is ready: send the preliminary reply and start, or
    /// wait for the data connection.
    /// `text` is the 150 text; a 125 uses it too when `text_names_file`
    /// (STOU must name its file, RFC 1123 §4.1.2.9).
    fn begin_transfer(
        &mut self,
        payload: Payload,
        (description, path): (String, Option<String>),
        text: String,
        text_names_file: bool,
        now: Timestamp,
    ) {
        let mut transfer = Transfer {
            payload,
            description,
            path,
            started: false,
            deadline: None,
            abort: false,
            more_aborts: 0,
            quit: false,
            accepted_at: now,
        };
        match self.data {
            DataChannel::None => {
                if let Payload::File { id, .. } = transfer.payload {
                    self.push(Action::CloseFile(id));
                }
                return self.reply(
                    ReplyCode::CANT_OPEN_DATA_CONNECTION,
                    "Use PORT, PASV, EPRT or EPSV first.",
                );
            }
            DataChannel::Passive { connected: true }
            | DataChannel::Active {
                connected: true, ..
            } => {
                let text = if text_names_file {
                    text
                } else {
                    "Data connection already open; transfer starting.".to_string()
                };
                self.reply(ReplyCode::DATA_CONNECTION_OPEN_STARTING, text);
                self.transfer = Some(transfer);
                return self.start_transfer();
            }
            DataChannel::Passive { connected: false } => {}
            DataChannel::Active {
                to,
                connected: false,
            } => {
                let from_port = self
                    .config
                    .active_from_port_l_minus_1
                    .then(|| self.local.port().checked_sub(1))
                    .flatten();
                self.push(Action::ConnectData { to, from_port });
            }
        }
        self.reply(ReplyCode::ABOUT_TO_OPEN_DATA_CONNECTION, text);
        transfer.deadline = Some(now + self.config.data_connection_timeout);
        self.transfer = Some(transfer);
    }

    fn start_transfer(&mut self) {
        let ascii = self.ascii;
        let Some(transfer) = &mut self.transfer else {
            return;
        };
        transfer.started = true;
        transfer.deadline = None;
        let Some(transfer) = &self.transfer else {
            return;
        };
        let action = match &transfer.payload {
            Payload::File { id, direction } => Action::Transfer {
                file: *id,
                direction: *direction,
                ascii,
                tls: self.data_tls(Some(*direction)),
            },
            Payload::Listing(listing) => Action::SendListing {
                listing: listing.clone(),
                tls: self.data_tls(None),
            },
        };
        self.push(action);
    }

    /// The transfer's data connection never came: close what is open and
    /// give the final reply.
    fn fail_before_start(&mut self, code: ReplyCode, text: &str) {
        let Some(transfer) = self.transfer.take() else {
            return;
        };
        if let Payload::File { id, .. } = transfer.payload {
            self.push(Action::CloseFile(id));
        }
        self.push(Action::CloseData);
        self.data = DataChannel::None;
        self.reply(code, text);
        if transfer.abort {
            self.reply(ReplyCode::CLOSING_DATA_CONNECTION, "ABOR successful.");
        }
        for _ in 0..transfer.more_aborts {
            self.reply(ReplyCode::DATA_CONNECTION_OPEN, "No transfer to ABOR.");
        }
        if transfer.quit {
            self.reply(ReplyCode::CLOSING_CONTROL_CONNECTION, "Goodbye.");
            self.close();
        }
    }

    fn on_data_incoming(&mut self, peer: SocketAddr) {
        if self.data != (DataChannel::Passive { connected: false })
            || !self.data_address_allowed(peer.ip())
        {
            // Port stealing (RFC 2577 §4): only the client may connect.
            return self.push(Action::RejectData);
        }
        self.push(Action::AcceptData);
        self.data = DataChannel::Passive { connected: true };
        if self.transfer.as_ref().is_some_and(|t| !t.started) {
            self.start_transfer();
        }
    }

    fn on_data_connected(&mut self) {
        if let DataChannel::Active {
            to,
            connected: false,
        } = self.data
        {
            self.data = DataChannel::Active {
                to,
                connected: true,
            };
            if self.transfer.as_ref().is_some_and(|t| !t.started) {
                self.start_transfer();
            }
        }
    }

    fn on_data_connect_failed(&mut self) {
        if let DataChannel::Active {
            connected: false, ..
        } = self.data
        {
            self.data = DataChannel::None;
            if self.transfer.as_ref().is_some_and(|t| !t.started) {
                self.fail_before_start(
                    ReplyCode::CANT_OPEN_DATA_CONNECTION,
                    "Failed to establish connection.",
                );
            }
        }
    }

    fn on_transfer_done(&mut self, bytes: u64, result: Result<(), TransferError>, now: Timestamp) {
        if !self.transfer.as_ref().is_some_and(|t| t.started) {
            return;
        }
        let Some(transfer) = self.transfer.take() else {
            return;
        };
        // The caller closed the data connection: one per PORT/PASV.
        self.data = DataChannel::None;
        if self.config.notices {
            let direction = match transfer.payload {
                Payload::File { direction, .. } => Some(direction),
                Payload::Listing(_) => None,
            };
            self.notice(Notice::TransferFinished {
                direction,
                description: transfer.description.clone(),
                path: transfer.path.clone(),
                ascii: self.ascii,
                bytes,
                duration: now.saturating_duration_since(transfer.accepted_at),
                result: result.clone(),
            });
        }
        match result {
            Ok(()) => self.reply(ReplyCode::CLOSING_DATA_CONNECTION, "Transfer complete."),
            Err(TransferError::ConnectionLost | TransferError::Aborted) => self.reply(
                ReplyCode::TRANSFER_ABORTED,
                "Connection closed; transfer aborted.",
            ),
            Err(TransferError::Stalled) => self.reply(
                ReplyCode::TRANSFER_ABORTED,
                format!(
                    "No data moved for {} s; transfer aborted.",
                    self.config.data_stall_timeout.as_secs()
                ),
            ),
            Err(TransferError::Truncated) => self.reply(
                ReplyCode::TRANSFER_ABORTED,
                "Data connection closed without TLS close_notify; transfer truncated.",
            ),
            Err(TransferError::Tls(why)) => self.reply(
                ReplyCode::NETWORK_PROTOCOL_NOT_SUPPORTED,
                format!("TLS on the data connection failed: {why}."),
            ),
            Err(TransferError::Storage(
                StorageError::StorageFull | StorageError::QuotaExceeded,
            )) => self.reply(
                ReplyCode::STORAGE_ALLOCATION_EXCEEDED,
                "Storage allocation exceeded.",
            ),
            Err(TransferError::Storage(error)) => {
                self.reply(ReplyCode::LOCAL_ERROR, format!("Local error: {error}."))
            }
        }
        if transfer.abort {
            self.reply(ReplyCode::CLOSING_DATA_CONNECTION, "ABOR successful.");
        }
        for _ in 0..transfer.more_aborts {
            self.reply(ReplyCode::DATA_CONNECTION_OPEN, "No transfer to ABOR.");
        }
        if transfer.quit {
            self.reply(ReplyCode::CLOSING_CONTROL_CONNECTION, "Goodbye.");
            self.close();
        }
    }

    fn abort(&mut self) {
        match &mut self.transfer {
            Some(transfer) if transfer.started => {
                if transfer.abort {
                    transfer.more_aborts += 1;
                } else {
                    transfer.abort = true;
                    self.push(Action::AbortTransfer);
                }
            }
            Some(transfer) => {
                transfer.abort = true;
                self.fail_before_start(
                    ReplyCode::TRANSFER_ABORTED,
                    "Connection closed; transfer aborted.",
                );
            }
            None => {
                if self.data != DataChannel::None {
                    self.push(Action::CloseData);
                    self.data = DataChannel::None;
                }
                self.reply(ReplyCode::DATA_CONNECTION_OPEN, "No transfer to ABOR.");
            }
        }
    }

    fn on_control_closed(&mut self) {
        // A dropped control connection is ABOR and QUIT (RFC 959 §4.1.1).
        self.close();
    }

    // ---- storage answers -----------------------------------------------

    fn on_storage(
        &mut self,
        id: RequestId,
        result: Result<Response, StorageError>,
        now: Timestamp,
    ) {
        let Waiting::Storage { id: expected, .. } = &self.waiting else {
            return;
        };
        if *expected != id {
            return;
        }
        let Waiting::Storage { then, .. } = std::mem::replace(&mut self.waiting, Waiting::Nothing)
        else {
            return;
        };
        let response = match result {
            Ok(response) => response,
            Err(error) => return self.storage_failed(&then, &error),
        };
        match (then, response) {
            (Then::ChangeDir(path), Response::Metadata(metadata)) => {
                if metadata.is_dir() {
                    self.cwd = path;
                    self.reply(ReplyCode::FILE_ACTION_OK, "Directory successfully changed.");
                } else {
                    self.reply(
                        ReplyCode::FILE_NOT_AVAILABLE,
                        "Failed to change directory: not a directory.",
                    );
                }
            }
            (Then::Size, Response::Metadata(metadata)) => {
                if metadata.is_dir() {
                    self.reply(
                        ReplyCode::FILE_NOT_AVAILABLE,
                        "Could not get file size: is a directory.",
                    );
                } else {
                    self.reply(ReplyCode::FILE_STATUS, metadata.size.to_string());
                }
            }
            (Then::Mdtm, Response::Metadata(metadata)) => match metadata.modified {
                Some(modified) => self.reply(
                    ReplyCode::FILE_STATUS,
                    UtcDateTime::from_system_time(modified).time_val(),
                ),
                None => self.reply(
                    ReplyCode::FILE_NOT_AVAILABLE,
                    "Could not get file modification time.",
                ),
            },
            (Then::Mlst(path), Response::Metadata(metadata)) => {
                let writable = self.logged_in() == Some(Permissions::ReadWrite);
                let mut entry = b" ".to_vec();
                listing::write_mlsx_entry(
                    &mut entry,
                    path.as_bytes(),
                    &metadata,
                    self.facts,
                    writable,
                );
                let mut first = b"Listing ".to_vec();
                first.extend_from_slice(path.as_bytes());
                self.reply_lines(
                    ReplyCode::FILE_ACTION_OK,
                    vec![first, entry, b"End".to_vec()],
                );
            }
            (Then::RenameFrom(path), Response::Metadata(_)) => {
                self.rename_from = Some(path);
                self.reply(ReplyCode::PENDING_FURTHER_INFORMATION, "Ready for RNTO.");
            }
            (
                Then::Stat,
                Response::Listing {
                    entries,
                    metadata,
                    now: wall,
                },
            ) => {
                self.stat_listing(entries, &metadata, wall);
            }
            (
                Then::List {
                    kind,
                    options,
                    shown_as,
                    pattern,
                },
                Response::Listing {
                    entries,
                    metadata,
                    now: wall,
                },
            ) => {
                // `.*` asks for dot files as `-a` does.
                let options = ListOptions {
                    all: options.all || pattern.as_ref().is_some_and(|p| p.starts_with(b".")),
                    ..options
                };
                let entries = match (pattern, entries) {
                    (None, entries) => entries,
                    (Some(_), None) => {
                        return self.reply(ReplyCode::FILE_NOT_AVAILABLE, "No files found.");
                    }
                    (Some(pattern), Some(entries)) => {
                        let matching: Vec<DirEntry> = entries
                            .into_iter()
                            .filter(|e| listing::glob_matches(&pattern, &e.name))
                            .collect();
                        if matching.is_empty() {
                            // As ProFTPD says it; mget then fetches nothing.
                            return self.reply(ReplyCode::FILE_NOT_AVAILABLE, "No files found.");
                        }
                        Some(matching)
                    }
                };
                self.data_listing(kind, options, shown_as, entries, &metadata, wall, now);
            }
            (Then::Open { direction, path }, Response::Opened { size }) => {
                let (text, description) = match direction {
                    Direction::Download => {
                        let mode = if self.ascii { "ASCII" } else { "BINARY" };
                        let size = size.map(|n| format!(" ({n} bytes)")).unwrap_or_default();
                        (
                            format!("Opening {mode} mode data connection for {path}{size}."),
                            format!("download of {path}"),
                        )
                    }
                    Direction::Upload => {
                        ("Ok to send data.".to_string(), format!("upload of {path}"))
                    }
                };
                self.begin_transfer(
                    Payload::File { id, direction },
                    (description, Some(path.to_string())),
                    text,
                    false,
                    now,
                );
            }
            (Then::CreateUnique, Response::Created { name }) => {
                let name = String::from_utf8_lossy(&line_safe(&name)).into_owned();
                let description = format!("upload of {}", name);
                // RFC 1123 §4.1.2.9: the 150 text names the file.
                let text = format!("FILE: {name}");
                let payload = Payload::File {
                    id,
                    direction: Direction::Upload,
                };
                self.begin_transfer(payload, (description, Some(name)), text, true, now);
            }
            (Then::Changed(change, reply), Response::Done) => {
                if self.config.notices {
                    self.notice(Notice::Changed {
                        change,
                        result: Ok(()),
                    });
                }
                self.send_reply(&reply)
            }
            (
                Then::Hash {
                    algorithm,
                    range,
                    shown,
                },
                Response::Hash { digest, size },
            ) => {
                // The reply's range is `start-end` with `end` one past the
                // last byte hashed: `0-<size>` for a whole file, as
                // ProFTPD's mod_digest writes it.
                let covered = match range {
                    None => Some((0, size)),
                    Some(range) => range.within(size),
                };
                let Some((offset, len)) = covered else {
                    return self.reply(
                        ReplyCode::INVALID_RESTART,
                        format!("Range starts past the end of the file ({size} bytes)."),
                    );
                };
                if digest.len() != algorithm.digest_len() {
                    return self.reply(
                        ReplyCode::LOCAL_ERROR,
                        "Local error: unexpected storage answer.",
                    );
                }
                let mut text = format!(
                    "{algorithm} {offset}-{} {} ",
                    offset + len,
                    crate::hash::hex(&digest)
                )
                .into_bytes();
                text.extend_from_slice(&line_safe(&shown));
                self.reply(ReplyCode::FILE_STATUS, Bytes::from(text));
            }
            (then, response) => {
                // A backend answered with the wrong kind of response.
                if let (
                    Then::Open { .. } | Then::CreateUnique,
                    Response::Opened { .. } | Response::Created { .. },
                ) = (&then, &response)
                {
                    self.push(Action::CloseFile(id));
                }
                self.reply(
                    ReplyCode::LOCAL_ERROR,
                    "Local error: unexpected storage answer.",
                );
            }
        }
    }

    fn storage_failed(&mut self, then: &Then, error: &StorageError) {
        if let (Then::Changed(change, _), true) = (then, self.config.notices) {
            self.notice(Notice::Changed {
                change: change.clone(),
                result: Err(error.clone()),
            });
        }
        let code = match error {
            StorageError::NotFound
            | StorageError::PermissionDenied
            | StorageError::AlreadyExists
            | StorageError::NotADirectory
            | StorageError::IsADirectory
            | StorageError::DirectoryNotEmpty => ReplyCode::FILE_NOT_AVAILABLE,
            StorageError::InvalidName => ReplyCode::FILE_NAME_NOT_ALLOWED,
            StorageError::StorageFull => ReplyCode::INSUFFICIENT_STORAGE,
            StorageError::QuotaExceeded => ReplyCode::STORAGE_ALLOCATION_EXCEEDED,
            StorageError::Busy => ReplyCode::FILE_UNAVAILABLE,
            StorageError::Other(_) => ReplyCode::LOCAL_ERROR,
        };
        let code = match (then, error) {
            // MLSD of something that is not a directory (RFC 3659 §7.2.2).
            (
                Then::List {
                    kind: ListKind::Mlsd,
                    ..
                },
                StorageError::NotADirectory,
            ) => ReplyCode::SYNTAX_ERROR_IN_ARGUMENTS,
            _ => code,
        };
        self.reply(code, format!("{error}."));
    }

    fn stat_listing(
        &mut self,
        entries: Option<Vec<DirEntry>>,
        metadata: &Metadata,
        wall: SystemTime,
    ) {
        let mut out = Vec::new();
        match &entries {
            Some(entries) => {
                for entry in listing::visible_entries(
                    entries,
                    ListOptions {
                        all: true,
                        recursive: false,
                    },
                ) {
                    listing::write_ls_line(&mut out, &entry.name, &entry.metadata, wall);
                }
            }
            None => listing::write_ls_line(&mut out, b".", metadata, wall),
        }
        let mut lines = vec![b"Status follows:".to_vec()];
        lines.extend(
            out.split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec()),
        );
        lines.push(b"End of status".to_vec());
        let code = if entries.is_some() {
            ReplyCode::DIRECTORY_STATUS
        } else {
            ReplyCode::FILE_STATUS
        };
        self.reply_lines(code, lines);
    }

    #[allow(clippy::too_many_arguments)]
    fn data_listing(
        &mut self,
        kind: ListKind,
        options: ListOptions,
        shown_as: Option<Bytes>,
        entries: Option<Vec<DirEntry>>,
        metadata: &Metadata,
        wall: SystemTime,
        now: Timestamp,
    ) {
        let writable = self.logged_in() == Some(Permissions::ReadWrite);
        let mut out = Vec::new();
        match (kind, &entries) {
            (ListKind::Mlsd, None) => {
                return self.reply(ReplyCode::SYNTAX_ERROR_IN_ARGUMENTS, "Not a directory.");
            }
            (ListKind::Mlsd, Some(entries)) => {
                for entry in listing::visible_entries(entries, options) {
                    listing::write_mlsx_entry(
                        &mut out,
                        &entry.name,
                        &entry.metadata,
                        self.facts,
                        writable,
                    );
                    out.extend_from_slice(b"\r\n");
                }
            }
            (ListKind::List, Some(entries)) => {
                for entry in listing::visible_entries(entries, options) {
                    listing::write_ls_line(&mut out, &entry.name, &entry.metadata, wall);
                }
            }
            (ListKind::List, None) => {
                let name = shown_as.clone().unwrap_or_default();
                listing::write_ls_line(&mut out, &line_safe(&name), metadata, wall);
            }
            (ListKind::Nlst, Some(entries)) => {
                // Names usable in later commands (RFC 1123 §4.1.2.7): with
                // a directory argument, prefixed by it.
                let prefix = shown_as.as_ref().map(|dir| {
                    let mut p = dir.to_vec();
                    if !p.ends_with(b"/") {
                        p.push(b'/');
                    }
                    p
                });
                for entry in listing::visible_entries(entries, options) {
                    if let Some(prefix) = &prefix {
                        out.extend_from_slice(prefix);
                    }
                    out.extend_from_slice(&entry.name);
                    out.extend_from_slice(b"\r\n");
                }
            }
            (ListKind::Nlst, None) => {
                out.extend_from_slice(&line_safe(&shown_as.clone().unwrap_or_default()));
                out.extend_from_slice(b"\r\n");
            }
        }
        let what = match kind {
            ListKind::List => "LIST",
            ListKind::Nlst => "NLST",
            ListKind::Mlsd => "MLSD",
        };
        let text = "Here comes the directory listing.".to_string();
        let payload = Payload::Listing(Bytes::from(out));
        self.begin_transfer(payload, (format!("{what} listing"), None), text, false, now);
    }
}

/// A command's argument as it goes on the wire, for logs; never a password.
fn loggable_argument(command: &Command) -> Option<Bytes> {
    if matches!(command, Command::Pass(_)) {
        return None;
    }
    let wire = command.to_bytes().ok()?;
    let start = command.verb().as_str().len() + 1;
    wire.get(start..wire.len().checked_sub(2)?)
        .map(Bytes::copy_from_slice)
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests;
