//! The `ftpd` binary as a user runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Running {
    child: Child,
    address: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts ftpd in `dir` and waits for the line naming its address.
fn start(dir: &std::path::Path, args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ftpd"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ftpd starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("ftpd says where it listens")
            .expect("readable");
        if let Some(rest) = line.strip_prefix("ftpd: listening on ") {
            break rest.split(';').next().unwrap_or_default().to_string();
        }
    };
    // Keep draining the log so that ftpd never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Running { child, address }
}

fn curl(args: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl runs")
}

/// `ftpd` with no arguments: the current directory, read-only, to anonymous
/// users on 127.0.0.1:2121.
#[test]
fn no_arguments_serves_the_current_directory_read_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), b"hello\n").unwrap();
    let server = start(dir.path(), &[]);
    assert_eq!(server.address, "127.0.0.1:2121");
    let list = curl(&["ftp://127.0.0.1:2121/"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains(" hello.txt"),
        "{list:?}"
    );
    assert_eq!(curl(&["ftp://127.0.0.1:2121/hello.txt"]).stdout, b"hello\n");
    let upload = curl(&["-T", "-", "ftp://127.0.0.1:2121/new.txt"]);
    assert!(!upload.status.success());
    assert!(!dir.path().join("new.txt").exists());
}

#[test]
fn users_and_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--root",
            ".",
            "--user",
            "bob:pw",
            "--no-fsync",
        ],
    );
    let url = format!("ftp://bob:pw@{}/up.txt", server.address);
    let mut upload = Command::new("curl")
        .args(["-sS", "--max-time", "30", "-T", "-", &url])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(upload.stdin.as_mut().unwrap(), b"uploaded\n").unwrap();
    drop(upload.stdin.take());
    assert!(upload.wait().unwrap().success());
    assert_eq!(
        std::fs::read(dir.path().join("up.txt")).unwrap(),
        b"uploaded\n"
    );
    // Anonymous logins are off once users are configured.
    assert!(
        !curl(&[&format!("ftp://{}/up.txt", server.address)])
            .status
            .success()
    );
    // Ctrl-C: a clean exit.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut status = None;
    for _ in 0..100 {
        if let Some(exited) = server.child.try_wait().unwrap() {
            status = Some(exited);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(status.expect("ftpd exits on SIGINT").success());
}

/// A configuration error is one line naming the setting and the value,
/// and exit status 2, before anything listens.
#[test]
fn configuration_errors_exit_2_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no such dir");
    let cases: [&[&str]; 4] = [
        &["--listen", "127.0.0.1:0", "--run-as", "no-such-user-here"],
        &["--listen", "127.0.0.1:0", "--max-sessions", "0"],
        &[
            "--listen",
            "127.0.0.1:0",
            "--root",
            missing.to_str().unwrap(),
        ],
        &["--listen", "127.0.0.1:0", "--user", "alice:"],
    ];
    for args in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_ftpd"))
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("ftpd: "), "{stderr}");
        assert!(!stderr.contains("listening"), "{stderr}");
    }
}

/// Started as root with `--run-as daemon`: it listens, then every thread
/// runs as daemon (real, effective and saved ids), and the files it
/// writes are daemon's. The test suite runs as root (scripts/test.sh).
#[test]
fn run_as_drops_root_after_listening() {
    let daemon = Command::new("id").args(["-u", "daemon"]).output().unwrap();
    let uid = String::from_utf8_lossy(&daemon.stdout).trim().to_string();
    assert!(!uid.is_empty(), "no daemon user");
    let me = Command::new("id").arg("-u").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&me.stdout).trim(),
        "0",
        "this test needs root, as scripts/test.sh runs"
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    for path in [dir.path(), &root] {
        let status = Command::new("chmod").arg("777").arg(path).status().unwrap();
        assert!(status.success());
    }
    let server = start(
        &root,
        &[
            "--listen",
            "127.0.0.1:0",
            "--root",
            ".",
            "--user",
            "bob:pw",
            "--run-as",
            "daemon",
            "--no-fsync",
        ],
    );
    let pid = server.child.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let ids: Vec<&str> = uids.split_whitespace().skip(1).collect();
    assert_eq!(ids, [uid.as_str(); 4], "{uids}");
    // Every thread, not only the main one.
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let task = task.unwrap().path();
        let status = std::fs::read_to_string(task.join("status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(
            line.split_whitespace().skip(1).all(|id| id == uid),
            "{line}"
        );
    }
    let url = format!("ftp://bob:pw@{}/up.txt", server.address);
    let upload = Command::new("curl")
        .args(["-sS", "--max-time", "30", "-T", "-", &url])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut upload = upload;
    std::io::Write::write_all(upload.stdin.as_mut().unwrap(), b"owned\n").unwrap();
    drop(upload.stdin.take());
    assert!(upload.wait().unwrap().success());
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(root.join("up.txt")).unwrap().uid();
    assert_eq!(owner.to_string(), uid);
}

/// `--umask 077`: what sessions create is private to the server's user.
#[test]
fn umask_applies_to_created_files_and_directories() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:0",
            "--root",
            ".",
            "--user",
            "bob:pw",
            "--umask",
            "077",
            "--no-fsync",
        ],
    );
    let url = format!("ftp://bob:pw@{}/", server.address);
    let mut upload = Command::new("curl")
        .args(["-sS", "--max-time", "30", "-Q", "MKD made", "-T", "-"])
        .arg(format!("{url}up.txt"))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(upload.stdin.as_mut().unwrap(), b"private\n").unwrap();
    drop(upload.stdin.take());
    assert!(upload.wait().unwrap().success());
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("up.txt"), 0o600);
    assert_eq!(mode("made"), 0o700);
}
