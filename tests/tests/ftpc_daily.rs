//! `ftpc` as a daily tool: the README's walkthrough run as it stands, local
//! files never lost (failed downloads, `--no-clobber`, `get -c` of a longer
//! file, `put` of a directory) against our server and the reference
//! servers, `mirror` both ways (plain, and over `ftpes://` with session
//! reuse required), exit codes as the README's table says, `~/.netrc`.

use ftp_tests::reference::ReferenceServer;
use ftp_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn ftpc() -> PathBuf {
    workspace_binary("ftp-std", "ftpc")
}

/// `ftpc args` in `dir`, with `HOME` there (no one's `~/.netrc`).
fn ftpc_in(dir: &Path, args: &[&str]) -> Output {
    run_unchecked(
        Command::new(ftpc())
            .args(args)
            .current_dir(dir)
            .env("HOME", dir)
            .env_remove("NETRC"),
    )
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

struct Ftpd {
    child: std::process::Child,
}

impl Drop for Ftpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `ftpc` lines of the README's walkthrough, run as they stand (in
/// `bash`, for their pipes) against the `ftpd` command the README names,
/// on a free port instead of 2121; then the state they leave is checked.
#[test]
fn the_readme_walkthrough_works_as_written() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let intro = readme
        .find("Use the `ftpc` client")
        .expect("the README's ftpc section");
    let block = &readme[intro..];
    let start = block.find("```sh\n").unwrap() + "```sh\n".len();
    let end = start + block[start..].find("```").unwrap();
    let lines: Vec<&str> = block[start..end]
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    assert!(lines.len() >= 10, "{lines:?}");
    let server_line = block[..start]
        .split('`')
        .find(|part| part.starts_with("ftpd "))
        .expect("the ftpd command the walkthrough runs against");

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("srv");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(work.join("src")).unwrap();
    let iso = random_bytes(3 << 20, 21);
    std::fs::write(root.join("big.iso"), &iso).unwrap();
    std::fs::write(root.join("notes.txt"), "one\ntwo\nthree\n").unwrap();
    std::fs::write(work.join("report.pdf"), random_bytes(70_000, 22)).unwrap();
    std::fs::write(work.join("src/main.rs"), "fn main() {}\n").unwrap();

    let port = free_local_port();
    let port_text = port.to_string();
    let substitute = |line: &str| {
        line.replace("2121", &port_text)
            .replace("/srv/ftp", root.to_str().unwrap())
    };
    let server_words: Vec<String> = substitute(server_line)
        .split_whitespace()
        .skip(1)
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    let _server = Ftpd {
        child: spawn_listening(
            Command::new(workspace_binary("ftp-smol", "ftpd"))
                .args(&server_words)
                .arg("--no-fsync"),
            &[format!("127.0.0.1:{port}"), format!("[::1]:{port}")],
        ),
    };

    let bin = ftpc().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for line in &lines {
        let line = substitute(line);
        let output = run_unchecked(
            Command::new("bash")
                .args(["-c", &format!("set -o pipefail; {line}")])
                .current_dir(&work)
                .env("PATH", &path)
                .env("HOME", &work),
        );
        assert!(output.status.success(), "{line}\n{}", stderr(&output));
    }
    // What the lines did.
    assert_eq!(std::fs::read(work.join("big.iso")).unwrap(), iso);
    assert!(root.join("docs/old").is_dir());
    assert!(root.join("docs/src.tar").is_file());
    assert!(!root.join("docs/report.pdf").exists() && !root.join("docs/old/report.pdf").exists());
    assert_eq!(
        std::fs::read(root.join("docs/src/main.rs")).unwrap(),
        b"fn main() {}\n"
    );
    assert_eq!(
        std::fs::read(work.join("docs-copy/src/main.rs")).unwrap(),
        b"fn main() {}\n"
    );
    assert!(work.join("docs-copy/src.tar").is_file() && work.join("docs-copy/old").is_dir());
}

/// A server to run the data-safety cases against: where to put files on
/// it (a URL prefix) and its directory on disk for that prefix.
struct Target {
    name: &'static str,
    url: String,
    dir: PathBuf,
    /// `ftpc` options this server needs before the command (`--cacert`).
    options: Vec<String>,
    _guard: Box<dyn std::any::Any>,
}

