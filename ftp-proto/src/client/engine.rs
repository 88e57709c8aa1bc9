//! The client state machine.

use super::{
    Action, ClientConfig, ClientError, DataError, DataMode, Direction, Event, Features, Notice,
    OperationId, Output, StoreMode,
};
use crate::clock::Timestamp;
use crate::command::{AuthMechanism, Command, Password, ProtectionLevel, TransferType};
use crate::hostport;
use crate::line::{DM, IAC, IP};
use crate::listing::parse::{Line, ListingFormat, parse_listing, parse_mlsx_line};
use crate::pathname;
use crate::reply::{Reply, ReplyCode, ReplyParser};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::SystemTime;

/// What a single-command operation turns its reply into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Done,
    Path,
    Size,
    Modified,
    Entry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Retrieve,
    Store(StoreMode),
    StoreUnique,
    List,
    Mlsd,
    Nlst,
}

#[derive(Debug, Clone)]
struct TransferOp {
    kind: Kind,
    path: Option<Bytes>,
    offset: u64,
    ascii: bool,
}

#[derive(Debug, Clone)]
enum Op {
    Connect,
    Login {
        user: Bytes,
        password: Password,
        account: Option<Bytes>,
    },
    Simple {
        command: Command,
        expect: Expect,
    },
    Rename {
        from: Bytes,
        to: Bytes,
    },
    Transfer(TransferOp),
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoginStep {
    User,
    Pass,
    Acct,
    /// PBSZ 0, after a login on a protected control connection.
    Pbsz,
    /// PROT P.
    Prot,
    Feat,
    Opts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum XferStep {
    Type,
    Epsv,
    Pasv,
    Connecting,
    Listening,
    Eprt,
    Port,
    Rest,
    Command,
}

#[derive(Debug, Default)]
struct Progress {
    preliminary: bool,
    data_ready: bool,
    started: bool,
    data_done: Option<(u64, Result<(), DataError>)>,
    listing: Option<(Bytes, SystemTime)>,
    final_reply: Option<Reply>,
    stored_as: Option<Bytes>,
    aborting: bool,
    abort_sync_done: bool,
    absorbed: usize,
    listen_address: Option<SocketAddr>,
}

#[derive(Debug)]
enum Step {
    Greeting,
    /// AUTH TLS sent (`ssl`: AUTH SSL, the fallback).
    Auth {
        ssl: bool,
    },
    /// The control connection's TLS handshake runs.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Handshake,
    Login(LoginStep),
    Reply,
    /// TYPE I sent before SIZE: a size in TYPE A is undefined (servers
    /// refuse it or count line ends their own way, RFC 3659 §4).
    SizeType,
    RenameFrom,
    RenameTo,
    Transfer(XferStep),
    Quit,
}

#[derive(Debug)]
struct Current {
    id: OperationId,
    op: Op,
    step: Step,
    progress: Progress,
}

/// One control connection's client state. See the [module docs](super).
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    peer: SocketAddr,
    local: SocketAddr,
    replies: ReplyParser,
    actions: VecDeque<Action>,
    outcomes: VecDeque<(OperationId, Result<Output, ClientError>)>,
    queue: VecDeque<(OperationId, Op)>,
    current: Option<Current>,
    features: Features,
    epsv_ok: bool,
    eprt_ok: bool,
    ascii: Option<bool>,
    next_id: u64,
    now: Timestamp,
    reply_deadline: Option<Timestamp>,
    data_deadline: Option<Timestamp>,
    closed: bool,
    notices: VecDeque<Notice>,
    /// The control connection's TLS, once it started.
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsCodec>,
    /// PROT P accepted: data connections are protected.
    data_protected: bool,
    /// The control connection's handshake finished and was reported.
    #[cfg(feature = "tls")]
    tls_reported: bool,
}

use crate::hostport::canonical_ip as canonical;

/// Replies after which EPSV/EPRT is not tried again (RFC 2428 §3).
fn unsupported(code: ReplyCode) -> bool {
    matches!(code.get(), 500 | 501 | 502 | 522)
}

impl Client {
    /// A client for a control connection from `local` to `peer`. The first
    /// operation, [`OperationId`] 0, waits for the greeting and reports
    /// [`Output::Connected`].
    pub fn new(
        config: ClientConfig,
        peer: SocketAddr,
        local: SocketAddr,
        now: Timestamp,
    ) -> Client {
        let mut client = Client {
            peer,
            local,
            replies: ReplyParser::default(),
            actions: VecDeque::new(),
            outcomes: VecDeque::new(),
            queue: VecDeque::new(),
            current: None,
            features: Features::default(),
            epsv_ok: config.extended,
            eprt_ok: config.extended,
            ascii: None,
            next_id: 0,
            now,
            reply_deadline: None,
            data_deadline: None,
            closed: false,
            notices: VecDeque::new(),
            #[cfg(feature = "tls")]
            tls: None,
            data_protected: false,
            #[cfg(feature = "tls")]
            tls_reported: false,
            config,
        };
        client.queue.push_back((OperationId(0), Op::Connect));
        client.next_id = 1;
        client.start_next();
        #[cfg(feature = "tls")]
        if client.config.tls.as_ref().is_some_and(|tls| tls.implicit) {
            // Implicit FTPS: the handshake first, the greeting inside it.
            client.start_tls();
        }
        client
    }

    /// What the control connection's TLS negotiated, once it has.
    #[cfg(feature = "tls")]
    pub fn tls_summary(&self) -> Option<crate::tls::TlsSummary> {
        self.tls.as_ref().and_then(|tls| tls.summary())
    }

    /// What FEAT said.
    pub fn features(&self) -> &Features {
        &self.features
    }

    /// Whether the control connection is closed (or being closed).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether no operation runs or waits.
    pub fn is_idle(&self) -> bool {
        self.current.is_none() && self.queue.is_empty()
    }

