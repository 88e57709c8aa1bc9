//! FTPS from the client's side (RFC 4217): the client engine against our
//! server engine with TLS on both connections, in memory, and against
//! scripted replies for what our server never does.

use super::*;
use crate::client::TlsSettings;
use crate::tls::testing::{certificates, server_tls};
use crate::tls::{ClientTls, TlsError, TlsVersions};

/// Settings that trust the test CA for `localhost`, each with a session
/// store of its own, offering TLS 1.3.
fn settings(implicit: bool) -> TlsSettings {
    settings_for(implicit, TlsVersions::Tls13)
}

fn settings_for(implicit: bool, versions: TlsVersions) -> TlsSettings {
    let (ca, _, _) = certificates();
    TlsSettings {
        connector: ClientTls::new("localhost", std::slice::from_ref(ca), versions).unwrap(),
        implicit,
        auth_ssl_fallback: false,
    }
}

fn tls_server() -> ServerConfig {
    ServerConfig {
        tls: Some(server_tls()),
        allow_anonymous: true,
        ..ServerConfig::default()
    }
}

fn tls_pair(mode: DataMode, tls: TlsSettings) -> Pair {
    let implicit = tls.implicit;
    let client = ClientConfig {
        mode,
        tls: Some(tls),
        notices: true,
        ..ClientConfig::default()
    };
    Pair::with(client, tls_server(), implicit)
}

fn sent_lines(pair: &mut Pair) -> Vec<String> {
    std::iter::from_fn(|| pair.client.poll_notice())
        .filter_map(|notice| match notice {
            Notice::Sent(line) => Some(line),
            _ => None,
        })
        .collect()
}

#[test]
fn explicit_tls_then_login_protects_the_data() {
    for mode in [DataMode::Passive, DataMode::Active] {
        let mut p = tls_pair(mode, settings(false));
        assert_eq!(p.result(OperationId(0)), Ok(Output::Connected));
        let summary = p.client.tls_summary().expect("TLS is up");
        assert_eq!(summary.version, "TLSv1.3");
        assert!(summary.peer_certificate.is_some());
        // A non-anonymous login: our server refuses one in clear, so this
        // also shows the login went through TLS.
        let id = p.client.login(b"alice", b"secret", None);
        assert_eq!(p.result(id), Ok(Output::LoggedIn));
        assert_eq!(
            sent_lines(&mut p),
            [
                "AUTH TLS",
                "USER alice",
                "PASS ****",
                "PBSZ 0",
                "PROT P",
                "FEAT",
                "OPTS UTF8 ON"
            ]
        );
        let id = p.client.retrieve(b"pub/a.txt", 0, false);
        assert_eq!(p.result(id), Ok(Output::Transferred { bytes: 12 }));
        assert_eq!(p.received, b"hello\nworld\n");
        let id = p.client.list(Some(b"pub"));
        assert!(matches!(p.result(id), Ok(Output::Listing(l)) if l.entries.len() == 1));
        p.upload = b"up".to_vec();
        let id = p.client.store(b"new", StoreMode::Replace, false);
        assert_eq!(p.result(id), Ok(Output::Transferred { bytes: 2 }));
        // Every data connection was protected and resumed the control
        // connection's session (our server refuses any other).
        assert_eq!(p.data_tls.len(), 3, "{mode:?}");
        assert!(p.data_tls.iter().all(|s| s.resumed));
        let id = p.client.quit();
        assert_eq!(p.result(id), Ok(Output::Done));
    }
}

/// Fifty uploads in a row and fifty mixed transfers all resume the
/// control session: under TLS 1.2 by resuming the one session again and
/// again; under TLS 1.3, where a client uses each ticket once, with the
/// tickets our server sends on every data connection (on uploads, after
/// the client's close_notify).
#[test]
fn session_reuse_holds_for_many_transfers() {
    for versions in [TlsVersions::ReusableSessions, TlsVersions::Tls13] {
        many_transfers(versions);
    }
}

