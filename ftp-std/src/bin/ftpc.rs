//! `ftpc`: a command-line FTP client.
//!
//! URLs as curl writes them: `ftp://[user[:password]@]host[:port]/path`,
//! percent-encoded, IPv6 hosts in brackets. Without a user in the URL,
//! `~/.netrc` is consulted, then anonymous login is used.
//!
//! FTPS as curl and lftp users write it: `ftpes://` is explicit FTPS
//! (`AUTH TLS`, required), `ftps://` implicit FTPS (TLS from the first
//! byte, port 990 by default); `--tls` requires `AUTH TLS` on an `ftp://`
//! URL. Certificates are verified against the system's roots and
//! `--cacert`; `--insecure` turns verification off, with a warning.
//!
//! Exit codes: 0 success, 2 usage, 3 cannot connect, 4 login refused,
//! 5 file or directory not found, 6 other refusal by the server,
//! 7 transfer or local file failure, 8 TLS required and not offered,
//! 9 server certificate not trusted, 10 TLS handshake or protocol failure,
//! 1 anything else.

use clap::{Parser, Subcommand};
use ftp_proto::client::{ClientConfig, ClientError, DataMode, Notice, StoreMode};
use ftp_proto::listing::parse::EntryKind;
use ftp_proto::tls::{TlsError, TlsSummary};
use ftp_std::client::{TlsOptions, TlsVersions};
use ftp_std::{Client, Error, Options};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "ftpc", version, about = "A command-line FTP client")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// Active mode: the server connects to us (EPRT, then PORT).
    #[arg(long, global = true)]
    active: bool,
    /// Show the control dialogue on stderr (passwords hidden).
    #[arg(short, long, global = true)]
    verbose: bool,
    /// Seconds to wait for the server before giving up.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECS")]
    timeout: u64,
    /// Require TLS (AUTH TLS) on an ftp:// URL; fail if the server does not
    /// offer it. `ftpes://` URLs imply it.
    #[arg(long, global = true)]
    tls: bool,
    /// Trust the CA certificates in this PEM file, besides the system's.
    #[arg(long, global = true, value_name = "FILE")]
    cacert: Option<PathBuf>,
    /// Do not verify the server's certificate (the connection is encrypted
    /// but anyone in the path can pose as the server).
    #[arg(short = 'k', long, global = true)]
    insecure: bool,
    /// Offer TLS 1.3 first. By default TLS 1.2 is offered (and TLS 1.3
    /// only to a server that refuses it): its sessions can be resumed by
    /// every data connection, which servers that require session reuse
    /// (vsftpd, ProFTPD) check, while TLS 1.3 tickets are single-use.
    #[arg(long, global = true)]
    tls13: bool,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// List a directory.
    Ls { url: String },
    /// Download a file.
    Get {
        url: String,
        /// Where to write it (`-` for standard output). Default: the remote
        /// file's name, in the current directory.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Resume: keep what the local file holds and fetch the rest.
        #[arg(short = 'c', long = "continue")]
        resume: bool,
    },
    /// Upload a file. A URL ending in `/` names a directory.
    Put {
        file: PathBuf,
        url: String,
        /// Add to the end of the remote file.
        #[arg(long)]
        append: bool,
    },
    /// Create a directory.
    Mkdir { url: String },
    /// Delete a file.
    Rm { url: String },
    /// Remove a directory.
    Rmdir { url: String },
    /// Rename or move.
    Mv { url: String, new_name: String },
}

/// How a URL asks for TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// `ftp://`: none, unless `--tls`.
    Plain,
    /// `ftpes://`: AUTH TLS, required.
    Explicit,
    /// `ftps://`: TLS from the first byte.
    Implicit,
}

/// A parsed `ftp://`, `ftpes://` or `ftps://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    security: Security,
    user: Option<String>,
    password: Option<String>,
    host: String,
    port: u16,
    /// The path after the host, percent-decoded; empty for the login
    /// directory.
    path: Vec<u8>,
}

fn decode(text: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(text).collect()
}

