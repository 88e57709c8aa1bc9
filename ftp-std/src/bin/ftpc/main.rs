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
//! Exit codes: see [`failure::code`] (and the README's table).

mod failure;
mod interrupt;
mod local;
mod mirror;
mod netrc;
mod remote;
mod url;

use clap::{Parser, Subcommand};
use failure::{Failure, code, command_failure, failure, tls_failure_code};
use ftp_proto::client::{ClientConfig, DataMode, Notice, StoreMode};
use ftp_proto::listing::parse::EntryKind;
use ftp_proto::tls::TlsSummary;
use ftp_std::client::{TlsOptions, TlsVersions};
use ftp_std::{Client, Error, Options};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use url::{Endpoint, Security, Url, decode, file_name, parse_url, rename_target};

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
    /// Seconds to wait for the server before giving up (at least 1): for
    /// a reply, a connection, or a data connection that moves nothing.
    #[arg(long, global = true, default_value_t = 30, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
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
    /// Try a get or put again up to N times when the connection fails or
    /// the server answers "try again later" (4yz); a download resumes
    /// where it stopped.
    #[arg(long, global = true, default_value_t = 0, value_name = "N")]
    retry: u32,
    /// At most RATE bytes per second for each transfer (suffixes K, M, G:
    /// 1024-based).
    #[arg(long, global = true, value_name = "RATE", value_parser = parse_rate)]
    limit_rate: Option<u64>,
}

/// `500K`, `2M`, `1G` or a number of bytes.
fn parse_rate(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, ""),
    };
    let factor: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("{text}: not a rate (e.g. 500K, 2M)")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text}: not a rate (e.g. 500K, 2M)"))?;
    match n.checked_mul(factor) {
        Some(0) | None => Err(format!("{text}: not a usable rate")),
        Some(rate) => Ok(rate),
    }
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// List a directory.
    Ls { url: String },
    /// Download files.
    ///
    /// Each is written beside its target under a temporary name and put in
    /// place only once complete: a failed download leaves an existing file
    /// as it was.
    ///
    /// Several URLs, and wildcards (`*`, `?`, `[...]`) in the last path
    /// component (`'ftp://host/logs/*.gz'`, matched on the directory's
    /// listing), fetch several files into the current directory or -o DIR.
    Get {
        #[arg(required = true, num_args = 1..)]
        urls: Vec<String>,
        /// Where to write it (`-` for standard output; a directory for
        /// several files). Default: the remote file's name, in the current
        /// directory.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Resume: keep what the local file holds and fetch the rest. A
        /// local file longer than the remote one is an error.
        #[arg(short = 'c', long = "continue")]
        resume: bool,
        /// Never replace an existing local file (an error instead).
        #[arg(short = 'n', long, conflicts_with = "resume")]
        no_clobber: bool,
    },
    /// Upload files.
    ///
    /// The files (`-`: standard input), then the URL. A URL ending in `/`
    /// names a directory (needed for several files).
    Put {
        /// The files, then the URL.
        #[arg(required = true, num_args = 2..)]
        files_then_url: Vec<String>,
        /// Add to the end of the remote file.
        #[arg(long)]
        append: bool,
        /// Create the remote directories the URL names first (mkdir -p).
        #[arg(long)]
        create_dirs: bool,
    },
    /// Create a directory.
    Mkdir {
        url: String,
        /// Create the parents too, and succeed if it exists.
        #[arg(short, long)]
        parents: bool,
    },
    /// Delete a file.
    Rm { url: String },
    /// Remove a directory.
    Rmdir { url: String },
    /// Copy a tree: `mirror URL DIR` down, `mirror -R DIR URL` up.
    ///
    /// Files are compared by size and modification time with
    /// --only-newer; the copies get the source's modification time (on the
    /// server with MFMT, where it has it).
    Mirror {
        /// Upload: DIR to URL.
        #[arg(short = 'R', long = "reverse")]
        reverse: bool,
        /// URL (or DIR with -R).
        from: String,
        /// DIR (or URL with -R).
        to: String,
        /// Sessions transferring at once.
        #[arg(short = 'P', long, default_value_t = 1, value_name = "N",
              value_parser = clap::value_parser!(u16).range(1..=64))]
        parallel: u16,
        /// Only files that are new, or differ in size, or are newer than
        /// the copy.
        #[arg(short = 'n', long)]
        only_newer: bool,
        /// Remove from the target what the source no longer has.
        #[arg(long)]
        delete: bool,
        /// Print what would be done, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Rename or move.
    ///
    /// NEW_NAME is relative to the directory that holds the source (`mv
    /// ftp://h/docs/a.pdf old/a.pdf` moves it to `docs/old/a.pdf`), or
    /// absolute when it starts with `/`.
    Mv { url: String, new_name: String },
}

