//! The client engine against our server engine, in memory (a pair
//! harness, as quinn-proto drives two endpoints), and against scripted
//! replies for what our server never does.

use super::*;
use crate::client::{ClientConfig, DataMode, Direction, Event, Notice, OperationId, Output};
use crate::server::harness::MemoryFs;
use crate::server::{self, Permissions, ServerConfig, Session};
use crate::storage::{Request, Response, WriteMode};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

mod pair_properties;
#[cfg(feature = "tls")]
mod tls;

const CLIENT: &str = "127.0.0.1:40000";
const SERVER: &str = "127.0.0.1:21";

/// Client and server engines joined in memory.
struct Pair {
    client: Client,
    server: Session,
    fs: MemoryFs,
    now: Timestamp,
    /// What the client's downloads received.
    received: Vec<u8>,
    /// What the client's uploads send.
    upload: Vec<u8>,
    outcomes: Vec<(OperationId, Result<Output, ClientError>)>,
    /// Server-side open files: path, offset or write mode.
    open: HashMap<server::RequestId, (crate::path::VirtualPath, Option<u64>, Option<WriteMode>)>,
    server_listening: bool,
    client_listening: bool,
    client_wants: Option<Action>,
    server_wants: Option<server::Action>,
    server_file: Option<server::RequestId>,
    log: Vec<String>,
    /// Control bytes on their way, each way: delivered in pieces whose
    /// sizes `splits` gives in turn (whole when empty).
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    splits: Vec<usize>,
    next_split: usize,
    /// What each protected data connection's handshake negotiated, seen
    /// from the client.
    #[cfg(feature = "tls")]
    data_tls: Vec<crate::tls::TlsSummary>,
    /// Cut the next protected data connection before its close_notify.
    #[cfg(feature = "tls")]
    truncate_next: bool,
}

impl Pair {
    fn new(mode: DataMode) -> Pair {
        let config = ServerConfig {
            allow_anonymous: true,
            ..ServerConfig::default()
        };
        let client = ClientConfig {
            mode,
            ..ClientConfig::default()
        };
        Pair::with(client, config, false)
    }

    /// A pair with these settings; `implicit`: the server session starts
    /// with TLS (implicit FTPS).
    fn with(client: ClientConfig, config: ServerConfig, implicit: bool) -> Pair {
        let now = Timestamp::ZERO;
        let mut fs = MemoryFs::new();
        fs.dir("/pub")
            .file("/pub/a.txt", b"hello\nworld\n")
            .file("/readme", b"read me");
        let config = Arc::new(config);
        let (peer, local) = (CLIENT.parse().unwrap(), SERVER.parse().unwrap());
        #[cfg(feature = "tls")]
        let server = if implicit {
            Session::new_implicit(config, peer, local, now)
        } else {
            Session::new(config, peer, local, now)
        };
        #[cfg(not(feature = "tls"))]
        let server = {
            assert!(!implicit);
            Session::new(config, peer, local, now)
        };
        let mut pair = Pair {
            client: Client::new(
                client,
                SERVER.parse().unwrap(),
                CLIENT.parse().unwrap(),
                now,
            ),
            server,
            fs,
            now,
            received: Vec::new(),
            upload: Vec::new(),
            outcomes: Vec::new(),
            open: HashMap::new(),
            server_listening: false,
            client_listening: false,
            client_wants: None,
            server_wants: None,
            server_file: None,
            log: Vec::new(),
            to_server: Vec::new(),
            to_client: Vec::new(),
            splits: Vec::new(),
            next_split: 0,
            #[cfg(feature = "tls")]
            data_tls: Vec::new(),
            #[cfg(feature = "tls")]
            truncate_next: false,
        };
        pair.run();
        pair
    }

    /// The size of the next piece of control bytes delivered.
    fn split(&mut self, available: usize) -> usize {
        if self.splits.is_empty() {
            return available;
        }
        let n = self.splits[self.next_split % self.splits.len()];
        self.next_split += 1;
        n.clamp(1, available)
    }

    /// Delivers a piece of the control bytes on their way, each way.
    fn deliver(&mut self) -> bool {
        let mut progressed = false;
        if !self.to_server.is_empty() {
            let n = self.split(self.to_server.len());
            let piece: Vec<u8> = self.to_server.drain(..n).collect();
            self.server.handle_input(&piece, self.now);
            progressed = true;
        }
        if !self.to_client.is_empty() {
            let n = self.split(self.to_client.len());
            let piece: Vec<u8> = self.to_client.drain(..n).collect();
            self.client.handle_input(&piece, self.now);
            progressed = true;
        }
        progressed
    }