impl Target {
    /// `ftpc <options> args` in `dir`.
    fn ftpc_in(&self, dir: &Path, args: &[&str]) -> Output {
        let options: Vec<&str> = self.options.iter().map(String::as_str).collect();
        ftpc_in(dir, &[&options[..], args].concat())
    }
}

fn our_target() -> Target {
    let server = TestServer::start(ServerKind::Smol, false);
    let password = PASSWORD.replace(' ', "%20");
    Target {
        name: "ours",
        url: format!("ftp://{USER}:{password}@{}/", server.address),
        dir: server.root(),
        options: Vec::new(),
        _guard: Box::new(server),
    }
}

/// Our server with its TLS defaults (login and data protected, data
/// connections that must resume the control session), as `ftpes://`.
fn our_tls_target() -> Target {
    let server = TestServer::start_tls(ServerKind::Std, false, false, |_| {});
    let password = PASSWORD.replace(' ', "%20");
    Target {
        name: "ours, ftpes",
        url: format!("ftpes://{USER}:{password}@{}/", server.address),
        dir: server.root(),
        options: vec!["--cacert".into(), server.ca_file().display().to_string()],
        _guard: Box::new(server),
    }
}

fn reference_target(name: &'static str, server: ReferenceServer) -> Target {
    reference_target_as(name, "ftp", server, Vec::new())
}

fn reference_target_as(
    name: &'static str,
    scheme: &str,
    server: ReferenceServer,
    options: Vec<String>,
) -> Target {
    let host = if server.host.contains(':') {
        format!("[{}]", server.host)
    } else {
        server.host.clone()
    };
    let password = server.password.replace(' ', "%20");
    let url = format!(
        "{scheme}://{}:{password}@{host}:{}{}/",
        server.user, server.port, server.writable
    );
    let dir = server.root.join(server.writable.trim_start_matches('/'));
    Target {
        name,
        url,
        dir,
        options,
        _guard: Box::new(server),
    }
}