/// The URL's user and password; what the URL leaves out comes from
/// `~/.netrc` (`$NETRC`): the password of the URL's user, or a login
/// for the host; anonymous without either.
fn credentials(url: &Url) -> (String, String) {
    if let (Some(user), Some(password)) = (&url.user, &url.password) {
        return (user.clone(), password.clone());
    }
    let netrc = std::env::var_os("NETRC")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".netrc")));
    if let Some(found) = netrc
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| netrc::lookup(&t, &url.host, url.user.as_deref()))
    {
        return found;
    }
    match &url.user {
        Some(user) => (user.clone(), String::new()),
        None => ("anonymous".into(), "ftpc@".into()),
    }
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
    let timeout = Duration::from_secs(cli.timeout);
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
    let mut client = connected.map_err(|e| {
        let code = tls_failure_code(&e).unwrap_or(code::CONNECT);
        failure(code, format!("cannot connect to {}: {e}", Endpoint(url)))
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
        Error::Io(_) => failure(code::CONNECT, format!("connection lost: {e}")),
        e if tls_failure_code(&e).is_some() => failure(
            tls_failure_code(&e).unwrap_or(code::TLS),
            format!("login as {user}: {e}"),
        ),
        e => failure(code::LOGIN, format!("login as {user} refused: {e}")),
    })?;
    Ok(client)
}

pub(crate) fn progress_bar(total: Option<u64>) -> Option<ProgressBar> {
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

/// A local source for `put`, checked before connecting: a directory or
/// a missing file must not leave an empty remote file behind.
enum Source {
    Stdin,
    File(PathBuf, u64),
}

fn check_source(file: &str) -> Result<Source, Failure> {
    if file == "-" {
        return Ok(Source::Stdin);
    }
    let path = PathBuf::from(file);
    let meta = std::fs::metadata(&path)
        .map_err(|e| failure(code::TRANSFER, format!("{}: {e}", path.display())))?;
    if meta.is_dir() {
        return Err(failure(
            code::USAGE,
            format!(
                "{}: is a directory; use mirror -R for a tree",
                path.display()
            ),
        ));
    }
    Ok(Source::File(path, meta.len()))
}

/// The sessions of one run: one at a time, reused while the URLs name the
/// same server and login.
struct Sessions<'a> {
    cli: &'a Cli,
    current: Option<(String, Client)>,
}

impl<'a> Sessions<'a> {
    fn new(cli: &'a Cli) -> Sessions<'a> {
        Sessions { cli, current: None }
    }

    fn key(url: &Url) -> String {
        format!(
            "{:?} {:?} {:?} {}",
            url.security,
            url.user,
            url.password,
            Endpoint(url)
        )
    }

    /// A logged-in session for `url`'s server.
    fn client(&mut self, url: &Url) -> Result<&mut Client, Failure> {
        let key = Sessions::key(url);
        if self.current.as_ref().is_none_or(|(k, _)| *k != key) {
            if let Some((_, old)) = self.current.take() {
                let _ = old.quit();
            }
            let mut tries = 0;
            let mut client = loop {
                match connect(self.cli, url) {
                    Ok(client) => break client,
                    Err(failed) if failed.code == code::CONNECT && tries < self.cli.retry => {
                        tries += 1;
                        let pause = retry_pause(tries);
                        eprintln!(
                            "ftpc: {}; trying again in {} s ({tries} of {})",
                            failed.message,
                            pause.as_secs(),
                            self.cli.retry
                        );
                        std::thread::sleep(pause);
                    }
                    Err(failed) => return Err(failed),
                }
            };
            if let Some(rate) = self.cli.limit_rate {
                client.set_progress(throttle(rate));
            }
            self.current = Some((key, client));
        }
        match &mut self.current {
            Some((_, client)) => Ok(client),
            None => Err(failure(code::OTHER, "no session")),
        }
    }

    /// Drops the session (after a failure that may have broken it).
    fn reset(&mut self) {
        self.current = None;
    }

    fn quit(mut self) {
        if let Some((_, client)) = self.current.take() {
            let _ = client.quit();
        }
    }
}

/// A progress callback that holds each transfer to `rate` bytes per
/// second: it sleeps whenever the bytes moved run ahead of the time.
fn throttle(rate: u64) -> impl FnMut(u64) -> ControlFlow<()> + Send + 'static {
    let mut start = std::time::Instant::now();
    let mut last = 0;
    move |moved| {
        if moved < last {
            // A new transfer.
            start = std::time::Instant::now();
        }
        last = moved;
        let due = Duration::from_secs_f64(moved as f64 / rate as f64);
        if let Some(ahead) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(ahead);
        }
        ControlFlow::Continue(())
    }
}

