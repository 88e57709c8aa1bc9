//! FTPS transcripts (RFC 4217): a rustls client in memory against the
//! session, with a CA and a certificate for `localhost` made by rcgen at
//! test time.

use super::super::super::harness::Harness;
use super::*;
use crate::tls::testing::{certificates, server_tls};
use crate::tls::{DataTls, ServerTls, TlsCodec, TlsError};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use std::io::{Read, Write};

/// A client configuration trusting the test CA, with its own session
/// store: two configurations never resume each other's sessions.
fn client_config() -> Arc<ClientConfig> {
    let (ca, _, _) = certificates();
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn tls_config() -> ServerConfig {
    ServerConfig {
        tls: Some(server_tls()),
        allow_anonymous: true,
        ..ServerConfig::default()
    }
}

/// A TLS client on the control connection of a harness.
struct Client {
    conn: ClientConnection,
}

impl Client {
    fn new(config: &Arc<ClientConfig>) -> Client {
        let name = ServerName::try_from("localhost").unwrap();
        Client {
            conn: ClientConnection::new(config.clone(), name).unwrap(),
        }
    }

    /// Moves bytes both ways until neither side has any; returns the
    /// server's plaintext.
    fn pump(&mut self, h: &mut Harness) -> String {
        let mut plaintext = Vec::new();
        for _ in 0..100 {
            let mut out = Vec::new();
            while self.conn.wants_write() {
                self.conn.write_tls(&mut out).unwrap();
            }
            if !out.is_empty() {
                h.input_bytes(&out);
            }
            let from_server = h.output_bytes();
            if !from_server.is_empty() {
                let mut rest = &from_server[..];
                while !rest.is_empty() {
                    self.conn.read_tls(&mut rest).unwrap();
                    self.conn.process_new_packets().unwrap();
                }
            }
            let mut chunk = [0u8; 4096];
            while let Ok(n) = self.conn.reader().read(&mut chunk) {
                if n == 0 {
                    break;
                }
                plaintext.extend_from_slice(&chunk[..n]);
            }
            if out.is_empty() && from_server.is_empty() {
                break;
            }
        }
        String::from_utf8_lossy(&plaintext).into_owned()
    }

    /// Sends a command over TLS; returns the decrypted replies.
    fn command(&mut self, h: &mut Harness, text: &str) -> String {
        self.conn.writer().write_all(text.as_bytes()).unwrap();
        self.pump(h)
    }
}

/// A harness past AUTH TLS and its handshake.
fn protected(config: &Arc<ClientConfig>) -> (Harness, Client) {
    let mut h = Harness::new(tls_config());
    assert_eq!(h.output(), "220 FTP server ready.\r\n");
    assert_eq!(
        h.exchange("AUTH TLS\r\n"),
        "234 Proceed with negotiation.\r\n"
    );
    let mut client = Client::new(config);
    assert_eq!(client.pump(&mut h), "");
    assert!(!client.conn.is_handshaking());
    (h, client)
}

/// Runs a data connection's handshake between the engine's codec and a
/// client; returns the codec's verdict.
fn data_handshake(tls: &DataTls, config: &Arc<ClientConfig>) -> Result<TlsCodec, TlsError> {
    let mut server = tls.start()?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut client = ClientConnection::new(config.clone(), name).unwrap();
    for _ in 0..20 {
        let mut out = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut out).unwrap();
        }
        server.receive(&out)?;
        let mut back = Vec::new();
        server.transmit(&mut back);
        let mut rest = &back[..];
        while !rest.is_empty() {
            client.read_tls(&mut rest).unwrap();
            client.process_new_packets().unwrap();
        }
        if !server.is_handshaking() && !client.is_handshaking() && !client.wants_write() {
            break;
        }
    }
    Ok(server)
}

fn transfer_tls(h: &Harness) -> Option<DataTls> {
    h.actions.iter().rev().find_map(|a| {
        if let Action::Transfer { tls, .. } = a {
            tls.clone()
        } else {
            None
        }
    })
}

