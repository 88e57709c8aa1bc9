//! Our client, through its API and through `ftpc`, against FTP servers on
//! loopback: our own ftp-smol server here; the reference servers (vsftpd,
//! pure-ftpd, pyftpdlib) use the same scenario.

use ftp_std::proto::client::{ClientConfig, DataMode, StoreMode};
use ftp_std::proto::listing::parse::EntryKind;
use ftp_std::{Client, Options};
use ftp_tests::*;
use std::path::PathBuf;
use std::process::Command;

/// A server to run the scenario against: where it is, who may log in, and
/// the directory it serves (to check what the client did).
struct Target {
    host: String,
    port: u16,
    user: String,
    password: String,
    /// The directory the user's `/` maps to.
    root: PathBuf,
    /// Where in it the user may write, as a path on the server.
    writable: String,
}

fn options(mode: DataMode) -> Options {
    Options {
        engine: ClientConfig {
            mode,
            ..ClientConfig::default()
        },
        ..Options::default()
    }
}

fn connect(target: &Target, mode: DataMode) -> Client {
    let mut client =
        Client::connect((target.host.as_str(), target.port), options(mode)).expect("connect");
    client.login(&target.user, &target.password).expect("login");
    client
}

fn remote(target: &Target, name: &str) -> Vec<u8> {
    format!("{}/{name}", target.writable).into_bytes()
}

fn local(target: &Target, name: &str) -> PathBuf {
    target
        .root
        .join(target.writable.trim_start_matches('/'))
        .join(name)
}