/// The pause before try `n` (from 1): 1, 2, 4, then 8 s.
fn retry_pause(n: u32) -> Duration {
    Duration::from_secs(1 << (n.saturating_sub(1)).min(3))
}

/// Runs `attempt` up to `--retry` more times while it fails transiently,
/// with a fresh session each time and a growing pause (1, 2, 4, 8 s).
fn with_retry<T>(
    sessions: &mut Sessions<'_>,
    url: &Url,
    what: &str,
    path: &[u8],
    mut attempt: impl FnMut(&mut Client) -> Result<T, Error>,
) -> Result<T, Failure> {
    let retries = sessions.cli.retry;
    let mut tries = 0;
    loop {
        let client = sessions.client(url)?;
        match attempt(client) {
            Ok(done) => return Ok(done),
            Err(error) if error.is_transient() && tries < retries => {
                tries += 1;
                let pause = retry_pause(tries);
                eprintln!(
                    "ftpc: {what}: {error}; trying again in {} s ({tries} of {retries})",
                    pause.as_secs(),
                );
                sessions.reset();
                std::thread::sleep(pause);
            }
            Err(error) => {
                let failed = command_failure(client, what, path, &error);
                if error.is_transient() {
                    sessions.reset();
                }
                return Err(failed);
            }
        }
    }
}

/// The files a get URL names: itself, or with a wildcard in its last
/// component, the matching files of its directory's listing.
fn expand(sessions: &mut Sessions<'_>, url: &Url) -> Result<Vec<Vec<u8>>, Failure> {
    let name = url.path.rsplit(|&b| b == b'/').next().unwrap_or_default();
    if !ftp_proto::listing::is_pattern(name) {
        return Ok(vec![url.path.clone()]);
    }
    let dir = &url.path[..url.path.len() - name.len()];
    let client = sessions.client(url)?;
    let listing = client
        .list((!dir.is_empty()).then_some(dir))
        .map_err(|e| command_failure(client, "get", dir, &e))?;
    let mut matching: Vec<Vec<u8>> = listing
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .filter(|e| ftp_proto::listing::glob_matches(name, &e.name))
        .map(|e| [dir, &e.name[..]].concat())
        .collect();
    matching.sort();
    if matching.is_empty() {
        return Err(failure(
            code::NOT_FOUND,
            format!(
                "get: no file matches {}",
                String::from_utf8_lossy(&url.path)
            ),
        ));
    }
    Ok(matching)
}

/// After a transfer, with --verbose: one line about it.
fn summary(cli: &Cli, verb: &str, name: &[u8], bytes: u64, took: Duration) {
    if cli.verbose {
        let rate = bytes as f64 / took.as_secs_f64().max(0.001);
        eprintln!(
            "ftpc: {verb} {}: {bytes} bytes in {:.1} s ({:.0} bytes/s)",
            String::from_utf8_lossy(name),
            took.as_secs_f64(),
            rate
        );
    }
}