    /// Runs, stepping the simulated clock to the earlier of both sides'
    /// deadlines whenever nothing else moves, until the client has no
    /// operation left.
    fn settle(&mut self) {
        for _ in 0..100 {
            self.run();
            if self.client.is_idle() {
                return;
            }
            let next = match (self.client.poll_timeout(), self.server.poll_timeout()) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => return,
            };
            self.now = self.now.max(next);
            self.client.handle_timeout(self.now);
            self.server.handle_timeout(self.now);
        }
        panic!("no end in simulated time: {:?}", self.log);
    }

    fn logged_in(mode: DataMode) -> Pair {
        let mut pair = Pair::new(mode);
        let id = pair.client.login(b"alice", b"secret", None);
        assert_eq!(pair.result(id), Ok(Output::LoggedIn));
        pair
    }

    /// Runs until neither side has anything left to do.
    fn run(&mut self) {
        for _ in 0..10_000 {
            let mut progressed = false;
            while let Some(action) = self.client.poll_action() {
                progressed = true;
                self.client_action(action);
            }
            while let Some(action) = self.server.poll_action() {
                progressed = true;
                self.server_action(action);
            }
            while let Some(outcome) = self.client.poll_outcome() {
                progressed = true;
                self.outcomes.push(outcome);
            }
            progressed |= self.move_data();
            progressed |= self.deliver();
            if !progressed {
                return;
            }
        }
        panic!("no quiescence: {:?}", self.log);
    }

    fn result(&mut self, id: OperationId) -> Result<Output, ClientError> {
        self.run();
        let at = self
            .outcomes
            .iter()
            .position(|(i, _)| *i == id)
            .unwrap_or_else(|| panic!("no outcome for {id:?}: {:?}", self.log));
        self.outcomes.remove(at).1
    }

    fn client_action(&mut self, action: Action) {
        self.log.push(format!("client {action:?}"));
        match action {
            Action::Send(bytes) | Action::SendUrgent(bytes) => {
                self.to_server.extend_from_slice(&bytes)
            }
            Action::ConnectData { .. } => {
                assert!(self.server_listening, "client connects to nothing");
                self.server.handle_event(
                    server::Event::DataIncoming {
                        peer: CLIENT.parse().unwrap(),
                    },
                    self.now,
                );
                self.client.handle_event(Event::DataConnected, self.now);
            }
            Action::ListenData { ip } => {
                self.client_listening = true;
                self.client.handle_event(
                    Event::Listening {
                        address: SocketAddr::new(ip, 40001),
                    },
                    self.now,
                );
            }
            Action::Transfer { .. } | Action::ReceiveListing { .. } => {
                self.client_wants = Some(action)
            }
            Action::AbortTransfer => {
                self.client_wants = None;
                self.client.handle_event(
                    Event::TransferDone {
                        bytes: 0,
                        result: Err(DataError::Aborted),
                    },
                    self.now,
                );
                if self.server_wants.take().is_some() {
                    self.server.handle_event(
                        server::Event::TransferDone {
                            bytes: 0,
                            result: Err(server::TransferError::ConnectionLost),
                        },
                        self.now,
                    );
                }
            }
            Action::RejectData | Action::CloseData | Action::Close => {}
        }
    }

    fn server_action(&mut self, action: server::Action) {
        self.log.push(format!("server {action:?}"));
        match action {
            server::Action::Send(bytes) => self.to_client.extend_from_slice(&bytes),
            server::Action::Authenticate { id, credentials } => {
                let ok = credentials.anonymous
                    || (credentials.user.as_ref() == b"alice"
                        && credentials.password.0.as_ref() == b"secret");
                let result = if ok {
                    Ok(Permissions::ReadWrite)
                } else {
                    Err(server::AuthError::Rejected)
                };
                self.server
                    .handle_event(server::Event::Authenticated { id, result }, self.now);
            }
            server::Action::Storage { id, request } => {
                let result = self.fs.answer(&request);
                match &request {
                    Request::OpenRead { path, offset } => {
                        self.open.insert(id, (path.clone(), Some(*offset), None));
                    }
                    Request::OpenWrite { path, mode } => {
                        self.open.insert(id, (path.clone(), None, Some(*mode)));
                    }
                    Request::CreateUnique { dir, .. } => {
                        if let Ok(Response::Created { name }) = &result {
                            self.open.insert(
                                id,
                                (dir.join(name).unwrap(), None, Some(WriteMode::Replace)),
                            );
                        }
                    }
                    Request::Stat(_)
                    | Request::SetModified { .. }
                    | Request::SetMode { .. }
                    | Request::Hash { .. }
                    | Request::List(_)
                    | Request::MakeDir(_)
                    | Request::RemoveDir(_)
                    | Request::Delete(_)
                    | Request::Rename { .. } => {}
                }
                self.server
                    .handle_event(server::Event::Storage { id, result }, self.now);
            }
            server::Action::ListenData { .. } => {
                self.server_listening = true;
                self.server
                    .handle_event(server::Event::Listening { port: 50000 }, self.now);
            }
            server::Action::ConnectData { .. } => {
                assert!(self.client_listening, "server connects to nothing");
                self.client.handle_event(
                    Event::DataAccepted {
                        peer: SERVER.parse().unwrap(),
                    },
                    self.now,
                );
                self.server
                    .handle_event(server::Event::DataConnected, self.now);
            }
            server::Action::Transfer { file, .. } => {
                self.server_file = Some(file);
                self.server_wants = Some(action);
            }
            server::Action::SendListing { .. } => self.server_wants = Some(action),
            server::Action::AbortTransfer => {
                if self.server_wants.take().is_some() {
                    self.server.handle_event(
                        server::Event::TransferDone {
                            bytes: 0,
                            result: Err(server::TransferError::Aborted),
                        },
                        self.now,
                    );
                }
            }
            server::Action::CloseFile(id) => {
                self.open.remove(&id);
            }
            server::Action::AcceptData
            | server::Action::RejectData
            | server::Action::CloseData
            | server::Action::Logout
            | server::Action::Close => {}
        }
    }

    /// When both sides want the same transfer, do it.
    fn move_data(&mut self) -> bool {
        let (Some(client), Some(server)) = (&self.client_wants, &self.server_wants) else {
            return false;
        };
        let (client, server) = (client.clone(), server.clone());
        self.client_wants = None;
        self.server_wants = None;
        #[cfg(feature = "tls")]
        if let Err(why) = self.protected_data(&client, &server) {
            self.client.handle_event(
                Event::TransferDone {
                    bytes: 0,
                    result: Err(why.clone()),
                },
                self.now,
            );
            self.server.handle_event(
                server::Event::TransferDone {
                    bytes: 0,
                    result: Err(server::TransferError::Tls(format!("{why:?}"))),
                },
                self.now,
            );
            return true;
        }
        let wall = crate::timeval::from_unix_seconds(1_795_478_400);
        match (client, server) {
            (Action::ReceiveListing { .. }, server::Action::SendListing { listing: data, .. }) => {
                let len = data.len() as u64;
                self.client
                    .handle_event(Event::ListingReceived { data, now: wall }, self.now);
                self.server.handle_event(
                    server::Event::TransferDone {
                        bytes: len,
                        result: Ok(()),
                    },
                    self.now,
                );
            }
            (
                Action::Transfer {
                    direction: Direction::Download,
                    ascii,
                    ..
                },
                server::Action::Transfer {
                    file,
                    ascii: server_ascii,
                    ..
                },
            ) => {
                assert_eq!(ascii, server_ascii);
                let (path, offset, _) = self.open.remove(&file).unwrap();
                let content = self.fs.content(&path.to_string()).unwrap().to_vec();
                let start = (offset.unwrap_or(0) as usize).min(content.len());
                let mut wire = Vec::new();
                if ascii {
                    crate::ascii::AsciiEncoder::new().encode(&content[start..], &mut wire);
                    let mut decoder = crate::ascii::AsciiDecoder::new();
                    decoder.decode(&wire, &mut self.received);
                    decoder.finish(&mut self.received);
                } else {
                    wire = content[start..].to_vec();
                    self.received.extend_from_slice(&wire);
                }
                let n = wire.len() as u64;
                self.server.handle_event(
                    server::Event::TransferDone {
                        bytes: n,
                        result: Ok(()),
                    },
                    self.now,
                );
                self.client.handle_event(
                    Event::TransferDone {
                        bytes: n,
                        result: Ok(()),
                    },
                    self.now,
                );
            }
            (
                Action::Transfer {
                    direction: Direction::Upload,
                    ..
                },
                server::Action::Transfer { file, .. },
            ) => {
                let (path, _, mode) = self.open.remove(&file).unwrap();
                let old = self
                    .fs
                    .content(&path.to_string())
                    .unwrap_or_default()
                    .to_vec();
                let data = self.upload.clone();
                let new = match mode.unwrap() {
                    WriteMode::Replace => data.clone(),
                    WriteMode::Append => [old, data.clone()].concat(),
                    WriteMode::Resume(n) => {
                        [&old[..(n as usize).min(old.len())], &data[..]].concat()
                    }
                };
                self.fs.nodes.insert(
                    path.as_bytes().to_vec(),
                    crate::server::harness::Node::File(new),
                );
                let n = data.len() as u64;
                self.client.handle_event(
                    Event::TransferDone {
                        bytes: n,
                        result: Ok(()),
                    },
                    self.now,
                );
                self.server.handle_event(
                    server::Event::TransferDone {
                        bytes: n,
                        result: Ok(()),
                    },
                    self.now,
                );
            }
            (c, s) => panic!("mismatched transfer: client {c:?}, server {s:?}"),
        }
        true
    }

    /// Both sides' TLS on a data connection, run in memory as the adapters
    /// run them: the handshake, the sender's bytes and close_notify, the
    /// receiver's close_notify, each side reading to the end. The bytes
    /// themselves are carried by the caller; this checks that the two
    /// sides agree on protection and that the handshake is accepted.
    #[cfg(feature = "tls")]
    fn protected_data(
        &mut self,
        client: &Action,
        server: &server::Action,
    ) -> Result<(), DataError> {
        let client_tls = match client {
            Action::Transfer { tls, .. } | Action::ReceiveListing { tls } => tls.clone(),
            other => panic!("not a transfer: {other:?}"),
        };
        let (server_tls, upload) = match server {
            server::Action::Transfer { tls, direction, .. } => {
                (tls.clone(), *direction == server::Direction::Upload)
            }
            server::Action::SendListing { tls, .. } => (tls.clone(), false),
            other => panic!("not a transfer: {other:?}"),
        };
        let (client_tls, server_tls) = match (client_tls, server_tls) {
            (None, None) => return Ok(()),
            (Some(c), Some(s)) => (c, s),
            (c, s) => panic!("protection differs: client {c:?}, server {s:?}"),
        };
        let mut c = client_tls.start().unwrap();
        let mut s = server_tls.start().unwrap();
        let tls_error = |e: crate::tls::TlsError| DataError::Tls(e.to_string());
        let mut wire = Vec::new();
        for _ in 0..20 {
            wire.clear();
            c.transmit(&mut wire);
            s.receive(&wire).map_err(tls_error)?;
            wire.clear();
            s.transmit(&mut wire);
            c.receive(&wire).map_err(tls_error)?;
            if !c.is_handshaking() && !s.is_handshaking() && !c.wants_transmit() {
                break;
            }
        }
        assert!(!c.is_handshaking() && !s.is_handshaking());
        self.data_tls.push(c.summary().unwrap());
        let (sender, receiver) = if upload {
            (&mut c, &mut s)
        } else {
            (&mut s, &mut c)
        };
        sender.send(b"payload").unwrap();
        if std::mem::take(&mut self.truncate_next) {
            // The TCP stream ends here: no close_notify.
            wire.clear();
            sender.transmit(&mut wire);
            receiver.receive(&wire).map_err(tls_error)?;
            assert!(!receiver.peer_closed());
            return Err(DataError::Truncated);
        }
        sender.close();
        wire.clear();
        sender.transmit(&mut wire);
        receiver.receive(&wire).map_err(tls_error)?;
        assert!(receiver.peer_closed());
        assert_eq!(receiver.take_plaintext(), b"payload");
        receiver.close();
        wire.clear();
        receiver.transmit(&mut wire);
        sender.receive(&wire).map_err(tls_error)?;
        assert!(sender.peer_closed());
        Ok(())
    }
}

