//! What `ftpd` logs for an operator, by default: a line for each login
//! (failed ones matched by the shipped fail2ban filter, checked with
//! Debian's `fail2ban-regex`), each transfer and each change to the tree;
//! the transfer log in the xferlog format; JSON lines on request.

use ftp_tests::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

struct Ftpd {
    child: std::process::Child,
    port: u16,
}

impl Drop for Ftpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ftpd on a free port with `extra` flags, alice read-write.
fn ftpd(dir: &Path, extra: &[&str]) -> Ftpd {
    let port = free_local_port();
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let child = spawn_listening(
        Command::new(workspace_binary("ftp-smol", "ftpd"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--root"])
            .arg(&root)
            .args(["--user", "alice:secret", "--no-fsync"])
            .args(extra),
        &[format!("127.0.0.1:{port}")],
    );
    Ftpd { child, port }
}

fn curl(args: &[&str]) -> std::process::Output {
    run_unchecked(
        Command::new(peer("curl"))
            .args(["-sS", "--max-time", "30"])
            .args(args),
    )
}

/// Waits until `path` holds `n` lines with `text`; returns its lines.
fn lines_with(path: &Path, text: &str, n: usize) -> Vec<String> {
    let read = || {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let found = eventually(Duration::from_secs(10), || {
        read().iter().filter(|l| l.contains(text)).count() >= n
    });
    assert!(
        found,
        "{n} lines with {text:?} in {}: {:#?}",
        path.display(),
        read()
    );
    read()
}

#[test]
fn operators_see_logins_transfers_and_changes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ftpd.log");
    let xferlog = dir.path().join("xferlog");
    let server = ftpd(
        dir.path(),
        &[
            "--log-file",
            log.to_str().unwrap(),
            "--xferlog",
            xferlog.to_str().unwrap(),
        ],
    );
    let base = format!("ftp://127.0.0.1:{}", server.port);
    for _ in 0..3 {
        let refused = curl(&[&format!("ftp://bob:wrong@127.0.0.1:{}/", server.port)]);
        assert!(!refused.status.success());
    }
    let upload = dir.path().join("report data.txt");
    std::fs::write(&upload, vec![b'x'; 1000]).unwrap();
    let user = ["-u", "alice:secret"];
    assert!(
        curl(
            &[
                &user[..],
                &["-T", upload.to_str().unwrap(), &format!("{base}/")]
            ]
            .concat()
        )
        .status
        .success()
    );
    let got = curl(&[&user[..], &[&format!("{base}/report%20data.txt")]].concat());
    assert_eq!(got.stdout.len(), 1000);
    let changes = curl(
        &[
            &user[..],
            &[
                "-Q",
                "MKD made",
                "-Q",
                "RNFR report data.txt",
                "-Q",
                "RNTO made/moved.txt",
                "-Q",
                "DELE made/moved.txt",
                "-Q",
                "RMD made",
                &format!("{base}/"),
            ],
        ]
        .concat(),
    );
    assert!(changes.status.success(), "{changes:?}");

    // The log: logins with the bare client address, transfers, changes.
    let lines = lines_with(&log, " change", 4);
    let failed: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("login failed"))
        .collect();
    assert_eq!(failed.len(), 3, "{lines:#?}");
    assert!(
        failed.iter().all(|l| l.contains("client=127.0.0.1 ")),
        "{failed:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" login") && l.contains("user=alice"))
    );
    for what in ["what=upload", "what=download"] {
        assert!(
            lines.iter().any(|l| l.contains("transfer")
                && l.contains(what)
                && l.contains("path=/report data.txt")
                && l.contains("bytes=1000")
                && l.contains("result=ok")),
            "{what}: {lines:#?}"
        );
    }
    for what in ["mkdir", "rename", "delete", "rmdir"] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!("what={what} ")) && l.contains("result=ok")),
            "{what}: {lines:#?}"
        );
    }

    // fail2ban's own tool finds the three failed logins and their address.
    let filter =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/fail2ban/filter.d/ftpd.conf");
    let checked = run(Command::new(peer("fail2ban-regex"))
        .arg("--print-all-matched")
        .arg(&log)
        .arg(&filter));
    let report = String::from_utf8_lossy(&checked.stdout);
    assert!(
        report.contains("Failregex: 3 total") && report.contains("127.0.0.1"),
        "{report}"
    );

    // The transfer log: one xferlog line per transfer.
    let transfers = lines_with(&xferlog, " alice ftp 0 * c", 2);
    assert_eq!(transfers.len(), 2, "{transfers:#?}");
    for (line, direction) in transfers.iter().zip(['i', 'o']) {
        let fields: Vec<&str> = line.split(' ').filter(|f| !f.is_empty()).collect();
        // Day, month, date, time, year, then the transfer's fields.
        assert_eq!(fields.len(), 5 + 13, "{line}");
        assert_eq!(
            &fields[5..],
            [
                fields[5],
                "127.0.0.1",
                "1000",
                "/report_data.txt",
                "b",
                "_",
                &direction.to_string(),
                "r",
                "alice",
                "ftp",
                "0",
                "*",
                "c"
            ],
            "{line}"
        );
        assert!(fields[5].parse::<u64>().is_ok(), "{line}");
    }
}

#[test]
fn json_lines_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ftpd.json");
    let server = ftpd(
        dir.path(),
        &["--log-file", log.to_str().unwrap(), "--log-format", "json"],
    );
    let refused = curl(&[&format!("ftp://bob:wrong@127.0.0.1:{}/", server.port)]);
    assert!(!refused.status.success());
    let lines = lines_with(&log, "login failed", 1);
    let line = lines.iter().find(|l| l.contains("login failed")).unwrap();
    assert!(
        line.starts_with('{')
            && line.ends_with('}')
            && line.contains("\"level\":\"WARN\"")
            && line.contains("\"client\":\"127.0.0.1\""),
        "{line}"
    );
}