fn many_transfers(versions: TlsVersions) {
    let mut p = tls_pair(DataMode::Passive, settings_for(false, versions));
    let id = p.client.login(b"alice", b"secret", None);
    assert_eq!(p.result(id), Ok(Output::LoggedIn));
    p.upload = vec![7; 1000];
    for n in 0..50 {
        let name = format!("up{n}");
        let id = p.client.store(name.as_bytes(), StoreMode::Replace, false);
        assert_eq!(p.result(id), Ok(Output::Transferred { bytes: 1000 }), "{n}");
    }
    for n in 0..50 {
        let id = if n % 2 == 0 {
            p.client.retrieve(b"readme", 0, false)
        } else {
            p.client.nlst(None)
        };
        assert!(p.result(id).is_ok(), "{n}");
    }
    assert_eq!(p.data_tls.len(), 100);
    let fresh: Vec<usize> = (0..100).filter(|&i| !p.data_tls[i].resumed).collect();
    assert!(fresh.is_empty(), "{versions:?}: not resumed: {fresh:?}");
    let expected = match versions {
        TlsVersions::ReusableSessions => "TLSv1.2",
        TlsVersions::Tls13 => "TLSv1.3",
    };
    assert!(p.data_tls.iter().all(|s| s.version == expected));
}

#[test]
fn implicit_tls_greets_inside_the_handshake() {
    let mut p = tls_pair(DataMode::Passive, settings(true));
    assert_eq!(p.result(OperationId(0)), Ok(Output::Connected));
    assert!(p.client.tls_summary().is_some());
    let notices: Vec<Notice> = std::iter::from_fn(|| p.client.poll_notice()).collect();
    assert!(
        matches!(&notices[0], Notice::Protected { data: false, summary } if !summary.resumed),
        "the handshake first: {notices:?}"
    );
    assert!(matches!(&notices[1], Notice::Received(r) if r.code.get() == 220));
    let id = p.client.login(b"alice", b"secret", None);
    assert_eq!(p.result(id), Ok(Output::LoggedIn));
    let lines = sent_lines(&mut p);
    assert!(!lines.iter().any(|l| l.starts_with("AUTH")), "{lines:?}");
    assert!(lines.iter().any(|l| l == "PROT P"));
    let id = p.client.retrieve(b"readme", 0, false);
    assert_eq!(p.result(id), Ok(Output::Transferred { bytes: 7 }));
    assert!(p.data_tls[0].resumed);
}

#[test]
fn a_data_connection_cut_before_close_notify_is_an_error() {
    let mut p = tls_pair(DataMode::Passive, settings(false));
    let id = p.client.login(b"alice", b"secret", None);
    assert_eq!(p.result(id), Ok(Output::LoggedIn));
    p.truncate_next = true;
    let id = p.client.retrieve(b"readme", 0, false);
    assert_eq!(
        p.result(id),
        Err(ClientError::Transfer(DataError::Truncated))
    );
}