#[test]
fn greeting_login_and_features() {
    let mut pair = Pair::new(DataMode::Passive);
    assert_eq!(pair.result(OperationId(0)), Ok(Output::Connected));
    let id = pair.client.login(b"alice", b"secret", None);
    assert_eq!(pair.result(id), Ok(Output::LoggedIn));
    let features = pair.client.features();
    assert!(
        features.known
            && features.mlst
            && features.utf8
            && features.size
            && features.mdtm
            && features.rest_stream
            && features.epsv
    );
    let bad = pair.client.login(b"alice", b"wrong", None);
    pair.run();
    pair.now += Duration::from_secs(2);
    pair.server.handle_timeout(pair.now);
    match pair.result(bad) {
        Err(ClientError::Rejected(reply)) => assert_eq!(reply.code.get(), 530),
        other => panic!("{other:?}"),
    }
}

#[test]
fn simple_operations() {
    let mut p = Pair::logged_in(DataMode::Passive);
    let id = p.client.pwd();
    assert_eq!(p.result(id), Ok(Output::Path(Bytes::from_static(b"/"))));
    let id = p.client.mkdir(b"new \"dir\"");
    assert_eq!(
        p.result(id),
        Ok(Output::Path(Bytes::from_static(b"/new \"dir\"")))
    );
    let id = p.client.cwd(b"pub");
    assert_eq!(p.result(id), Ok(Output::Done));
    let id = p.client.cdup();
    assert_eq!(p.result(id), Ok(Output::Done));
    let id = p.client.rename(b"readme", b"pub/moved");
    assert_eq!(p.result(id), Ok(Output::Done));
    assert_eq!(p.fs.content("/pub/moved"), Some(&b"read me"[..]));
    let id = p.client.set_type(false);
    assert_eq!(p.result(id), Ok(Output::Done));
    let id = p.client.size(b"pub/moved");
    assert_eq!(p.result(id), Ok(Output::Size(7)));
    let id = p.client.mdtm(b"pub/moved");
    assert!(matches!(p.result(id), Ok(Output::Modified(_))));
    // MFMT sets the time MDTM reads back, to the second.
    assert!(p.client.features().mfmt);
    let when = std::time::UNIX_EPOCH + Duration::from_millis(1_600_000_000_750);
    let id = p.client.set_modified(b"pub/moved", when);
    assert_eq!(p.result(id), Ok(Output::Done));
    let id = p.client.mdtm(b"pub/moved");
    assert_eq!(
        p.result(id),
        Ok(Output::Modified(
            std::time::UNIX_EPOCH + Duration::from_secs(1_600_000_000)
        ))
    );
    let id = p.client.mlst(Some(b"pub/moved"));
    match p.result(id) {
        Ok(Output::Entry(entry)) => {
            assert_eq!(entry.name.as_ref(), b"/pub/moved");
            assert_eq!(entry.size, Some(7));
        }
        other => panic!("{other:?}"),
    }
    let id = p.client.delete(b"pub/moved");
    assert_eq!(p.result(id), Ok(Output::Done));
    let id = p.client.rmdir(b"new \"dir\"");
    assert_eq!(p.result(id), Ok(Output::Done));
    let id = p.client.noop();
    assert_eq!(p.result(id), Ok(Output::Done));
    let id = p.client.delete(b"missing");
    assert!(matches!(p.result(id), Err(ClientError::Rejected(r)) if r.code.get() == 550));
    let id = p.client.rename(b"missing", b"x");
    assert!(matches!(p.result(id), Err(ClientError::Rejected(r)) if r.code.get() == 550));
    let id = p.client.quit();
    assert_eq!(p.result(id), Ok(Output::Done));
    assert!(p.client.is_closed());
    let late = p.client.noop();
    assert_eq!(p.result(late), Err(ClientError::ConnectionClosed));
}

