//! `ftpd` and the std example server under the signals an operator's tools
//! send: SIGTERM (systemd, docker, Kubernetes) stops as Ctrl-C does;
//! SIGHUP reloads users and the TLS certificate for new sessions without
//! dropping running ones.

use ftp_std::client::TlsOptions;
use ftp_std::{Client, Options};
use ftp_tests::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A server process, its address and its log so far.
struct Running {
    child: Child,
    address: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([name, &pid]).status().unwrap();
        assert!(sent.success());
    }

    /// Whether a log line containing `text` appears within ten seconds.
    fn logs(&self, text: &str) -> bool {
        eventually(Duration::from_secs(10), || {
            self.log.lock().unwrap().iter().any(|l| l.contains(text))
        })
    }

    /// The exit status within ten seconds.
    fn exit_status(&mut self) -> std::process::ExitStatus {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not exit");
    }
}

/// Starts a server binary and waits for the line naming its address.
fn start(binary: &Path, args: &[&str], dir: &Path, listening: &str) -> Running {
    let mut child = Command::new(binary)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("the server says where").unwrap();
        if let Some(rest) = line.split(listening).nth(1) {
            break rest
                .trim_start_matches("ftp://")
                .split([';', '/', ' '])
                .next()
                .unwrap_or_default()
                .to_string();
        }
    };
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    Running {
        child,
        address,
        log,
    }
}

fn tls_client(address: &str, ca: &Path, user: &str, password: &str) -> Result<Client, String> {
    let (host, port) = address.rsplit_once(':').unwrap();
    let tls = TlsOptions {
        ca_file: Some(ca.to_path_buf()),
        ..TlsOptions::default()
    };
    let mut client = Client::connect_tls(host, port.parse().unwrap(), Options::default(), &tls)
        .map_err(|e| e.to_string())?;
    client.login(user, password).map_err(|e| e.to_string())?;
    Ok(client)
}

/// Certificates from a fresh CA, written into `dir`; returns the CA file.
fn new_certificates(dir: &Path, cert: &Path, key: &Path) -> PathBuf {
    let made = tempfile::tempdir_in(dir).unwrap();
    let (ca, new_cert, new_key) = write_test_certificates(made.path());
    std::fs::copy(&new_cert, cert).unwrap();
    std::fs::copy(&new_key, key).unwrap();
    let kept = dir.join(format!(
        "ca-{}.pem",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::copy(ca, &kept).unwrap();
    kept
}

fn write_config(path: &Path, root: &Path, cert: &Path, key: &Path, password: &str) {
    let hash = ftp_accounts::hash_password(password);
    std::fs::write(
        path,
        format!(
            "listen = [\"127.0.0.1:0\"]\nroot = {root:?}\nfsync = false\n\
             tls_cert = {cert:?}\ntls_key = {key:?}\n\n\
             [[users]]\nname = \"alice\"\npassword_hash = \"{hash}\"\n",
        ),
    )
    .unwrap();
}

/// SIGHUP: the new certificate and the new password serve new sessions; a
/// session that was running goes on with what it had; a reload that
/// fails keeps the old settings and says why.
#[test]
fn sighup_reloads_users_and_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("file.txt"), b"content").unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let first_ca = new_certificates(dir.path(), &cert, &key);
    let config = dir.path().join("ftpd.toml");
    write_config(&config, &root, &cert, &key, "first");
    let ftpd = workspace_binary("ftp-smol", "ftpd");
    let server = start(
        &ftpd,
        &["--config", config.to_str().unwrap()],
        dir.path(),
        "listening on ",
    );
    let mut running = tls_client(&server.address, &first_ca, "alice", "first").expect("login");

    let second_ca = new_certificates(dir.path(), &cert, &key);
    write_config(&config, &root, &cert, &key, "second");
    server.signal("-HUP");
    assert!(
        server.logs("reloaded the configuration"),
        "{:?}",
        server.log
    );
    let mut fresh = tls_client(&server.address, &second_ca, "alice", "second").expect("new login");
    let mut content = Vec::new();
    fresh.retrieve(b"file.txt", 0, &mut content).unwrap();
    assert_eq!(content, b"content");
    // The old certificate and password are gone for new sessions...
    let old_ca = tls_client(&server.address, &first_ca, "alice", "second");
    assert!(
        old_ca.as_ref().is_err_and(|e| e.contains("not trusted")),
        "{:?}",
        old_ca.err()
    );
    let old_password = tls_client(&server.address, &second_ca, "alice", "first");
    assert!(old_password.is_err());
    // ...while the session that was running goes on, data included.
    let mut content = Vec::new();
    running.retrieve(b"file.txt", 0, &mut content).unwrap();
    assert_eq!(content, b"content");

    // A broken certificate: the reload fails, the settings stay.
    std::fs::write(&cert, b"not a certificate").unwrap();
    server.signal("-HUP");
    assert!(server.logs("reload failed"), "{:?}", server.log);
    tls_client(&server.address, &second_ca, "alice", "second").expect("still served");
    running.quit().unwrap();
    fresh.quit().unwrap();
}

/// SIGTERM stops as Ctrl-C: a logged-in client is told 421, and the
/// process exits 0; for ftpd and for the std example server.
#[test]
fn sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let ftpd = workspace_binary("ftp-smol", "ftpd");
    let example = example_binary("ftp-std", "server");
    let servers = [
        (
            ftpd,
            vec!["--listen", "127.0.0.1:0", "--root", ".", "--user", "bob:pw"],
            "listening on ",
        ),
        (
            example,
            vec!["--listen", "127.0.0.1:0", "--root", ".", "--user", "bob:pw"],
            "serving on ",
        ),
    ];
    for (binary, args, listening) in servers {
        let mut server = start(&binary, &args, dir.path(), listening);
        let mut control = RawControl::connect(server.address.parse().unwrap());
        control.wait_for(&["220"]);
        control.send("USER bob\r\nPASS pw\r\n");
        control.wait_for(&["230"]);
        server.signal("-TERM");
        let said = control.wait_for(&["421"]);
        assert!(said.contains("421"), "{binary:?}: {said}");
        let status = server.exit_status();
        assert!(status.success(), "{binary:?}: {status:?}");
    }
}