#[test]
fn feat_and_auth_depend_on_a_certificate() {
    let mut plain = Harness::new(ServerConfig::default());
    plain.output();
    let feat = plain.exchange("FEAT\r\n");
    assert!(!feat.contains("AUTH TLS"), "{feat}");
    assert_eq!(
        plain.exchange("AUTH TLS\r\n"),
        "502 TLS is not configured.\r\n"
    );
    let mut h = Harness::new(tls_config());
    h.output();
    let feat = h.exchange("FEAT\r\n");
    for line in [" AUTH TLS\r\n", " PBSZ\r\n", " PROT\r\n"] {
        assert!(feat.contains(line), "{feat}");
    }
}

#[test]
fn pbsz_and_prot_need_auth_first() {
    let mut h = Harness::new(tls_config());
    h.output();
    check(&mut h, "PBSZ 0\r\n", "503 PBSZ needs AUTH first.\r\n");
    check(&mut h, "PROT P\r\n", "503 PROT needs AUTH first.\r\n");
    check(
        &mut h,
        "AUTH GSSAPI\r\n",
        "504 Only AUTH TLS is supported.\r\n",
    );
}

/// Whatever follows AUTH TLS in the same read is dropped unread: a man in
/// the middle may have put it there, and the client meant the next bytes
/// to be its ClientHello.
#[test]
fn plaintext_after_auth_is_never_read_as_commands() {
    let config = client_config();
    let mut h = Harness::new(tls_config());
    h.output();
    assert_eq!(
        h.exchange("AUTH TLS\r\nUSER anonymous\r\nPASS x\r\nDELE readme\r\n"),
        "234 Proceed with negotiation.\r\n"
    );
    assert!(h.actions.is_empty(), "{:?}", h.actions);
    let mut client = Client::new(&config);
    assert_eq!(client.pump(&mut h), "");
    // Not logged in: the USER and PASS in clear were dropped.
    assert_eq!(
        client.command(&mut h, "PWD\r\n"),
        "530 Please login with USER and PASS.\r\n"
    );
}

/// AUTH starts over as REIN would (RFC 4217 §4.2): the login, the type,
/// the directory and the data connection go; HOST, which may come
/// before AUTH, stays.
#[test]
fn auth_starts_the_session_over() {
    let config = client_config();
    let mut h = Harness::new(ServerConfig {
        tls_required_for_login: false,
        ..tls_config()
    });
    h.output();
    h.exchange("HOST localhost\r\nUSER alice\r\nPASS secret\r\nTYPE I\r\nCWD pub\r\nPASV\r\n");
    take_actions(&mut h);
    assert_eq!(
        h.exchange("AUTH TLS\r\n"),
        "234 Proceed with negotiation.\r\n"
    );
    assert_eq!(take_actions(&mut h), [Action::Logout, Action::CloseData]);
    let mut c = Client::new(&config);
    c.pump(&mut h);
    assert_eq!(
        c.command(&mut h, "PWD\r\n"),
        "530 Please login with USER and PASS.\r\n"
    );
    assert_eq!(
        c.command(&mut h, "USER alice\r\nPASS secret\r\nPWD\r\n"),
        "331 Please specify the password.\r\n230 Login successful.\r\n257 \"/\" is the current directory\r\n"
    );
    assert_eq!(
        c.command(&mut h, "SIZE readme\r\n"),
        "550 SIZE not allowed in ASCII mode.\r\n"
    );
    assert_eq!(
        c.command(&mut h, "HOST other\r\n"),
        "503 HOST must come before USER.\r\n"
    );
}

#[test]
fn auth_ssl_and_tls_c_are_synonyms_and_a_second_auth_is_refused() {
    for mechanism in ["SSL", "TLS-C", "tls"] {
        let config = client_config();
        let mut h = Harness::new(tls_config());
        h.output();
        assert_eq!(
            h.exchange(&format!("AUTH {mechanism}\r\n")),
            "234 Proceed with negotiation.\r\n"
        );
        let mut client = Client::new(&config);
        client.pump(&mut h);
        assert_eq!(
            client.command(&mut h, "AUTH TLS\r\n"),
            "503 TLS is already on.\r\n"
        );
        assert_eq!(
            client.command(&mut h, "CCC\r\n"),
            "534 CCC refused: the control connection stays protected.\r\n"
        );
    }
}

