//! Real clients against both our servers (ftp-smol and ftp-std) on
//! loopback, each scenario once per server: curl, lftp, wget
//! and Python's ftplib, in passive (PASV, EPSV) and active (PORT, EPRT)
//! modes, over IPv4 and IPv6.
//!
//! Peers differ from the RFCs in places; each difference is noted where a
//! test relies on it.

use ftp_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Files every scenario starts with, and the client's copies of them.
struct Fixture {
    server: TestServer,
    work: tempfile::TempDir,
    small: Vec<u8>,
}

fn fixture(kind: ServerKind, ipv6: bool) -> Fixture {
    let server = TestServer::start(kind, ipv6);
    let small = random_bytes(100_000, 1);
    server.put("small.bin", &small);
    server.put("dir/inner.txt", b"inner\n");
    server.put("text.txt", b"line one\nline two\n");
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

    /// A 256 MiB file, on the server as `large.bin` and in the work
    /// directory.
    fn with_large(&self) -> String {
        let large = random_bytes(LARGE, 2);
        std::fs::write(self.local("large.bin"), &large).unwrap();
        std::fs::write(self.server.root().join("large.bin"), &large).unwrap();
        sha256(&self.local("large.bin"))
    }
}

fn ftplib(scenario: &str, f: &Fixture, mode: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/ftplib_scenario.py");
    let host = f.server.address.ip().to_string();
    let output = run(Command::new(peer("python3"))
        .arg(script)
        .arg(scenario)
        .arg(host)
        .arg(f.server.address.port().to_string())
        .arg(USER)
        .arg(PASSWORD)
        .arg(mode)
        .arg(f.work.path()));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// ---- Python ftplib ---------------------------------------------------------

/// ftplib uses PASV and PORT on IPv4, EPSV and EPRT on IPv6.
fn ftplib_sessions_in_every_mode(kind: ServerKind) {
    for ipv6 in [false, true] {
        let f = fixture(kind, ipv6);
        f.with_large();
        for mode in ["passive", "active"] {
            let out = ftplib("session", &f, mode);
            for step in [
                "anonymous ok",
                "listings ok",
                "transfers ok",
                "resume ok",
                "files ok",
            ] {
                assert!(out.contains(step), "ipv6={ipv6} {mode}: {out}");
            }
        }
    }
}

fn ftplib_abort_mid_download_and_go_on(kind: ServerKind) {
    let f = fixture(kind, false);
    f.with_large();
    for mode in ["passive", "active"] {
        assert!(ftplib("abort", &f, mode).contains("abort ok"));
    }
}

fn path_escapes_are_refused(kind: ServerKind) {
    let f = fixture(kind, false);
    let secret = f.server.dir.path().join("secret.txt");
    std::fs::write(&secret, b"outside the root").unwrap();
    std::os::unix::fs::symlink(&secret, f.server.root().join("link-out")).unwrap();
    std::os::unix::fs::symlink(f.server.dir.path(), f.server.root().join("link-out-dir")).unwrap();
    assert!(ftplib("escapes", &f, "passive").contains("escapes ok"));
    assert!(!f.server.dir.path().join("planted.txt").exists());
    assert!(!f.server.dir.path().join("planted").exists());
    // curl sends the path as given, CWD by CWD: still refused.
    let out = run_unchecked(
        Command::new(peer("curl"))
            .args(["-sS", "--max-time", "30"])
            .arg(f.server.url("link-out")),
    );
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("outside"));
}

fn two_hundred_concurrent_ftplib_clients(kind: ServerKind) {
    let f = fixture(kind, false);
    assert!(ftplib("concurrent", &f, "passive").contains("200 clients x 20 downloads ok"));
}

// ---- curl ----------------------------------------------------------------------

/// curl's switches for each data-connection mode.
fn curl_modes(ipv6: bool) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut modes = vec![("EPSV", vec![]), ("EPRT", vec!["-P", "-"])];
    if !ipv6 {
        // PASV and PORT carry IPv4 addresses only; curl sends EPSV and EPRT
        // over IPv6 whatever the switches say.
        modes.push(("PASV", vec!["--disable-epsv"]));
        modes.push(("PORT", vec!["-P", "-", "--disable-eprt"]));
    }
    modes
}