fn parse_url(text: &str) -> Result<Url, String> {
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| format!("{text}: not an ftp://, ftpes:// or ftps:// URL"))?;
    let security = match scheme.to_ascii_lowercase().as_str() {
        "ftp" => Security::Plain,
        "ftpes" => Security::Explicit,
        "ftps" => Security::Implicit,
        _ => return Err(format!("{text}: not an ftp://, ftpes:// or ftps:// URL")),
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        None => (None, None),
        Some(info) => match info.split_once(':') {
            Some((u, p)) => (Some(u), Some(p)),
            None => (Some(info), None),
        },
    };
    let lossy = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("{text}: unclosed [ in host"))?;
        (host.to_string(), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("{text}: no host"));
    }
    let port = match port {
        None | Some("") if security == Security::Implicit => 990,
        None | Some("") => 21,
        Some(port) => port
            .parse()
            .map_err(|_| format!("{text}: bad port {port:?}"))?,
    };
    Ok(Url {
        security,
        user: user.map(|u| lossy(decode(u))),
        password: password.map(|p| lossy(decode(p))),
        host,
        port,
        path: decode(path),
    })
}

/// Looks `host` up in a `.netrc` text: `machine`, `login`, `password`,
/// `default`. (The format is a few keywords; no maintained crate reads it
/// better than these lines.)
fn netrc_lookup(text: &str, host: &str) -> Option<(String, String)> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut found: Option<(String, String)> = None;
    let mut default: Option<(String, String)> = None;
    let mut i = 0;
    while i < tokens.len() {
        let is_default = tokens[i] == "default";
        let matches = tokens[i] == "machine" && tokens.get(i + 1) == Some(&host);
        if !(is_default || tokens[i] == "machine") {
            i += 1;
            continue;
        }
        i += if is_default { 1 } else { 2 };
        let (mut login, mut password) = (String::new(), String::new());
        while i < tokens.len() && tokens[i] != "machine" && tokens[i] != "default" {
            match (tokens[i], tokens.get(i + 1)) {
                ("login", Some(v)) => login = v.to_string(),
                ("password", Some(v)) => password = v.to_string(),
                _ => {}
            }
            i += 2;
        }
        if matches && found.is_none() {
            found = Some((login, password));
        } else if is_default && default.is_none() {
            default = Some((login, password));
        }
    }
    found.or(default)
}

fn credentials(url: &Url) -> (String, String) {
    if let Some(user) = &url.user {
        return (user.clone(), url.password.clone().unwrap_or_default());
    }
    let netrc = std::env::var_os("NETRC")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".netrc")));
    if let Some(found) = netrc
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| netrc_lookup(&t, &url.host))
    {
        return found;
    }
    ("anonymous".into(), "ftpc@".into())
}

/// Why ftpc stopped, with its exit code.
struct Failure {
    code: u8,
    message: String,
}