#[test]
fn pbsz_and_prot_sequence() {
    let config = client_config();
    let (mut h, mut c) = protected(&config);
    assert_eq!(
        c.command(&mut h, "PROT P\r\n"),
        "503 PROT needs PBSZ first.\r\n"
    );
    assert_eq!(c.command(&mut h, "PBSZ 1024\r\n"), "200 PBSZ=0\r\n");
    assert_eq!(
        c.command(&mut h, "PROT S\r\n"),
        "536 Only PROT P and PROT C are supported.\r\n"
    );
    assert_eq!(
        c.command(&mut h, "PROT E\r\n"),
        "536 Only PROT P and PROT C are supported.\r\n"
    );
    assert!(c.command(&mut h, "PROT X\r\n").starts_with("504 "));
    assert_eq!(
        c.command(&mut h, "PROT C\r\n"),
        "200 Protection level set to Clear.\r\n"
    );
    assert_eq!(
        c.command(&mut h, "PROT P\r\n"),
        "200 Protection level set to Private.\r\n"
    );
}

/// As vsftpd's force_local_logins_ssl: a non-anonymous user in clear is
/// refused at USER, with the reason; anonymous users are not.
#[test]
fn non_anonymous_logins_need_tls() {
    let mut h = Harness::new(tls_config());
    h.output();
    check(
        &mut h,
        "USER alice\r\n",
        "530 Non-anonymous logins need TLS: send AUTH TLS first.\r\n",
    );
    check(&mut h, "PASS secret\r\n", "503 Login with USER first.\r\n");
    check(
        &mut h,
        "USER anonymous\r\n",
        "331 Please specify the password.\r\n",
    );
    // Relaxed by the operator: plain logins allowed.
    let mut h = Harness::new(ServerConfig {
        tls_required_for_login: false,
        ..tls_config()
    });
    h.output();
    check(
        &mut h,
        "USER alice\r\n",
        "331 Please specify the password.\r\n",
    );
    // Under TLS, as it should be.
    let config = client_config();
    let (mut h, mut c) = protected(&config);
    assert_eq!(
        c.command(&mut h, "USER alice\r\nPASS secret\r\n"),
        "331 Please specify the password.\r\n230 Login successful.\r\n"
    );
}

/// As vsftpd's force_local_data_ssl: a transfer on a protected control
/// connection under PROT C gets 521, with no preliminary reply.
#[test]
fn transfers_need_prot_p_and_carry_the_data_tls() {
    let config = client_config();
    let (mut h, mut c) = protected(&config);
    c.command(&mut h, "USER alice\r\nPASS secret\r\n");
    assert_eq!(
        c.command(&mut h, "RETR readme\r\n"),
        "521 Data connections must be protected: send PROT P.\r\n"
    );
    c.command(&mut h, "PBSZ 0\r\nPROT P\r\nTYPE I\r\n");
    let reply = c.command(&mut h, "PASV\r\n");
    assert!(reply.starts_with("227 "), "{reply}");
    let reply = c.command(&mut h, "RETR readme\r\n");
    assert!(
        reply.starts_with("150 ") || reply.starts_with("125 "),
        "{reply}"
    );
    assert!(transfer_tls(&h).is_some(), "{:?}", h.actions);
    let listing = h
        .actions
        .iter()
        .any(|a| matches!(a, Action::SendListing { tls: Some(_), .. }));
    assert!(!listing);
    c.command(&mut h, "PASV\r\n");
    c.command(&mut h, "LIST\r\n");
    let listing = h
        .actions
        .iter()
        .any(|a| matches!(a, Action::SendListing { tls: Some(_), .. }));
    assert!(listing, "{:?}", h.actions);
}