fn curl(args: &[&str], extra: &[&str]) -> std::process::Output {
    run(Command::new(peer("curl"))
        .args(["-sS", "--max-time", "120"])
        .args(extra)
        .args(args))
}

fn curl_in_every_mode(kind: ServerKind) {
    for ipv6 in [false, true] {
        let f = fixture(kind, ipv6);
        let s = &f.server;
        for (mode, flags) in curl_modes(ipv6) {
            let context = format!("curl {mode} ipv6={ipv6}");
            // LIST, NLST, MLSD; the mode's command is what curl sent.
            let list = curl(&["-v", &s.url("")], &flags);
            let sent = String::from_utf8_lossy(&list.stderr);
            assert!(sent.contains(&format!("> {mode}")), "{context}: {sent}");
            let list = String::from_utf8_lossy(&list.stdout);
            assert!(
                list.lines()
                    .any(|l| l.starts_with("-rw") && l.ends_with(" small.bin")),
                "{context}: {list}"
            );
            let nlst = curl(&["--list-only", &s.url("dir/")], &flags);
            // curl lists in TYPE A and turns the CRLFs into LFs.
            assert_eq!(
                String::from_utf8_lossy(&nlst.stdout)
                    .lines()
                    .collect::<Vec<_>>(),
                ["inner.txt"],
                "{context}"
            );
            let mlsd = curl(&["-X", "MLSD", &s.url("")], &flags);
            let mlsd = String::from_utf8_lossy(&mlsd.stdout);
            assert!(
                mlsd.lines()
                    .any(|l| l.starts_with("type=file;size=100000;") && l.ends_with(" small.bin")),
                "{context}: {mlsd}"
            );
            // Download and upload, user and anonymous.
            let got = f.local("got.bin");
            curl(
                &["-o", got.to_str().unwrap(), &s.anonymous_url("small.bin")],
                &flags,
            );
            assert_eq!(std::fs::read(&got).unwrap(), f.small, "{context}");
            curl(
                &[
                    "-T",
                    f.local("small.bin").to_str().unwrap(),
                    &s.url("up.bin"),
                ],
                &flags,
            );
            assert_eq!(s.read("up.bin"), f.small, "{context}");
            // TYPE A download: CRLF on the wire (read raw: curl's output
            // would be the same LF text if the server did not translate),
            // LF again in curl's output.
            assert_eq!(
                wire_download(s.address, "TYPE A", "text.txt"),
                b"line one\r\nline two\r\n",
                "{context}"
            );
            let text = curl(&["--use-ascii", &s.url("text.txt")], &flags);
            assert_eq!(text.stdout, b"line one\nline two\n", "{context}");
            // Resume a download (REST + RETR) and an upload (APPE, as curl
            // resumes uploads).
            std::fs::write(&got, &f.small[..30_000]).unwrap();
            curl(
                &["-C", "-", "-o", got.to_str().unwrap(), &s.url("small.bin")],
                &flags,
            );
            assert_eq!(std::fs::read(&got).unwrap(), f.small, "{context}");
            s.put("partial.bin", &f.small[..40_000]);
            curl(
                &[
                    "-C",
                    "-",
                    "-T",
                    f.local("small.bin").to_str().unwrap(),
                    &s.url("partial.bin"),
                ],
                &flags,
            );
            assert_eq!(s.read("partial.bin"), f.small, "{context}");
            // mkdir, rename, delete, rmdir through quoted commands.
            curl(
                &[
                    "-Q",
                    "MKD made",
                    "-Q",
                    "RNFR up.bin",
                    "-Q",
                    "RNTO made/moved.bin",
                    &s.url(""),
                ],
                &flags,
            );
            assert_eq!(s.read("made/moved.bin"), f.small, "{context}");
            curl(
                &[
                    "-Q",
                    "DELE made/moved.bin",
                    "-Q",
                    "RMD made",
                    "-Q",
                    "DELE partial.bin",
                    &s.url(""),
                ],
                &flags,
            );
            assert!(!s.exists("made") && !s.exists("partial.bin"), "{context}");
            // Anonymous users cannot write.
            let refused = run_unchecked(
                Command::new(peer("curl"))
                    .args(["-sS", "--max-time", "30"])
                    .args(&flags)
                    .arg("-T")
                    .arg(f.local("small.bin"))
                    .arg(s.anonymous_url("anon.bin")),
            );
            assert!(!refused.status.success(), "{context}");
            assert!(!s.exists("anon.bin"));
        }
    }
}