fn failure(code: u8, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

/// Exit code for a TLS failure, if the error is one.
fn tls_failure_code(error: &Error) -> Option<u8> {
    match error {
        Error::Ftp(ClientError::TlsNotOffered(_)) => Some(8),
        Error::Ftp(ClientError::Tls(TlsError::Certificate { .. })) => Some(9),
        Error::Ftp(ClientError::Tls(_)) => Some(10),
        _ => None,
    }
}

/// Exit code for a failed command (not the login).
fn command_failure(what: &str, error: &Error) -> Failure {
    let code = match error {
        e if tls_failure_code(e).is_some() => tls_failure_code(e).unwrap_or(1),
        Error::Io(_) => 7,
        e if e.is_not_found() => 5,
        Error::Ftp(ClientError::Rejected(_)) => 6,
        Error::Ftp(ClientError::Transfer(_)) => 7,
        Error::Ftp(_) => 1,
    };
    failure(code, format!("{what}: {error}"))
}

/// One line about a TLS handshake, for `--verbose`.
fn describe_tls(data: bool, summary: &TlsSummary) -> String {
    let which = if data {
        "data connection"
    } else {
        "control connection"
    };
    let mut line = format!("* {which}: {} {}", summary.version, summary.cipher_suite);
    if data {
        let resumed = if summary.resumed {
            "session resumed"
        } else {
            "new session (not resumed)"
        };
        line.push_str(&format!(", {resumed}"));
    } else if let Some(der) = &summary.peer_certificate {
        use x509_cert::der::Decode;
        match x509_cert::Certificate::from_der(der.as_ref()) {
            Ok(cert) => line.push_str(&format!(
                ", certificate subject \"{}\" issued by \"{}\"",
                cert.tbs_certificate.subject, cert.tbs_certificate.issuer
            )),
            Err(_) => line.push_str(", certificate unreadable"),
        }
    }
    line
}

fn connect(cli: &Cli, url: &Url) -> Result<Client, Failure> {
    let timeout = Duration::from_secs(cli.timeout.max(1));
    let engine = ClientConfig {
        mode: if cli.active {
            DataMode::Active
        } else {
            DataMode::Passive
        },
        reply_timeout: timeout,
        data_timeout: timeout,
        notices: cli.verbose,
        ..ClientConfig::default()
    };
    let options = Options {
        engine,
        connect_timeout: timeout,
    };
    let tls = match url.security {
        Security::Plain if !cli.tls => None,
        Security::Plain | Security::Explicit | Security::Implicit => Some(TlsOptions {
            implicit: url.security == Security::Implicit,
            ca_file: cli.cacert.clone(),
            insecure: cli.insecure,
            auth_ssl_fallback: false,
            versions: if cli.tls13 {
                TlsVersions::Tls13
            } else {
                TlsVersions::ReusableSessions
            },
        }),
    };
    if cli.insecure && tls.is_some() {
        eprintln!(
            "ftpc: warning: --insecure: the server's certificate is not verified; \
             anyone in the path can pose as {}",
            url.host
        );
    }
    let connected = match &tls {
        Some(tls) => Client::connect_tls(&url.host, url.port, options, tls),
        None => Client::connect((url.host.as_str(), url.port), options),
    };
    let host = if url.host.contains(':') {
        format!("[{}]", url.host)
    } else {
        url.host.clone()
    };
    let mut client = connected.map_err(|e| {
        let code = tls_failure_code(&e).unwrap_or(3);
        failure(code, format!("cannot connect to {host}:{}: {e}", url.port))
    })?;
    if cli.verbose {
        if let Some(summary) = client.tls_summary() {
            eprintln!("{}", describe_tls(false, &summary));
        }
        client.set_trace(|notice| match notice {
            Notice::Sent(line) => eprintln!("> {line}"),
            Notice::Received(reply) => {
                for (n, line) in reply.lines.iter().enumerate() {
                    let separator = if n + 1 == reply.lines.len() { ' ' } else { '-' };
                    eprintln!(
                        "< {}{separator}{}",
                        reply.code,
                        String::from_utf8_lossy(line)
                    );
                }
            }
            Notice::Protected { data, summary } => eprintln!("{}", describe_tls(*data, summary)),
        });
    }
    let (user, password) = credentials(url);
    client.login(&user, &password).map_err(|e| match e {
        Error::Io(_) => failure(3, format!("connection lost: {e}")),
        e if tls_failure_code(&e).is_some() => failure(
            tls_failure_code(&e).unwrap_or(10),
            format!("login as {user}: {e}"),
        ),
        e => failure(4, format!("login as {user} refused: {e}")),
    })?;
    Ok(client)
}

fn progress_bar(total: Option<u64>) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::new_spinner(),
    };
    let style = ProgressStyle::with_template(
        "{bytes:>10} / {total_bytes:10} {wide_bar} {binary_bytes_per_sec:>12} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

fn with_progress(client: &mut Client, bar: &Option<ProgressBar>, start: u64) {
    if let Some(bar) = bar.clone() {
        bar.set_position(start);
        client.set_progress(move |moved| {
            bar.set_position(start + moved);
            ControlFlow::Continue(())
        });
    }
}

fn file_name(path: &[u8]) -> Option<&[u8]> {
    let name = path.rsplit(|&b| b == b'/').next()?;
    let safe = !name.is_empty()
        && name != b"."
        && name != b".."
        && !name.contains(&b'\\')
        && !name.contains(&0);
    safe.then_some(name)
}

fn run(cli: &Cli) -> Result<(), Failure> {
    let url_text = match &cli.command {
        Cmd::Ls { url }
        | Cmd::Get { url, .. }
        | Cmd::Put { url, .. }
        | Cmd::Mkdir { url }
        | Cmd::Rm { url }
        | Cmd::Rmdir { url }
        | Cmd::Mv { url, .. } => url,
    };
    let url = parse_url(url_text).map_err(|m| failure(2, m))?;
    let mut client = connect(cli, &url)?;
    let path = url.path.clone();
    match &cli.command {
        Cmd::Ls { .. } => {
            let listing = client
                .list((!path.is_empty()).then_some(&path[..]))
                .map_err(|e| command_failure("ls", &e))?;
            let mut out = std::io::stdout().lock();
            for entry in &listing.entries {
                let kind = match entry.kind {
                    EntryKind::Directory => 'd',
                    EntryKind::Symlink(_) => 'l',
                    EntryKind::File => '-',
                    _ => '?',
                };
                let size = entry
                    .size
                    .map_or_else(|| "-".to_string(), |s| s.to_string());
                let when = entry.modified.map_or_else(String::new, |t| {
                    let t = ftp_proto::timeval::UtcDateTime::from_system_time(t);
                    format!(
                        "{:04}-{:02}-{:02} {:02}:{:02}",
                        t.year, t.month, t.day, t.hour, t.minute
                    )
                });
                let _ = writeln!(
                    out,
                    "{kind} {size:>12} {when:16} {}",
                    String::from_utf8_lossy(&entry.name)
                );
            }
            for line in &listing.unparsed {
                let _ = writeln!(out, "? {}", String::from_utf8_lossy(line));
            }
        }
        Cmd::Get { output, resume, .. } => {
            let name = file_name(&path).ok_or_else(|| failure(2, "the URL names no file"))?;
            let target = output
                .clone()
                .unwrap_or_else(|| PathBuf::from(String::from_utf8_lossy(name).into_owned()));
            let total = client.size(&path).ok();
            if target == Path::new("-") {
                let bar = progress_bar(total);
                with_progress(&mut client, &bar, 0);
                let mut stdout = std::io::stdout().lock();
                client
                    .retrieve(&path, 0, &mut stdout)
                    .map_err(|e| command_failure("get", &e))?;
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                }
            } else {
                let offset = if *resume {
                    std::fs::metadata(&target).map_or(0, |m| m.len())
                } else {
                    0
                };
                if total.is_some_and(|t| offset >= t) && *resume {
                    // Nothing left to fetch.
                    return Ok(());
                }
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .write(true)
                    .append(*resume)
                    .truncate(!*resume)
                    .open(&target)
                    .map_err(|e| failure(7, format!("{}: {e}", target.display())))?;
                let bar = progress_bar(total);
                with_progress(&mut client, &bar, offset);
                client
                    .retrieve(&path, offset, &mut file)
                    .map_err(|e| command_failure("get", &e))?;
                file.sync_all()
                    .map_err(|e| failure(7, format!("{}: {e}", target.display())))?;
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                }
            }
        }
        Cmd::Put { file, append, .. } => {
            let mut remote = path.clone();
            if remote.is_empty() || remote.ends_with(b"/") {
                let name = file
                    .file_name()
                    .ok_or_else(|| failure(2, "no file name to upload as"))?;
                remote.extend_from_slice(name.to_string_lossy().as_bytes());
            }
            let mut source = std::fs::File::open(file)
                .map_err(|e| failure(7, format!("{}: {e}", file.display())))?;
            let total = source.metadata().ok().map(|m| m.len());
            let bar = progress_bar(total);
            with_progress(&mut client, &bar, 0);
            let mode = if *append {
                StoreMode::Append
            } else {
                StoreMode::Replace
            };
            client
                .store(&remote, mode, &mut source)
                .map_err(|e| command_failure("put", &e))?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
        }
        Cmd::Mkdir { .. } => {
            client
                .mkdir(&path)
                .map_err(|e| command_failure("mkdir", &e))?;
        }
        Cmd::Rm { .. } => client
            .delete(&path)
            .map_err(|e| command_failure("rm", &e))?,
        Cmd::Rmdir { .. } => client
            .rmdir(&path)
            .map_err(|e| command_failure("rmdir", &e))?,
        Cmd::Mv { new_name, .. } => {
            let mut to = decode(new_name);
            if !to.starts_with(b"/") && !to.contains(&b'/') {
                // A bare name renames within the same directory.
                if let Some(at) = path.iter().rposition(|&b| b == b'/') {
                    let mut full = path[..=at].to_vec();
                    full.extend_from_slice(&to);
                    to = full;
                }
            }
            client
                .rename(&path, &to)
                .map_err(|e| command_failure("mv", &e))?;
        }
    }
    let _ = client.quit();
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { code, message }) => {
            eprintln!("ftpc: {message}");
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_as_curl_writes_them() {
        let url = parse_url("ftp://alice:s%40cret@example.com:2121/pub/a%20b.txt").unwrap();
        assert_eq!(url.user.as_deref(), Some("alice"));
        assert_eq!(url.password.as_deref(), Some("s@cret"));
        assert_eq!(url.host, "example.com");
        assert_eq!(url.port, 2121);
        assert_eq!(url.path, b"pub/a b.txt");
        let url = parse_url("ftp://[::1]:2121/").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.path.as_slice()),
            ("::1", 2121, &b""[..])
        );
        let url = parse_url("ftp://host").unwrap();
        assert_eq!((url.port, url.user), (21, None));
        let url = parse_url("ftp://u@host//abs/path").unwrap();
        assert_eq!(url.path, b"/abs/path");
        assert_eq!(url.password, None);
        assert!(parse_url("http://host/").is_err());
        assert!(parse_url("ftp://host:port/").is_err());
        assert!(parse_url("ftp://[::1/").is_err());
        assert!(parse_url("ftp:///x").is_err());
    }

    #[test]
    fn ftps_urls_as_curl_and_lftp_write_them() {
        let url = parse_url("ftps://host/f").unwrap();
        assert_eq!((url.security, url.port), (Security::Implicit, 990));
        let url = parse_url("ftps://host:2990/f").unwrap();
        assert_eq!((url.security, url.port), (Security::Implicit, 2990));
        let url = parse_url("ftpes://host/f").unwrap();
        assert_eq!((url.security, url.port), (Security::Explicit, 21));
        let url = parse_url("FTP://host/f").unwrap();
        assert_eq!(url.security, Security::Plain);
        assert!(parse_url("sftp://host/").is_err());
    }

    #[test]
    fn netrc_entries() {
        let text = "machine a.example login alice password one\n\ndefault login anon password two\nmachine b.example\n  login bob\n  password three\n";
        assert_eq!(
            netrc_lookup(text, "a.example"),
            Some(("alice".into(), "one".into()))
        );
        assert_eq!(
            netrc_lookup(text, "b.example"),
            Some(("bob".into(), "three".into()))
        );
        assert_eq!(
            netrc_lookup(text, "c.example"),
            Some(("anon".into(), "two".into()))
        );
        assert_eq!(netrc_lookup("machine x login y password z", "other"), None);
    }

    #[test]
    fn names_from_paths() {
        assert_eq!(file_name(b"pub/a.txt"), Some(&b"a.txt"[..]));
        assert_eq!(file_name(b"a.txt"), Some(&b"a.txt"[..]));
        assert_eq!(file_name(b"pub/"), None);
        assert_eq!(file_name(b"pub/.."), None);
        assert_eq!(file_name(b"..\\x"), None);
    }
}