/// The data connection must resume the control connection's session: a
/// client with a session store of its own (a stranger) is refused, the
/// session's own client is accepted; with the check off, both are.
#[test]
fn data_connections_must_resume_the_control_session() {
    let config = client_config();
    let (mut h, mut c) = protected(&config);
    c.command(&mut h, "USER alice\r\nPASS secret\r\nPBSZ 0\r\nPROT P\r\n");
    c.command(&mut h, "PASV\r\nRETR readme\r\n");
    let tls = transfer_tls(&h).expect("protected transfer");
    assert_eq!(
        data_handshake(&tls, &client_config()).err(),
        Some(TlsError::NotResumed)
    );
    for _ in 0..3 {
        // Resumed, again and again (stateless tickets: reusable).
        let codec = data_handshake(&tls, &config).expect("resumed");
        assert!(codec.summary().is_some_and(|s| s.resumed));
    }

    let mut relaxed = Harness::new(ServerConfig {
        tls_session_reuse_required: false,
        ..tls_config()
    });
    relaxed.output();
    relaxed.exchange("AUTH TLS\r\n");
    let mut c = Client::new(&config);
    c.pump(&mut relaxed);
    c.command(
        &mut relaxed,
        "USER alice\r\nPASS secret\r\nPBSZ 0\r\nPROT P\r\n",
    );
    c.command(&mut relaxed, "PASV\r\nRETR readme\r\n");
    let tls = transfer_tls(&relaxed).expect("protected transfer");
    assert!(data_handshake(&tls, &client_config()).is_ok());
}

#[test]
fn failed_and_truncated_protected_transfers() {
    let config = client_config();
    let (mut h, mut c) = protected(&config);
    c.command(&mut h, "USER alice\r\nPASS secret\r\nPBSZ 0\r\nPROT P\r\n");
    h.behaviour.transfers_complete = false;
    c.command(&mut h, "PASV\r\nRETR readme\r\n");
    h.start_held_transfer();
    h.finish_transfer(Err(TransferError::Tls(TlsError::NotResumed.to_string())));
    let reply = c.pump(&mut h);
    assert!(
        reply.starts_with("522 TLS on the data connection failed"),
        "{reply}"
    );
    c.command(&mut h, "PASV\r\nSTOR up\r\n");
    h.start_held_transfer();
    h.finish_transfer(Err(TransferError::Truncated));
    assert_eq!(
        c.pump(&mut h),
        "426 Data connection closed without TLS close_notify; transfer truncated.\r\n"
    );
}

/// Garbage instead of a ClientHello ends the session, with no reply.
#[test]
fn garbage_instead_of_a_client_hello_closes() {
    let mut h = Harness::new(tls_config());
    h.output();
    h.exchange("AUTH TLS\r\n");
    h.input("USER alice\r\n");
    assert!(h.session.is_closed());
    assert!(h.actions.iter().any(|a| matches!(a, Action::Close)));
}

/// Implicit FTPS: the greeting comes over TLS once the handshake is done,
/// and PROT P is in force.
#[test]
fn implicit_tls_greets_after_the_handshake() {
    let config = client_config();
    let mut h = Harness::implicit(tls_config());
    assert_eq!(h.output(), "");
    let mut c = Client::new(&config);
    assert_eq!(c.pump(&mut h), "220 FTP server ready.\r\n");
    c.command(&mut h, "USER alice\r\nPASS secret\r\n");
    c.command(&mut h, "PASV\r\nRETR readme\r\n");
    assert!(transfer_tls(&h).is_some());
    // Without a certificate there is nothing to offer.
    let mut h = Harness::implicit(ServerConfig::default());
    assert_eq!(h.output(), "421 TLS is not configured.\r\n");
    assert!(h.session.is_closed());
}

/// QUIT under TLS: the reply, then close_notify, then the close.
#[test]
fn quit_sends_close_notify() {
    let config = client_config();
    let (mut h, mut c) = protected(&config);
    assert_eq!(c.command(&mut h, "QUIT\r\n"), "221 Goodbye.\r\n");
    let mut chunk = [0u8; 16];
    assert_eq!(c.conn.reader().read(&mut chunk).unwrap(), 0, "close_notify");
}

