//! Our two clients with FTPS against the reference servers, each requiring
//! TLS for the login and the data, with a test CA made now:
//!
//! - vsftpd 3.0.3, explicit and implicit, `require_ssl_reuse=YES` (a data
//!   connection that does not resume the control session gets 522);
//! - pure-ftpd 1.0.50, explicit (`-Y 2`; Debian's build has no implicit
//!   mode). Under TLS 1.3 it never resumes a session on a data connection
//!   (PEERS.md), so reuse is not counted there;
//! - ProFTPD 1.3.8 with mod_tls, explicit and implicit, session reuse
//!   required (its default: 425 otherwise).
//!
//! Each: list, upload and download with sha256 checked (256 MiB with the
//! blocking client in passive mode), resume both ways, fifty transfers in
//! one session with every data connection resuming the control session,
//! and the same in active mode. Our clients offer TLS 1.2 by default
//! (`TlsVersions`: its sessions can be resumed without limit); with TLS
//! 1.3 offered, where a client uses each ticket once, vsftpd is run again:
//! it sends fresh tickets on every data connection, and the clients keep
//! them by reading each data connection to its end, uploads too.

use ftp_std::client::TlsVersions;
use ftp_std::proto::client::StoreMode;
use ftp_tests::clients::{AnyClient, ClientKind, Mode, Security};
use ftp_tests::reference::{self, ReferenceServer};
use ftp_tests::*;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

fn sha256_of(data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d"), data).unwrap();
    sha256(&dir.path().join("d"))
}

/// A server with FTPS on, and the CA its certificate is from.
struct Target {
    server: Peer,
    security: Security,
    /// Whether it resumes sessions on data connections at all.
    resumes: bool,
    ca: PathBuf,
    _certificates: Option<tempfile::TempDir>,
}

/// Where a server listens, who logs in, where it writes.
struct Peer {
    name: String,
    host: String,
    port: u16,
    user: String,
    password: String,
    root: PathBuf,
    writable: String,
    _running: Box<dyn std::any::Any>,
}

impl From<ReferenceServer> for Peer {
    fn from(server: ReferenceServer) -> Peer {
        Peer {
            name: server.name.to_string(),
            host: server.host.clone(),
            port: server.port,
            user: server.user.clone(),
            password: server.password.clone(),
            root: server.root.clone(),
            writable: server.writable.clone(),
            _running: Box::new(server),
        }
    }
}

/// One of our servers with its defaults under TLS: logins and data
/// protected, data connections that must resume the control session.
fn our_target(kind: ServerKind, security: Security) -> Target {
    let server = TestServer::start_tls(kind, false, security == Security::Implicit, |_| {});
    let ca = server.ca_file();
    std::fs::create_dir_all(server.root().join("upload")).unwrap();
    Target {
        server: Peer {
            name: format!("ours ({kind:?})"),
            host: server.address.ip().to_string(),
            port: server.address.port(),
            user: USER.into(),
            password: PASSWORD.into(),
            root: server.root(),
            writable: "/upload".into(),
            _running: Box::new(server),
        },
        security,
        resumes: true,
        ca,
        _certificates: None,
    }
}

fn target(
    start: impl FnOnce(&std::path::Path, &std::path::Path) -> ReferenceServer,
    security: Security,
    resumes: bool,
) -> Target {
    let certificates = tempfile::tempdir().unwrap();
    let (ca, cert, key) = write_test_certificates(certificates.path());
    // The servers drop privileges before reading the key in some paths.
    for path in [certificates.path(), &cert, &key] {
        run(std::process::Command::new("chmod").arg("755").arg(path));
    }
    Target {
        server: start(&cert, &key).into(),
        security,
        resumes,
        ca,
        _certificates: Some(certificates),
    }
}

/// Records whether each data connection resumed the control session.
fn watch_data_tls(client: &mut AnyClient) -> Arc<Mutex<Vec<bool>>> {
    use ftp_std::proto::client::Notice;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let trace = move |notice: &Notice| {
        if let Notice::Protected {
            data: true,
            summary,
        } = notice
        {
            sink.lock().unwrap().push(summary.resumed);
        }
    };
    match client {
        AnyClient::Std(c) => c.set_trace(trace),
        AnyClient::Smol(c) => c.set_trace(trace),
    }
    seen
}