/// The scenario of issue 5 through the `Client` API, in one data mode.
fn api_scenario(target: &Target, mode: DataMode, large: Option<&[u8]>) {
    let context = format!("{}:{} {mode:?}", target.host, target.port);
    let small = random_bytes(70_000, 7);
    let mut client = connect(target, mode);

    // Upload, then list: the parsed entries match the files really there.
    let n = client
        .store(
            &remote(target, "small.bin"),
            StoreMode::Replace,
            &mut &small[..],
        )
        .expect("store");
    assert_eq!(n, small.len() as u64, "{context}");
    assert_eq!(
        std::fs::read(local(target, "small.bin")).unwrap(),
        small,
        "{context}"
    );
    client.mkdir(&remote(target, "sub")).expect("mkdir");
    let listing = client.list(Some(target.writable.as_bytes())).expect("list");
    assert!(
        listing.unparsed.is_empty(),
        "{context}: {:?}",
        listing.unparsed
    );
    let mut on_disk: Vec<String> = std::fs::read_dir(local(target, ""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = listing
        .entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.name).into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    listed.sort();
    assert_eq!(listed, on_disk, "{context}");
    let file = listing
        .entries
        .iter()
        .find(|e| e.name.as_ref() == b"small.bin")
        .unwrap();
    assert_eq!(
        (file.kind.clone(), file.size),
        (EntryKind::File, Some(small.len() as u64)),
        "{context}"
    );
    let dir = listing
        .entries
        .iter()
        .find(|e| e.name.as_ref() == b"sub")
        .unwrap();
    assert_eq!(dir.kind, EntryKind::Directory, "{context}");
    let names = client.nlst(Some(target.writable.as_bytes())).expect("nlst");
    assert!(
        names.iter().any(|n| n.ends_with(b"small.bin")),
        "{context}: {names:?}"
    );

    // Download, whole and resumed.
    let mut got = Vec::new();
    client
        .retrieve(&remote(target, "small.bin"), 0, &mut got)
        .expect("retrieve");
    assert_eq!(got, small, "{context}");
    let mut rest = Vec::new();
    client
        .retrieve(&remote(target, "small.bin"), 50_000, &mut rest)
        .expect("resume");
    assert_eq!(rest, &small[50_000..], "{context}");
    assert_eq!(
        client.size(&remote(target, "small.bin")).expect("size"),
        small.len() as u64
    );

    // Resume an upload.
    client
        .store(
            &remote(target, "resumed.bin"),
            StoreMode::Replace,
            &mut &small[..30_000],
        )
        .expect("store part");
    client
        .store(
            &remote(target, "resumed.bin"),
            StoreMode::Resume(30_000),
            &mut &small[30_000..],
        )
        .expect("resume upload");
    assert_eq!(
        std::fs::read(local(target, "resumed.bin")).unwrap(),
        small,
        "{context}"
    );
    client
        .store(
            &remote(target, "resumed.bin"),
            StoreMode::Append,
            &mut &b"tail"[..],
        )
        .expect("append");
    assert_eq!(
        std::fs::read(local(target, "resumed.bin")).unwrap().len(),
        small.len() + 4,
        "{context}"
    );

    if let Some(large) = large {
        client
            .store(
                &remote(target, "large.bin"),
                StoreMode::Replace,
                &mut &large[..],
            )
            .expect("store large");
        assert_eq!(
            sha256(&local(target, "large.bin")),
            sha256_bytes(large),
            "{context}"
        );
        let mut sink = Sha256Sink::default();
        client
            .retrieve(&remote(target, "large.bin"), 0, &mut sink)
            .expect("retrieve large");
        assert_eq!(sink.finish(), sha256_bytes(large), "{context}");
        client
            .delete(&remote(target, "large.bin"))
            .expect("delete large");
    }

    // Rename, delete, rmdir.
    client
        .rename(
            &remote(target, "resumed.bin"),
            &remote(target, "sub/moved.bin"),
        )
        .expect("rename");
    assert!(local(target, "sub/moved.bin").exists(), "{context}");
    client
        .delete(&remote(target, "sub/moved.bin"))
        .expect("delete");
    client.rmdir(&remote(target, "sub")).expect("rmdir");
    client
        .delete(&remote(target, "small.bin"))
        .expect("delete small");
    assert!(
        !local(target, "sub").exists() && !local(target, "small.bin").exists(),
        "{context}"
    );
    let missing = client
        .retrieve(&remote(target, "missing"), 0, &mut Vec::new())
        .unwrap_err();
    assert!(missing.is_not_found(), "{context}: {missing}");
    client.quit().expect("quit");
}

/// The same through the `ftpc` command line.
fn ftpc_scenario(target: &Target, active: bool) {
    let ftpc = workspace_binary("ftp-std", "ftpc");
    let work = tempfile::tempdir().unwrap();
    let data = random_bytes(50_000, 9);
    std::fs::write(work.path().join("up.bin"), &data).unwrap();
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    let url = |path: &str| {
        format!(
            "ftp://{}:{}@{host}:{}{}/{path}",
            target.user,
            target.password.replace(' ', "%20"),
            target.port,
            target.writable
        )
    };
    let run_ftpc = |args: &[&str]| {
        let mut command = Command::new(&ftpc);
        if active {
            command.arg("--active");
        }
        command
            .args(args)
            .current_dir(work.path())
            .env("HOME", work.path());
        run(&mut command)
    };
    run_ftpc(&["put", "up.bin", &url("")]);
    assert_eq!(std::fs::read(local(target, "up.bin")).unwrap(), data);
    let ls = run_ftpc(&["ls", &url("")]);
    assert!(
        String::from_utf8_lossy(&ls.stdout)
            .lines()
            .any(|l| l.starts_with('-') && l.ends_with(" up.bin")),
        "{ls:?}"
    );
    run_ftpc(&["get", &url("up.bin"), "-o", "got.bin"]);
    assert_eq!(std::fs::read(work.path().join("got.bin")).unwrap(), data);
    std::fs::write(work.path().join("got.bin"), &data[..20_000]).unwrap();
    run_ftpc(&["get", "-c", &url("up.bin"), "-o", "got.bin"]);
    assert_eq!(std::fs::read(work.path().join("got.bin")).unwrap(), data);
    run_ftpc(&["mkdir", &url("made")]);
    run_ftpc(&["mv", &url("up.bin"), "moved.bin"]);
    assert!(local(target, "moved.bin").exists());
    run_ftpc(&["rm", &url("moved.bin")]);
    run_ftpc(&["rmdir", &url("made")]);
    assert!(!local(target, "made").exists() && !local(target, "moved.bin").exists());
    let missing = run_unchecked(
        Command::new(&ftpc)
            .args(["get", &url("missing.bin"), "-o", "x"])
            .current_dir(work.path()),
    );
    assert_eq!(missing.status.code(), Some(5));
    let bad_login = format!("ftp://nobody-here:wrong@{host}:{}/", target.port);
    let refused = run_unchecked(
        Command::new(&ftpc)
            .args(["ls", &bad_login])
            .current_dir(work.path()),
    );
    assert_eq!(refused.status.code(), Some(4));
}

fn sha256_bytes(data: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data");
    std::fs::write(&path, data).unwrap();
    sha256(&path)
}

/// Hashes what it is written, through `sha256sum` at the end.
#[derive(Default)]
struct Sha256Sink {
    file: Option<(tempfile::NamedTempFile, u64)>,
}

impl std::io::Write for Sha256Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (file, n) = self
            .file
            .get_or_insert_with(|| (tempfile::NamedTempFile::new().unwrap(), 0));
        file.write_all(buf)?;
        *n += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sha256Sink {
    fn finish(self) -> String {
        let (file, _) = self.file.expect("some data");
        sha256(file.path())
    }
}

fn our_target(server: &TestServer) -> Target {
    std::fs::create_dir_all(server.root().join("upload")).unwrap();
    Target {
        host: server.address.ip().to_string(),
        port: server.address.port(),
        user: USER.into(),
        password: PASSWORD.into(),
        root: server.root(),
        writable: "/upload".into(),
    }
}

#[test]
fn client_api_against_our_server() {
    let large = random_bytes(LARGE, 3);
    for ipv6 in [false, true] {
        let server = TestServer::start(ServerKind::Smol, ipv6);
        let target = our_target(&server);
        api_scenario(&target, DataMode::Passive, (!ipv6).then_some(&large[..]));
        api_scenario(&target, DataMode::Active, None);
    }
}

#[test]
fn ftpc_against_our_server() {
    for ipv6 in [false, true] {
        let server = TestServer::start(ServerKind::Smol, ipv6);
        let target = our_target(&server);
        ftpc_scenario(&target, false);
        ftpc_scenario(&target, true);
    }
}

fn reference_target(server: &ftp_tests::reference::ReferenceServer) -> Target {
    Target {
        host: server.host.clone(),
        port: server.port,
        user: server.user.clone(),
        password: server.password.clone(),
        root: server.root.clone(),
        writable: server.writable.clone(),
    }
}

fn against_reference(server: ftp_tests::reference::ReferenceServer) {
    let target = reference_target(&server);
    let large = random_bytes(LARGE, 4);
    api_scenario(&target, DataMode::Passive, Some(&large));
    api_scenario(&target, DataMode::Active, None);
    ftpc_scenario(&target, false);
    ftpc_scenario(&target, true);
}

/// vsftpd: LIST output (no MLSD), anonymous with write access.
#[test]
fn client_against_vsftpd() {
    against_reference(ftp_tests::reference::vsftpd());
}

/// pure-ftpd: MLSD; it answers 504 to OPTS UTF8 ON.
#[test]
fn client_against_pure_ftpd() {
    against_reference(ftp_tests::reference::pure_ftpd());
}

/// pyftpdlib: MLSD.
#[test]
fn client_against_pyftpdlib() {
    against_reference(ftp_tests::reference::pyftpdlib());
}

/// A server whose data connections stall without closing (a download that
/// stops after 64 KiB, an upload never read; the control connection stays
/// silent): both clients give up after their data timeout, and say the
/// data connection stalled rather than that the server did not answer.
#[test]
fn stalled_data_connections_fail_with_a_clear_error() {
    use ftp_tests::clients::{AnyClient, ClientKind, Mode};
    let server = ftp_tests::reference::stalling_server();
    std::fs::write(server.root.join("upload/big.bin"), vec![7u8; 1 << 20]).unwrap();
    let config = ClientConfig {
        data_timeout: std::time::Duration::from_secs(1),
        reply_timeout: std::time::Duration::from_secs(1),
        ..Mode::Epsv.config()
    };
    for kind in [ClientKind::Std, ClientKind::Smol] {
        let session = || {
            let mut client =
                AnyClient::open_configured(kind, &server.host, server.port, config.clone(), None)
                    .unwrap();
            client.login_as(&server.user, &server.password).unwrap();
            client
        };
        let error = session().retrieve("/upload/big.bin", 0).unwrap_err();
        assert!(error.contains("stalled"), "{kind:?} download: {error}");
        // More than the kernel's buffers on loopback take in.
        let upload = vec![0u8; 32 << 20];
        let error = session()
            .store("/upload/up.bin", StoreMode::Replace, &upload)
            .unwrap_err();
        assert!(error.contains("stalled"), "{kind:?} upload: {error}");
    }
}
