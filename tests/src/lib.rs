//! Cross-crate test support: a server on loopback with a temporary root,
//! helpers to run real FTP peers against it, and file checksums. The tests
//! themselves live in `tests/tests/`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod clients;
pub mod reference;

use ftp_accounts::{Account, Accounts, Secret};
use ftp_proto::server::{Permissions, ServerConfig};
use ftp_smol::server::{Settings, Shutdown, serve};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

/// The user every test server knows, read-write.
pub const USER: &str = "alice";
/// Her password.
pub const PASSWORD: &str = "s3cret pw";
/// A second read-write user, whose password has no space, for clients
/// that read credentials from a command line (tnftp, inetutils-ftp).
pub const PLAIN_USER: (&str, &str) = ("bob", "b0bpass");

/// Which of our two servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// ftp-smol: a task per session.
    Smol,
    /// ftp-std: a thread per session.
    Std,
}

/// Turns scenarios `fn name(kind: ServerKind)` into one test per server:
/// `smol::name` and `std_server::name`, which run in parallel.
#[macro_export]
macro_rules! on_both_servers {
    ($($scenario:ident),* $(,)?) => {
        mod smol {
            $(#[test]
            fn $scenario() {
                super::$scenario($crate::ServerKind::Smol)
            })*
        }
        mod std_server {
            $(#[test]
            fn $scenario() {
                super::$scenario($crate::ServerKind::Std)
            })*
        }
    };
}

/// One of our servers on loopback, serving a temporary directory.
pub struct TestServer {
    pub address: SocketAddr,
    pub dir: tempfile::TempDir,
    stop: Box<dyn Fn() + Send + Sync>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// TLS from the first byte: URLs are `ftps://`.
    pub implicit_tls: bool,
}

impl TestServer {
    /// Our `kind` of server on `127.0.0.1` (or `::1` when `ipv6`),
    /// anonymous logins allowed, `alice` read-write.
    pub fn start(kind: ServerKind, ipv6: bool) -> TestServer {
        Self::build(kind, ipv6, |_| {}, 2000, 2000)
    }

    /// A server with session limits, in all and per client address.
    pub fn start_limited(
        kind: ServerKind,
        ipv6: bool,
        total: usize,
        per_address: usize,
    ) -> TestServer {
        Self::build(kind, ipv6, |_| {}, total, per_address)
    }

    /// A server with the engine's settings adjusted.
    pub fn start_with(
        kind: ServerKind,
        ipv6: bool,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        Self::build(kind, ipv6, adjust, 2000, 2000)
    }