#[test]
fn downloads_in_both_modes() {
    for mode in [DataMode::Passive, DataMode::Active] {
        let mut p = Pair::logged_in(mode);
        let id = p.client.retrieve(b"pub/a.txt", 0, false);
        assert_eq!(
            p.result(id),
            Ok(Output::Transferred { bytes: 12 }),
            "{mode:?}"
        );
        assert_eq!(p.received, b"hello\nworld\n");
        p.received.clear();
        let id = p.client.retrieve(b"pub/a.txt", 6, false);
        assert_eq!(p.result(id), Ok(Output::Transferred { bytes: 6 }));
        assert_eq!(p.received, b"world\n");
        p.received.clear();
        let id = p.client.retrieve(b"pub/a.txt", 0, true);
        assert_eq!(p.result(id), Ok(Output::Transferred { bytes: 14 }));
        assert_eq!(p.received, b"hello\nworld\n");
        let id = p.client.retrieve(b"missing", 0, false);
        assert!(matches!(p.result(id), Err(ClientError::Rejected(r)) if r.code.get() == 550));
        let sent: String = p
            .log
            .iter()
            .filter(|l| l.starts_with("client Send"))
            .cloned()
            .collect();
        let expected = if mode == DataMode::Passive {
            "EPSV"
        } else {
            "EPRT |1|127.0.0.1|40001|"
        };
        assert!(sent.contains(expected), "{sent}");
    }
}

#[test]
fn uploads_replace_append_resume_unique() {
    let mut p = Pair::logged_in(DataMode::Passive);
    p.upload = b"first".to_vec();
    let id = p.client.store(b"up.bin", StoreMode::Replace, false);
    assert_eq!(p.result(id), Ok(Output::Transferred { bytes: 5 }));
    p.upload = b"+more".to_vec();
    let id = p.client.store(b"up.bin", StoreMode::Append, false);
    assert_eq!(p.result(id), Ok(Output::Transferred { bytes: 5 }));
    assert_eq!(p.fs.content("/up.bin"), Some(&b"first+more"[..]));
    p.upload = b"ST".to_vec();
    let id = p.client.store(b"up.bin", StoreMode::Resume(3), false);
    assert_eq!(p.result(id), Ok(Output::Transferred { bytes: 2 }));
    assert_eq!(p.fs.content("/up.bin"), Some(&b"firST"[..]));
    p.upload = b"u".to_vec();
    let id = p.client.store_unique(false);
    assert_eq!(
        p.result(id),
        Ok(Output::StoredAs {
            name: Bytes::from_static(b"file.1"),
            bytes: 1
        })
    );
    let id = p.client.store(b"no/such/dir/x", StoreMode::Replace, false);
    assert!(matches!(p.result(id), Err(ClientError::Rejected(r)) if r.code.get() == 550));
}