fn session(t: &Target, kind: ClientKind, mode: Mode, versions: TlsVersions) -> AnyClient {
    let mut client = AnyClient::open(
        kind,
        &t.server.host,
        t.server.port,
        mode,
        t.security,
        Some(t.ca.clone()),
        versions,
    )
    .unwrap_or_else(|e| panic!("{}: connect: {e}", t.server.name));
    client
        .login_as(&t.server.user, &t.server.password)
        .unwrap_or_else(|e| panic!("{}: login: {e}", t.server.name));
    client
}

fn scenario(t: &Target, kind: ClientKind, large: usize, versions: TlsVersions) {
    let dir = t.server.writable.clone();
    for mode in [Mode::Epsv, Mode::Eprt] {
        let context = format!(
            "{} {:?}, {kind:?} client, {mode:?}, {versions:?}",
            t.server.name, t.security
        );
        let mut client = session(t, kind, mode, versions);
        let negotiated = client_tls_version(&client);
        let expected = match versions {
            TlsVersions::ReusableSessions => "TLSv1.2",
            TlsVersions::Tls13 => "TLSv1.3",
        };
        assert_eq!(negotiated, expected, "{context}");
        let resumed = watch_data_tls(&mut client);
        let size = if mode == Mode::Epsv { large } else { 1 << 20 };
        let data = random_bytes(size, 21);
        let path = format!("{dir}/big-{mode:?}.bin");
        assert_eq!(
            client.store(&path, StoreMode::Replace, &data),
            Ok(size as u64),
            "{context}"
        );
        let on_disk = t.server.root.join(path.trim_start_matches('/'));
        assert_eq!(sha256(&on_disk), sha256_of(&data), "{context}");
        let back = client.retrieve(&path, 0).expect(&context);
        assert!(back == data, "{context}: the download differs");
        let names = client.names_in(&dir).expect(&context);
        assert!(
            names
                .iter()
                .any(|n| n.ends_with(format!("big-{mode:?}.bin").as_bytes())),
            "{context}: {names:?}"
        );

        // Resume both ways.
        let tail = client.retrieve(&path, 1000).expect(&context);
        assert!(tail == data[1000..], "{context}: resumed download");
        let part = format!("{dir}/part-{mode:?}.bin");
        let small = &data[..100_000.min(size)];
        client
            .store(&part, StoreMode::Replace, &small[..40_000])
            .expect(&context);
        client
            .store(&part, StoreMode::Resume(40_000), &small[40_000..])
            .expect(&context);
        assert_eq!(
            std::fs::read(t.server.root.join(part.trim_start_matches('/'))).expect(&context),
            small,
            "{context}: resumed upload"
        );

        // Fifty transfers in one session, uploads and downloads in turn.
        if mode == Mode::Epsv {
            for n in 0..25 {
                let content = random_bytes(64 << 10, 100 + n);
                let name = format!("{dir}/many-{n}.bin");
                client
                    .store(&name, StoreMode::Replace, &content)
                    .unwrap_or_else(|e| panic!("{context}: upload {n}: {e}"));
                let back = client
                    .retrieve(&name, 0)
                    .unwrap_or_else(|e| panic!("{context}: download {n}: {e}"));
                assert!(back == content, "{context}: transfer {n} differs");
            }
        }
        let resumed = resumed.lock().unwrap().clone();
        let expected = if mode == Mode::Epsv { 6 + 50 } else { 6 };
        assert_eq!(
            resumed.len(),
            expected,
            "{context}: one TLS handshake per data connection"
        );
        if t.resumes {
            assert!(resumed.iter().all(|&r| r), "{context}: {resumed:?}");
        }
        client.quit().expect(&context);
    }
}

fn client_tls_version(client: &AnyClient) -> String {
    let summary = match client {
        AnyClient::Std(c) => c.tls_summary(),
        AnyClient::Smol(c) => c.tls_summary(),
    };
    summary.map(|s| s.version).unwrap_or_default()
}

fn both_clients(t: &Target) {
    scenario(t, ClientKind::Std, 256 << 20, TlsVersions::default());
    scenario(t, ClientKind::Smol, 8 << 20, TlsVersions::default());
}

#[test]
fn vsftpd_explicit() {
    both_clients(&target(reference::vsftpd_tls, Security::Explicit, true));
}

