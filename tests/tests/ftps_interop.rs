//! Real FTPS clients against both our servers (ftp-smol and ftp-std), each
//! scenario once per server: curl (explicit with `--ssl-reqd`, implicit
//! with `ftps://`), lftp (`ftp:ssl-force`) and Python's `FTP_TLS`, with a
//! test CA made at test time. The servers run with the default policy:
//! TLS required for user logins and their data, and data connections that
//! must resume the control connection's TLS session.
//!
//! Also wget (explicit and implicit, and a recursive download) and rclone.
//!
//! Peers noted: curl sends `AUTH SSL` first; curl and lftp offer the
//! control connection's session on every data connection; Python's stock
//! `FTP_TLS` never does, so the servers refuse its data connections (522)
//! unless the reuse check is off. rclone keeps one TLS session cache for
//! all its connections to a server, so with several connections at once a
//! data connection may offer another connection's session, which the
//! reuse check refuses (522), as FileZilla Server does (rclone #7234): it
//! works with `--ftp-concurrency 1`, or with the check off.

use ftp_tests::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Fixture {
    server: TestServer,
    work: tempfile::TempDir,
    small: Vec<u8>,
}

fn fixture(kind: ServerKind, ipv6: bool, implicit: bool) -> Fixture {
    fixture_with(kind, ipv6, implicit, |_| {})
}

fn fixture_with(
    kind: ServerKind,
    ipv6: bool,
    implicit: bool,
    adjust: impl FnOnce(&mut ftp_std::proto::server::ServerConfig),
) -> Fixture {
    let server = TestServer::start_tls(kind, ipv6, implicit, adjust);
    let small = random_bytes(300_000, 21);
    server.put("small.bin", &small);
    server.put("tree/a.txt", b"a\n");
    server.put("tree/sub/b.bin", &random_bytes(70_000, 22));
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("small.bin"), &small).unwrap();
    Fixture {
        server,
        work,
        small,
    }
}

impl Fixture {
    fn local(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    fn ca(&self) -> String {
        self.server.ca_file().to_str().unwrap().to_string()
    }

    /// curl with TLS required and the test CA trusted.
    fn curl(&self, args: &[&str]) -> std::process::Output {
        run(Command::new(peer("curl"))
            .args([
                "-sS",
                "--ssl-reqd",
                "--cacert",
                &self.ca(),
                "--max-time",
                "120",
            ])
            .args(args))
    }
}

fn curl_explicit_and_implicit(kind: ServerKind) {
    for (ipv6, implicit) in [(false, false), (true, false), (false, true), (true, true)] {
        let f = fixture(kind, ipv6, implicit);
        let s = &f.server;
        let context = format!("ipv6={ipv6} implicit={implicit}");
        let list = f.curl(&["-v", &s.url("")]);
        let said = String::from_utf8_lossy(&list.stderr);
        if !implicit {
            assert!(said.contains("> AUTH SSL"), "{context}: {said}");
        }
        assert!(said.contains("> PROT P"), "{context}: {said}");
        let list = String::from_utf8_lossy(&list.stdout);
        assert!(list.contains(" small.bin"), "{context}: {list}");
        let got = f.local("got.bin");
        f.curl(&["-o", got.to_str().unwrap(), &s.url("small.bin")]);
        assert_eq!(std::fs::read(&got).unwrap(), f.small, "{context}");
        f.curl(&[
            "-T",
            f.local("small.bin").to_str().unwrap(),
            &s.url("up.bin"),
        ]);
        assert_eq!(s.read("up.bin"), f.small, "{context}");
        // Resume both ways.
        std::fs::write(&got, &f.small[..100_000]).unwrap();
        f.curl(&["-C", "-", "-o", got.to_str().unwrap(), &s.url("small.bin")]);
        assert_eq!(std::fs::read(&got).unwrap(), f.small, "{context}");
        s.put("part.bin", &f.small[..120_000]);
        f.curl(&[
            "-C",
            "-",
            "-T",
            f.local("small.bin").to_str().unwrap(),
            &s.url("part.bin"),
        ]);
        assert_eq!(s.read("part.bin"), f.small, "{context}");
    }
}

/// A login in clear is refused, with the reason; curl without
/// `--ssl-reqd` gets 530 (its exit code 67).
fn plain_logins_are_refused(kind: ServerKind) {
    let f = fixture(kind, false, false);
    let out = run_unchecked(Command::new(peer("curl")).args([
        "-sS",
        "--max-time",
        "30",
        &f.server.url("small.bin"),
    ]));
    assert_eq!(out.status.code(), Some(67), "{out:?}");
    let mut control = RawControl::connect(f.server.address);
    control.send(&format!("USER {USER}\r\n"));
    let said = control.wait_for(&["530"]);
    assert!(said.contains("530 Non-anonymous logins need TLS"), "{said}");
}

/// 256 MiB each way through TLS, checked on disk by sha256.
fn curl_large_files(kind: ServerKind) {
    let f = fixture(kind, false, false);
    let large = random_bytes(LARGE, 23);
    std::fs::write(f.local("large.bin"), &large).unwrap();
    drop(large);
    let expected = sha256(&f.local("large.bin"));
    f.curl(&[
        "-T",
        f.local("large.bin").to_str().unwrap(),
        &f.server.url("large.bin"),
    ]);
    assert_eq!(sha256(&f.server.root().join("large.bin")), expected);
    let got = f.local("got-large.bin");
    f.curl(&["-o", got.to_str().unwrap(), &f.server.url("large.bin")]);
    assert_eq!(sha256(&got), expected);
}

fn lftp(f: &Fixture, commands: &str) -> String {
    let s = &f.server;
    let script = format!(
        "set net:max-retries 2\nset net:timeout 20\nset cmd:fail-exit yes\nset xfer:clobber yes\n\
         set ftp:ssl-force true\nset ftp:ssl-protect-data true\nset ssl:ca-file {}\n\
         set ssl:check-hostname yes\nopen -u {USER},'{PASSWORD}' -p {} {}\n{commands}\n",
        f.ca(),
        s.address.port(),
        s.address.ip()
    );
    let script_path = f.local("lftp.script");
    std::fs::write(&script_path, script).unwrap();
    let output = run(Command::new(peer("lftp"))
        .arg("-f")
        .arg(&script_path)
        .current_dir(f.work.path())
        .env("HOME", f.work.path()));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn same_tree(a: &Path, b: &Path) {
    let names = |root: &Path| {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path.strip_prefix(root).unwrap().to_path_buf();
                    out.push((relative, sha256(&path)));
                }
            }
        }
        out.sort();
        out
    };
    assert_eq!(names(a), names(b));
}