    fn queue_op(&mut self, op: Op) -> OperationId {
        let id = OperationId(self.next_id);
        self.next_id += 1;
        if self.closed {
            self.outcomes
                .push_back((id, Err(ClientError::ConnectionClosed)));
            return id;
        }
        self.queue.push_back((id, op));
        if self.current.is_none() {
            self.start_next();
        }
        id
    }

    /// USER, PASS (and ACCT when asked for), then FEAT and what follows
    /// from it. Reports [`Output::LoggedIn`].
    pub fn login(&mut self, user: &[u8], password: &[u8], account: Option<&[u8]>) -> OperationId {
        self.queue_op(Op::Login {
            user: Bytes::copy_from_slice(user),
            password: Password(Bytes::copy_from_slice(password)),
            account: account.map(Bytes::copy_from_slice),
        })
    }

    fn simple(&mut self, command: Command, expect: Expect) -> OperationId {
        self.queue_op(Op::Simple { command, expect })
    }

    /// PWD: reports [`Output::Path`].
    pub fn pwd(&mut self) -> OperationId {
        self.simple(Command::Pwd, Expect::Path)
    }

    /// CWD.
    pub fn cwd(&mut self, path: &[u8]) -> OperationId {
        self.simple(Command::Cwd(Bytes::copy_from_slice(path)), Expect::Done)
    }

    /// CDUP.
    pub fn cdup(&mut self) -> OperationId {
        self.simple(Command::Cdup, Expect::Done)
    }

    /// MKD: reports [`Output::Path`] (the created path, when the server
    /// quotes it, else the one asked for).
    pub fn mkdir(&mut self, path: &[u8]) -> OperationId {
        self.simple(Command::Mkd(Bytes::copy_from_slice(path)), Expect::Path)
    }

    /// RMD.
    pub fn rmdir(&mut self, path: &[u8]) -> OperationId {
        self.simple(Command::Rmd(Bytes::copy_from_slice(path)), Expect::Done)
    }

    /// DELE.
    pub fn delete(&mut self, path: &[u8]) -> OperationId {
        self.simple(Command::Dele(Bytes::copy_from_slice(path)), Expect::Done)
    }

    /// RNFR then RNTO.
    pub fn rename(&mut self, from: &[u8], to: &[u8]) -> OperationId {
        self.queue_op(Op::Rename {
            from: Bytes::copy_from_slice(from),
            to: Bytes::copy_from_slice(to),
        })
    }

    /// SIZE, in TYPE I (sent first when the type is not known to be I):
    /// [`Output::Size`].
    pub fn size(&mut self, path: &[u8]) -> OperationId {
        self.simple(Command::Size(Bytes::copy_from_slice(path)), Expect::Size)
    }

    /// MDTM: [`Output::Modified`].
    pub fn mdtm(&mut self, path: &[u8]) -> OperationId {
        self.simple(
            Command::Mdtm(Bytes::copy_from_slice(path)),
            Expect::Modified,
        )
    }

    /// MFMT: sets a file's modification time (to the second), as
    /// mirroring keeps times; [`Output::Done`]. Servers that offer it list
    /// it in FEAT ([`Features::mfmt`]).
    pub fn set_modified(&mut self, path: &[u8], modified: std::time::SystemTime) -> OperationId {
        let time = crate::timeval::UtcDateTime::from_system_time(modified).time_val();
        // A time-val is 14 digits (and a fraction): whole seconds only.
        let seconds = time.get(..14).unwrap_or(&time);
        let mut argument = format!("{seconds} ").into_bytes();
        argument.extend_from_slice(path);
        self.simple(Command::Mfmt(argument.into()), Expect::Done)
    }

    /// MLST: [`Output::Entry`].
    pub fn mlst(&mut self, path: Option<&[u8]>) -> OperationId {
        self.simple(
            Command::Mlst(path.map(Bytes::copy_from_slice)),
            Expect::Entry,
        )
    }

    /// NOOP, for keep-alive.
    pub fn noop(&mut self) -> OperationId {
        self.simple(Command::Noop, Expect::Done)
    }

    /// TYPE A (`ascii`) or TYPE I. Transfers and SIZE set the type they
    /// need themselves.
    pub fn set_type(&mut self, ascii: bool) -> OperationId {
        let kind = if ascii {
            TransferType::Ascii(None)
        } else {
            TransferType::Image
        };
        self.simple(Command::Type(kind), Expect::Done)
    }

    /// QUIT, then close.
    pub fn quit(&mut self) -> OperationId {
        self.queue_op(Op::Quit)
    }

    fn transfer(
        &mut self,
        kind: Kind,
        path: Option<&[u8]>,
        offset: u64,
        ascii: bool,
    ) -> OperationId {
        self.queue_op(Op::Transfer(TransferOp {
            kind,
            path: path.map(Bytes::copy_from_slice),
            offset,
            ascii,
        }))
    }

    /// RETR from `offset` (REST when not 0): the caller moves the bytes on
    /// [`Action::Transfer`]. Reports [`Output::Transferred`].
    pub fn retrieve(&mut self, path: &[u8], offset: u64, ascii: bool) -> OperationId {
        self.transfer(Kind::Retrieve, Some(path), offset, ascii)
    }

    /// STOR, APPE, or REST then STOR.
    pub fn store(&mut self, path: &[u8], mode: StoreMode, ascii: bool) -> OperationId {
        let offset = match mode {
            StoreMode::Resume(offset) => offset,
            _ => 0,
        };
        self.transfer(Kind::Store(mode), Some(path), offset, ascii)
    }

    /// STOU: reports [`Output::StoredAs`].
    pub fn store_unique(&mut self, ascii: bool) -> OperationId {
        self.transfer(Kind::StoreUnique, None, 0, ascii)
    }

    /// MLSD when FEAT offers MLST, else LIST (and LIST if MLSD is refused
    /// as unknown): [`Output::Listing`].
    pub fn list(&mut self, path: Option<&[u8]>) -> OperationId {
        let kind = if self.features.mlst {
            Kind::Mlsd
        } else {
            Kind::List
        };
        self.transfer(kind, path, 0, true)
    }