#[test]
fn a_certificate_for_another_name_or_from_another_ca_is_refused() {
    // The test leaf is for localhost, not 127.0.0.1.
    let (ca, _, _) = certificates();
    let wrong_name = TlsSettings {
        connector: ClientTls::new("127.0.0.1", std::slice::from_ref(ca), TlsVersions::Tls13)
            .unwrap(),
        implicit: false,
        auth_ssl_fallback: false,
    };
    let mut p = tls_pair(DataMode::Passive, wrong_name);
    match p.result(OperationId(0)) {
        Err(ClientError::Tls(TlsError::Certificate { name, why })) => {
            assert_eq!(name, "127.0.0.1");
            assert!(why.contains("name"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert!(p.client.is_closed());

    // A leaf the client has no root for: the leaf itself is not a CA.
    let (_, leaf, _) = certificates();
    let stranger = TlsSettings {
        connector: ClientTls::new("localhost", std::slice::from_ref(leaf), TlsVersions::Tls13)
            .unwrap(),
        implicit: false,
        auth_ssl_fallback: false,
    };
    let mut p = tls_pair(DataMode::Passive, stranger);
    assert!(matches!(
        p.result(OperationId(0)),
        Err(ClientError::Tls(TlsError::Certificate { .. }))
    ));

    // Asked for by name: any certificate, still encrypted.
    let insecure = TlsSettings {
        connector: ClientTls::insecure("127.0.0.1", TlsVersions::ReusableSessions).unwrap(),
        implicit: false,
        auth_ssl_fallback: false,
    };
    let mut p = tls_pair(DataMode::Passive, insecure);
    assert_eq!(p.result(OperationId(0)), Ok(Output::Connected));
    let id = p.client.login(b"alice", b"secret", None);
    assert_eq!(p.result(id), Ok(Output::LoggedIn));
}

/// A client with TLS settings against a scripted server.
fn scripted(auth_ssl_fallback: bool) -> Scripted {
    let mut tls = settings(false);
    tls.auth_ssl_fallback = auth_ssl_fallback;
    Scripted::new(ClientConfig {
        tls: Some(tls),
        ..ClientConfig::default()
    })
}

impl Scripted {
    fn sent_bytes(&mut self) -> Vec<u8> {
        self.actions()
            .into_iter()
            .filter_map(|a| match a {
                Action::Send(b) => Some(b.to_vec()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn outcome(&mut self, id: OperationId) -> Option<Result<Output, ClientError>> {
        self.outcomes()
            .into_iter()
            .find(|(i, _)| *i == id)
            .map(|(_, r)| r)
    }
}

#[test]
fn a_server_without_tls_is_refused_not_used_in_clear() {
    let mut s = scripted(false);
    s.reply("220 hello\r\n");
    assert_eq!(s.sent(), "AUTH TLS\r\n");
    s.reply("502 no TLS here\r\n");
    match s.outcome(OperationId(0)) {
        Some(Err(ClientError::TlsNotOffered(reply))) => assert_eq!(reply.code.get(), 502),
        other => panic!("{other:?}"),
    }
    assert!(s.client.is_closed());
    assert_eq!(s.sent(), "", "nothing sent in clear after the refusal");
    // Later operations fail; no USER is ever sent in clear.
    let id = s.client.login(b"u", b"p", None);
    assert_eq!(s.outcome(id), Some(Err(ClientError::ConnectionClosed)));
    assert_eq!(s.sent(), "");
}

#[test]
fn auth_ssl_is_tried_only_when_asked_for() {
    let mut s = scripted(true);
    s.reply("220 hello\r\n");
    assert_eq!(s.sent(), "AUTH TLS\r\n");
    s.reply("504 unknown mechanism\r\n");
    assert_eq!(s.sent(), "AUTH SSL\r\n");
    s.reply("234 go ahead\r\n");
    // The ClientHello: a TLS handshake record.
    let hello = s.sent_bytes();
    assert_eq!(hello.first(), Some(&0x16), "{hello:?}");
}

#[test]
fn bytes_in_clear_after_234_end_the_connection() {
    let mut s = scripted(false);
    s.reply("220 hello\r\n");
    assert_eq!(s.sent(), "AUTH TLS\r\n");
    // A reply injected behind the 234, in the same read.
    s.reply("234 go ahead\r\n230 logged in, trust me\r\n");
    match s.outcome(OperationId(0)) {
        Some(Err(ClientError::Tls(TlsError::Protocol(why)))) => {
            assert!(why.contains("after 234"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert!(s.client.is_closed());
    // No ClientHello went out, and nothing else.
    assert!(!s.sent_bytes().contains(&0x16));
}

/// PBSZ and PROT follow the login; a refused PROT P fails the login, and
/// no transfer then runs in clear.
#[test]
fn a_refused_prot_p_fails_the_login_and_keeps_data_off() {
    let mut s = scripted(false);
    s.reply("220 hello\r\n");
    s.reply("234 go ahead\r\n");
    // Past the handshake, in clear, so the replies can be scripted: the
    // engine's sequencing is the same once the codec is up.
    s.client.tls = None;
    s.client.succeed(Output::Connected);
    s.actions();
    let id = s.client.login(b"u", b"p", None);
    assert_eq!(s.sent(), "USER u\r\n");
    s.reply("331 password\r\n");
    assert_eq!(s.sent(), "PASS p\r\n");
    s.reply("230 in\r\n");
    assert_eq!(s.sent(), "PBSZ 0\r\n");
    s.reply("200 PBSZ=0\r\n");
    assert_eq!(s.sent(), "PROT P\r\n");
    s.reply("534 not here\r\n");
    assert!(matches!(
        s.outcome(id),
        Some(Err(ClientError::Rejected(r))) if r.code.get() == 534
    ));
    let id = s.client.retrieve(b"f", 0, false);
    match s.outcome(id) {
        Some(Err(ClientError::Tls(TlsError::Protocol(why)))) => {
            assert!(why.contains("PROT P"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.sent(), "");
}