/// Downloads `path` into `target` (`-`: standard output).
fn get_one(
    cli: &Cli,
    sessions: &mut Sessions<'_>,
    url: &Url,
    path: &[u8],
    target: &Path,
    (resume, no_clobber): (bool, bool),
) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    let total = sessions.client(url)?.size(path).ok();
    let bar = progress_bar(total);
    let bytes = if target == Path::new("-") {
        // Standard output cannot be rewound: no retry.
        let client = sessions.client(url)?;
        show_progress(client, &bar, 0, cli.limit_rate);
        let mut stdout = std::io::stdout().lock();
        client
            .retrieve(path, 0, &mut stdout)
            .map_err(|e| command_failure(client, "get", path, &e))?
    } else if resume {
        let Some(offset) = local::resume_offset(target, total)? else {
            return Ok(());
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(target)
            .map_err(|e| failure(code::TRANSFER, format!("{}: {e}", target.display())))?;
        let mut at = offset;
        let moved = with_retry(sessions, url, "get", path, |client| {
            show_progress(client, &bar, at, cli.limit_rate);
            let result = client.retrieve(path, at, &mut file);
            at = file.metadata().map_or(at, |m| m.len());
            result
        })?;
        file.sync_all()
            .map_err(|e| failure(code::TRANSFER, format!("{}: {e}", target.display())))?;
        moved
    } else {
        let mut download = local::Download::create(target, no_clobber)?;
        let moved = with_retry(sessions, url, "get", path, |client| {
            // A retry goes on where the last try stopped.
            let at = download.len();
            show_progress(client, &bar, at, cli.limit_rate);
            client.retrieve(path, at, download.sink())
        })?;
        download.finish()?;
        moved
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    summary(cli, "got", path, bytes, started.elapsed());
    Ok(())
}

fn show_progress(client: &mut Client, bar: &Option<ProgressBar>, start: u64, limit: Option<u64>) {
    if let Some(bar) = bar.clone() {
        let mut pace = limit.map(throttle);
        bar.set_position(start);
        client.set_progress(move |moved| {
            bar.set_position(start + moved);
            match &mut pace {
                Some(pace) => pace(moved),
                None => ControlFlow::Continue(()),
            }
        });
    }
}

fn cmd_get(
    cli: &Cli,
    urls: &[String],
    output: Option<&Path>,
    flags: (bool, bool),
) -> Result<(), Failure> {
    let urls: Vec<Url> = urls
        .iter()
        .map(|u| parse_url(u).map_err(|m| failure(code::USAGE, m)))
        .collect::<Result<_, _>>()?;
    let several = urls.len() > 1
        || urls.iter().any(|u| {
            let name = u.path.rsplit(|&b| b == b'/').next().unwrap_or_default();
            ftp_proto::listing::is_pattern(name)
        });
    let into_dir = match output {
        Some(dir) if several => {
            if !dir.is_dir() {
                return Err(failure(
                    code::USAGE,
                    format!("{}: not a directory (several files)", dir.display()),
                ));
            }
            Some(dir.to_path_buf())
        }
        Some(_) => None,
        None => Some(PathBuf::from(".")),
    };
    // Local checks before the server is asked anything.
    for url in &urls {
        if file_name(&url.path).is_none() {
            return Err(failure(code::USAGE, "the URL names no file"));
        }
    }
    let mut sessions = Sessions::new(cli);
    let mut first_failure = None;
    for url in &urls {
        let paths = match expand(&mut sessions, url) {
            Ok(paths) => paths,
            Err(failed) => {
                eprintln!("ftpc: {}", failed.message);
                first_failure.get_or_insert(failed);
                continue;
            }
        };
        for path in paths {
            let target = match (&into_dir, output) {
                (Some(dir), _) => {
                    let name = file_name(&path).unwrap_or(b"unnamed");
                    dir.join(String::from_utf8_lossy(name).into_owned())
                }
                (None, Some(file)) => file.to_path_buf(),
                (None, None) => PathBuf::from("."),
            };
            if let Err(failed) = get_one(cli, &mut sessions, url, &path, &target, flags) {
                eprintln!("ftpc: {}", failed.message);
                first_failure.get_or_insert(failed);
            }
        }
    }
    sessions.quit();
    match first_failure {
        // Already said.
        Some(failed) => Err(Failure {
            message: String::new(),
            ..failed
        }),
        None => Ok(()),
    }
}

fn cmd_put(
    cli: &Cli,
    files_then_url: &[String],
    append: bool,
    create_dirs: bool,
) -> Result<(), Failure> {
    let (url_text, files) = files_then_url
        .split_last()
        .ok_or_else(|| failure(code::USAGE, "put needs files and a URL"))?;
    let url = parse_url(url_text).map_err(|m| failure(code::USAGE, m))?;
    let to_dir = url.path.is_empty() || url.path.ends_with(b"/");
    if files.len() > 1 && !to_dir {
        return Err(failure(
            code::USAGE,
            "several files go to a directory URL (ending in /)",
        ));
    }
    let sources: Vec<Source> = files
        .iter()
        .map(|f| check_source(f))
        .collect::<Result<_, _>>()?;
    let mut remotes = Vec::new();
    for (file, source) in files.iter().zip(&sources) {
        let mut remote = url.path.clone();
        if to_dir {
            let name = match source {
                Source::File(path, _) => path.file_name().map(|n| n.to_string_lossy().into_owned()),
                Source::Stdin => None,
            }
            .ok_or_else(|| {
                failure(
                    code::USAGE,
                    format!("{file}: the URL names no file to upload to"),
                )
            })?;
            remote.extend_from_slice(name.as_bytes());
        }
        remotes.push(remote);
    }
    let mut sessions = Sessions::new(cli);
    if create_dirs {
        let dir_end = url
            .path
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(0, |at| at + 1);
        let dir = &url.path[..dir_end];
        if !dir.is_empty() {
            let client = sessions.client(&url)?;
            remote::make_dirs(client, dir).map_err(|e| command_failure(client, "put", dir, &e))?;
        }
    }
    let mode = if append {
        StoreMode::Append
    } else {
        StoreMode::Replace
    };
    for (source, remote) in sources.into_iter().zip(remotes) {
        let started = std::time::Instant::now();
        let bytes = match source {
            Source::Stdin => {
                // Standard input cannot be read twice: no retry.
                let client = sessions.client(&url)?;
                show_progress(client, &progress_bar(None), 0, cli.limit_rate);
                client
                    .store(&remote, mode, &mut std::io::stdin().lock())
                    .map_err(|e| command_failure(client, "put", &remote, &e))?
            }
            Source::File(path, len) => {
                let bar = progress_bar(Some(len));
                let moved = with_retry(&mut sessions, &url, "put", &remote, |client| {
                    let mut file = std::fs::File::open(&path)?;
                    show_progress(client, &bar, 0, cli.limit_rate);
                    client.store(&remote, mode, &mut file)
                })?;
                if let Some(bar) = bar {
                    bar.finish_and_clear();
                }
                moved
            }
        };
        summary(cli, "put", &remote, bytes, started.elapsed());
    }
    sessions.quit();
    Ok(())
}

fn run(cli: &Cli) -> Result<(), Failure> {
    let url_text = match &cli.command {
        Cmd::Get {
            urls,
            output,
            resume,
            no_clobber,
        } => return cmd_get(cli, urls, output.as_deref(), (*resume, *no_clobber)),
        Cmd::Put {
            files_then_url,
            append,
            create_dirs,
        } => return cmd_put(cli, files_then_url, *append, *create_dirs),
        Cmd::Ls { url }
        | Cmd::Mkdir { url, .. }
        | Cmd::Rm { url }
        | Cmd::Rmdir { url }
        | Cmd::Mv { url, .. } => url,
        Cmd::Mirror {
            reverse, from, to, ..
        } => {
            if *reverse {
                to
            } else {
                from
            }
        }
    };
    let url = parse_url(url_text).map_err(|m| failure(code::USAGE, m))?;
    let path = url.path.clone();
    let mut client = connect(cli, &url)?;
    match &cli.command {
        Cmd::Get { .. } | Cmd::Put { .. } => {}
        Cmd::Mirror {
            reverse,
            from,
            to,
            parallel,
            only_newer,
            delete,
            dry_run,
        } => {
            let options = mirror::MirrorOptions {
                direction: if *reverse {
                    mirror::Direction::Upload
                } else {
                    mirror::Direction::Download
                },
                only_newer: *only_newer,
                delete: *delete,
                dry_run: *dry_run,
                parallel: usize::from(*parallel),
            };
            let local = PathBuf::from(if *reverse { from } else { to });
            let session = || {
                let mut client = connect(cli, &url)?;
                if let Some(rate) = cli.limit_rate {
                    client.set_progress(throttle(rate));
                }
                Ok(client)
            };
            mirror::mirror(&mut client, &session, &path, &local, &options)?;
        }
        Cmd::Ls { .. } => {
            let listing = client
                .list((!path.is_empty()).then_some(&path[..]))
                .map_err(|e| command_failure(&mut client, "ls", &path, &e))?;
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
        Cmd::Mkdir { parents: true, .. } => remote::make_dirs(&mut client, &path)
            .map_err(|e| command_failure(&mut client, "mkdir", &path, &e))?,
        Cmd::Mkdir { .. } => {
            client
                .mkdir(&path)
                .map_err(|e| command_failure(&mut client, "mkdir", &path, &e))?;
        }
        Cmd::Rm { .. } => client
            .delete(&path)
            .map_err(|e| command_failure(&mut client, "rm", &path, &e))?,
        Cmd::Rmdir { .. } => client
            .rmdir(&path)
            .map_err(|e| command_failure(&mut client, "rmdir", &path, &e))?,
        Cmd::Mv { new_name, .. } => {
            let to = rename_target(&path, &decode(new_name));
            client
                .rename(&path, &to)
                .map_err(|e| command_failure(&mut client, "mv", &path, &e))?;
        }
    }
    let _ = client.quit();
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    interrupt::clean_up_on_signals();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { code, message }) => {
            if !message.is_empty() {
                eprintln!("ftpc: {message}");
            }
            ExitCode::from(code)
        }
    }
}