    /// A server with FTPS: a certificate for 127.0.0.1, ::1 and localhost
    /// signed by a test CA ([`TestServer::ca_file`]), made now; explicit
    /// (AUTH TLS) or implicit. The engine's settings are adjusted after
    /// the certificate is in.
    pub fn start_tls(
        kind: ServerKind,
        ipv6: bool,
        implicit: bool,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        let certificates = tempfile::tempdir().unwrap();
        let (_, cert, key) = write_test_certificates(certificates.path());
        let tls = ftp_driver::server::load_tls(&cert, &key).unwrap();
        let mut server = Self::build_on(
            kind,
            ipv6,
            |config| {
                config.tls = Some(tls);
                adjust(config);
            },
            2000,
            2000,
            implicit,
        );
        let dir = server.dir.path().join("tls");
        std::fs::create_dir(&dir).unwrap();
        for name in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::copy(certificates.path().join(name), dir.join(name)).unwrap();
        }
        server.implicit_tls = implicit;
        server
    }

    /// Uploads the server is writing now: files written aside under a
    /// hidden name in the root, and unnamed (`O_TMPFILE`) files under it
    /// that this process holds open (`/proc/self/fd` shows them as
    /// `<dir>/#<inode> (deleted)`). The server runs in this process.
    pub fn uploads_in_progress(&self) -> usize {
        let root = self.root();
        let named = std::fs::read_dir(&root)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(".ftp-upload."))
                    .count()
            })
            .unwrap_or(0);
        let unnamed = std::fs::read_dir("/proc/self/fd")
            .map(|fds| {
                fds.flatten()
                    .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                    .filter(|target| {
                        let target = target.to_string_lossy();
                        target.starts_with(&format!("{}/#", root.display()))
                            && target.ends_with(" (deleted)")
                    })
                    .count()
            })
            .unwrap_or(0);
        named + unnamed
    }

    /// The test CA that signed an FTPS server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("tls/ca.pem")
    }

    /// Stops the server as Ctrl-C would: sessions end with 421, transfers
    /// are aborted.
    pub fn stop(&self) {
        (self.stop)();
    }

    fn build(
        kind: ServerKind,
        ipv6: bool,
        adjust: impl FnOnce(&mut ServerConfig),
        total: usize,
        per_address: usize,
    ) -> TestServer {
        Self::build_on(kind, ipv6, adjust, total, per_address, false)
    }

    fn build_on(
        kind: ServerKind,
        ipv6: bool,
        adjust: impl FnOnce(&mut ServerConfig),
        total: usize,
        per_address: usize,
        implicit: bool,
    ) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("root")).unwrap();
        let mut accounts = Accounts::new();
        accounts.insert(
            USER,
            Account {
                secret: Secret::Plain(PASSWORD.into()),
                permissions: Permissions::ReadWrite,
                root: None,
            },
        );
        accounts.insert(
            PLAIN_USER.0,
            Account {
                secret: Secret::Plain(PLAIN_USER.1.into()),
                permissions: Permissions::ReadWrite,
                root: None,
            },
        );
        let mut engine = ServerConfig {
            allow_anonymous: true,
            passive_ports: 30000..=32000,
            ..ServerConfig::default()
        };
        adjust(&mut engine);
        let settings = Settings {
            engine: Arc::new(engine),
            root: dir.path().join("root"),
            accounts,
            fsync: false,
            max_sessions: total,
            max_sessions_per_address: per_address,
            transfer_log: None,
        };
        let bind: SocketAddr = if ipv6 {
            "[::1]:0".parse().unwrap()
        } else {
            "127.0.0.1:0".parse().unwrap()
        };
        let listener = TcpListener::bind(bind).unwrap();
        let address = listener.local_addr().unwrap();
        let settings = Arc::new(settings);
        let (stop, thread): (Box<dyn Fn() + Send + Sync>, _) = match kind {
            ServerKind::Smol => {
                let shutdown = Shutdown::new();
                let stop = shutdown.clone();
                let thread = std::thread::spawn(move || {
                    let executor = Arc::new(smol::Executor::new());
                    let helper = executor.clone();
                    let stop_helper = Shutdown::new();
                    let helper_stop = stop_helper.clone();
                    let helper_thread =
                        std::thread::spawn(move || smol::block_on(helper.run(helper_stop.wait())));
                    let served = if implicit {
                        smol::block_on(executor.run(ftp_smol::server::serve_implicit_tls(
                            executor.clone(),
                            listener,
                            settings,
                            stop,
                        )))
                    } else {
                        smol::block_on(executor.run(serve(
                            executor.clone(),
                            listener,
                            settings,
                            stop,
                        )))
                    };
                    served.unwrap();
                    stop_helper.trigger();
                    helper_thread.join().unwrap();
                });
                (Box::new(move || shutdown.trigger()), thread)
            }
            ServerKind::Std => {
                let shutdown = ftp_std::server::Shutdown::new();
                let stop = shutdown.clone();
                let thread = std::thread::spawn(move || {
                    if implicit {
                        ftp_std::server::serve_implicit_tls(listener, settings, stop).unwrap()
                    } else {
                        ftp_std::server::serve(listener, settings, stop).unwrap()
                    }
                });
                (Box::new(move || shutdown.trigger()), thread)
            }
        };
        TestServer {
            address,
            dir,
            stop,
            thread: Some(thread),
            implicit_tls: false,
        }
    }

    /// The served directory.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// `host:port` as it goes in a URL.
    pub fn url_host(&self) -> String {
        match self.address {
            SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
            SocketAddr::V4(v4) => v4.to_string(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        let scheme = if self.implicit_tls { "ftps" } else { "ftp" };
        format!(
            "{scheme}://{}:{}@{}/{}",
            USER,
            PASSWORD.replace(' ', "%20"),
            self.url_host(),
            path
        )
    }

    pub fn anonymous_url(&self, path: &str) -> String {
        let scheme = if self.implicit_tls { "ftps" } else { "ftp" };
        format!("{scheme}://{}/{}", self.url_host(), path)
    }

    /// Writes a file under the root.
    pub fn put(&self, path: &str, content: &[u8]) {
        let full = self.root().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }

    pub fn read(&self, path: &str) -> Vec<u8> {
        std::fs::read(self.root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    pub fn exists(&self, path: &str) -> bool {
        self.root().join(path).exists()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        (self.stop)();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The path of a peer program. A missing peer fails the test: the README's
/// test command installs every peer, and a skipped interop test would hide
/// a gap.
pub fn peer(program: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("{program} is not installed; run ./scripts/test.sh, which installs the test peers")
    })
}

/// Runs a command with a time limit; panics with its output if it fails.
pub fn run(command: &mut Command) -> Output {
    let output = run_unchecked(command);
    assert!(
        output.status.success(),
        "{command:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs a command with a time limit (5 minutes), returning its output.
pub fn run_unchecked(command: &mut Command) -> Output {
    let mut wrapped = Command::new("timeout");
    wrapped
        .arg("300")
        .arg(command.get_program())
        .args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    wrapped.stdin(std::process::Stdio::null());
    wrapped
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"))
}

/// SHA-256 of a file, in hex, by `sha256sum`.
pub fn sha256(path: &Path) -> String {
    let output = run(Command::new("sha256sum").arg(path));
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Pseudo-random bytes, reproducible.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A large file (256 MiB) in `dir`, made once per call.
pub const LARGE: usize = 256 * 1024 * 1024;

/// Waits until `check` holds, for up to `limit`.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;

/// The path of one of the workspace's binaries, built if needed (debug
/// profile, like the tests).
pub fn workspace_binary(package: &str, name: &str) -> PathBuf {
    built(package, "--bin", name, "debug")
}

/// The path of one of the workspace's examples, built if needed (debug
/// profile, default features).
pub fn example_binary(package: &str, name: &str) -> PathBuf {
    built(package, "--example", name, "debug/examples")
}

/// `cargo build -p package <kind> name`, and where the result lands.
fn built(package: &str, kind: &str, name: &str, under: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", package, kind, name])
        .current_dir(&root)
        .status()
        .unwrap_or_else(|e| panic!("cargo build {kind} {name}: {e}"));
    assert!(status.success(), "cargo build {kind} {name} failed");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join(under).join(name)
}

/// A TCP port free on 127.0.0.1 now, for a server started next.
pub fn free_local_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts a server process with no standard streams and waits (up to
/// 20 s) until each of `addresses` accepts connections.
pub fn spawn_listening(command: &mut Command, addresses: &[String]) -> std::process::Child {
    use std::process::Stdio;
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    for address in addresses {
        assert!(
            eventually(Duration::from_secs(20), || {
                std::net::TcpStream::connect(address.as_str()).is_ok()
            }),
            "{command:?} does not listen on {address}"
        );
    }
    child
}

/// A control connection driven by hand, for what no real client does.
pub struct RawControl {
    pub stream: std::net::TcpStream,
    /// Everything received so far.
    replies: String,
}

impl RawControl {
    /// Connects and waits for the greeting.
    pub fn connect(address: SocketAddr) -> RawControl {
        let stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut control = RawControl {
            stream,
            replies: String::new(),
        };
        control.wait_for(&["220"]);
        control
    }

    pub fn send(&mut self, text: &str) {
        use std::io::Write;
        self.stream.write_all(text.as_bytes()).unwrap();
    }

    /// Waits until a reply line starts with one of `codes`; returns all
    /// that was received so far.
    pub fn wait_for(&mut self, codes: &[&str]) -> String {
        use std::io::Read;
        let mut buffer = [0u8; 512];
        while !self
            .replies
            .lines()
            .any(|l| codes.iter().any(|code| l.starts_with(code)))
        {
            let n = self.stream.read(&mut buffer).unwrap_or_else(|error| {
                panic!("waiting for {codes:?}: {error}; got {:?}", self.replies)
            });
            assert!(
                n > 0,
                "closed while waiting for {codes:?}: {}",
                self.replies
            );
            self.replies
                .push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
        self.replies.clone()
    }

    /// Sends `text` and waits for a reply to it that starts with one of
    /// `codes`; returns the replies received since it was sent.
    pub fn exchange(&mut self, text: &str, codes: &[&str]) -> String {
        self.replies.clear();
        self.send(text);
        self.wait_for(codes)
    }

    /// Logs in as [`USER`].
    pub fn login(&mut self) {
        self.send(&format!("USER {USER}\r\nPASS {PASSWORD}\r\n"));
        self.wait_for(&["230"]);
    }

    /// EPSV, and a data connection to the port it names.
    pub fn epsv_connect(&mut self) -> std::net::TcpStream {
        self.replies.clear();
        self.send("EPSV\r\n");
        let text = self.wait_for(&["229"]);
        let port: u16 = text
            .split("(|||")
            .nth(1)
            .and_then(|t| t.split('|').next())
            .and_then(|p| p.parse().ok())
            .expect("229 port");
        let ip = self.stream.peer_addr().unwrap().ip();
        std::net::TcpStream::connect((ip, port)).unwrap()
    }
}

/// Logs in as [`USER`] over a raw control connection, sends `setup` (e.g.
/// `TYPE A`), retrieves `path` in EPSV mode and returns the data
/// connection's bytes exactly as they came over the wire.
pub fn wire_download(address: SocketAddr, setup: &str, path: &str) -> Vec<u8> {
    use std::io::Read;
    let mut control = RawControl::connect(address);
    control.login();
    control.send(&format!("{setup}\r\n"));
    let mut data = control.epsv_connect();
    control.send(&format!("RETR {path}\r\n"));
    let mut received = Vec::new();
    data.read_to_end(&mut received).unwrap();
    control.wait_for(&["226"]);
    received
}

/// Writes a test CA and a certificate for 127.0.0.1, ::1 and localhost
/// signed by it, with its key, as `ca.pem`, `cert.pem` and `key.pem` in
/// `dir`; returns their paths. rustls refuses a self-signed certificate
/// that is its own CA as a server certificate, hence the two.
pub fn write_test_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "ftp-tests CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let mut leaf = rcgen::CertificateParams::new(names).unwrap();
    leaf.distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, leaf_cert.pem()).unwrap();
    std::fs::write(&paths.2, leaf_key.serialize_pem()).unwrap();
    paths
}
