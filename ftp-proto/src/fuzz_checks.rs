//! Invariant checks shared by the fuzz targets in `fuzz/` and the tests that
//! replay their regression inputs. Each function panics when an invariant
//! breaks, which is how a fuzzer learns of it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::command::Command;
use crate::hostport;
use crate::line::{ControlItem, LineDecoder};
use crate::reply::{Reply, ReplyError, ReplyParser};
use bytes::Bytes;

fn decode_lines(input: &[u8], splits: &[usize], max_line: usize) -> Vec<ControlItem> {
    let mut decoder = LineDecoder::new(max_line);
    let mut items = Vec::new();
    let mut start = 0;
    for &cut in splits.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        decoder.push(&input[start..cut]);
        items.extend(decoder.by_ref());
        start = cut;
    }
    items
}

/// Split points derived from the first bytes of the input.
fn splits_for(input: &[u8]) -> Vec<usize> {
    let mut splits: Vec<usize> = input
        .iter()
        .take(8)
        .map(|&b| usize::from(b) * input.len() / 256)
        .collect();
    splits.sort_unstable();
    splits
}

/// The line decoder: never panics, never returns a line longer than its
/// limit or holding LF, and gives the same items for any split of the input.
pub fn line_decoder(input: &[u8]) {
    let max_line = 1 + input.first().map_or(0, |&b| usize::from(b));
    let whole = decode_lines(input, &[], max_line);
    for item in &whole {
        match item {
            ControlItem::Line(line) => {
                assert!(line.len() <= max_line);
                assert!(!line.contains(&b'\n'));
            }
            ControlItem::TooLong { prefix } => assert!(prefix.len() <= max_line),
            ControlItem::TelnetReply(reply) => assert_eq!(reply[0], 0xFF),
        }
    }
    assert_eq!(whole, decode_lines(input, &splits_for(input), max_line));
    let bytewise: Vec<usize> = (0..input.len()).collect();
    assert_eq!(whole, decode_lines(input, &bytewise, max_line));
}

/// The command parser: never panics, and whatever parses serializes and
/// parses back to the same command.
pub fn command(input: &[u8]) {
    let Ok(command) = Command::parse_slice(input) else {
        return;
    };
    let Ok(wire) = command.to_bytes() else {
        // Only a CR left in an argument (a lone CR is kept by the decoder)
        // may stop serialization.
        assert!(
            input.contains(&b'\r') || input.contains(&b'\n'),
            "{command:?}"
        );
        return;
    };
    let mut decoder = LineDecoder::new(usize::MAX);
    decoder.push(&wire);
    let Some(ControlItem::Line(line)) = decoder.next_item() else {
        panic!("serialized command {wire:?} is not one line");
    };
    assert_eq!(decoder.next_item(), None);
    assert_eq!(Command::parse(line), Ok(command));
}

fn parse_replies(input: &[u8], splits: &[usize]) -> Vec<Result<Reply, ReplyError>> {
    let mut parser = ReplyParser::new(64, 512);
    let mut replies = Vec::new();
    let mut start = 0;
    for &cut in splits.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        parser.push(&input[start..cut]);
        while let Some(reply) = parser.next_reply() {
            replies.push(reply);
        }
        start = cut;
    }
    replies
}

/// The reply parser: never panics, respects its limits, gives the same
/// replies for any split, and every reply it yields serializes and parses
/// back to itself (lines that start with a digit get indented, so they are
/// left out of that check).
pub fn reply_parser(input: &[u8]) {
    let whole = parse_replies(input, &[]);
    assert_eq!(whole, parse_replies(input, &splits_for(input)));
    for reply in whole.into_iter().flatten() {
        let size: usize = reply.lines.iter().map(Bytes::len).sum();
        assert!(size <= 512 + 64);
        // A lone CR (or CR NUL) is kept inside a line by the decoder, and
        // the serializer refuses it: such replies cannot be written back.
        let Ok(wire) = reply.to_bytes() else {
            assert!(reply.lines.iter().any(|line| line.contains(&b'\r')));
            continue;
        };
        let mut parser = ReplyParser::new(usize::MAX, usize::MAX);
        parser.push(&wire);
        let again = parser.next_reply().expect("a whole reply").expect("valid");
        let middle = reply.lines.len().saturating_sub(1);
        let indented = reply
            .lines
            .iter()
            .take(middle)
            .skip(1)
            .any(|line| line.first().is_some_and(u8::is_ascii_digit));
        if !indented {
            assert_eq!(again, reply);
        }
    }
}

