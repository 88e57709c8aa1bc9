//! One scenario, written once, for every combination of {std server, smol
//! server} × {std client, smol client} × {PASV, EPSV, PORT, EPRT} × {IPv4,
//! IPv6}, in clear; and for {std, smol} server × {std, smol} client ×
//! {explicit FTPS, implicit FTPS} × {EPSV, EPRT} × {IPv4, IPv6}. PORT
//! carries an IPv4 address only, so PORT × IPv6 is not a combination FTP
//! has. PASV on IPv6 works because our server announces 0,0,0,0 (as vsftpd
//! does) and our client connects to the control peer.

use ftp_std::proto::client::StoreMode;
use ftp_tests::clients::{AnyClient, ClientKind, Mode, Security};
use ftp_tests::*;
use std::io::Write;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

type Combination = (ServerKind, ClientKind, Mode, bool, Security);

fn combinations() -> Vec<Combination> {
    let mut out = Vec::new();
    for server in [ServerKind::Std, ServerKind::Smol] {
        for client in [ClientKind::Std, ClientKind::Smol] {
            for mode in [Mode::Pasv, Mode::Epsv, Mode::Port, Mode::Eprt] {
                for ipv6 in [false, true] {
                    if !(ipv6 && matches!(mode, Mode::Port)) {
                        out.push((server, client, mode, ipv6, Security::Plain));
                    }
                }
            }
            for security in [Security::Explicit, Security::Implicit] {
                for mode in [Mode::Epsv, Mode::Eprt] {
                    for ipv6 in [false, true] {
                        out.push((server, client, mode, ipv6, security));
                    }
                }
            }
        }
    }
    out
}