fn curl_large_files(kind: ServerKind) {
    let f = fixture(kind, false);
    let expected = f.with_large();
    let got = f.local("large-got.bin");
    curl(
        &["-o", got.to_str().unwrap(), &f.server.url("large.bin")],
        &[],
    );
    assert_eq!(sha256(&got), expected);
    curl(
        &[
            "-T",
            f.local("large.bin").to_str().unwrap(),
            &f.server.url("large-up.bin"),
        ],
        &[],
    );
    assert_eq!(sha256(&f.server.root().join("large-up.bin")), expected);
}

// ---- lftp ------------------------------------------------------------------------

/// Runs an lftp script; returns its output and its debug log (the
/// commands it sent).
fn lftp_logged(f: &Fixture, settings: &str, commands: &str) -> (String, String) {
    let s = &f.server;
    let script = format!(
        "set net:max-retries 2\nset net:timeout 20\nset net:reconnect-interval-base 1\nset ftp:ssl-allow no\nset cmd:fail-exit yes\nset xfer:clobber yes\n{settings}\nopen -u {USER},'{PASSWORD}' -p {} {}\n{commands}\n",
        s.address.port(),
        s.address.ip()
    );
    let script_path = f.local("lftp.script");
    std::fs::write(&script_path, script).unwrap();
    let output = run(Command::new(peer("lftp"))
        .arg("-d")
        .arg("-f")
        .arg(&script_path)
        .current_dir(f.work.path())
        .env("HOME", f.work.path()));
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn lftp(f: &Fixture, settings: &str, commands: &str) -> String {
    lftp_logged(f, settings, commands).0
}

/// lftp's passive mode prefers EPSV when `ftp:prefer-epsv` is on and uses
/// PASV otherwise; its active mode sends PORT on IPv4 and EPRT on IPv6.
/// Before logging in it sends `HOST ::1` on IPv6, without the brackets
/// RFC 7151 asks for; the server accepts it.
fn lftp_in_every_mode(kind: ServerKind) {
    for ipv6 in [false, true] {
        let f = fixture(kind, ipv6);
        let modes = [
            ("EPSV", "set ftp:passive-mode on\nset ftp:prefer-epsv yes"),
            ("PASV", "set ftp:passive-mode on\nset ftp:prefer-epsv no"),
            ("active", "set ftp:passive-mode off"),
        ];
        for (mode, settings) in modes {
            let context = format!("lftp {mode} ipv6={ipv6}");
            let (out, sent) = lftp_logged(
                &f,
                settings,
                "ls\necho ---\nnlist dir\necho ---\ncls -1 --sort=name\n",
            );
            // lftp sends EPSV and EPRT over IPv6 whatever the settings say.
            let expected = match (mode, ipv6) {
                ("active", false) => "---> PORT",
                (_, true) if mode == "active" => "---> EPRT",
                (_, true) => "---> EPSV",
                (passive, false) => &format!("---> {passive}"),
            };
            assert!(sent.contains(expected), "{context}: {sent}");
            assert!(
                sent.contains("<--- 220") && !sent.contains("<--- 501"),
                "{context}: {sent}"
            );
            let parts: Vec<&str> = out.split("---\n").collect();
            assert!(
                parts[0].lines().any(|l| l.ends_with(" small.bin")),
                "{context}: {out}"
            );
            // NLST of a directory names entries so that later commands can
            // use them (RFC 1123 §4.1.2.7): with the directory in front.
            assert_eq!(parts[1], "dir/inner.txt\n", "{context}");
            assert!(
                parts[2].lines().any(|l| l == "small.bin"),
                "{context}: {out}"
            );
            lftp(
                &f,
                settings,
                "get small.bin -o got.bin\nput small.bin -o up.bin\nmkdir made\nmv up.bin made/moved.bin\n",
            );
            assert_eq!(
                std::fs::read(f.local("got.bin")).unwrap(),
                f.small,
                "{context}"
            );
            assert_eq!(f.server.read("made/moved.bin"), f.small, "{context}");
            // Resume both ways.
            std::fs::write(f.local("got.bin"), &f.small[..20_000]).unwrap();
            f.server.put("partial.bin", &f.small[..50_000]);
            lftp(
                &f,
                settings,
                "get -c small.bin -o got.bin\nput -c small.bin -o partial.bin\n",
            );
            assert_eq!(
                std::fs::read(f.local("got.bin")).unwrap(),
                f.small,
                "{context}"
            );
            assert_eq!(f.server.read("partial.bin"), f.small, "{context}");
            lftp(&f, settings, "rm made/moved.bin partial.bin\nrmdir made\n");
            assert!(
                !f.server.exists("made") && !f.server.exists("partial.bin"),
                "{context}"
            );
        }
    }
}

fn lftp_large_files(kind: ServerKind) {
    let f = fixture(kind, false);
    let expected = f.with_large();
    lftp(
        &f,
        "set ftp:passive-mode on",
        "get large.bin -o large-got.bin\nput large.bin -o large-up.bin\n",
    );
    assert_eq!(sha256(&f.local("large-got.bin")), expected);
    assert_eq!(sha256(&f.server.root().join("large-up.bin")), expected);
}

// ---- wget --------------------------------------------------------------------------

/// wget downloads only. Passive: EPSV on IPv6 and PASV on IPv4; active
/// (`--no-passive-ftp`): PORT on IPv4, EPRT on IPv6.
fn wget_in_every_mode(kind: ServerKind) {
    for ipv6 in [false, true] {
        let f = fixture(kind, ipv6);
        for (mode, flags) in [("passive", vec![]), ("active", vec!["--no-passive-ftp"])] {
            let context = format!("wget {mode} ipv6={ipv6}");
            let wget = |args: &[&str]| {
                run(Command::new(peer("wget"))
                    .args(["-q", "--tries=1", "--timeout=30"])
                    .args(&flags)
                    .args(args)
                    .current_dir(f.work.path()))
            };
            wget(&["-O", "got.bin", &f.server.url("small.bin")]);
            assert_eq!(
                std::fs::read(f.local("got.bin")).unwrap(),
                f.small,
                "{context}"
            );
            wget(&["-O", "anon.bin", &f.server.anonymous_url("small.bin")]);
            assert_eq!(
                std::fs::read(f.local("anon.bin")).unwrap(),
                f.small,
                "{context}"
            );
            // Resume (REST).
            std::fs::write(f.local("resume.bin"), &f.small[..10_000]).unwrap();
            wget(&["-c", "-O", "resume.bin", &f.server.url("small.bin")]);
            assert_eq!(
                std::fs::read(f.local("resume.bin")).unwrap(),
                f.small,
                "{context}"
            );
            // The LIST output wget keeps as .listing.
            let _ = std::fs::remove_file(f.local(".listing"));
            wget(&[
                "--no-remove-listing",
                "-O",
                "index.html",
                &f.server.url("dir/"),
            ]);
            let listing = std::fs::read_to_string(f.local(".listing")).unwrap();
            assert!(listing.contains(" inner.txt\r\n"), "{context}: {listing}");
        }
    }
}

fn wget_large_file(kind: ServerKind) {
    let f = fixture(kind, true);
    let expected = f.with_large();
    run(Command::new(peer("wget"))
        .args(["-q", "--tries=1", "-O"])
        .arg(f.local("large-got.bin"))
        .arg(f.server.url("large.bin")));
    assert_eq!(sha256(&f.local("large-got.bin")), expected);
}

/// lftp `mirror -R` keeps modes (SITE CHMOD) and modification times
/// (MFMT) of what it uploads: a script stays executable, and a second
/// `mirror -R --only-newer` finds nothing to send.
fn lftp_mirror_keeps_modes_and_times(kind: ServerKind) {
    use std::os::unix::fs::PermissionsExt;
    let f = fixture(kind, false);
    let tree = f.local("tree");
    std::fs::create_dir_all(tree.join("bin")).unwrap();
    std::fs::write(tree.join("bin/run.sh"), b"#!/bin/sh\necho hi\n").unwrap();
    std::fs::write(tree.join("notes.txt"), b"notes\n").unwrap();
    std::fs::set_permissions(
        tree.join("bin/run.sh"),
        std::fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    std::fs::set_permissions(
        tree.join("notes.txt"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000);
    for file in ["bin/run.sh", "notes.txt"] {
        std::fs::File::options()
            .write(true)
            .open(tree.join(file))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let (_, sent) = lftp_logged(&f, "", "mirror -R tree mirrored");
    let uploaded = f.server.root().join("mirrored");
    let mode = |file: &str| {
        std::fs::metadata(uploaded.join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("bin/run.sh"), 0o750, "{sent}");
    assert_eq!(mode("notes.txt"), 0o640, "{sent}");
    let modified = std::fs::metadata(uploaded.join("notes.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(modified, old, "{sent}");
    let (out, again) = lftp_logged(&f, "", "mirror -R --only-newer tree mirrored");
    assert!(
        !again.contains("STOR "),
        "nothing to send again: {out}{again}"
    );
}

/// tnftp and inetutils-ftp `mget` and `mdelete` send `NLST *.txt`: the
/// matching files come down, the matching ones go, the rest stay.
fn mget_and_mdelete_with_wildcards(kind: ServerKind) {
    for client in ["tnftp", "inetutils-ftp"] {
        let f = fixture(kind, false);
        f.server.put("logs/a.txt", b"a\n");
        f.server.put("logs/b.txt", b"b\n");
        f.server.put("logs/old.gz", b"gz");
        f.server.put("logs/keep.log", b"keep");
        let (user, password) = PLAIN_USER;
        let script = format!(
            "user {user} {password}\nbinary\npassive\ncd logs\nmget *.txt\nmdelete *.gz\nbye\n"
        );
        let mut command = Command::new(peer(client));
        command.args(["-n", "-i"]);
        if client == "inetutils-ftp" {
            command.arg("-p");
        }
        let output = command
            .arg(f.server.address.ip().to_string())
            .arg(f.server.address.port().to_string())
            .current_dir(f.work.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(script.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            std::fs::read(f.local("a.txt")).ok(),
            Some(b"a\n".to_vec()),
            "{client}: {said}"
        );
        assert_eq!(
            std::fs::read(f.local("b.txt")).ok(),
            Some(b"b\n".to_vec()),
            "{client}: {said}"
        );
        assert!(!f.local("keep.log").exists(), "{client}: {said}");
        assert!(!f.server.exists("logs/old.gz"), "{client}: {said}");
        assert!(
            f.server.exists("logs/keep.log") && f.server.exists("logs/a.txt"),
            "{client}"
        );
    }
}

/// rclone: `copy` then `lsjson` shows the local modification times, which
/// it sets with MFMT (it compares by size only when a server has none).
fn rclone_keeps_modification_times(kind: ServerKind) {
    let f = fixture(kind, false);
    let tree = f.local("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("one.txt"), b"one").unwrap();
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    std::fs::File::options()
        .write(true)
        .open(tree.join("one.txt"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (user, password) = PLAIN_USER;
    let obscured = run(Command::new(peer("rclone")).args(["obscure", password]));
    let obscured = String::from_utf8_lossy(&obscured.stdout).trim().to_string();
    let remote = format!(
        ":ftp,host={},port={},user={user},pass={obscured}:copied",
        f.server.address.ip(),
        f.server.address.port()
    );
    let home = f.work.path().to_str().unwrap().to_string();
    run(Command::new(peer("rclone"))
        .args(["copy", tree.to_str().unwrap(), &remote])
        .env("HOME", &home)
        .env("RCLONE_CONFIG", "/dev/null"));
    let on_disk = std::fs::metadata(f.server.root().join("copied/one.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(on_disk, old);
    let listed = run(Command::new(peer("rclone"))
        .args(["lsjson", &remote])
        .env("HOME", &home)
        .env("RCLONE_CONFIG", "/dev/null"));
    let json = String::from_utf8_lossy(&listed.stdout);
    assert!(json.contains("\"ModTime\":\"2020-09-13T12:26:40"), "{json}");
}

on_both_servers!(
    mget_and_mdelete_with_wildcards,
    rclone_keeps_modification_times,
    lftp_mirror_keeps_modes_and_times,
    ftplib_sessions_in_every_mode,
    ftplib_abort_mid_download_and_go_on,
    path_escapes_are_refused,
    two_hundred_concurrent_ftplib_clients,
    curl_in_every_mode,
    curl_large_files,
    lftp_in_every_mode,
    lftp_large_files,
    wget_in_every_mode,
    wget_large_file,
);