/// The address parsers: never panic, and what parses formats and parses back.
pub fn addresses(input: &[u8]) {
    if let Some(addr) = hostport::parse_host_port(input) {
        assert_eq!(
            hostport::parse_host_port(hostport::format_host_port(addr).as_bytes()),
            Some(addr)
        );
    }
    if let Some(addr) = hostport::parse_pasv_reply(input) {
        assert_eq!(
            hostport::parse_pasv_reply(hostport::format_pasv_reply(addr).as_bytes()),
            Some(addr)
        );
    }
    if let Ok(addr) = hostport::parse_eprt(input) {
        assert_eq!(
            hostport::parse_eprt(hostport::format_eprt(addr).as_bytes()),
            Ok(addr)
        );
    }
    if let Some(port) = hostport::parse_epsv_reply(input) {
        assert_eq!(
            hostport::parse_epsv_reply(hostport::format_epsv_reply(port).as_bytes()),
            Some(port)
        );
    }
    if let Some(name) = crate::pathname::unquote(input) {
        assert_eq!(
            crate::pathname::unquote(&crate::pathname::quote(&name)),
            Some(name)
        );
    }
}

/// A TLS client for the session fuzz check: trusts the test CA in
/// `fuzz_tls/`, and talks to the harness through memory.
struct FuzzTlsClient {
    connection: rustls::ClientConnection,
    /// The server's replies, decrypted.
    plaintext: Vec<u8>,
}

fn fuzz_tls_configs() -> &'static (crate::tls::ServerTls, std::sync::Arc<rustls::ClientConfig>) {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    static CONFIGS: std::sync::OnceLock<(
        crate::tls::ServerTls,
        std::sync::Arc<rustls::ClientConfig>,
    )> = std::sync::OnceLock::new();
    CONFIGS.get_or_init(|| {
        let server = crate::tls::ServerTls::from_pem(
            include_bytes!("fuzz_tls/cert.pem"),
            include_bytes!("fuzz_tls/key.pem"),
        )
        .expect("the fuzz certificate");
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(include_bytes!("fuzz_tls/ca.pem")).unwrap())
            .unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        (server, std::sync::Arc::new(client))
    })
}

impl FuzzTlsClient {
    fn new() -> FuzzTlsClient {
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        FuzzTlsClient {
            connection: rustls::ClientConnection::new(fuzz_tls_configs().1.clone(), name).unwrap(),
            plaintext: Vec::new(),
        }
    }

    /// Moves bytes both ways until neither side has any. `false` once the
    /// connection failed (the session refused what it got, say).
    fn pump(&mut self, h: &mut crate::server::harness::Harness) -> bool {
        use std::io::Read;
        for _ in 0..50 {
            let mut out = Vec::new();
            while self.connection.wants_write() {
                if self.connection.write_tls(&mut out).is_err() {
                    return false;
                }
            }
            if !out.is_empty() {
                h.input_bytes(&out);
            }
            let from_server = h.output_bytes();
            let mut rest = &from_server[..];
            while !rest.is_empty() {
                if self.connection.read_tls(&mut rest).is_err()
                    || self.connection.process_new_packets().is_err()
                {
                    return false;
                }
            }
            let mut chunk = [0u8; 4096];
            while let Ok(n) = self.connection.reader().read(&mut chunk) {
                if n == 0 {
                    break;
                }
                self.plaintext.extend_from_slice(&chunk[..n]);
            }
            if out.is_empty() && from_server.is_empty() {
                break;
            }
        }
        true
    }
}

