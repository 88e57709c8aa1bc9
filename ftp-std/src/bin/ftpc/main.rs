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
mod local;
mod mirror;
mod netrc;
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
    /// Seconds to wait for the server before giving up (at least 1).
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
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// List a directory.
    Ls { url: String },
    /// Download a file. It is written beside its target under a temporary
    /// name and put in place only once complete: a failed download leaves
    /// an existing file as it was.
    Get {
        url: String,
        /// Where to write it (`-` for standard output). Default: the remote
        /// file's name, in the current directory.
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
    /// Upload a file (`-`: standard input). A URL ending in `/` names a
    /// directory.
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
    /// Copy a remote tree into a local directory, or with -R a local
    /// directory onto the server (`mirror -R DIR URL`). Files are
    /// compared by size and modification time with --only-newer; the
    /// copies get the source's modification time (on the server with
    /// MFMT, where it has it).
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
    /// Rename or move. NEW_NAME is relative to the directory that holds
    /// the source (`mv ftp://h/docs/a.pdf old/a.pdf` moves it to
    /// `docs/old/a.pdf`), or absolute when it starts with `/`.
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

fn with_progress(client: &mut Client, bar: &Option<ProgressBar>, start: u64) {
    if let Some(bar) = bar.clone() {
        bar.set_position(start);
        client.set_progress(move |moved| {
            bar.set_position(start + moved);
            ControlFlow::Continue(())
        });
    }
}

/// A local source for `put`, checked before connecting: a directory or
/// a missing file must not leave an empty remote file behind.
enum Source {
    Stdin,
    File(std::fs::File, Option<u64>),
}

fn open_source(file: &Path) -> Result<Source, Failure> {
    if file == Path::new("-") {
        return Ok(Source::Stdin);
    }
    let local = |e: std::io::Error| failure(code::TRANSFER, format!("{}: {e}", file.display()));
    let meta = std::fs::metadata(file).map_err(local)?;
    if meta.is_dir() {
        return Err(failure(
            code::USAGE,
            format!("{}: is a directory; put uploads one file", file.display()),
        ));
    }
    let opened = std::fs::File::open(file).map_err(local)?;
    Ok(Source::File(opened, Some(meta.len())))
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
    // Local checks before the server is asked anything.
    let source = match &cli.command {
        Cmd::Put { file, .. } => Some(open_source(file)?),
        _ => None,
    };
    let mut remote_for_put = path.clone();
    if let Cmd::Put { file, .. } = &cli.command
        && (remote_for_put.is_empty() || remote_for_put.ends_with(b"/"))
    {
        let name = file
            .file_name()
            .filter(|_| file != Path::new("-"))
            .ok_or_else(|| failure(code::USAGE, "the URL names no file to upload to"))?;
        remote_for_put.extend_from_slice(name.to_string_lossy().as_bytes());
    }
    let get_target = match &cli.command {
        Cmd::Get { output, .. } => {
            let name =
                file_name(&path).ok_or_else(|| failure(code::USAGE, "the URL names no file"))?;
            Some(
                output
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(String::from_utf8_lossy(name).into_owned())),
            )
        }
        _ => None,
    };
    if let (
        Cmd::Get {
            no_clobber: true, ..
        },
        Some(target),
    ) = (&cli.command, &get_target)
        && target != Path::new("-")
        && target.exists()
    {
        return Err(failure(
            code::TRANSFER,
            format!("{}: exists; not replaced (--no-clobber)", target.display()),
        ));
    }

    let mut client = connect(cli, &url)?;
    match &cli.command {
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
            let session = || connect(cli, &url);
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
        Cmd::Get {
            resume, no_clobber, ..
        } => {
            let target = get_target.unwrap_or_default();
            let total = client.size(&path).ok();
            let bar = progress_bar(total);
            if target == Path::new("-") {
                with_progress(&mut client, &bar, 0);
                let mut stdout = std::io::stdout().lock();
                client
                    .retrieve(&path, 0, &mut stdout)
                    .map_err(|e| command_failure(&mut client, "get", &path, &e))?;
            } else if *resume {
                let Some(offset) = local::resume_offset(&target, total)? else {
                    // Complete already: nothing to fetch.
                    let _ = client.quit();
                    return Ok(());
                };
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&target)
                    .map_err(|e| failure(code::TRANSFER, format!("{}: {e}", target.display())))?;
                with_progress(&mut client, &bar, offset);
                client
                    .retrieve(&path, offset, &mut file)
                    .map_err(|e| command_failure(&mut client, "get", &path, &e))?;
                file.sync_all()
                    .map_err(|e| failure(code::TRANSFER, format!("{}: {e}", target.display())))?;
            } else {
                let mut download = local::Download::create(&target, *no_clobber)?;
                with_progress(&mut client, &bar, 0);
                client
                    .retrieve(&path, 0, download.sink())
                    .map_err(|e| command_failure(&mut client, "get", &path, &e))?;
                download.finish()?;
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
        }
        Cmd::Put { append, .. } => {
            let mode = if *append {
                StoreMode::Append
            } else {
                StoreMode::Replace
            };
            let (total, mut reader): (Option<u64>, Box<dyn std::io::Read>) = match source {
                Some(Source::File(file, len)) => (len, Box::new(file)),
                Some(Source::Stdin) | None => (None, Box::new(std::io::stdin().lock())),
            };
            let bar = progress_bar(total);
            with_progress(&mut client, &bar, 0);
            let remote = remote_for_put;
            client
                .store(&remote, mode, &mut reader)
                .map_err(|e| command_failure(&mut client, "put", &remote, &e))?;
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
        }
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
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { code, message }) => {
            eprintln!("ftpc: {message}");
            ExitCode::from(code)
        }
    }
}