fn lftp_get_put_and_mirror(kind: ServerKind) {
    for ipv6 in [false, true] {
        let f = fixture(kind, ipv6, false);
        let out = lftp(&f, "ls\nget small.bin -o got.bin\nput small.bin -o put.bin");
        assert!(out.contains(" small.bin"), "{out}");
        assert_eq!(std::fs::read(f.local("got.bin")).unwrap(), f.small);
        assert_eq!(f.server.read("put.bin"), f.small);
        lftp(&f, "mirror tree tree-down\nmirror -R tree-down tree-up");
        same_tree(&f.server.root().join("tree"), &f.local("tree-down"));
        same_tree(
            &f.server.root().join("tree"),
            &f.server.root().join("tree-up"),
        );
    }
}

fn ftps_python(f: &Fixture, scenario: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/ftps_scenario.py");
    let output = run(Command::new(peer("python3"))
        .arg(script)
        .arg(scenario)
        .arg(f.server.address.ip().to_string())
        .arg(f.server.address.port().to_string())
        .arg(USER)
        .arg(PASSWORD)
        .arg(f.ca())
        .arg(f.work.path()));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Twenty uploads of 1 MiB, each downloaded back, in one TLS 1.3 session
/// whose data connections resume it: no upload truncated, no reuse lost.
fn python_round_trips_in_one_session(kind: ServerKind) {
    let f = fixture(kind, false, false);
    let out = ftps_python(&f, "round_trips");
    assert!(out.contains("20 round trips ok over TLSv1.3"), "{out}");
}

/// Stock FTP_TLS never resumes the session on data connections: refused
/// by default, served with the check off.
fn python_stock_ftp_tls_and_the_reuse_check(kind: ServerKind) {
    let f = fixture(kind, false, false);
    assert_eq!(ftps_python(&f, "stock").trim(), "refused 522");
    let f = fixture_with(kind, false, false, |config| {
        config.tls_session_reuse_required = false;
    });
    assert_eq!(ftps_python(&f, "stock").trim(), "accepted");
}

/// An upload whose data connection ends without TLS close_notify is
/// truncated: 426, and the previous content of the file stays.
fn truncated_upload_is_not_committed(kind: ServerKind) {
    let f = fixture(kind, false, false);
    f.server.put("keep.bin", b"previous content");
    assert_eq!(ftps_python(&f, "truncated").trim(), "final 426");
    assert!(
        eventually(Duration::from_secs(10), || {
            std::fs::read_dir(f.server.root()).unwrap().count() == 3
        }),
        "the file written aside is still there"
    );
    assert_eq!(f.server.read("keep.bin"), b"previous content");
}

/// A client that sends garbage instead of a ClientHello is dropped; one
/// that stalls mid-handshake is timed out; others are served meanwhile.
fn bad_handshakes_harm_nobody_else(kind: ServerKind) {
    let f = fixture_with(kind, false, false, |config| {
        config.idle_timeout = Duration::from_secs(2);
    });
    let mut garbage = RawControl::connect(f.server.address);
    garbage.send("AUTH TLS\r\n");
    garbage.wait_for(&["234"]);
    garbage.send("this is not a ClientHello\r\n");
    assert!(closes_within(&mut garbage.stream, Duration::from_secs(10)));

    let mut stalled = RawControl::connect(f.server.address);
    stalled.send("AUTH TLS\r\n");
    stalled.wait_for(&["234"]);
    // The first bytes of a TLS record header, then nothing.
    stalled.stream.write_all(&[0x16, 0x03, 0x01]).unwrap();
    let got = f.local("got.bin");
    f.curl(&["-o", got.to_str().unwrap(), &f.server.url("small.bin")]);
    assert_eq!(std::fs::read(&got).unwrap(), f.small);
    assert!(closes_within(&mut stalled.stream, Duration::from_secs(20)));
}

/// Whether the peer closes `stream` within `limit` (whatever it sends
/// first).
fn closes_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    let mut buffer = [0u8; 4096];
    while Instant::now() < end {
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

/// wget: `ftps://` is explicit FTPS (AUTH TLS), `--ftps-implicit` the
/// other; a recursive download of a tree, every data connection resuming
/// the control connection's session (GnuTLS).
fn wget_explicit_implicit_and_recursive(kind: ServerKind) {
    for implicit in [false, true] {
        let f = fixture(kind, false, implicit);
        let url = format!(
            "ftps://{USER}:{}@{}/",
            PASSWORD.replace(' ', "%20"),
            f.server.address
        );
        let wget = |args: &[&str]| {
            run(Command::new(peer("wget"))
                .args(["-q", "--ca-certificate", &f.ca()])
                .args(implicit.then_some("--ftps-implicit"))
                .args(args)
                .current_dir(f.work.path())
                .env("HOME", f.work.path()));
        };
        wget(&["-O", "got.bin", &format!("{url}small.bin")]);
        assert_eq!(std::fs::read(f.local("got.bin")).unwrap(), f.small);
        wget(&["-r", "-np", "-nH", "-P", "down", &format!("{url}tree/")]);
        same_tree(&f.server.root().join("tree"), &f.local("down/tree"));
    }
}

/// rclone `copy` up and down over explicit FTPS, checked file by file:
/// with the servers' defaults and one connection at a time, and with
/// rclone's default of several connections once the reuse check is off
/// (see the module docs for why not with it on).
fn rclone_copy_both_ways(kind: ServerKind) {
    for reuse_required in [true, false] {
        let f = fixture_with(kind, false, false, |config| {
            config.tls_session_reuse_required = reuse_required;
        });
        let source = f.local("source");
        for n in 0..30 {
            let dir = source.join(format!("d{}", n % 3));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join(format!("f{n}.bin")),
                random_bytes(5_000 + n * 997, n as u64),
            )
            .unwrap();
        }
        let obscured = run(Command::new(peer("rclone")).args(["obscure", PASSWORD]));
        let obscured = String::from_utf8_lossy(&obscured.stdout).trim().to_string();
        let remote = format!(
            ":ftp,host={},port={},user={USER},pass={obscured},explicit_tls=true:copied",
            f.server.address.ip(),
            f.server.address.port()
        );
        let concurrency = if reuse_required { "1" } else { "0" };
        let rclone = |from: &str, to: &str| {
            run(Command::new(peer("rclone"))
                .args(["copy", "--ftp-concurrency", concurrency, from, to])
                .env("HOME", f.work.path())
                .env("RCLONE_CONFIG", "/dev/null")
                .env("SSL_CERT_FILE", f.ca()));
        };
        rclone(source.to_str().unwrap(), &remote);
        same_tree(&source, &f.server.root().join("copied"));
        let copy = f.local("copy");
        rclone(&remote, copy.to_str().unwrap());
        same_tree(&source, &copy);
    }
}

on_both_servers!(
    wget_explicit_implicit_and_recursive,
    rclone_copy_both_ways,
    curl_explicit_and_implicit,
    plain_logins_are_refused,
    curl_large_files,
    lftp_get_put_and_mirror,
    python_round_trips_in_one_session,
    python_stock_ftp_tls_and_the_reuse_check,
    bad_handshakes_harm_nobody_else,
    truncated_upload_is_not_committed,
);