#[test]
fn pem_files_are_read_and_bad_ones_refused() {
    let (_, leaf, key) = certificates();
    let pem = |label: &str, der: &[u8]| {
        let mut text = format!("-----BEGIN {label}-----\n");
        use std::fmt::Write as _;
        let encoded = base64(der);
        for line in encoded.as_bytes().chunks(64) {
            let _ = writeln!(text, "{}", std::str::from_utf8(line).unwrap());
        }
        let _ = writeln!(text, "-----END {label}-----");
        text
    };
    let chain = pem("CERTIFICATE", leaf);
    let key_pem = pem("PRIVATE KEY", key);
    assert!(ServerTls::from_pem(chain.as_bytes(), key_pem.as_bytes()).is_ok());
    assert!(matches!(
        ServerTls::from_pem(b"", key_pem.as_bytes()),
        Err(TlsError::Config(_))
    ));
    assert!(matches!(
        ServerTls::from_pem(chain.as_bytes(), b"not a key"),
        Err(TlsError::Config(_))
    ));
    // A key that is not the certificate's.
    let other = rcgen::KeyPair::generate().unwrap().serialize_der();
    assert!(matches!(
        ServerTls::from_pem(chain.as_bytes(), pem("PRIVATE KEY", &other).as_bytes()),
        Err(TlsError::Config(_))
    ));
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// AES-128-GCM whatever the client lists first (rustls and OpenSSL
/// clients list AES-256-GCM first): a third less CPU per byte.
#[test]
fn the_server_prefers_aes_128_gcm() {
    let config = client_config();
    let (_, client) = protected(&config);
    assert_eq!(
        client.conn.negotiated_cipher_suite().map(|s| s.suite()),
        Some(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256)
    );
}

/// On an upload's data connection, the TLS 1.3 tickets wait for the
/// client's close_notify: a client that closes without reading (curl,
/// lftp) then has nothing unread, so its kernel sends no reset that would
/// cut the upload; a client that reads to the end still gets them. A
/// download's connection sends them at once.
#[test]
fn upload_tickets_wait_for_the_clients_close_notify() {
    let config = client_config();
    let (mut h, mut c) = protected(&config);
    c.command(&mut h, "USER alice\r\nPASS secret\r\nPBSZ 0\r\nPROT P\r\n");
    for (command, upload) in [("STOR up", true), ("RETR readme", false)] {
        c.command(&mut h, &format!("PASV\r\n{command}\r\n"));
        let tls = transfer_tls(&h).expect("protected transfer");
        let mut server = tls.start().unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut client = ClientConnection::new(config.clone(), name).unwrap();
        // The handshake; then what the server sends once the client is done.
        let mut after_handshake = 0;
        for _ in 0..20 {
            let mut out = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut out).unwrap();
            }
            server.receive(&out).unwrap();
            let mut back = Vec::new();
            server.transmit(&mut back);
            if !client.is_handshaking() {
                after_handshake += back.len();
            }
            let mut rest = &back[..];
            while !rest.is_empty() {
                client.read_tls(&mut rest).unwrap();
                client.process_new_packets().unwrap();
            }
            if !server.is_handshaking() && !client.wants_write() {
                break;
            }
        }
        assert!(server.summary().is_some_and(|s| s.resumed));
        if !upload {
            assert!(after_handshake > 0, "a download's tickets come at once");
            continue;
        }
        assert_eq!(after_handshake, 0, "nothing before the upload ends");
        client.writer().write_all(b"data").unwrap();
        client.send_close_notify();
        let mut out = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut out).unwrap();
        }
        server.receive(&out).unwrap();
        assert_eq!(server.take_plaintext(), b"data");
        assert!(server.peer_closed());
        server.close();
        let mut tickets = Vec::new();
        server.transmit(&mut tickets);
        assert!(
            tickets.len() > 100,
            "tickets, then close_notify: {tickets:?}"
        );
        let mut rest = &tickets[..];
        while !rest.is_empty() {
            client.read_tls(&mut rest).unwrap();
            client.process_new_packets().unwrap();
        }
    }
}