    /// LIST, whatever FEAT says: [`Output::Listing`].
    pub fn list_long(&mut self, path: Option<&[u8]>) -> OperationId {
        self.transfer(Kind::List, path, 0, true)
    }

    /// NLST: [`Output::Names`]. A `550 No files found` reads as no names.
    pub fn nlst(&mut self, path: Option<&[u8]>) -> OperationId {
        self.transfer(Kind::Nlst, path, 0, true)
    }

    /// Aborts the running transfer: Telnet IP and Synch, ABOR, then NOOP to
    /// find the end of the replies, however many the server sends. The
    /// operation reports [`ClientError::Aborted`].
    pub fn abort(&mut self) {
        let Some(current) = &mut self.current else {
            return;
        };
        if !matches!(current.step, Step::Transfer(XferStep::Command)) || current.progress.aborting {
            return;
        }
        current.progress.aborting = true;
        let started = current.progress.started;
        if started && current.progress.data_done.is_none() {
            self.actions.push_back(Action::AbortTransfer);
        } else {
            self.actions.push_back(Action::CloseData);
        }
        if self.tls_required() {
            // Urgent data cannot cross TLS: the ABOR goes in line.
            self.write_control(Bytes::from_static(b"ABOR\r\nNOOP\r\n"));
        } else {
            self.actions
                .push_back(Action::SendUrgent(Bytes::from_static(&[IAC, IP, IAC])));
            let mut line = vec![DM];
            line.extend_from_slice(b"ABOR\r\nNOOP\r\n");
            self.actions.push_back(Action::Send(Bytes::from(line)));
        }
        self.reply_deadline = Some(self.now + self.config.reply_timeout);
    }

    /// Feeds bytes read from the control connection (ciphertext once TLS
    /// has started).
    pub fn handle_input(&mut self, bytes: &[u8], now: Timestamp) {
        self.now = now;
        if self.closed {
            return;
        }
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return self.handle_protected_input(bytes);
        }
        self.handle_plaintext(bytes);
    }

    fn handle_plaintext(&mut self, bytes: &[u8]) {
        self.replies.push(bytes);
        while let Some(reply) = self.replies.next_reply() {
            if self.closed {
                return;
            }
            match reply {
                Ok(reply) => {
                    if self.config.notices {
                        self.notices.push_back(Notice::Received(reply.clone()));
                    }
                    self.on_reply(reply);
                    #[cfg(feature = "tls")]
                    if matches!(
                        self.current.as_ref().map(|c| &c.step),
                        Some(Step::Handshake)
                    ) {
                        // Whatever followed the 234 in clear is not read.
                        return;
                    }
                }
                Err(error) => self.fatal(ClientError::MalformedReply(error)),
            }
        }
    }

    /// Ciphertext from a protected control connection.
    #[cfg(feature = "tls")]
    fn handle_protected_input(&mut self, bytes: &[u8]) {
        let Some(tls) = &mut self.tls else {
            return;
        };
        let received = tls.receive(bytes);
        let plaintext = tls.take_plaintext();
        let handshaking = tls.is_handshaking();
        self.flush_tls();
        if let Err(error) = received {
            return self.fatal(ClientError::Tls(error));
        }
        if !handshaking && !self.tls_reported {
            self.on_handshake_done();
        }
        if !plaintext.is_empty() {
            self.handle_plaintext(&plaintext);
        }
    }

    /// Starts TLS on the control connection: after the 234, or at once
    /// for implicit FTPS.
    #[cfg(feature = "tls")]
    fn start_tls(&mut self) {
        if self.replies.buffered() > 0 {
            // A reply injected in clear after the 234 (by the server or by
            // someone in the path) must not be read as the server's.
            return self.fatal(ClientError::Tls(crate::tls::TlsError::Protocol(
                "the server sent bytes in clear after 234, before TLS began".into(),
            )));
        }
        let codec = match &self.config.tls {
            Some(settings) => settings.connector.control_codec(),
            None => return,
        };
        match codec {
            Ok(codec) => {
                self.tls = Some(codec);
                if let Some(current) = &mut self.current
                    && matches!(current.step, Step::Auth { .. })
                {
                    current.step = Step::Handshake;
                }
                self.reply_deadline = Some(self.now + self.config.reply_timeout);
                self.flush_tls();
            }
            Err(error) => self.fatal(ClientError::Tls(error)),
        }
    }

    /// The control connection's handshake is done: explicit TLS completes
    /// the connect operation; implicit TLS waits on for the greeting.
    #[cfg(feature = "tls")]
    fn on_handshake_done(&mut self) {
        self.tls_reported = true;
        if self.config.notices
            && let Some(summary) = self.tls_summary()
        {
            self.notices.push_back(Notice::Protected {
                data: false,
                summary,
            });
        }
        if matches!(
            self.current.as_ref().map(|c| &c.step),
            Some(Step::Handshake)
        ) {
            self.succeed(Output::Connected);
        }
    }

    /// Sends what the control connection's TLS has to send.
    #[cfg(feature = "tls")]
    fn flush_tls(&mut self) {
        if let Some(out) = self.tls.as_mut().and_then(|tls| tls.take_transmit()) {
            self.actions.push_back(Action::Send(out));
        }
    }