/// Checks that `output` parses as replies, with at most one preliminary
/// (1yz) reply before each final one; in clear, up to a 234 (what follows
/// it is TLS).
fn replies_are_well_formed(output: &[u8], clear: bool) {
    let mut parser = ReplyParser::new(usize::MAX, usize::MAX);
    parser.push(output);
    let mut preliminary = false;
    while let Some(reply) = parser.next_reply() {
        if clear && reply.as_ref().is_ok_and(|r| r.code.get() == 234) {
            return;
        }
        let text = || String::from_utf8_lossy(output).into_owned();
        let reply = reply.unwrap_or_else(|e| panic!("{e:?} in {:?}", text()));
        let is_preliminary = reply.code.get() < 200;
        assert!(
            !(preliminary && is_preliminary),
            "two preliminary replies in a row in {:?}",
            text()
        );
        preliminary = is_preliminary;
    }
}

/// The server session, driven by arbitrary input bytes, events and time
/// steps through the in-memory harness, with a certificate configured: a
/// TLS client may start a handshake at any point (after AUTH TLS or not)
/// and then carry the input. It never panics, everything it sends in clear
/// or decrypted parses as replies, and no command gets two preliminary
/// (1yz) replies without a final one between them. The harness checks the
/// rest on every step: no storage request while logged out, active
/// connections only to the control peer at a port of 1024 or more,
/// nothing after Close, and no timer still due right after it fired.
pub fn server_session(data: &[u8]) {
    use crate::server::harness::Harness;
    use crate::server::{AuthError, Event, Permissions, RequestId, ServerConfig, TransferError};
    use crate::storage::{Response, StorageError};
    use std::time::Duration;

    let config = ServerConfig {
        tls: Some(fuzz_tls_configs().0.clone()),
        ..ServerConfig::default()
    };
    let mut h = Harness::new(config);
    let mut clear = Vec::new();
    let mut client: Option<FuzzTlsClient> = None;
    let mut decrypted = Vec::new();
    let mut bytes = data.iter().copied();
    while let Some(op) = bytes.next() {
        let arg = bytes.next().unwrap_or(0);
        if client.is_none() {
            clear.extend(h.output_bytes());
        }
        match op % 9 {
            0 | 1 => {
                let chunk: Vec<u8> = bytes.by_ref().take(usize::from(arg % 64)).collect();
                match &mut client {
                    Some(tls) => {
                        use std::io::Write;
                        let _ = tls.connection.writer().write_all(&chunk);
                        if !tls.pump(&mut h) {
                            decrypted.append(&mut tls.plaintext);
                            client = None;
                        }
                    }
                    None => h.input_bytes(&chunk),
                }
            }
            2 => h.advance(Duration::from_millis(u64::from(arg) * 250)),
            3 => {
                h.behaviour.storage = arg & 1 != 0;
                h.behaviour.auth = arg & 2 != 0;
                h.behaviour.client_connects = arg & 4 != 0;
                h.behaviour.connect_succeeds = arg & 8 != 0;
                h.behaviour.transfers_complete = arg & 16 != 0;
            }
            4 => h.release(),
            5 => {
                let id = RequestId(u64::from(arg % 8));
                let event = match arg % 13 {
                    0 => Event::Authenticated {
                        id,
                        result: Ok(Permissions::ReadWrite),
                    },
                    1 => Event::Authenticated {
                        id,
                        result: Err(AuthError::Rejected),
                    },
                    2 => Event::Storage {
                        id,
                        result: Ok(Response::Done),
                    },
                    3 => Event::Storage {
                        id,
                        result: Err(StorageError::NotFound),
                    },
                    4 => Event::Listening {
                        port: u16::from(arg) * 200,
                    },
                    5 => Event::ListenFailed,
                    6 => Event::DataIncoming {
                        peer: std::net::SocketAddr::from(([10, 0, 0, arg], 5000)),
                    },
                    7 => Event::DataConnected,
                    8 => Event::DataConnectFailed,
                    9 => Event::TransferDone {
                        bytes: 0,
                        result: Err(TransferError::ConnectionLost),
                    },
                    10 => Event::TransferDone {
                        bytes: 0,
                        result: Err(TransferError::Truncated),
                    },
                    11 => Event::TransferDone {
                        bytes: 0,
                        result: Err(TransferError::Tls("not resumed".into())),
                    },
                    _ => Event::TransferDone {
                        bytes: 1,
                        result: Ok(()),
                    },
                };
                h.event(event);
                if let Some(tls) = &mut client
                    && !tls.pump(&mut h)
                {
                    decrypted.append(&mut tls.plaintext);
                    client = None;
                }
            }
            6 => {
                if arg % 4 == 0 {
                    h.start_transfer_if_held();
                }
            }
            7 => {
                // A TLS client starts its handshake here, whether or not
                // AUTH TLS was answered. Rare: a handshake costs as much
                // as thousands of commands.
                if client.is_none() && arg % 16 == 0 {
                    let mut tls = FuzzTlsClient::new();
                    if tls.pump(&mut h) {
                        client = Some(tls);
                    } else {
                        decrypted.append(&mut tls.plaintext);
                    }
                }
            }
            _ => {
                if arg == 0 {
                    h.event(Event::ControlClosed);
                }
            }
        }
    }
    match &mut client {
        Some(tls) => {
            tls.pump(&mut h);
            decrypted.append(&mut tls.plaintext);
        }
        None => clear.extend(h.output_bytes()),
    }
    replies_are_well_formed(&clear, true);
    replies_are_well_formed(&decrypted, false);
}