/// TLS 1.3: vsftpd sends fresh tickets on each data connection, uploads
/// included; a client that did not read an upload's connection to its end
/// would run out of tickets and be refused within a few transfers.
#[test]
fn vsftpd_explicit_tls13() {
    let t = target(reference::vsftpd_tls, Security::Explicit, true);
    scenario(&t, ClientKind::Std, 8 << 20, TlsVersions::Tls13);
    scenario(&t, ClientKind::Smol, 8 << 20, TlsVersions::Tls13);
}

#[test]
fn vsftpd_implicit() {
    both_clients(&target(
        reference::vsftpd_implicit_tls,
        Security::Implicit,
        true,
    ));
}

#[test]
fn our_servers_explicit_and_implicit() {
    for kind in [ServerKind::Std, ServerKind::Smol] {
        for security in [Security::Explicit, Security::Implicit] {
            let t = our_target(kind, security);
            scenario(&t, ClientKind::Std, 256 << 20, TlsVersions::default());
            scenario(&t, ClientKind::Smol, 8 << 20, TlsVersions::Tls13);
        }
    }
}

#[test]
fn pure_ftpd_explicit() {
    both_clients(&target(reference::pure_ftpd_tls, Security::Explicit, false));
}

#[test]
fn proftpd_explicit() {
    both_clients(&target(
        |cert, key| reference::proftpd_tls(cert, key, false),
        Security::Explicit,
        true,
    ));
}

#[test]
fn proftpd_implicit() {
    both_clients(&target(
        |cert, key| reference::proftpd_tls(cert, key, true),
        Security::Implicit,
        true,
    ));
}

/// TLS required and a server that does not offer it: refused before any
/// credentials are sent, not a silent fall back to clear text.
#[test]
fn a_server_without_tls_is_refused() {
    let plain = reference::vsftpd();
    for kind in [ClientKind::Std, ClientKind::Smol] {
        let result = AnyClient::open(
            kind,
            &plain.host,
            plain.port,
            Mode::Epsv,
            Security::Explicit,
            None,
            TlsVersions::default(),
        );
        let error = result.err().expect("refused");
        assert!(error.contains("does not offer TLS"), "{kind:?}: {error}");
    }
}

/// A certificate from a CA the client was not given: refused, naming the
/// host and the reason.
#[test]
fn an_untrusted_certificate_is_refused() {
    let t = target(reference::vsftpd_tls, Security::Explicit, true);
    let other = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = write_test_certificates(other.path());
    for kind in [ClientKind::Std, ClientKind::Smol] {
        let result = AnyClient::open(
            kind,
            &t.server.host,
            t.server.port,
            Mode::Epsv,
            Security::Explicit,
            Some(other_ca.clone()),
            TlsVersions::default(),
        );
        let error = result.err().expect("refused");
        assert!(
            error.contains("not trusted for 127.0.0.1"),
            "{kind:?}: {error}"
        );
    }
}

/// A download whose data connection ends without TLS close_notify is an
/// error, even though the server's reply says 226: the bytes may be cut
/// short. (A Python server that drops the TLS layer under the data.)
#[test]
fn a_data_connection_cut_before_close_notify_fails() {
    for kind in [ClientKind::Std, ClientKind::Smol] {
        let certificates = tempfile::tempdir().unwrap();
        let (ca, cert, key) = write_test_certificates(certificates.path());
        let port_file = certificates.path().join("port");
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("peers/ftps_truncating_server.py");
        let mut child = std::process::Command::new(peer("python3"))
            .arg(script)
            .arg(&cert)
            .arg(&key)
            .arg(&port_file)
            .spawn()
            .expect("python3 starts");
        assert!(
            eventually(std::time::Duration::from_secs(10), || port_file.exists()),
            "the server did not start"
        );
        let port: u16 = std::fs::read_to_string(&port_file)
            .unwrap()
            .parse()
            .unwrap();
        let mut client = AnyClient::open(
            kind,
            "127.0.0.1",
            port,
            Mode::Epsv,
            Security::Explicit,
            Some(ca),
            TlsVersions::default(),
        )
        .expect("connect");
        client.login_as("u", "p").expect("login");
        let result = client.retrieve("f", 0);
        let _ = child.kill();
        let _ = child.wait();
        let error = result.expect_err("a cut download must fail");
        assert!(error.contains("close_notify"), "{kind:?}: {error}");
    }
}