/// Login, list, upload and download with checksums, resume both ways,
/// rename and delete, and ABOR in the middle of a download with the
/// session going on.
fn scenario((server_kind, client_kind, mode, ipv6, security): Combination) {
    let context = format!(
        "{server_kind:?} server, {client_kind:?} client, {mode:?}, ipv6={ipv6}, {security:?}"
    );
    let server = match security {
        Security::Plain => TestServer::start(server_kind, ipv6),
        // Our server's defaults under TLS: logins and data protected, and
        // data connections that must resume the control session.
        Security::Explicit => TestServer::start_tls(server_kind, ipv6, false, |_| {}),
        Security::Implicit => TestServer::start_tls(server_kind, ipv6, true, |_| {}),
    };
    let data = random_bytes(1 << 20, 11);
    server.put("big.bin", &random_bytes(64 << 20, 12));
    let mut client = AnyClient::connect_with(client_kind, &server, mode, security);
    let trace = client.trace_commands();

    client
        .store("up.bin", StoreMode::Replace, &data)
        .expect(&context);
    assert_eq!(
        sha256(&server.root().join("up.bin")),
        sha256_of(&data),
        "{context}"
    );
    assert_eq!(
        client.names().expect(&context),
        [b"big.bin".to_vec(), b"up.bin".to_vec()],
        "{context}"
    );
    assert_eq!(
        client.retrieve("up.bin", 0).expect(&context),
        data,
        "{context}"
    );
    assert_eq!(
        client.retrieve("up.bin", 700_000).expect(&context),
        &data[700_000..],
        "{context}"
    );
    client
        .store("part.bin", StoreMode::Replace, &data[..300_000])
        .expect(&context);
    client
        .store("part.bin", StoreMode::Resume(300_000), &data[300_000..])
        .expect(&context);
    assert_eq!(server.read("part.bin"), data, "{context}");
    client.rename("part.bin", "renamed.bin").expect(&context);
    client.delete("renamed.bin").expect(&context);
    assert!(
        !server.exists("part.bin") && !server.exists("renamed.bin"),
        "{context}"
    );

    // TYPE A: CRLF on the wire becomes LF (a client that skipped the
    // codec would hand back the CRs); SIZE then switches to TYPE I by
    // itself, as the trace shows.
    server.put("dir/text.txt", b"one\r\ntwo\r\n");
    client.cwd("dir").expect(&context);
    assert_eq!(client.pwd().expect(&context), b"/dir", "{context}");
    assert_eq!(
        client.retrieve_ascii("text.txt").expect(&context),
        b"one\ntwo\n",
        "{context}"
    );
    assert_eq!(client.size("text.txt").expect(&context), 10, "{context}");
    {
        let sent = trace.lock().unwrap();
        let ascii = sent.iter().position(|c| c == "TYPE A");
        let binary = sent.iter().rposition(|c| c == "TYPE I");
        assert!(ascii.is_some() && ascii < binary, "{context}: {sent:?}");
    }
    client.cdup().expect(&context);
    assert_eq!(client.pwd().expect(&context), b"/", "{context}");
    // STOU: the server names the file.
    let (name, bytes) = client.store_unique(b"unique").expect(&context);
    assert_eq!(bytes, 6, "{context}");
    let name = String::from_utf8(name).expect(&context);
    assert_eq!(
        server.read(name.trim_start_matches('/')),
        b"unique",
        "{context}: {name}"
    );
    client.delete(&name).expect(&context);
    std::fs::remove_dir_all(server.root().join("dir")).expect(&context);

    // ABOR after the first megabyte of a 64 MiB download; then go on.
    client.on_progress(|moved| {
        if moved > 1 << 20 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    let aborted = client.retrieve("big.bin", 0);
    assert!(
        aborted.as_ref().is_err_and(|e| e.contains("aborted")),
        "{context}: {aborted:?}"
    );
    client.on_progress(|_| ControlFlow::Continue(()));
    client.noop().expect(&context);
    assert_eq!(
        client.retrieve("up.bin", 0).expect(&context),
        data,
        "{context}"
    );
    // Under TLS every data connection was protected and resumed the
    // control connection's session; in clear, none was.
    let trace = trace.lock().unwrap();
    let data_connections = trace
        .iter()
        .filter(|c| {
            ["LIST", "MLSD", "RETR", "STOR", "STOU"]
                .iter()
                .any(|v| c.starts_with(v))
        })
        .count();
    let resumed = trace.iter().filter(|c| *c == "TLS resumed").count();
    let fresh = trace.iter().filter(|c| *c == "TLS new").count();
    if security == Security::Plain {
        assert_eq!(resumed + fresh, 0, "{context}: {trace:?}");
    } else {
        assert_eq!(fresh, 0, "{context}: {trace:?}");
        assert_eq!(resumed, data_connections, "{context}: {trace:?}");
    }
}

/// Both clients take a host name and try each address it resolves to:
/// `localhost` may resolve to ::1 first, where this server does not
/// listen.
#[test]
fn clients_connect_by_host_name() {
    let server = TestServer::start(ServerKind::Smol, false);
    let port = server.address.port();
    let config = Mode::Epsv.config();
    let options = ftp_std::Options {
        engine: config.clone(),
        ..ftp_std::Options::default()
    };
    let mut blocking = ftp_std::Client::connect(("localhost", port), options).expect("std client");
    blocking.login(USER, PASSWORD).expect("std login");
    blocking.quit().expect("std quit");
    smol::block_on(async {
        let mut client = ftp_smol::client::Client::connect(("localhost", port), config)
            .await
            .expect("smol client");
        client.login(USER, PASSWORD).await.expect("smol login");
        client.quit().await.expect("smol quit");
    });
}

/// The names in a server's root, the files written aside included.
fn root_entries(server: &TestServer) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(server.root())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect()
}

fn sha256_of(data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d"), data).unwrap();
    sha256(&dir.path().join("d"))
}

#[test]
fn scenario_matrix() {
    let combinations = combinations();
    assert_eq!(combinations.len(), 28 + 32);
    for combination in combinations {
        scenario(combination);
    }
}

/// A server that stops mid-download drops the data connection: the client
/// reports it, nothing hangs.
#[test]
fn server_dropping_the_data_connection_is_reported() {
    for server_kind in [ServerKind::Std, ServerKind::Smol] {
        for client_kind in [ClientKind::Std, ClientKind::Smol] {
            let context = format!("{server_kind:?} server, {client_kind:?} client");
            let server = Arc::new(TestServer::start(server_kind, false));
            server.put("big.bin", &random_bytes(256 << 20, 13));
            let mut client = AnyClient::connect(client_kind, &server, Mode::Epsv);
            let stopper = server.clone();
            let stopped = Arc::new(AtomicBool::new(false));
            let flag = stopped.clone();
            client.on_progress(move |moved| {
                if moved > 4 << 20 && !flag.swap(true, Ordering::SeqCst) {
                    // Stop the server from another thread, as Ctrl-C would.
                    let stopper = stopper.clone();
                    std::thread::spawn(move || stopper.stop());
                }
                ControlFlow::Continue(())
            });
            let started = std::time::Instant::now();
            let result = client.retrieve("big.bin", 0);
            assert!(result.is_err(), "{context}: a cut download must fail");
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{context}: took {:?}",
                started.elapsed()
            );
        }
    }
}