    /// Writes to the control connection, through TLS once it started.
    fn write_control(&mut self, bytes: Bytes) {
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            if let Err(error) = tls.send(&bytes) {
                return self.fatal(ClientError::Tls(error));
            }
            return self.flush_tls();
        }
        self.actions.push_back(Action::Send(bytes));
    }

    /// Closes the control connection, with a close_notify under TLS.
    fn close_control(&mut self) {
        #[cfg(feature = "tls")]
        if let Some(tls) = &mut self.tls {
            tls.close();
            self.flush_tls();
        }
        self.actions.push_back(Action::Close);
    }

    fn tls_required(&self) -> bool {
        self.config.tls.is_some()
    }

    /// Feeds the outcome of an action.
    pub fn handle_event(&mut self, event: Event, now: Timestamp) {
        self.now = now;
        if self.closed {
            return;
        }
        match event {
            Event::ControlClosed => self.fatal(ClientError::ConnectionClosed),
            Event::DataConnected => self.on_data_connected(),
            Event::DataConnectFailed | Event::ListenFailed => {
                if self.in_transfer() {
                    self.data_deadline = None;
                    self.fail(ClientError::DataConnection);
                }
            }
            Event::Listening { address } => self.on_listening(address),
            Event::DataAccepted { peer } => self.on_data_accepted(peer),
            Event::TransferDone { bytes, result } => {
                if let Some(current) = self.transfer_progress() {
                    current.data_done = Some((bytes, result));
                    self.check_transfer();
                }
            }
            Event::ListingReceived { data, now: wall } => {
                if let Some(current) = self.transfer_progress() {
                    let len = data.len() as u64;
                    current.listing = Some((data, wall));
                    current.data_done = Some((len, Ok(())));
                    self.check_transfer();
                }
            }
        }
    }

    /// Tells the client the time is `now`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.now = now;
        if self.closed {
            return;
        }
        let expired = |deadline: Option<Timestamp>| deadline.is_some_and(|d| now >= d);
        if expired(self.reply_deadline) || expired(self.data_deadline) {
            // A transfer whose data connection failed first (it stalled,
            // or broke) and whose final reply then never came: the data's
            // failure is the cause to report.
            let error = match self.transfer_progress().and_then(|p| p.data_done.take()) {
                Some((_, Err(data))) => ClientError::Transfer(data),
                _ => ClientError::Timeout,
            };
            self.fatal(error);
        }
    }

    /// The next notice of the control dialogue, when
    /// [`ClientConfig::notices`] is on.
    pub fn poll_notice(&mut self) -> Option<Notice> {
        self.notices.pop_front()
    }

    /// The next action to perform.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next finished operation and its result.
    pub fn poll_outcome(&mut self) -> Option<(OperationId, Result<Output, ClientError>)> {
        self.outcomes.pop_front()
    }

    /// When [`Client::handle_timeout`] must be called next, if ever.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        match (self.reply_deadline, self.data_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---- plumbing -----------------------------------------------------------

    fn in_transfer(&self) -> bool {
        matches!(
            self.current.as_ref().map(|c| &c.step),
            Some(Step::Transfer(_))
        )
    }

    fn transfer_progress(&mut self) -> Option<&mut Progress> {
        match &mut self.current {
            Some(Current {
                step: Step::Transfer(_),
                progress,
                ..
            }) => Some(progress),
            _ => None,
        }
    }

    fn send(&mut self, command: &Command) -> bool {
        let mut out = BytesMut::new();
        match command.encode(&mut out) {
            Ok(()) => {
                if self.config.notices {
                    let shown = match command {
                        Command::Pass(_) => "PASS ****".to_string(),
                        _ => String::from_utf8_lossy(out.strip_suffix(b"\r\n").unwrap_or(&out))
                            .into_owned(),
                    };
                    self.notices.push_back(Notice::Sent(shown));
                }
                self.write_control(out.freeze());
                self.reply_deadline = Some(self.now + self.config.reply_timeout);
                true
            }
            Err(error) => {
                self.fail(ClientError::InvalidArgument(error));
                false
            }
        }
    }

    fn finish(&mut self, result: Result<Output, ClientError>) {
        if let Some(current) = self.current.take() {
            if matches!(current.step, Step::Transfer(_)) {
                self.actions.push_back(Action::CloseData);
            }
            self.outcomes.push_back((current.id, result));
        }
        self.reply_deadline = None;
        self.data_deadline = None;
        self.start_next();
    }

    fn succeed(&mut self, output: Output) {
        self.finish(Ok(output));
    }

    fn fail(&mut self, error: ClientError) {
        self.finish(Err(error));
    }

    /// The connection cannot go on: fail everything and close.
    fn fatal(&mut self, error: ClientError) {
        let queued: Vec<(OperationId, Op)> = self.queue.drain(..).collect();
        if let Some(current) = self.current.take() {
            self.outcomes.push_back((current.id, Err(error)));
        }
        for (id, _) in queued {
            self.outcomes
                .push_back((id, Err(ClientError::ConnectionClosed)));
        }
        self.actions.push_back(Action::CloseData);
        self.close_control();
        self.reply_deadline = None;
        self.data_deadline = None;
        self.closed = true;
    }

    fn start_next(&mut self) {
        if self.current.is_some() || self.closed {
            return;
        }
        let Some((id, op)) = self.queue.pop_front() else {
            return;
        };
        let step = match &op {
            Op::Connect => {
                self.reply_deadline = Some(self.now + self.config.reply_timeout);
                Step::Greeting
            }
            Op::Login { .. } => Step::Login(LoginStep::User),
            Op::Simple {
                command: Command::Size(_),
                ..
            } if self.ascii != Some(false) => Step::SizeType,
            Op::Simple { .. } => Step::Reply,
            Op::Rename { .. } => Step::RenameFrom,
            Op::Transfer(_) => Step::Transfer(XferStep::Type),
            Op::Quit => Step::Quit,
        };
        self.current = Some(Current {
            id,
            op: op.clone(),
            step,
            progress: Progress::default(),
        });
        match op {
            Op::Connect => {}
            Op::Login { user, .. } => {
                self.send(&Command::User(user));
            }
            Op::Simple { command, .. } => {
                if let Step::SizeType = self.current.as_ref().map_or(&Step::Reply, |c| &c.step) {
                    self.send(&Command::Type(TransferType::Image));
                } else {
                    self.send(&command);
                }
            }
            Op::Rename { from, .. } => {
                self.send(&Command::Rnfr(from));
            }
            Op::Quit => {
                self.send(&Command::Quit);
            }
            Op::Transfer(transfer) => self.begin_transfer(&transfer),
        }
    }

    // ---- replies ------------------------------------------------------------

    fn on_reply(&mut self, reply: Reply) {
        let Some(current) = &self.current else {
            if reply.code == ReplyCode::SERVICE_NOT_AVAILABLE {
                self.fatal(ClientError::Rejected(reply));
            }
            return;
        };
        if current.progress.aborting {
            return self.on_abort_reply(reply);
        }
        // A 1yz to anything but a transfer command: another reply follows.
        let transfer_command = matches!(current.step, Step::Transfer(XferStep::Command));
        if reply.code.is_preliminary()
            && !transfer_command
            && !matches!(current.step, Step::Greeting)
        {
            return;
        }
        if reply.code == ReplyCode::SERVICE_NOT_AVAILABLE && !transfer_command {
            return self.fatal(ClientError::Rejected(reply));
        }
        let op = current.op.clone();
        match current.step {
            Step::Greeting => self.on_greeting(reply),
            Step::Auth { ssl } => self.on_auth(ssl, reply),
            Step::Handshake => self.fatal(ClientError::UnexpectedReply(reply)),
            Step::Login(step) => self.on_login(step, &op, reply),
            Step::Reply => match op {
                Op::Simple { expect, command } => self.on_simple(expect, &command, reply),
                _ => self.fail(ClientError::UnexpectedReply(reply)),
            },
            Step::SizeType => match (reply.code.is_completion(), op) {
                (true, Op::Simple { command, .. }) => {
                    self.ascii = Some(false);
                    self.set_step(Step::Reply);
                    self.send(&command);
                }
                _ => self.fail(ClientError::Rejected(reply)),
            },
            Step::RenameFrom => match (reply.code.is_intermediate(), op) {
                (true, Op::Rename { to, .. }) => {
                    self.set_step(Step::RenameTo);
                    self.send(&Command::Rnto(to));
                }
                _ => self.fail(ClientError::Rejected(reply)),
            },
            Step::RenameTo | Step::Quit => {
                let quitting = matches!(op, Op::Quit);
                if reply.code.is_completion() {
                    self.succeed(Output::Done);
                } else {
                    self.fail(ClientError::Rejected(reply));
                }
                if quitting {
                    self.close_control();
                    self.closed = true;
                }
            }
            Step::Transfer(step) => {
                if let Op::Transfer(transfer) = op {
                    self.on_transfer_reply(step, &transfer, reply);
                }
            }
        }
    }

    fn set_step(&mut self, step: Step) {
        if let Some(current) = &mut self.current {
            current.step = step;
        }
    }

    fn on_greeting(&mut self, reply: Reply) {
        match reply.code.get() {
            120..=129 => {
                // Ready in a while: keep waiting, with a fresh deadline.
                self.reply_deadline = Some(self.now + self.config.reply_timeout);
            }
            220 => match &self.config.tls {
                Some(settings) if self.tls_pending(settings) => {
                    self.set_step(Step::Auth { ssl: false });
                    self.send(&Command::Auth(AuthMechanism::Tls));
                }
                _ => self.succeed(Output::Connected),
            },
            _ => self.fatal(ClientError::Rejected(reply)),
        }
    }

    /// Whether explicit TLS is still to start (the greeting came in clear).
    #[cfg(feature = "tls")]
    fn tls_pending(&self, settings: &super::TlsSettings) -> bool {
        !settings.implicit && self.tls.is_none()
    }

    #[cfg(not(feature = "tls"))]
    fn tls_pending(&self, settings: &super::TlsSettings) -> bool {
        match *settings {}
    }

    /// The reply to AUTH: 234 starts TLS; anything else is a refusal,
    /// never a reason to go on in clear.
    fn on_auth(&mut self, ssl: bool, reply: Reply) {
        if reply.code.get() == 234 {
            #[cfg(feature = "tls")]
            self.start_tls();
            return;
        }
        let fallback = self
            .config
            .tls
            .as_ref()
            .is_some_and(|settings| self.auth_ssl_fallback(settings));
        if !ssl && fallback && reply.code.is_negative() {
            self.set_step(Step::Auth { ssl: true });
            self.send(&Command::Auth(AuthMechanism::Ssl));
        } else {
            self.fatal(ClientError::TlsNotOffered(reply));
        }
    }

    #[cfg(feature = "tls")]
    fn auth_ssl_fallback(&self, settings: &super::TlsSettings) -> bool {
        settings.auth_ssl_fallback
    }

    #[cfg(not(feature = "tls"))]
    fn auth_ssl_fallback(&self, settings: &super::TlsSettings) -> bool {
        match *settings {}
    }

    fn on_login(&mut self, step: LoginStep, op: &Op, reply: Reply) {
        let Op::Login {
            password, account, ..
        } = op
        else {
            return;
        };
        let code = reply.code.get();
        match step {
            LoginStep::User | LoginStep::Pass | LoginStep::Acct => match code {
                230 | 202 if self.tls_required() => {
                    // Data connections under TLS too (RFC 4217 §9).
                    self.set_step(Step::Login(LoginStep::Pbsz));
                    self.send(&Command::Pbsz(0));
                }
                230 | 202 => {
                    self.set_step(Step::Login(LoginStep::Feat));
                    self.send(&Command::Feat);
                }
                331 if step == LoginStep::User => {
                    self.set_step(Step::Login(LoginStep::Pass));
                    self.send(&Command::Pass(password.clone()));
                }
                332 => match account {
                    Some(account) if step != LoginStep::Acct => {
                        self.set_step(Step::Login(LoginStep::Acct));
                        self.send(&Command::Acct(account.clone()));
                    }
                    _ => self.fail(ClientError::Rejected(reply)),
                },
                _ if reply.code.is_negative() => self.fail(ClientError::Rejected(reply)),
                _ => self.fail(ClientError::UnexpectedReply(reply)),
            },
            LoginStep::Pbsz if reply.code.is_completion() => {
                self.set_step(Step::Login(LoginStep::Prot));
                self.send(&Command::Prot(ProtectionLevel::Private));
            }
            LoginStep::Prot if reply.code.is_completion() => {
                self.data_protected = true;
                self.set_step(Step::Login(LoginStep::Feat));
                self.send(&Command::Feat);
            }
            // Data in clear was not asked for: the login fails.
            LoginStep::Pbsz | LoginStep::Prot => self.fail(ClientError::Rejected(reply)),
            LoginStep::Feat => {
                self.features = parse_features(&reply);
                if self.features.utf8 {
                    self.set_step(Step::Login(LoginStep::Opts));
                    self.send(&Command::Opts {
                        command: Bytes::from_static(b"UTF8"),
                        options: Some(Bytes::from_static(b"ON")),
                    });
                } else {
                    self.succeed(Output::LoggedIn);
                }
            }
            // Servers may refuse OPTS UTF8 ON (pure-ftpd answers 504):
            // names are UTF-8 either way (RFC 2640).
            LoginStep::Opts => self.succeed(Output::LoggedIn),
        }
    }

    fn on_simple(&mut self, expect: Expect, command: &Command, reply: Reply) {
        if !reply.code.is_completion() {
            return self.fail(ClientError::Rejected(reply));
        }
        if let Command::Type(kind) = command {
            self.ascii = Some(!matches!(
                kind,
                TransferType::Image | TransferType::Local(8)
            ));
        }
        let output = match expect {
            Expect::Done => Some(Output::Done),
            Expect::Path => match pathname::unquote(reply.first_line()) {
                Some(path) => Some(Output::Path(path)),
                None => match command {
                    Command::Mkd(path) => Some(Output::Path(path.clone())),
                    _ => None,
                },
            },
            Expect::Size => std::str::from_utf8(reply.first_line().trim_ascii())
                .ok()
                .and_then(|t| t.parse().ok())
                .map(Output::Size),
            Expect::Modified => {
                crate::listing::parse::parse_time_val(reply.first_line().trim_ascii())
                    .map(Output::Modified)
            }
            Expect::Entry => reply.lines.get(1).and_then(|line| {
                match parse_mlsx_line(line.strip_prefix(b" ").unwrap_or(line)) {
                    Line::Entry(entry) => Some(Output::Entry(entry)),
                    _ => None,
                }
            }),
        };
        match output {
            Some(output) => self.succeed(output),
            None => self.fail(ClientError::BadReplyText(reply)),
        }
    }

    // ---- transfers ----------------------------------------------------------

    fn begin_transfer(&mut self, transfer: &TransferOp) {
        #[cfg(feature = "tls")]
        if self.tls_required() && !self.data_protected {
            // TLS was asked for; data in clear was not.
            return self.fail(ClientError::Tls(crate::tls::TlsError::Protocol(
                "data protection (PROT P) is not in force: log in first".into(),
            )));
        }
        let needs_type = matches!(
            transfer.kind,
            Kind::Retrieve | Kind::Store(_) | Kind::StoreUnique
        );
        if needs_type && self.ascii != Some(transfer.ascii) {
            self.set_step(Step::Transfer(XferStep::Type));
            let kind = if transfer.ascii {
                TransferType::Ascii(None)
            } else {
                TransferType::Image
            };
            self.send(&Command::Type(kind));
        } else {
            self.open_data();
        }
    }

    fn open_data(&mut self) {
        match self.config.mode {
            DataMode::Passive if self.epsv_ok => {
                self.set_step(Step::Transfer(XferStep::Epsv));
                self.send(&Command::Epsv(None));
            }
            DataMode::Passive => {
                self.set_step(Step::Transfer(XferStep::Pasv));
                self.send(&Command::Pasv);
            }
            DataMode::Active => {
                self.set_step(Step::Transfer(XferStep::Listening));
                self.actions.push_back(Action::ListenData {
                    ip: self.local.ip(),
                });
                self.data_deadline = Some(self.now + self.config.data_timeout);
            }
        }
    }

    fn connect_to(&mut self, to: SocketAddr) {
        self.set_step(Step::Transfer(XferStep::Connecting));
        self.reply_deadline = None;
        self.actions.push_back(Action::ConnectData { to });
        self.data_deadline = Some(self.now + self.config.data_timeout);
    }

    fn on_listening(&mut self, address: SocketAddr) {
        if !matches!(
            self.current.as_ref().map(|c| &c.step),
            Some(Step::Transfer(XferStep::Listening))
        ) {
            return;
        }
        self.data_deadline = None;
        if let Some(progress) = self.transfer_progress() {
            progress.listen_address = Some(address);
        }
        self.send_port(address);
    }

    fn send_port(&mut self, address: SocketAddr) {
        if self.eprt_ok {
            self.set_step(Step::Transfer(XferStep::Eprt));
            self.send(&Command::Eprt(address));
        } else if let SocketAddr::V4(v4) = address {
            self.set_step(Step::Transfer(XferStep::Port));
            self.send(&Command::Port(v4));
        } else {
            self.fail(ClientError::DataConnection);
        }
    }

    fn on_data_connected(&mut self) {
        if matches!(
            self.current.as_ref().map(|c| &c.step),
            Some(Step::Transfer(XferStep::Connecting))
        ) {
            self.data_deadline = None;
            if let Some(progress) = self.transfer_progress() {
                progress.data_ready = true;
            }
            self.after_data_setup();
        }
    }

    fn on_data_accepted(&mut self, peer: SocketAddr) {
        if !matches!(
            self.current.as_ref().map(|c| &c.step),
            Some(Step::Transfer(XferStep::Command))
        ) {
            if self.in_transfer() {
                // Early: the server connected before our command was
                // answered; keep it, as servers may wait for the connection
                // before their 150 (RFC 4217 §12.5 note).
                if canonical(peer.ip()) == canonical(self.peer.ip()) {
                    if let Some(progress) = self.transfer_progress() {
                        progress.data_ready = true;
                    }
                } else {
                    self.actions.push_back(Action::RejectData);
                }
            }
            return;
        }
        if canonical(peer.ip()) != canonical(self.peer.ip()) {
            // Data hijack (RFC 2577 §4): only the server may connect.
            self.actions.push_back(Action::RejectData);
            return;
        }
        self.data_deadline = None;
        if let Some(progress) = self.transfer_progress() {
            progress.data_ready = true;
        }
        self.maybe_start();
    }

    fn after_data_setup(&mut self) {
        let Some(Current {
            op: Op::Transfer(transfer),
            ..
        }) = &self.current
        else {
            return;
        };
        let transfer = transfer.clone();
        if transfer.offset > 0 {
            self.set_step(Step::Transfer(XferStep::Rest));
            self.send(&Command::Rest(transfer.offset));
        } else {
            self.send_transfer_command(&transfer);
        }
    }

    fn send_transfer_command(&mut self, transfer: &TransferOp) {
        self.set_step(Step::Transfer(XferStep::Command));
        let path = transfer.path.clone();
        let required = path.clone().unwrap_or_default();
        let command = match transfer.kind {
            Kind::Retrieve => Command::Retr(required),
            Kind::Store(StoreMode::Append) => Command::Appe(required),
            Kind::Store(_) => Command::Stor(required),
            Kind::StoreUnique => Command::Stou(None),
            Kind::List => Command::List(path),
            Kind::Mlsd => Command::Mlsd(path),
            Kind::Nlst => Command::Nlst(path),
        };
        if self.send(&command) && self.config.mode == DataMode::Active {
            self.data_deadline = Some(self.now + self.config.data_timeout);
        }
    }

    fn maybe_start(&mut self) {
        let Some(Current {
            op: Op::Transfer(transfer),
            progress,
            ..
        }) = &mut self.current
        else {
            return;
        };
        if progress.started || !progress.data_ready || !progress.preliminary {
            return;
        }
        progress.started = true;
        let kind = transfer.kind;
        let ascii = transfer.ascii;
        let tls = self.data_tls();
        let action = match kind {
            Kind::Retrieve => Action::Transfer {
                direction: Direction::Download,
                ascii,
                tls,
            },
            Kind::Store(_) | Kind::StoreUnique => Action::Transfer {
                direction: Direction::Upload,
                ascii,
                tls,
            },
            Kind::List | Kind::Mlsd | Kind::Nlst => Action::ReceiveListing { tls },
        };
        self.actions.push_back(action);
        // The final reply comes after the data: no reply deadline while the
        // bytes move.
        self.reply_deadline = None;
    }

    /// A 227: connect to its port, at its address only when trusted (the
    /// control connection's peer otherwise: RFC 2577 §3, and NAT).
    fn on_pasv_reply(&mut self, reply: Reply) {
        let text = reply.lines.concat();
        match hostport::parse_pasv_reply(&text) {
            Some(addr) if self.config.trust_pasv_address => self.connect_to(SocketAddr::V4(addr)),
            Some(addr) => self.connect_to(SocketAddr::new(self.peer.ip(), addr.port())),
            None => self.fail(ClientError::BadReplyText(reply)),
        }
    }

    fn on_transfer_reply(&mut self, step: XferStep, transfer: &TransferOp, reply: Reply) {
        let code = reply.code;
        match step {
            XferStep::Type => {
                if code.is_completion() {
                    self.ascii = Some(transfer.ascii);
                    self.open_data();
                } else {
                    self.fail(ClientError::Rejected(reply));
                }
            }
            XferStep::Epsv => {
                if code == ReplyCode::ENTERING_EXTENDED_PASSIVE_MODE {
                    match hostport::parse_epsv_reply(reply.first_line()) {
                        Some(port) => self.connect_to(SocketAddr::new(self.peer.ip(), port)),
                        None => self.fail(ClientError::BadReplyText(reply)),
                    }
                } else if code == ReplyCode::ENTERING_PASSIVE_MODE {
                    // Some servers answer EPSV as if it were PASV
                    // (basic-ftp #135): the 227 is read as PASV's.
                    self.on_pasv_reply(reply);
                } else if unsupported(code) {
                    self.epsv_ok = false;
                    self.set_step(Step::Transfer(XferStep::Pasv));
                    self.send(&Command::Pasv);
                } else {
                    self.fail(ClientError::Rejected(reply));
                }
            }
            XferStep::Pasv => {
                if code != ReplyCode::ENTERING_PASSIVE_MODE {
                    return self.fail(ClientError::Rejected(reply));
                }
                self.on_pasv_reply(reply);
            }
            XferStep::Eprt | XferStep::Port => {
                if code.is_completion() {
                    self.after_data_setup();
                } else if step == XferStep::Eprt && unsupported(code) {
                    self.eprt_ok = false;
                    let address = self
                        .current
                        .as_ref()
                        .and_then(|c| c.progress.listen_address);
                    match address {
                        Some(address) => self.send_port(address),
                        None => self.fail(ClientError::DataConnection),
                    }
                } else {
                    self.fail(ClientError::Rejected(reply));
                }
            }
            XferStep::Rest => {
                if code.is_intermediate() {
                    self.send_transfer_command(transfer);
                } else {
                    self.fail(ClientError::Rejected(reply));
                }
            }
            XferStep::Command => self.on_command_reply(transfer, reply),
            XferStep::Connecting | XferStep::Listening => {
                self.fail(ClientError::UnexpectedReply(reply))
            }
        }
    }

    fn on_command_reply(&mut self, transfer: &TransferOp, reply: Reply) {
        let code = reply.code;
        let Some(progress) = self.transfer_progress() else {
            return;
        };
        if code.is_preliminary() {
            if progress.preliminary {
                // At most one 1yz per command (RFC 959 §4.2).
                return self.fail(ClientError::UnexpectedReply(reply));
            }
            progress.preliminary = true;
            if transfer.kind == Kind::StoreUnique {
                progress.stored_as = stou_name(&reply);
            }
            return self.maybe_start();
        }
        if !progress.started {
            if code.is_completion() {
                // The final reply can come before the data connection is
                // seen (the server connects, sends and closes before we
                // accept), or with no 1yz at all: take what the connection
                // holds once it is there.
                progress.preliminary = true;
                progress.final_reply = Some(reply);
                return self.maybe_start();
            }
            if transfer.kind == Kind::Nlst && code == ReplyCode::FILE_NOT_AVAILABLE {
                let text = String::from_utf8_lossy(&reply.lines.concat()).to_ascii_lowercase();
                if text.contains("no files")
                    || text.contains("no such file") && transfer.path.is_none()
                {
                    return self.succeed(Output::Names(Vec::new()));
                }
            }
            if transfer.kind == Kind::Mlsd && matches!(code.get(), 500 | 502) {
                // MLSD unknown after all: LIST on a fresh data connection.
                self.features.mlst = false;
                self.actions.push_back(Action::CloseData);
                let mut fallback = transfer.clone();
                fallback.kind = Kind::List;
                if let Some(current) = &mut self.current {
                    current.op = Op::Transfer(fallback.clone());
                    current.progress = Progress::default();
                }
                return self.begin_transfer(&fallback);
            }
            return self.fail(ClientError::Rejected(reply));
        }
        progress.final_reply = Some(reply);
        self.check_transfer();
    }

    /// The protection of the next data connection: the control
    /// connection's server name and session store.
    fn data_tls(&self) -> Option<super::DataTls> {
        #[cfg(feature = "tls")]
        if self.data_protected {
            return self
                .config
                .tls
                .as_ref()
                .map(|settings| settings.connector.data());
        }
        None
    }

    /// Both the data and the final reply are in: report.
    fn check_transfer(&mut self) {
        let Some(Current {
            op: Op::Transfer(transfer),
            progress,
            ..
        }) = &mut self.current
        else {
            return;
        };
        if progress.aborting {
            if progress.abort_sync_done && (progress.data_done.is_some() || !progress.started) {
                self.fail(ClientError::Aborted);
            }
            return;
        }
        if !progress.started {
            return;
        }
        if progress.final_reply.is_none() {
            if progress.data_done.is_some() {
                self.reply_deadline = Some(self.now + self.config.reply_timeout);
            }
            return;
        }
        let Some((bytes, data_result)) = progress.data_done.take() else {
            return;
        };
        let Some(reply) = progress.final_reply.take() else {
            return;
        };
        let kind = transfer.kind;
        let listing = progress.listing.take();
        let stored_as = progress.stored_as.take();
        if let Err(error) = data_result {
            return self.fail(ClientError::Transfer(error));
        }
        if !reply.code.is_completion() {
            return self.fail(ClientError::Rejected(reply));
        }
        let output = match kind {
            Kind::Retrieve | Kind::Store(_) => Output::Transferred { bytes },
            Kind::StoreUnique => Output::StoredAs {
                name: stored_as.unwrap_or_default(),
                bytes,
            },
            Kind::List | Kind::Mlsd | Kind::Nlst => {
                let (data, wall) = listing.unwrap_or((Bytes::new(), SystemTime::UNIX_EPOCH));
                match kind {
                    Kind::Nlst => {
                        let names = parse_listing(&data, ListingFormat::Nlst, wall)
                            .entries
                            .into_iter()
                            .map(|e| e.name)
                            .collect();
                        Output::Names(names)
                    }
                    Kind::Mlsd => Output::Listing(parse_listing(&data, ListingFormat::Mlsd, wall)),
                    _ => Output::Listing(parse_listing(&data, ListingFormat::List, wall)),
                }
            }
        };
        self.succeed(output);
    }

    fn on_abort_reply(&mut self, reply: Reply) {
        let Some(progress) = self.transfer_progress() else {
            return;
        };
        progress.absorbed += 1;
        // ABOR's replies (426/451/225/226), then NOOP's 200.
        if reply.code == ReplyCode::COMMAND_OK {
            progress.abort_sync_done = true;
            self.check_transfer();
        } else if progress.absorbed > 4 {
            self.fatal(ClientError::UnexpectedReply(reply));
        }
    }
}