/// `ftpc` with FTPS against our server, which requires TLS for logins and
/// data: `ftpes://` and `ftps://` URLs, `--cacert`, `--insecure`, `--tls`,
/// `--verbose`, and the exit codes for each TLS failure.
#[test]
fn ftpc_with_tls() {
    let ftpc = workspace_binary("ftp-std", "ftpc");
    let work = tempfile::tempdir().unwrap();
    let data = random_bytes(300_000, 31);
    std::fs::write(work.path().join("up.bin"), &data).unwrap();
    let run_ftpc = |args: &[&str]| {
        run_unchecked(
            std::process::Command::new(&ftpc)
                .args(args)
                .current_dir(work.path())
                .env("HOME", work.path()),
        )
    };
    for (security, scheme) in [(Security::Explicit, "ftpes"), (Security::Implicit, "ftps")] {
        let t = our_target(ServerKind::Smol, security);
        let ca = t.ca.to_str().unwrap().to_string();
        let url = |path: &str| {
            format!(
                "{scheme}://{USER}:{PASSWORD}@127.0.0.1:{}/upload/{path}",
                t.server.port
            )
        };
        let context = scheme;
        let put = run_ftpc(&["--cacert", &ca, "put", "up.bin", &url("")]);
        assert!(put.status.success(), "{context}: {put:?}");
        assert_eq!(
            std::fs::read(t.server.root.join("upload/up.bin")).unwrap(),
            data
        );
        let got = run_ftpc(&["--cacert", &ca, "get", &url("up.bin"), "-o", "got.bin"]);
        assert!(got.status.success(), "{context}: {got:?}");
        assert_eq!(std::fs::read(work.path().join("got.bin")).unwrap(), data);
        let ls = run_ftpc(&["--cacert", &ca, "--verbose", "ls", &url("")]);
        let stderr = String::from_utf8_lossy(&ls.stderr);
        assert!(ls.status.success(), "{context}: {ls:?}");
        assert!(
            String::from_utf8_lossy(&ls.stdout).contains("up.bin"),
            "{ls:?}"
        );
        assert!(
            stderr.contains("* control connection: TLSv1.2")
                && stderr.contains("certificate subject \"CN=localhost\"")
                && stderr.contains("* data connection: TLSv1.2")
                && stderr.contains("session resumed"),
            "{context}: {stderr}"
        );
        // No CA: not trusted, naming the host.
        let untrusted = run_ftpc(&["ls", &url("")]);
        let stderr = String::from_utf8_lossy(&untrusted.stderr);
        assert_eq!(untrusted.status.code(), Some(9), "{context}: {stderr}");
        assert!(stderr.contains("not trusted for 127.0.0.1"), "{stderr}");
        // --insecure: works, and says what it gives up.
        let insecure = run_ftpc(&["--insecure", "ls", &url("")]);
        assert!(insecure.status.success(), "{context}: {insecure:?}");
        assert!(String::from_utf8_lossy(&insecure.stderr).contains("warning: --insecure"));
    }
    // ftp:// against a server that requires TLS: the login is refused.
    let t = our_target(ServerKind::Smol, Security::Explicit);
    let plain_url = format!("ftp://{USER}:{PASSWORD}@127.0.0.1:{}/", t.server.port);
    let refused = run_ftpc(&["ls", &plain_url]);
    assert_eq!(refused.status.code(), Some(4), "{refused:?}");
    // --tls makes an ftp:// URL use AUTH TLS.
    let ca = t.ca.to_str().unwrap().to_string();
    let with_tls = run_ftpc(&["--tls", "--cacert", &ca, "ls", &plain_url]);
    assert!(with_tls.status.success(), "{with_tls:?}");
    // A server without TLS: --tls and ftpes:// are refused, never used in
    // clear (8); implicit TLS against a plain greeting fails the
    // handshake (10).
    let plain = TestServer::start(ServerKind::Smol, false);
    let port = plain.address.port();
    let no_tls = run_ftpc(&["--tls", "ls", &format!("ftp://127.0.0.1:{port}/")]);
    assert_eq!(no_tls.status.code(), Some(8), "{no_tls:?}");
    let no_tls = run_ftpc(&["ls", &format!("ftpes://127.0.0.1:{port}/")]);
    assert_eq!(no_tls.status.code(), Some(8), "{no_tls:?}");
    let handshake = run_ftpc(&["--timeout", "5", "ls", &format!("ftps://127.0.0.1:{port}/")]);
    assert_eq!(handshake.status.code(), Some(10), "{handshake:?}");
}