/// Every way a download or upload could destroy local or remote data,
/// against one server: each leaves the files byte-identical.
fn local_data_is_never_lost(target: &Target) {
    let work = tempfile::tempdir().unwrap();
    let context = target.name;
    let keep = random_bytes(10_000, 31);
    let notes = work.path().join("notes.txt");
    std::fs::write(&notes, &keep).unwrap();
    let remote = random_bytes(20_000, 32);
    std::fs::write(target.dir.join("remote.bin"), &remote).unwrap();
    std::fs::create_dir_all(target.dir.join("a dir")).unwrap();
    let url = |path: &str| format!("{}{path}", target.url);
    let untouched = |what: &str| {
        assert_eq!(std::fs::read(&notes).unwrap(), keep, "{context}: {what}");
        let names: Vec<_> = std::fs::read_dir(work.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| !n.ends_with(".part")),
            "{context}: {what}: left {names:?}"
        );
    };

    // A file that does not exist: 5, and the local file as it was.
    let missing = ftpc_in(
        work.path(),
        &["get", &url("missing.txt"), "-o", "notes.txt"],
    );
    assert_eq!(
        missing.status.code(),
        Some(5),
        "{context}: {}",
        stderr(&missing)
    );
    untouched("get of a missing file");
    // A directory: a refusal (it exists), the local file as it was.
    let dir = ftpc_in(work.path(), &["get", &url("a%20dir"), "-o", "notes.txt"]);
    assert_eq!(dir.status.code(), Some(6), "{context}: {}", stderr(&dir));
    untouched("get of a directory");
    // --no-clobber: refused before anything is fetched.
    let clobber = ftpc_in(
        work.path(),
        &["get", "--no-clobber", &url("remote.bin"), "-o", "notes.txt"],
    );
    assert_eq!(
        clobber.status.code(),
        Some(7),
        "{context}: {}",
        stderr(&clobber)
    );
    assert!(stderr(&clobber).contains("--no-clobber"), "{context}");
    untouched("get --no-clobber");
    // Without it, a complete download replaces the file.
    let got = ftpc_in(work.path(), &["get", &url("remote.bin"), "-o", "notes.txt"]);
    assert!(got.status.success(), "{context}: {}", stderr(&got));
    assert_eq!(std::fs::read(&notes).unwrap(), remote, "{context}");
    std::fs::write(&notes, &keep).unwrap();

    // get -c of a local file longer than the remote one: an error, and
    // nothing appended or cut.
    let longer = [&remote[..], b"extra"].concat();
    std::fs::write(work.path().join("longer.bin"), &longer).unwrap();
    let resumed = ftpc_in(
        work.path(),
        &["get", "-c", &url("remote.bin"), "-o", "longer.bin"],
    );
    assert_eq!(
        resumed.status.code(),
        Some(7),
        "{context}: {}",
        stderr(&resumed)
    );
    assert_eq!(
        std::fs::read(work.path().join("longer.bin")).unwrap(),
        longer
    );
    // Of a complete one: nothing to do, success.
    std::fs::write(work.path().join("whole.bin"), &remote).unwrap();
    let whole = ftpc_in(
        work.path(),
        &["get", "-c", &url("remote.bin"), "-o", "whole.bin"],
    );
    assert!(whole.status.success(), "{context}: {}", stderr(&whole));
    assert_eq!(
        std::fs::read(work.path().join("whole.bin")).unwrap(),
        remote
    );

    // put of a local directory: refused before connecting; the remote
    // file of that name is untouched.
    std::fs::create_dir(work.path().join("remote.bin")).unwrap();
    let put = ftpc_in(work.path(), &["put", "remote.bin", &target.url]);
    assert_eq!(put.status.code(), Some(2), "{context}: {}", stderr(&put));
    assert_eq!(
        std::fs::read(target.dir.join("remote.bin")).unwrap(),
        remote,
        "{context}"
    );
    // put - reads standard input.
    let mut child = Command::new(ftpc())
        .args(["put", "-", &url("from-stdin.txt")])
        .current_dir(work.path())
        .env("HOME", work.path())
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"piped in").unwrap();
    assert!(child.wait().unwrap().success(), "{context}");
    assert_eq!(
        std::fs::read(target.dir.join("from-stdin.txt")).unwrap(),
        b"piped in",
        "{context}"
    );
    // Error messages are words, never Rust debug text.
    for output in [&missing, &dir, &clobber, &resumed, &put] {
        let text = stderr(output);
        assert!(
            text.starts_with("ftpc: ") && !text.contains("(\"") && !text.contains("Some("),
            "{context}: {text}"
        );
    }
    let _ = std::fs::remove_file(target.dir.join("from-stdin.txt"));
    let _ = std::fs::remove_file(target.dir.join("remote.bin"));
    let _ = std::fs::remove_dir(target.dir.join("a dir"));
}

#[test]
fn local_data_is_never_lost_with_our_server() {
    local_data_is_never_lost(&our_target());
}

#[test]
fn local_data_is_never_lost_with_vsftpd() {
    local_data_is_never_lost(&reference_target("vsftpd", reference::vsftpd()));
}

#[test]
fn local_data_is_never_lost_with_pure_ftpd() {
    local_data_is_never_lost(&reference_target("pure-ftpd", reference::pure_ftpd()));
}

#[test]
fn local_data_is_never_lost_with_pyftpdlib() {
    local_data_is_never_lost(&reference_target("pyftpdlib", reference::pyftpdlib()));
}