#[test]
fn listings() {
    let mut p = Pair::logged_in(DataMode::Passive);
    let id = p.client.list(Some(b"pub"));
    match p.result(id) {
        Ok(Output::Listing(listing)) => {
            assert_eq!(listing.entries.len(), 1);
            assert_eq!(listing.entries[0].name.as_ref(), b"a.txt");
            assert_eq!(listing.entries[0].size, Some(12));
            assert!(listing.unparsed.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(p.log.iter().any(|l| l.contains("MLSD pub")));
    let id = p.client.list_long(None);
    match p.result(id) {
        Ok(Output::Listing(listing)) => {
            let names: Vec<&[u8]> = listing.entries.iter().map(|e| e.name.as_ref()).collect();
            assert_eq!(names, [&b"pub"[..], b"readme"]);
        }
        other => panic!("{other:?}"),
    }
    let id = p.client.nlst(Some(b"pub"));
    assert_eq!(
        p.result(id),
        Ok(Output::Names(vec![Bytes::from_static(b"pub/a.txt")]))
    );
    let id = p.client.list(Some(b"missing"));
    assert!(matches!(p.result(id), Err(ClientError::Rejected(r)) if r.code.get() == 550));
}

#[test]
fn arguments_with_line_breaks_are_refused() {
    let mut p = Pair::logged_in(DataMode::Passive);
    let id = p.client.delete(b"x\r\nDELE readme");
    assert!(matches!(p.result(id), Err(ClientError::InvalidArgument(_))));
    assert!(p.fs.content("/readme").is_some());
    let id = p.client.noop();
    assert_eq!(p.result(id), Ok(Output::Done));
}

// ---- scripted servers ------------------------------------------------------------

/// A client and the bytes it sent, fed replies by hand.
struct Scripted {
    client: Client,
    now: Timestamp,
}

impl Scripted {
    fn new(config: ClientConfig) -> Scripted {
        let now = Timestamp::ZERO;
        Scripted {
            client: Client::new(
                config,
                "192.0.2.10:21".parse().unwrap(),
                "192.0.2.20:50000".parse().unwrap(),
                now,
            ),
            now,
        }
    }

    fn reply(&mut self, text: &str) {
        self.client.handle_input(text.as_bytes(), self.now);
    }

    fn actions(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.client.poll_action()).collect()
    }

    fn sent(&mut self) -> String {
        self.actions()
            .into_iter()
            .filter_map(|a| {
                if let Action::Send(b) = a {
                    Some(String::from_utf8_lossy(&b).into_owned())
                } else {
                    None
                }
            })
            .collect()
    }

    fn outcomes(&mut self) -> Vec<(OperationId, Result<Output, ClientError>)> {
        std::iter::from_fn(|| self.client.poll_outcome()).collect()
    }

    /// A download of `f` under way: TYPE I, EPSV, the data connection
    /// made, 150.
    fn download_under_way(&mut self) -> OperationId {
        let id = self.client.retrieve(b"f", 0, false);
        self.reply("200 binary\r\n229 (|||6446|)\r\n");
        self.client.handle_event(Event::DataConnected, self.now);
        self.reply("150 ok\r\n");
        id
    }

    fn logged_in() -> Scripted {
        let mut s = Scripted::new(ClientConfig::default());
        s.reply("220 ready\r\n");
        s.client.login(b"u", b"p", None);
        s.reply("230 ok\r\n211 no features\r\n");
        s.outcomes();
        s.actions();
        s
    }
}

#[test]
fn greeting_120_then_220() {
    let mut s = Scripted::new(ClientConfig::default());
    s.reply("120 ready in 5 minutes\r\n");
    assert!(s.outcomes().is_empty());
    s.reply("220 ready now\r\n");
    assert_eq!(s.outcomes(), [(OperationId(0), Ok(Output::Connected))]);
}

#[test]
fn greeting_421_fails_everything() {
    let mut s = Scripted::new(ClientConfig::default());
    let id = s.client.login(b"u", b"p", None);
    s.reply("421 Too many connections\r\n");
    let outcomes = s.outcomes();
    assert!(
        matches!(&outcomes[0], (OperationId(0), Err(ClientError::Rejected(r))) if r.code.get() == 421)
    );
    assert_eq!(outcomes[1], (id, Err(ClientError::ConnectionClosed)));
    assert!(s.actions().contains(&Action::Close));
}

#[test]
fn login_with_account() {
    let mut s = Scripted::new(ClientConfig::default());
    s.reply("220 ready\r\n");
    s.actions();
    s.client.login(b"u", b"p", Some(b"acct"));
    assert_eq!(s.sent(), "USER u\r\n");
    s.reply("331 password\r\n");
    assert_eq!(s.sent(), "PASS p\r\n");
    s.reply("332 account\r\n");
    assert_eq!(s.sent(), "ACCT acct\r\n");
    s.reply("230 in\r\n");
    assert_eq!(s.sent(), "FEAT\r\n");
    s.reply("211-Features:\r\n UTF8\r\n MLST type*;size*;\r\n211 End\r\n");
    assert_eq!(s.sent(), "OPTS UTF8 ON\r\n");
    // pure-ftpd refuses OPTS UTF8 ON: logged in all the same.
    s.reply("504 Unknown command\r\n");
    assert!(matches!(
        s.outcomes().last(),
        Some((_, Ok(Output::LoggedIn)))
    ));
    assert!(s.client.features().mlst);
}

/// A download whose EPSV gets `epsv_reply`, then (unless that is a 227)
/// PASV and a 227 naming 10.0.0.5:50000: the data connection goes to the
/// control connection's address at that port, and the download completes.
fn download_through_a_227(epsv_reply: &str) -> Scripted {
    let mut s = Scripted::logged_in();
    s.client.retrieve(b"f", 0, false);
    assert_eq!(s.sent(), "TYPE I\r\n");
    s.reply("200 binary\r\n");
    assert_eq!(s.sent(), "EPSV\r\n");
    s.reply(epsv_reply);
    if !epsv_reply.starts_with("227") {
        assert_eq!(s.sent(), "PASV\r\n");
        s.reply("227 Entering Passive Mode (10,0,0,5,195,80).\r\n");
    }
    assert_eq!(
        s.actions(),
        [Action::ConnectData {
            to: "192.0.2.10:50000".parse().unwrap()
        }]
    );
    s.client.handle_event(Event::DataConnected, s.now);
    assert_eq!(s.sent(), "RETR f\r\n");
    // The data may end before the 150 is read; done needs both and the 226.
    s.reply("150 here it comes\r\n");
    assert_eq!(
        s.actions(),
        [Action::Transfer {
            direction: Direction::Download,
            ascii: false,
            tls: None
        }]
    );
    s.client.handle_event(
        Event::TransferDone {
            bytes: 10,
            result: Ok(()),
        },
        s.now,
    );
    assert!(s.outcomes().is_empty());
    s.reply("226 done\r\n");
    assert!(matches!(
        s.outcomes()[..],
        [(_, Ok(Output::Transferred { bytes: 10 }))]
    ));
    s
}

#[test]
fn epsv_refused_falls_back_to_pasv_and_ignores_its_address() {
    let mut s = download_through_a_227("500 EPSV not understood\r\n");
    // EPSV is not tried again.
    s.client.retrieve(b"f", 0, false);
    assert_eq!(s.sent(), "PASV\r\n");
}

/// A server that answers EPSV with 227 (as if it were PASV; basic-ftp
/// #135): its port is used, at the control connection's address, and EPSV
/// stays in use.
#[test]
fn epsv_answered_with_227_uses_its_port() {
    let mut s = download_through_a_227("227 Entering Passive Mode (10,0,0,5,195,80).\r\n");
    s.client.list(None);
    assert_eq!(s.sent(), "EPSV\r\n");
    // A 227 without an address is as unreadable as from PASV.
    s.reply("227 no address here\r\n");
    assert!(matches!(
        s.outcomes()[..],
        [(_, Err(ClientError::BadReplyText(_)))]
    ));
}

#[test]
fn trusted_pasv_address() {
    let mut s = Scripted::new(ClientConfig {
        trust_pasv_address: true,
        ..ClientConfig::default()
    });
    s.reply("220 ready\r\n");
    s.client.nlst(None);
    s.actions();
    s.reply("502 no EPSV\r\n");
    s.actions();
    s.reply("227 =10,0,0,5,195,80\r\n");
    assert_eq!(
        s.actions(),
        [Action::ConnectData {
            to: "10.0.0.5:50000".parse().unwrap()
        }]
    );
}

#[test]
fn final_reply_before_the_data_ends() {
    let mut s = Scripted::logged_in();
    s.client.nlst(None);
    s.reply("229 Entering Extended Passive Mode (|||6446|)\r\n");
    s.client.handle_event(Event::DataConnected, s.now);
    s.actions();
    s.reply("150 ok\r\n226 done\r\n");
    assert!(s.outcomes().is_empty());
    s.client.handle_event(
        Event::ListingReceived {
            data: Bytes::from_static(b"a\r\nb\r\n"),
            now: SystemTime::UNIX_EPOCH,
        },
        s.now,
    );
    assert_eq!(
        s.outcomes()[0].1,
        Ok(Output::Names(vec![
            Bytes::from_static(b"a"),
            Bytes::from_static(b"b")
        ]))
    );
}

#[test]
fn nlst_550_no_files_is_empty() {
    let mut s = Scripted::logged_in();
    s.client.nlst(None);
    s.reply("229 (|||6446|)\r\n");
    s.client.handle_event(Event::DataConnected, s.now);
    s.reply("550 No files found\r\n");
    assert_eq!(s.outcomes()[0].1, Ok(Output::Names(Vec::new())));
}

#[test]
fn mlsd_refused_falls_back_to_list() {
    let mut s = Scripted::new(ClientConfig::default());
    s.reply("220 ready\r\n");
    s.client.login(b"u", b"p", None);
    s.reply("230 ok\r\n211-Features:\r\n MLST type*;\r\n211 End\r\n");
    s.outcomes();
    s.actions();
    s.client.list(None);
    assert_eq!(s.sent(), "EPSV\r\n");
    s.reply("229 (|||6446|)\r\n");
    s.client.handle_event(Event::DataConnected, s.now);
    assert_eq!(s.sent(), "MLSD\r\n");
    s.reply("500 MLSD not understood\r\n");
    assert_eq!(s.sent(), "EPSV\r\n");
    s.reply("229 (|||6447|)\r\n");
    s.client.handle_event(Event::DataConnected, s.now);
    assert_eq!(s.sent(), "LIST\r\n");
    s.reply("150 ok\r\n");
    s.actions();
    s.client.handle_event(
        Event::ListingReceived {
            data: Bytes::from_static(b"-rw-r--r-- 1 a b 5 Nov 24 01:30 f\r\n"),
            now: SystemTime::UNIX_EPOCH,
        },
        s.now,
    );
    s.reply("226 done\r\n");
    assert!(matches!(&s.outcomes()[0].1, Ok(Output::Listing(l)) if l.entries.len() == 1));
}

#[test]
fn abort_sends_the_telnet_sequence_and_resynchronises() {
    for replies in [
        "426 aborted\r\n226 ABOR ok\r\n200 NOOP\r\n",
        "225 nothing to abort\r\n200 NOOP\r\n",
        "226 done\r\n226 ABOR\r\n200 NOOP\r\n",
    ] {
        let mut s = Scripted::logged_in();
        s.client.retrieve(b"big", 0, false);
        s.reply("200 binary\r\n229 (|||6446|)\r\n");
        s.client.handle_event(Event::DataConnected, s.now);
        s.reply("150 ok\r\n");
        s.actions();
        s.client.abort();
        let actions = s.actions();
        assert_eq!(actions[0], Action::AbortTransfer);
        assert_eq!(
            actions[1],
            Action::SendUrgent(Bytes::from_static(b"\xff\xf4\xff"))
        );
        assert_eq!(
            actions[2],
            Action::Send(Bytes::from_static(b"\xf2ABOR\r\nNOOP\r\n"))
        );
        s.client.handle_event(
            Event::TransferDone {
                bytes: 5,
                result: Err(DataError::Aborted),
            },
            s.now,
        );
        s.reply(replies);
        assert_eq!(s.outcomes()[0].1, Err(ClientError::Aborted), "{replies}");
        // The session goes on, in step.
        let id = s.client.pwd();
        s.reply("257 \"/\"\r\n");
        assert_eq!(
            s.outcomes(),
            [(id, Ok(Output::Path(Bytes::from_static(b"/"))))]
        );
    }
}

#[test]
fn active_mode_refuses_data_from_another_host() {
    let mut s = Scripted::new(ClientConfig {
        mode: DataMode::Active,
        ..ClientConfig::default()
    });
    s.reply("220 ready\r\n");
    s.client.retrieve(b"f", 0, true);
    assert_eq!(s.sent(), "TYPE A\r\n");
    s.reply("200 ascii\r\n");
    assert_eq!(
        s.actions(),
        [Action::ListenData {
            ip: "192.0.2.20".parse().unwrap()
        }]
    );
    s.client.handle_event(
        Event::Listening {
            address: "192.0.2.20:40001".parse().unwrap(),
        },
        s.now,
    );
    assert_eq!(s.sent(), "EPRT |1|192.0.2.20|40001|\r\n");
    s.reply("500 what\r\n");
    assert_eq!(s.sent(), "PORT 192,0,2,20,156,65\r\n");
    s.reply("200 ok\r\n");
    assert_eq!(s.sent(), "RETR f\r\n");
    s.reply("150 connecting\r\n");
    s.client.handle_event(
        Event::DataAccepted {
            peer: "203.0.113.9:20".parse().unwrap(),
        },
        s.now,
    );
    assert_eq!(s.actions(), [Action::RejectData]);
    s.client.handle_event(
        Event::DataAccepted {
            peer: "192.0.2.10:20".parse().unwrap(),
        },
        s.now,
    );
    assert_eq!(
        s.actions(),
        [Action::Transfer {
            direction: Direction::Download,
            ascii: true,
            tls: None
        }]
    );
}

#[test]
fn silent_server_times_out() {
    let mut s = Scripted::new(ClientConfig::default());
    let deadline = s.client.poll_timeout().unwrap();
    assert_eq!(deadline, s.now + Duration::from_secs(60));
    s.client.handle_timeout(deadline);
    assert_eq!(s.outcomes()[0], (OperationId(0), Err(ClientError::Timeout)));
    assert!(s.actions().contains(&Action::Close));
}

#[test]
fn no_reply_deadline_while_bytes_move() {
    let mut s = Scripted::logged_in();
    s.download_under_way();
    assert_eq!(s.client.poll_timeout(), None);
    s.client.handle_event(
        Event::TransferDone {
            bytes: 1,
            result: Ok(()),
        },
        s.now,
    );
    assert!(s.client.poll_timeout().is_some());
}

/// A data connection that stalled, on a server that then never sends the
/// final reply: the stall is what the caller hears, not a reply timeout;
/// and it is worth trying again.
#[test]
fn stalled_data_then_no_final_reply_reports_the_stall() {
    let mut s = Scripted::logged_in();
    let id = s.download_under_way();
    s.client.handle_event(
        Event::TransferDone {
            bytes: 65536,
            result: Err(DataError::Stalled),
        },
        s.now,
    );
    let deadline = s.client.poll_timeout().unwrap();
    s.client.handle_timeout(deadline);
    let outcomes = s.outcomes();
    assert_eq!(
        outcomes,
        [(id, Err(ClientError::Transfer(DataError::Stalled)))]
    );
    assert!(outcomes[0].1.as_ref().unwrap_err().is_transient());
    assert!(s.actions().contains(&Action::Close));
}

#[test]
fn malformed_and_unexpected_replies_are_errors() {
    let mut s = Scripted::logged_in();
    let id = s.client.pwd();
    s.reply("hello there\r\n");
    assert!(matches!(&s.outcomes()[..], [(i, Err(ClientError::MalformedReply(_)))] if *i == id));
    assert!(s.client.is_closed());

    let mut s = Scripted::logged_in();
    let id = s.client.pwd();
    s.reply("257 no quotes here\r\n");
    assert!(matches!(&s.outcomes()[..], [(i, Err(ClientError::BadReplyText(_)))] if *i == id));
    let id = s.client.size(b"f");
    s.reply("200 binary\r\n213 lots\r\n");
    assert!(matches!(&s.outcomes()[..], [(i, Err(ClientError::BadReplyText(_)))] if *i == id));
}

#[test]
fn data_connection_failure() {
    let mut s = Scripted::logged_in();
    let id = s.client.retrieve(b"f", 0, false);
    s.reply("200 binary\r\n229 (|||6446|)\r\n");
    s.client.handle_event(Event::DataConnectFailed, s.now);
    assert_eq!(s.outcomes(), [(id, Err(ClientError::DataConnection))]);
}

/// SIZE is asked in TYPE I: the engine sends TYPE I first unless the
/// type is known to be I already.
#[test]
fn size_switches_to_binary_first() {
    let mut s = Scripted::logged_in();
    let id = s.client.size(b"f");
    assert_eq!(s.sent(), "TYPE I\r\n");
    s.reply("200 binary\r\n");
    assert_eq!(s.sent(), "SIZE f\r\n");
    s.reply("213 42\r\n");
    assert_eq!(s.outcomes(), [(id, Ok(Output::Size(42)))]);
    // Known to be I now: no second TYPE.
    let again = s.client.size(b"g");
    assert_eq!(s.sent(), "SIZE g\r\n");
    s.reply("213 7\r\n");
    assert_eq!(s.outcomes(), [(again, Ok(Output::Size(7)))]);
    // A refused TYPE fails the SIZE with that reply.
    s.client.set_type(true);
    s.reply("200 ascii\r\n");
    let refused = s.client.size(b"h");
    assert_eq!(s.sent(), "TYPE A\r\nTYPE I\r\n");
    s.reply("504 no\r\n");
    assert!(matches!(&s.outcomes()[..], [.., (i, Err(ClientError::Rejected(_)))] if *i == refused));
}

#[test]
fn transfer_failure_is_reported() {
    let mut s = Scripted::logged_in();
    let id = s.download_under_way();
    s.client.handle_event(
        Event::TransferDone {
            bytes: 3,
            result: Err(DataError::ConnectionLost),
        },
        s.now,
    );
    s.reply("426 broken\r\n");
    assert_eq!(
        s.outcomes(),
        [(id, Err(ClientError::Transfer(DataError::ConnectionLost)))]
    );
}

#[test]
fn arbitrary_server_bytes_never_panic() {
    use proptest::prelude::*;
    proptest!(|(input in proptest::collection::vec(any::<u8>(), 0..300), cut in any::<usize>())| {
        let mut s = Scripted::new(ClientConfig::default());
        let ids = [
            s.client.login(b"u", b"p", None),
            s.client.retrieve(b"f", 3, false),
            s.client.list(None),
        ];
        let cut = cut % (input.len() + 1);
        s.client.handle_input(&input[..cut], s.now);
        s.client.handle_event(Event::DataConnected, s.now);
        s.client.handle_input(&input[cut..], s.now);
        s.client.handle_timeout(s.now + Duration::from_secs(3600));
        let _ = s.actions();
        // Whatever the server sent, each operation ends exactly once: an
        // hour past every deadline, none is left waiting.
        let outcomes = s.outcomes();
        for id in ids {
            prop_assert_eq!(outcomes.iter().filter(|(done, _)| *done == id).count(), 1, "{:?}", outcomes);
        }
    });
}

#[test]
fn notices_show_the_dialogue_without_the_password() {
    let mut s = Scripted::new(ClientConfig {
        notices: true,
        ..ClientConfig::default()
    });
    s.reply("220 ready\r\n");
    s.client.login(b"u", b"hunter2", None);
    s.reply("331 pw\r\n");
    let notices: Vec<Notice> = std::iter::from_fn(|| s.client.poll_notice()).collect();
    assert_eq!(notices[1], Notice::Sent("USER u".into()));
    assert_eq!(notices[3], Notice::Sent("PASS ****".into()));
    assert!(matches!(&notices[0], Notice::Received(r) if r.code.get() == 220));
}

#[test]
fn final_reply_before_the_server_connection_is_accepted() {
    let mut s = Scripted::new(ClientConfig {
        mode: DataMode::Active,
        ..ClientConfig::default()
    });
    s.reply("220 ready\r\n");
    s.outcomes();
    let id = s.client.nlst(None);
    s.client.handle_event(
        Event::Listening {
            address: "192.0.2.20:40001".parse().unwrap(),
        },
        s.now,
    );
    s.reply("200 ok\r\n");
    s.actions();
    s.reply("150 here\r\n226 done\r\n");
    let early = s.outcomes();
    assert!(early.is_empty(), "{early:?}");
    s.client.handle_event(
        Event::DataAccepted {
            peer: "192.0.2.10:20".parse().unwrap(),
        },
        s.now,
    );
    assert_eq!(s.actions(), [Action::ReceiveListing { tls: None }]);
    s.client.handle_event(
        Event::ListingReceived {
            data: Bytes::from_static(b"x\r\n"),
            now: SystemTime::UNIX_EPOCH,
        },
        s.now,
    );
    assert_eq!(
        s.outcomes(),
        [(id, Ok(Output::Names(vec![Bytes::from_static(b"x")])))]
    );
}

#[test]
fn pasv_and_port_only_when_asked() {
    let mut s = Scripted::new(ClientConfig {
        extended: false,
        ..ClientConfig::default()
    });
    s.reply("220 ready\r\n");
    s.client.nlst(None);
    assert_eq!(s.sent(), "PASV\r\n");
    let mut s = Scripted::new(ClientConfig {
        extended: false,
        mode: DataMode::Active,
        ..ClientConfig::default()
    });
    s.reply("220 ready\r\n");
    s.client.nlst(None);
    s.actions();
    s.client.handle_event(
        Event::Listening {
            address: "192.0.2.20:40001".parse().unwrap(),
        },
        s.now,
    );
    assert_eq!(s.sent(), "PORT 192,0,2,20,156,65\r\n");
}

/// One reply, parsed from its text.
fn reply(text: &str) -> Reply {
    let mut parser = crate::ReplyParser::default();
    parser.push(text.as_bytes());
    parser.next_reply().unwrap().unwrap()
}

/// 4yz replies and broken connections may pass if tried again; 5yz
/// refusals and protocol violations do not.
#[test]
fn transient_errors() {
    for transient in [
        ClientError::Rejected(reply("421 Service closing\r\n")),
        ClientError::Rejected(reply("450 File busy\r\n")),
        ClientError::Timeout,
        ClientError::ConnectionClosed,
        ClientError::DataConnection,
        ClientError::Transfer(DataError::ConnectionLost),
    ] {
        assert!(transient.is_transient(), "{transient:?}");
    }
    for lasting in [
        ClientError::Rejected(reply("550 No such file\r\n")),
        ClientError::UnexpectedReply(reply("200 What?\r\n")),
        ClientError::Transfer(DataError::Local("disk full".into())),
        ClientError::Aborted,
    ] {
        assert!(!lasting.is_transient(), "{lasting:?}");
    }
}

/// 5yz refusals are for good, whatever their number; 4yz, broken
/// connections and protocol violations are not refusals for good.
#[test]
fn permanent_refusals() {
    assert!(ClientError::Rejected(reply("550 No such directory\r\n")).is_permanent_refusal());
    assert!(ClientError::Rejected(reply("501 No such directory.\r\n")).is_permanent_refusal());
    assert!(!ClientError::Rejected(reply("450 Busy\r\n")).is_permanent_refusal());
    assert!(!ClientError::UnexpectedReply(reply("500 What\r\n")).is_permanent_refusal());
    assert!(!ClientError::ConnectionClosed.is_permanent_refusal());
}
