//! The reference servers, each on a loopback port with a temporary root:
//! vsftpd, pure-ftpd and ProFTPD (with mod_tls) unpacked from their Debian
//! packages (they conflict as installed packages, PEERS.md), pyftpdlib
//! from PyPI. `scripts/test.sh` fetches them into `target/peers/`.

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running reference server.
pub struct ReferenceServer {
    /// Which server it is.
    pub name: &'static str,
    /// Its address.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Who logs in.
    pub user: String,
    /// With which password.
    pub password: String,
    /// The directory that `/` maps to.
    pub root: PathBuf,
    /// Where the user may write, as a path on the server.
    pub writable: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl ReferenceServer {
    /// The server's process id (its sessions are its children, for
    /// vsftpd and pure-ftpd).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `scripts/test.sh` unpacks the Debian packages.
pub fn peers_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/peers/root")
}

fn unpacked(relative: &str) -> PathBuf {
    let path = peers_root().join(relative);
    assert!(
        path.is_file(),
        "{} is missing; run ./scripts/test.sh, which fetches the reference servers",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    crate::free_local_port()
}

/// Waits for the 220 greeting.
fn wait_ready(port: u16, child: &mut Child, name: &str) {
    wait_until_ready(port, child, name, false)
}

/// Waits for the 220 greeting; under implicit TLS (`tls_first`), where
/// the greeting comes only after a handshake, for a connection that stays
/// open.
fn wait_until_ready(port: u16, child: &mut Child, name: &str, tls_first: bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{name} exited: {status}");
        }
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            if tls_first {
                let _ = stream.set_read_timeout(Some(Duration::from_millis(300)));
                let mut byte = [0u8; 1];
                match stream.read(&mut byte) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return,
                    _ => {}
                }
            } else {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut greeting = [0u8; 3];
                if stream.read_exact(&mut greeting).is_ok() && &greeting == b"220" {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{name} did not greet on port {port}");
}

/// A temporary directory the server's unprivileged account can traverse,
/// with a root inside it and a writable `upload` directory owned by `owner`.
fn served_dir(owner: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("upload")).unwrap();
    for path in [dir.path(), &root] {
        crate::run(Command::new("chmod").arg("755").arg(path));
    }
    crate::run(Command::new("chown").arg(owner).arg(root.join("upload")));
    (dir, root)
}

/// vsftpd 3.0.3, anonymous with write access (its virtual users need PAM
/// files in /etc). Sessions run as `daemon`: vsftpd changes into the
/// account's home first, and `nobody`'s does not exist.
pub fn vsftpd() -> ReferenceServer {
    vsftpd_with("")
}

/// vsftpd with FTPS required for the login and its data, data connections
/// that must resume the control session (its default), the certificate
/// and key in PEM files (PEERS.md).
pub fn vsftpd_tls(cert: &Path, key: &Path) -> ReferenceServer {
    vsftpd_with(&format!(
        "ssl_enable=YES\nallow_anon_ssl=YES\nforce_anon_logins_ssl=YES\nforce_anon_data_ssl=YES\n\
         require_ssl_reuse=YES\nssl_ciphers=HIGH\nrsa_cert_file={}\nrsa_private_key_file={}\n",
        cert.display(),
        key.display()
    ))
}

/// vsftpd as [`vsftpd_tls`], with implicit TLS (`implicit_ssl`): TLS
/// from the first byte.
pub fn vsftpd_implicit_tls(cert: &Path, key: &Path) -> ReferenceServer {
    vsftpd_with(&format!(
        "ssl_enable=YES\nimplicit_ssl=YES\nallow_anon_ssl=YES\nforce_anon_logins_ssl=YES\n\
         force_anon_data_ssl=YES\nrequire_ssl_reuse=YES\nssl_ciphers=HIGH\nrsa_cert_file={}\n\
         rsa_private_key_file={}\n",
        cert.display(),
        key.display()
    ))
}

fn vsftpd_with(extra: &str) -> ReferenceServer {
    let binary = unpacked("usr/sbin/vsftpd");
    let (dir, root) = served_dir("daemon");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let port = free_port();
    let config = format!(
        "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\n\
         anonymous_enable=YES\nlocal_enable=NO\nwrite_enable=YES\nanon_upload_enable=YES\n\
         anon_mkdir_write_enable=YES\nanon_other_write_enable=YES\nanon_umask=022\nno_anon_password=YES\n\
         anon_root={}\nftp_username=daemon\nnopriv_user=daemon\nsecure_chroot_dir={}\n\
         pasv_enable=YES\npasv_min_port=20000\npasv_max_port=20999\nport_enable=YES\n\
         seccomp_sandbox=NO\nisolate=NO\nisolate_network=NO\nxferlog_enable=NO\nuse_localtime=NO\n\
         max_clients=500\nmax_per_ip=500\n{extra}",
        root.display(),
        empty.display()
    );
    let config_path = dir.path().join("vsftpd.conf");
    std::fs::write(&config_path, config).unwrap();
    crate::run(Command::new("chmod").arg("600").arg(&config_path));
    let mut child = Command::new(binary)
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("vsftpd starts");
    wait_until_ready(
        port,
        &mut child,
        "vsftpd",
        extra.contains("implicit_ssl=YES"),
    );
    ReferenceServer {
        name: "vsftpd",
        host: "127.0.0.1".into(),
        port,
        user: "anonymous".into(),
        password: "guest@example.com".into(),
        root,
        writable: "/upload".into(),
        child,
        _dir: dir,
    }
}

/// pure-ftpd 1.0.50 with one virtual user in a PureDB file. Its default
/// argon2id hashing makes each login cost seconds: the entry is written
/// with a SHA-512 crypt hash instead (PEERS.md).
pub fn pure_ftpd() -> ReferenceServer {
    pure_ftpd_with(&[])
}

/// pure-ftpd with TLS required for logins (`-Y 2`), the certificate and
/// key given with `-2`.
pub fn pure_ftpd_tls(cert: &Path, key: &Path) -> ReferenceServer {
    let files = format!("{},{}", cert.display(), key.display());
    pure_ftpd_with(&["-Y", "2", "-2", &files])
}

fn pure_ftpd_with(extra: &[&str]) -> ReferenceServer {
    let binary = unpacked("usr/sbin/pure-ftpd");
    let pure_pw = unpacked("usr/bin/pure-pw");
    let (dir, root) = served_dir("daemon");
    let password = "pure pw";
    let hash = crate::run(Command::new("openssl").args(["passwd", "-6", password]));
    let hash = String::from_utf8_lossy(&hash.stdout).trim().to_string();
    let passwd = dir.path().join("passwd");
    std::fs::write(
        &passwd,
        format!("tester:{hash}:1:1::{}/./::::::::::::\n", root.display()),
    )
    .unwrap();
    let db = dir.path().join("pureftpd.pdb");
    crate::run(
        Command::new(pure_pw)
            .arg("mkdb")
            .arg(&db)
            .arg("-f")
            .arg(&passwd),
    );
    let port = free_port();
    let mut child = Command::new(binary)
        .arg("-l")
        .arg(format!("puredb:{}", db.display()))
        .args([
            "-S",
            &format!("127.0.0.1,{port}"),
            "-p",
            "21000:21999",
            "-E",
            "-A",
            "-H",
            "-c",
            "500",
            "-C",
            "500",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pure-ftpd starts");
    wait_ready(port, &mut child, "pure-ftpd");
    ReferenceServer {
        name: "pure-ftpd",
        host: "127.0.0.1".into(),
        port,
        user: "tester".into(),
        password: password.into(),
        root,
        writable: "/upload".into(),
        child,
        _dir: dir,
    }
}

/// ProFTPD 1.3.8 with mod_tls: TLS required for logins and data
/// (`TLSRequired on`), data connections that must resume the control
/// session (its default), explicit or implicit (`UseImplicitSSL`). One
/// user in an `AuthUserFile` with a SHA-512 crypt hash, sessions as
/// `daemon`.
pub fn proftpd_tls(cert: &Path, key: &Path, implicit: bool) -> ReferenceServer {
    let binary = unpacked("usr/sbin/proftpd");
    let modules = unpacked("usr/lib/proftpd/mod_tls.so");
    let modules = modules.parent().expect("the module directory");
    let (dir, root) = served_dir("daemon");
    let password = "pro pw";
    let hash = crate::run(Command::new("openssl").args(["passwd", "-6", password]));
    let hash = String::from_utf8_lossy(&hash.stdout).trim().to_string();
    let passwd = dir.path().join("passwd");
    let group = dir.path().join("group");
    std::fs::write(
        &passwd,
        format!("tester:{hash}:1:1::{}:/bin/sh\n", root.display()),
    )
    .unwrap();
    std::fs::write(&group, "daemon:x:1:\n").unwrap();
    for file in [&passwd, &group] {
        crate::run(Command::new("chmod").arg("600").arg(file));
    }
    let port = free_port();
    let state = dir.path();
    let implicit_option = if implicit {
        "TLSOptions UseImplicitSSL\n"
    } else {
        ""
    };
    let config = format!(
        "ServerType standalone\nServerName \"ProFTPD\"\nDefaultAddress 127.0.0.1\n\
         SocketBindTight on\nPort {port}\nUseIPv6 off\nUser daemon\nGroup daemon\n\
         ModulePath {modules}\nLoadModule mod_tls.c\nDelayEngine off\n\
         ScoreboardFile {state}/scoreboard\nPidFile {state}/proftpd.pid\nWtmpLog off\n\
         TransferLog none\nAuthOrder mod_auth_file.c\nAuthUserFile {passwd}\n\
         AuthGroupFile {group}\nRequireValidShell off\nDefaultRoot ~\n\
         PassivePorts 23000 23999\nMaxInstances 500\nAllowOverwrite on\nAllowStoreRestart on\n\
         TLSEngine on\nTLSRequired on\nTLSProtocol TLSv1.2 TLSv1.3\n\
         TLSECCertificateFile {cert}\nTLSECCertificateKeyFile {key}\n{implicit_option}",
        modules = modules.display(),
        state = state.display(),
        passwd = passwd.display(),
        group = group.display(),
        cert = cert.display(),
        key = key.display(),
    );
    let config_path = dir.path().join("proftpd.conf");
    std::fs::write(&config_path, config).unwrap();
    let mut child = Command::new(binary)
        .arg("-n")
        .arg("-c")
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("proftpd starts");
    wait_until_ready(port, &mut child, "proftpd", implicit);
    ReferenceServer {
        name: "proftpd",
        host: "127.0.0.1".into(),
        port,
        user: "tester".into(),
        password: password.into(),
        root,
        writable: "/upload".into(),
        child,
        _dir: dir,
    }
}

/// pyftpdlib that cuts off the first `drops` downloads after 64 KiB,
/// closing the data and the control connection at once
/// (`peers/faulty_server.py`).
pub fn dropping_server(drops: u32) -> ReferenceServer {
    python_server(
        "faulty_server.py",
        "dropping server",
        "drop pw",
        &["drop", &drops.to_string()],
    )
}

/// pyftpdlib whose data connections stall without closing: a download
/// stops after 64 KiB, an upload is never read (`peers/faulty_server.py`).
pub fn stalling_server() -> ReferenceServer {
    python_server(
        "faulty_server.py",
        "stalling server",
        "stall pw",
        &["stall"],
    )
}

/// pyftpdlib 2.2, one read-write user.
pub fn pyftpdlib() -> ReferenceServer {
    python_server(
        "pyftpdlib_server.py",
        "pyftpdlib",
        "py pw",
        &["22000", "22999"],
    )
}

/// A pyftpdlib script of `peers/`, run as `script ROOT PORT USER
/// PASSWORD extra...`, user `tester`.
fn python_server(
    script: &str,
    name: &'static str,
    password: &str,
    extra: &[&str],
) -> ReferenceServer {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("peers")
        .join(script);
    let (dir, root) = served_dir("root");
    let port = free_port();
    let mut child = Command::new(crate::peer("python3"))
        .arg(script)
        .arg(&root)
        .arg(port.to_string())
        .args(["tester", password])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} starts: {e}"));
    wait_ready(port, &mut child, name);
    ReferenceServer {
        name,
        host: "127.0.0.1".into(),
        port,
        user: "tester".into(),
        password: password.into(),
        root,
        writable: "/upload".into(),
        child,
        _dir: dir,
    }
}