/// Refusals that are not "not found" exit 6, as the README's table says;
/// `--timeout 0` is a usage error; IPv6 addresses in messages are
/// bracketed.
#[test]
fn exit_codes_follow_the_readme() {
    let target = our_target();
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(target.dir.join("full")).unwrap();
    std::fs::write(target.dir.join("full/file"), b"x").unwrap();
    let url = |path: &str| format!("{}{path}", target.url);
    let code = |args: &[&str]| {
        let output = ftpc_in(work.path(), args);
        (output.status.code(), stderr(&output))
    };
    let (status, text) = code(&["rmdir", &url("full")]);
    assert_eq!(status, Some(6), "{text}");
    let (status, text) = code(&["rmdir", &url("nothing-here")]);
    assert_eq!(status, Some(5), "{text}");
    let (status, text) = code(&["mkdir", &url("full")]);
    assert_eq!(status, Some(6), "{text}");
    let (status, text) = code(&["rm", &url("nothing-here")]);
    assert_eq!(status, Some(5), "{text}");
    // An anonymous login may read, not write: refused, though it exists.
    let anonymous = target
        .url
        .replace(&format!("{USER}:{}@", PASSWORD.replace(' ', "%20")), "");
    let (status, text) = code(&["rm", &format!("{anonymous}full/file")]);
    assert_eq!(status, Some(6), "{text}");
    let (status, text) = code(&["--timeout", "0", "ls", &url("")]);
    assert_eq!(status, Some(2), "{text}");
    let (status, text) = code(&["ls", "ftp://[::1]:9/"]);
    assert_eq!(status, Some(3), "{text}");
    assert!(text.contains("[::1]:9"), "{text}");
}

/// A URL with a user but no password takes that user's password from
/// `~/.netrc`; quoted passwords work.
#[test]
fn netrc_fills_in_the_password() {
    let server = TestServer::start(ServerKind::Smol, false);
    let work = tempfile::tempdir().unwrap();
    std::fs::write(server.root().join("f.txt"), b"netrc").unwrap();
    let host = server.address.ip().to_string();
    // PASSWORD holds a space: only a quoted value can carry it.
    std::fs::write(
        work.path().join(".netrc"),
        format!(
            "machine {host} login someone password wrong\n\
             machine {host} login {USER} password \"{PASSWORD}\"\n"
        ),
    )
    .unwrap();
    let url = format!("ftp://{USER}@{}/f.txt", server.address);
    let got = ftpc_in(work.path(), &["get", &url, "-o", "got.txt"]);
    assert!(got.status.success(), "{}", stderr(&got));
    assert_eq!(
        std::fs::read(work.path().join("got.txt")).unwrap(),
        b"netrc"
    );
    // No user in the URL: the first entry for the host (a wrong password).
    let url = format!("ftp://{}/f.txt", server.address);
    let refused = ftpc_in(work.path(), &["get", &url, "-o", "other.txt"]);
    assert_eq!(refused.status.code(), Some(4), "{}", stderr(&refused));
}

/// A tree of `files` files in nested directories, names with spaces and
/// non-ASCII characters, sizes from 0 to 200 KB.
fn make_tree(root: &Path, files: usize) {
    for n in 0..files {
        let dir = match n % 4 {
            0 => root.to_path_buf(),
            1 => root.join("a dir"),
            2 => root.join("a dir/sous-répertoire"),
            _ => root.join(format!("d{}/deeper/ünïcode {}", n % 3, n % 2)),
        };
        std::fs::create_dir_all(&dir).unwrap();
        let size = match n % 7 {
            0 => 0,
            1 => 200_000,
            _ => 1 + (n * 37) % 5_000,
        };
        std::fs::write(
            dir.join(format!("file {n} é.txt")),
            random_bytes(size, n as u64),
        )
        .unwrap();
    }
}

/// Every file under `root`, relative path to content.
fn tree_contents(root: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut found = std::collections::BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_path_buf();
                found.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    found
}