/// The listing parsers: never panic, and every entry they yield has a name.
pub fn listing(data: &[u8]) {
    use crate::listing::parse::{ListingFormat, parse_listing};
    let now = crate::timeval::from_unix_seconds(1_795_478_400);
    for format in [
        ListingFormat::List,
        ListingFormat::Mlsd,
        ListingFormat::Nlst,
    ] {
        let listing = parse_listing(data, format, now);
        for entry in &listing.entries {
            assert!(!entry.name.is_empty() || format == ListingFormat::Nlst);
        }
    }
}

/// The client engine, driven by arbitrary server bytes, events and time:
/// never panics, and every queued operation gets exactly one outcome once
/// the connection is closed. With FTPS asked for (the first byte's bit 1;
/// bit 2 implicit, bit 3 the AUTH SSL fallback, bit 4 TLS 1.3), a TLS
/// server in memory answers the client's handshake and encrypts the
/// input's replies, and nothing but AUTH goes out before TLS: never a
/// silent downgrade.
pub fn client_session(data: &[u8]) {
    use crate::client::{Action, Client, ClientConfig, DataError, DataMode, Event, StoreMode};
    use crate::clock::Timestamp;
    use std::time::Duration;

    let start = Timestamp::ZERO;
    let flags = data.first().copied().unwrap_or(0);
    let mode = if flags & 1 == 1 {
        DataMode::Active
    } else {
        DataMode::Passive
    };
    let tls = (flags & 2 != 0).then(|| {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let ca = CertificateDer::from_pem_slice(include_bytes!("fuzz_tls/ca.pem")).unwrap();
        let versions = if flags & 16 != 0 {
            crate::tls::TlsVersions::Tls13
        } else {
            crate::tls::TlsVersions::ReusableSessions
        };
        crate::client::TlsSettings {
            connector: crate::tls::ClientTls::new("localhost", &[ca], versions).unwrap(),
            implicit: flags & 4 != 0,
            auth_ssl_fallback: flags & 8 != 0,
        }
    });
    let asked_for_tls = tls.is_some();
    let config = ClientConfig {
        mode,
        tls,
        ..ClientConfig::default()
    };
    // The server's side of the control connection's TLS, once the client
    // sent a ClientHello.
    let mut server: Option<crate::tls::TlsCodec> = None;
    let server_tls = fuzz_tls_configs().0.for_session().unwrap();
    let drain = |client: &mut Client, server: &mut Option<crate::tls::TlsCodec>, now| {
        for _ in 0..8 {
            let mut back = Vec::new();
            while let Some(action) = client.poll_action() {
                let Action::Send(bytes) = action else {
                    continue;
                };
                if server.is_none() && asked_for_tls {
                    let hello = bytes.first() == Some(&0x16);
                    assert!(
                        hello || bytes.starts_with(b"AUTH "),
                        "sent in clear with TLS required: {bytes:?}"
                    );
                    if hello {
                        *server = server_tls.control_codec(b"fuzz").ok();
                    }
                }
                if let Some(codec) = server.as_mut() {
                    let _ = codec.receive(&bytes);
                    codec.take_plaintext();
                    codec.transmit(&mut back);
                }
            }
            if back.is_empty() {
                return;
            }
            client.handle_input(&back, now);
        }
    };
    let mut client = Client::new(
        config,
        "192.0.2.10:21".parse().unwrap(),
        "192.0.2.20:5000".parse().unwrap(),
        start,
    );
    let mut ids = vec![
        client.login(b"u", b"p", None),
        client.retrieve(b"f", 10, false),
        client.store(b"g", StoreMode::Append, true),
        client.list(None),
        client.nlst(Some(b"d")),
        client.mlst(None),
        client.rename(b"a", b"b"),
        client.pwd(),
    ];
    let mut now = start;
    drain(&mut client, &mut server, now);
    let mut bytes = data.iter().copied().skip(1);
    while let Some(op) = bytes.next() {
        let arg = bytes.next().unwrap_or(0);
        match op % 6 {
            // Replies: through the server's TLS once it is up.
            0 => {
                let chunk: Vec<u8> = bytes.by_ref().take(usize::from(arg % 64)).collect();
                match server.as_mut().filter(|codec| !codec.is_handshaking()) {
                    Some(codec) => {
                        let _ = codec.send(&chunk);
                        let mut wire = Vec::new();
                        codec.transmit(&mut wire);
                        client.handle_input(&wire, now);
                    }
                    None => client.handle_input(&chunk, now),
                }
            }
            // Raw bytes on the wire, TLS or not.
            1 => {
                let chunk: Vec<u8> = bytes.by_ref().take(usize::from(arg % 64)).collect();
                client.handle_input(&chunk, now);
            }
            2 => {
                now += Duration::from_secs(u64::from(arg));
                client.handle_timeout(now);
            }
            3 => {
                let event = match arg % 8 {
                    0 => Event::DataConnected,
                    1 => Event::DataConnectFailed,
                    2 => Event::Listening {
                        address: "192.0.2.20:40000".parse().unwrap(),
                    },
                    3 => Event::DataAccepted {
                        peer: std::net::SocketAddr::from(([192, 0, 2, arg], 20)),
                    },
                    4 => Event::TransferDone {
                        bytes: 5,
                        result: Ok(()),
                    },
                    5 => Event::TransferDone {
                        bytes: 0,
                        result: Err(DataError::ConnectionLost),
                    },
                    6 => Event::ListingReceived {
                        data: bytes::Bytes::from_static(b"type=file;size=1; f\r\n"),
                        now: std::time::SystemTime::UNIX_EPOCH,
                    },
                    _ => Event::ListenFailed,
                };
                client.handle_event(event, now);
            }
            4 => client.abort(),
            _ => ids.push(client.noop()),
        }
        drain(&mut client, &mut server, now);
    }
    client.handle_event(Event::ControlClosed, now);
    let mut seen = Vec::new();
    while let Some((id, _)) = client.poll_outcome() {
        assert!(!seen.contains(&id), "two outcomes for {id:?}");
        seen.push(id);
    }
    for id in ids {
        assert!(seen.contains(&id), "no outcome for {id:?}");
    }
}