/// `150 FILE: name` (RFC 1123 §4.1.2.9); some servers write other text.
fn stou_name(reply: &Reply) -> Option<Bytes> {
    let text = reply.first_line();
    let at = text
        .windows(5)
        .position(|w| w.eq_ignore_ascii_case(b"FILE:"))?;
    let name = text.get(at + 5..)?.trim_ascii();
    (!name.is_empty()).then(|| Bytes::copy_from_slice(name))
}

/// Reads a FEAT reply (RFC 2389 §3.2): feature lines start with one space.
fn parse_features(reply: &Reply) -> Features {
    let mut features = Features {
        known: reply.code == ReplyCode::SYSTEM_STATUS,
        ..Features::default()
    };
    if !features.known || reply.lines.len() < 2 {
        return features;
    }
    let middle = reply
        .lines
        .get(1..reply.lines.len() - 1)
        .unwrap_or_default();
    for line in middle {
        let text = String::from_utf8_lossy(line).trim().to_string();
        let label = text
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match label.as_str() {
            "MLST" | "MLSD" => features.mlst = true,
            "UTF8" => features.utf8 = true,
            "SIZE" => features.size = true,
            "MDTM" => features.mdtm = true,
            "MFMT" => features.mfmt = true,
            "EPSV" => features.epsv = true,
            "REST" if text.to_ascii_uppercase().contains("STREAM") => features.rest_stream = true,
            _ => {}
        }
        if !text.is_empty() {
            features.lines.push(text);
        }
    }
    features
}

#[cfg(test)]
mod tests;