/// The `N files transferred` of mirror's summary line.
fn transferred(output: &Output) -> usize {
    let text = stderr(output);
    text.lines()
        .find_map(|l| {
            l.split("mirror: ")
                .nth(1)?
                .split(" files transferred")
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no summary in {text}"))
}

/// `mirror -R` up and `mirror` down of a 220-file tree, checked file by
/// file on both sides; a second `--only-newer` pass each way transfers
/// nothing; `--delete` removes what the source no longer has.
fn mirror_both_ways(target: &Target) {
    let context = target.name;
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    make_tree(&source, 220);
    let expected = tree_contents(&source);
    let url = format!("{}mirrored", target.url);
    let mirror = |args: &[&str]| {
        let output = target.ftpc_in(work.path(), &[&["mirror"][..], args].concat());
        assert!(
            output.status.success(),
            "{context}: {args:?}: {}",
            stderr(&output)
        );
        output
    };
    let up = mirror(&["-R", "--parallel", "3", "source", &url]);
    assert_eq!(transferred(&up), 220, "{context}");
    assert_eq!(
        tree_contents(&target.dir.join("mirrored")),
        expected,
        "{context}"
    );
    let down = mirror(&["-P", "3", &url, "copy"]);
    assert_eq!(transferred(&down), 220, "{context}");
    assert_eq!(
        tree_contents(&work.path().join("copy")),
        expected,
        "{context}"
    );

    // Nothing changed: nothing moves, either way.
    assert_eq!(
        transferred(&mirror(&["--only-newer", &url, "copy"])),
        0,
        "{context}"
    );
    assert_eq!(
        transferred(&mirror(&["-R", "--only-newer", "source", &url])),
        0,
        "{context}"
    );
    // A changed file (another size) goes up again, and down again.
    let changed = source.join("a dir/file 1 é.txt");
    std::fs::write(&changed, b"changed").unwrap();
    assert_eq!(
        transferred(&mirror(&["-R", "-n", "source", &url])),
        1,
        "{context}"
    );
    assert_eq!(transferred(&mirror(&["-n", &url, "copy"])), 1, "{context}");
    assert_eq!(
        std::fs::read(work.path().join("copy/a dir/file 1 é.txt")).unwrap(),
        b"changed"
    );

    // --delete: what the source lost goes from the copy; --dry-run first
    // changes nothing.
    std::fs::remove_file(source.join("file 0 é.txt")).unwrap();
    std::fs::remove_dir_all(source.join("d0")).unwrap();
    mirror(&["-R", "-n", "--delete", "--dry-run", "source", &url]);
    assert!(target.dir.join("mirrored/d0").exists(), "{context}");
    mirror(&["-R", "-n", "--delete", "source", &url]);
    let now = tree_contents(&source);
    assert_eq!(
        tree_contents(&target.dir.join("mirrored")),
        now,
        "{context}"
    );
    assert!(!target.dir.join("mirrored/d0").exists(), "{context}");
    mirror(&["-n", "--delete", &url, "copy"]);
    assert_eq!(tree_contents(&work.path().join("copy")), now, "{context}");
    assert!(!work.path().join("copy/d0").exists(), "{context}");

    // A remote directory that is not there (vsftpd lists it as empty): an
    // error, and --delete empties nothing.
    let typo = format!("{}no-such-dir", target.url);
    let missing = target.ftpc_in(work.path(), &["mirror", "--delete", &typo, "copy"]);
    assert_eq!(
        missing.status.code(),
        Some(5),
        "{context}: {}",
        stderr(&missing)
    );
    assert_eq!(tree_contents(&work.path().join("copy")), now, "{context}");
}

#[test]
fn mirror_with_our_server() {
    mirror_both_ways(&our_target());
}

#[test]
fn mirror_with_vsftpd() {
    mirror_both_ways(&reference_target("vsftpd", reference::vsftpd()));
}

#[test]
fn mirror_with_pure_ftpd() {
    mirror_both_ways(&reference_target("pure-ftpd", reference::pure_ftpd()));
}

#[test]
fn mirror_with_pyftpdlib() {
    mirror_both_ways(&reference_target("pyftpdlib", reference::pyftpdlib()));
}

/// Three TLS sessions at once, each data connection resuming its own
/// control connection's session (our server refuses any other with 522).
#[test]
fn mirror_over_ftpes_with_our_server() {
    mirror_both_ways(&our_tls_target());
}

/// vsftpd with TLS required and `require_ssl_reuse=YES`.
#[test]
fn mirror_over_ftpes_with_vsftpd() {
    let certificates = tempfile::tempdir().unwrap();
    let (ca, cert, key) = write_test_certificates(certificates.path());
    // vsftpd reads the key after dropping privileges in some paths.
    for path in [certificates.path(), &cert, &key] {
        run(Command::new("chmod").arg("755").arg(path));
    }
    let server = reference::vsftpd_tls(&cert, &key);
    let options = vec!["--cacert".into(), ca.display().to_string()];
    let target = reference_target_as("vsftpd, ftpes", "ftpes", server, options);
    mirror_both_ways(&target);
}

/// A server that drops the connection in the middle of a download: with
/// `--retry`, ftpc connects again and resumes where it stopped; without,
/// the download fails (exit 7) and leaves no partial file behind.
#[test]
fn retry_resumes_after_the_server_drops_the_connection() {
    let data = random_bytes(1 << 20, 41);
    let work = tempfile::tempdir().unwrap();

    let target = reference_target("dropping", reference::dropping_server(2));
    std::fs::write(target.dir.join("big.bin"), &data).unwrap();
    let url = format!("{}big.bin", target.url);
    let output = ftpc_in(work.path(), &["--retry", "3", "get", &url, "-o", "got.bin"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stderr(&output).matches("trying again").count(),
        2,
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(work.path().join("got.bin")).unwrap(), data);

    let target = reference_target("dropping", reference::dropping_server(1));
    std::fs::write(target.dir.join("big.bin"), &data).unwrap();
    let url = format!("{}big.bin", target.url);
    let output = ftpc_in(work.path(), &["get", &url, "-o", "once.bin"]);
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    let left: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!left.iter().any(|n| n.contains("once.bin")), "{left:?}");
}

/// Ctrl-C in the middle of a download (a server that stalls keeps it
/// there): ftpc ends by the signal, its temporary file is gone, and the
/// file that was there before is as it was.
#[test]
fn interrupted_download_leaves_nothing_behind() {
    use std::os::unix::process::ExitStatusExt;
    let target = reference_target("stalling", reference::stalling_server());
    std::fs::write(target.dir.join("big.bin"), vec![7u8; 1 << 20]).unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("big.bin"), b"previous").unwrap();
    let mut child = Command::new(ftpc())
        .args(["get", &format!("{}big.bin", target.url)])
        .current_dir(work.path())
        .env("HOME", work.path())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let entries = || -> Vec<String> {
        std::fs::read_dir(work.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert!(
        eventually(Duration::from_secs(20), || entries()
            .iter()
            .any(|n| n.ends_with(".part"))),
        "no download under way: {:?}",
        entries()
    );
    run(Command::new("kill").arg("-INT").arg(child.id().to_string()));
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(2), "{status:?}");
    assert_eq!(entries(), ["big.bin"]);
    assert_eq!(
        std::fs::read(work.path().join("big.bin")).unwrap(),
        b"previous"
    );
}

/// Several URLs, a wildcard matched on the listing, standard input and
/// output, `mkdir -p`, `put --create-dirs`, several files in one put.
fn many_files_wildcards_and_pipes(target: &Target) {
    let context = target.name;
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(target.dir.join("logs")).unwrap();
    for name in ["a.gz", "b.gz", "c.txt", "d e.gz"] {
        std::fs::write(target.dir.join("logs").join(name), name.as_bytes()).unwrap();
    }
    std::fs::create_dir(target.dir.join("logs/dir.gz")).unwrap();
    let url = |path: &str| format!("{}{path}", target.url);
    let ok = |args: &[&str]| {
        let output = ftpc_in(work.path(), args);
        assert!(
            output.status.success(),
            "{context}: {args:?}: {}",
            stderr(&output)
        );
        output
    };
    std::fs::create_dir(work.path().join("got")).unwrap();
    ok(&["get", "-o", "got", &url("logs/*.gz"), &url("logs/c.txt")]);
    let mut names: Vec<_> = std::fs::read_dir(work.path().join("got"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // Files only: the directory that matches is not fetched.
    assert_eq!(names, ["a.gz", "b.gz", "c.txt", "d e.gz"]);
    assert_eq!(
        std::fs::read(work.path().join("got/d e.gz")).unwrap(),
        b"d e.gz"
    );
    let none = ftpc_in(work.path(), &["get", &url("logs/*.zip")]);
    assert_eq!(none.status.code(), Some(5), "{}", stderr(&none));
    // Several files need a directory to go to.
    let not_dir = ftpc_in(work.path(), &["get", "-o", "x.bin", &url("logs/*.gz")]);
    assert_eq!(not_dir.status.code(), Some(2), "{}", stderr(&not_dir));

    // get -o - writes standard output.
    let out = ok(&["get", "-o", "-", &url("logs/c.txt")]);
    assert_eq!(out.stdout, b"c.txt");

    // mkdir -p, twice; put --create-dirs; several files in one put.
    ok(&["mkdir", "-p", &url("p/q/r")]);
    ok(&["mkdir", "-p", &url("p/q/r")]);
    assert!(target.dir.join("p/q/r").is_dir());
    std::fs::write(work.path().join("one.txt"), b"one").unwrap();
    std::fs::write(work.path().join("two.txt"), b"two").unwrap();
    ok(&[
        "put",
        "--create-dirs",
        "one.txt",
        "two.txt",
        &url("new/deep/"),
    ]);
    assert_eq!(
        std::fs::read(target.dir.join("new/deep/two.txt")).unwrap(),
        b"two"
    );
    let several = ftpc_in(
        work.path(),
        &["put", "one.txt", "two.txt", &url("file.txt")],
    );
    assert_eq!(several.status.code(), Some(2), "{}", stderr(&several));
}

/// `get -o` into what is not a regular file writes through it, never
/// replacing it: a FIFO stays a FIFO (a device would stay a device), a
/// symbolic link keeps pointing at its file, which gets the content. A
/// local write error (the FIFO's reader gone) exits 7, said in words.
fn special_local_targets(target: &Target) {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(target.dir.join("small.txt"), b"small").unwrap();
    let big = random_bytes(1 << 20, 43);
    std::fs::write(target.dir.join("big.bin"), &big).unwrap();
    let url = |path: &str| format!("{}{path}", target.url);
    let fifo = work.path().join("pipe");
    run(Command::new("mkfifo").arg(&fifo));
    let (sender, received) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        // Blocks until a writer opens the FIFO: bounded below.
        std::thread::spawn(move || sender.send(std::fs::read(fifo).unwrap()));
    }
    let output = ftpc_in(work.path(), &["get", &url("big.bin"), "-o", "pipe"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let through = received
        .recv_timeout(Duration::from_secs(30))
        .expect("nothing came through the FIFO");
    assert_eq!(through, big);
    use std::os::unix::fs::FileTypeExt;
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );

    std::fs::write(work.path().join("real.txt"), b"old").unwrap();
    std::os::unix::fs::symlink("real.txt", work.path().join("link.txt")).unwrap();
    let output = ftpc_in(work.path(), &["get", &url("small.txt"), "-o", "link.txt"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        std::fs::symlink_metadata(work.path().join("link.txt"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read(work.path().join("real.txt")).unwrap(),
        b"small"
    );

    // The reader goes away after the first bytes: broken pipe.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Read;
            let mut pipe = std::fs::File::open(fifo).unwrap();
            let mut first = [0u8; 1000];
            pipe.read_exact(&mut first).unwrap();
        })
    };
    let output = ftpc_in(work.path(), &["get", &url("big.bin"), "-o", "pipe"]);
    reader.join().unwrap();
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("Broken pipe") && !text.contains("Local("),
        "{text}"
    );
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

#[test]
fn many_files_with_our_server() {
    let target = our_target();
    many_files_wildcards_and_pipes(&target);
    special_local_targets(&target);
    // --limit-rate holds a transfer to the rate: 256 KiB at 128K takes
    // two seconds at least (the pauses are sleeps, never shorter).
    let work = tempfile::tempdir().unwrap();
    std::fs::write(target.dir.join("quarter.bin"), random_bytes(256 << 10, 42)).unwrap();
    let started = std::time::Instant::now();
    let url = format!("{}quarter.bin", target.url);
    let output = ftpc_in(work.path(), &["--limit-rate", "128K", "get", &url]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn many_files_with_vsftpd() {
    many_files_wildcards_and_pipes(&reference_target("vsftpd", reference::vsftpd()));
}

#[test]
fn many_files_with_pure_ftpd() {
    many_files_wildcards_and_pipes(&reference_target("pure-ftpd", reference::pure_ftpd()));
}

#[test]
fn many_files_with_pyftpdlib() {
    many_files_wildcards_and_pipes(&reference_target("pyftpdlib", reference::pyftpdlib()));
}