/// A client that vanishes in the middle of an upload: the server keeps
/// serving others, and the file it was replacing keeps its content.
#[test]
fn client_vanishing_mid_upload_keeps_the_previous_content() {
    for server_kind in [ServerKind::Std, ServerKind::Smol] {
        for ipv6 in [false, true] {
            let context = format!("{server_kind:?} server, ipv6={ipv6}");
            let server = TestServer::start(server_kind, ipv6);
            server.put("keep.bin", b"previous content");
            let mut control = RawControl::connect(server.address);
            control.login();
            control.send("TYPE I\r\n");
            let mut data = control.epsv_connect();
            control.send("STOR keep.bin\r\n");
            // 125 when the data connection was open before STOR, else 150.
            control.wait_for(&["125", "150"]);
            data.write_all(&random_bytes(2 << 20, 14)).unwrap();
            // Vanish: both connections reset (RST, not FIN: a FIN on the data
            // connection is how a STREAM-mode upload ends), no QUIT.
            for socket in [&control.stream, &data] {
                socket2::SockRef::from(socket)
                    .set_linger(Some(Duration::ZERO))
                    .unwrap();
            }
            drop(control);
            drop(data);
            // The server is done with the upload once it holds no file
            // written aside (discarded, or put in place): only then does
            // the content say whether the partial upload was kept.
            assert!(
                eventually(Duration::from_secs(10), || server.uploads_in_progress()
                    == 0),
                "{context}: {} uploads in progress",
                server.uploads_in_progress()
            );
            assert_eq!(server.read("keep.bin"), b"previous content", "{context}");
            // Others are served, and see the old content too.
            let mut other = AnyClient::connect(ClientKind::Std, &server, Mode::Epsv);
            assert_eq!(
                other.retrieve("keep.bin", 0).expect(&context),
                b"previous content",
                "{context}"
            );
        }
    }
}

/// A client killed in the middle of an upload: its kernel closes both
/// connections with FIN, so the data connection ends as a complete STREAM
/// upload would. The control connection closed before the 226 could be
/// sent says otherwise: the upload is discarded and the previous content
/// stays. A real curl, killed many times, on both servers.
#[test]
fn a_client_killed_mid_upload_never_replaces_the_file() {
    for server_kind in [ServerKind::Std, ServerKind::Smol] {
        let server = TestServer::start(server_kind, false);
        server.put("keep.bin", b"previous content");
        let password = PASSWORD.replace(' ', "%20");
        let url = format!("ftp://{USER}:{password}@{}/keep.bin", server.address);
        for round in 0..20 {
            let context = format!("{server_kind:?} server, round {round}");
            let mut curl = std::process::Command::new(peer("curl"))
                .args(["-sS", "--max-time", "30", "-T", "-", &url])
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let mut stdin = curl.stdin.take().unwrap();
            stdin.write_all(&random_bytes(1 << 20, round)).unwrap();
            // The upload is under way once its file written aside exists.
            assert!(
                eventually(Duration::from_secs(10), || server.uploads_in_progress()
                    == 1),
                "{context}: no upload under way"
            );
            std::thread::sleep(Duration::from_millis(100));
            curl.kill().unwrap();
            curl.wait().unwrap();
            drop(stdin);
            assert!(
                eventually(Duration::from_secs(10), || server.uploads_in_progress()
                    == 0),
                "{context}: {} uploads in progress",
                server.uploads_in_progress()
            );
            assert_eq!(root_entries(&server).len(), 1, "{context}");
            let kept = server.read("keep.bin");
            assert!(
                kept == b"previous content",
                "{context}: replaced by {} bytes",
                kept.len()
            );
        }
    }
}
