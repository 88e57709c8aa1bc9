//! `ftpd`: serve a directory over FTP.
//!
//! With no arguments it serves the current directory, read-only, to
//! anonymous users on 127.0.0.1:2121. See `ftpd --help`.

use clap::Parser;
use ftp_accounts::{Account, Accounts, Secret, hash_password};
use ftp_driver::server::TransferLog;
use ftp_proto::server::{Permissions, ServerConfig};
use ftp_smol::server::{Settings, SharedSettings, Shutdown, serve, serve_implicit_tls};
use serde::Deserialize;
use smol::Executor;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Serve a directory over FTP.
///
/// Flags override the settings of a --config file.
#[derive(Debug, Clone, Parser)]
#[command(name = "ftpd", version)]
struct Cli {
    // Help given as a string: rustdoc would read "[::1]" as a link.
    #[arg(
        long,
        value_name = "ADDR:PORT",
        help = "Address to listen on, IPv4 or IPv6 ([::1]:2121); repeatable. [default: 127.0.0.1:2121]"
    )]
    listen: Vec<SocketAddr>,
    /// Directory to serve. [default: the current directory]
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// A user with read-write access (unless --read-only); repeatable.
    #[arg(long, value_name = "NAME:PASSWORD")]
    user: Vec<String>,
    /// Let `anonymous` and `ftp` log in, read-only. The default when no user
    /// is configured.
    #[arg(long, conflicts_with = "no_anonymous")]
    anonymous: bool,
    /// Refuse anonymous logins.
    #[arg(long)]
    no_anonymous: bool,
    /// Nobody may change files.
    #[arg(long)]
    read_only: bool,
    /// Ports for passive data connections. [default: 49152-65534]
    #[arg(long, value_name = "FROM-TO")]
    passive_ports: Option<String>,
    /// IPv4 address announced in 227 replies, for a server behind NAT.
    #[arg(long, value_name = "IP")]
    passive_address: Option<std::net::Ipv4Addr>,
    /// Sessions served at once. [default: 1000]
    #[arg(long, value_name = "N")]
    max_sessions: Option<usize>,
    /// Sessions served at once from one client address. [default: 50]
    #[arg(long, value_name = "N")]
    max_sessions_per_ip: Option<usize>,
    /// Close control connections idle this long; a running transfer is
    /// not idle time. [default: 300]
    #[arg(long, value_name = "SECS")]
    idle_timeout: Option<u64>,
    /// End a transfer whose data connection moves nothing this long (426).
    /// [default: 300]
    #[arg(long, value_name = "SECS")]
    stall_timeout: Option<u64>,
    /// Report uploads done before they reach the disk (faster, less safe).
    #[arg(long)]
    no_fsync: bool,
    /// PEM certificate chain for FTPS (with --tls-key): AUTH TLS is offered
    /// and, unless --tls-optional, required for non-anonymous logins and
    /// for their data connections.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Allow plain logins and plain data connections too.
    #[arg(long)]
    tls_optional: bool,
    /// Accept protected data connections that do not resume the control
    /// connection's TLS session (for clients that never reuse sessions).
    #[arg(long)]
    no_tls_session_reuse: bool,
    // Help given as a string: rustdoc would read "[::1]" as a link.
    #[arg(
        long,
        value_name = "ADDR:PORT",
        help = "Address for implicit FTPS (TLS from the first byte, port 990 by custom); repeatable. Needs --tls-cert."
    )]
    listen_implicit: Vec<SocketAddr>,
    /// TOML file with the same settings, and users with argon2 password
    /// hashes.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print an argon2 hash of the password read from standard input, for a
    /// config file, and exit.
    #[arg(long)]
    hash_password: bool,
    /// Append each transfer to FILE in the xferlog format (wu-ftpd's, as
    /// vsftpd and ProFTPD write it), for log analysers.
    #[arg(long, value_name = "FILE")]
    xferlog: Option<PathBuf>,
    /// Write the log to FILE as well as to standard error.
    #[arg(long, value_name = "FILE")]
    log_file: Option<PathBuf>,
    /// Log lines as `text` (the default) or `json` (one object per line).
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
    /// Permission bits taken away from created files and directories,
    /// in octal (027: nothing for others). [default: the umask ftpd was
    /// started with]
    #[arg(long, value_name = "OCTAL")]
    umask: Option<String>,
    /// Close connections that have not logged in after SECS. [default: 60]
    #[arg(long, value_name = "SECS")]
    login_timeout: Option<u64>,
    /// Failed logins before the connection is closed. [default: 3]
    #[arg(long, value_name = "N")]
    max_login_failures: Option<u32>,
    /// Seconds before answering a failed login; doubled for each further
    /// failure, up to --max-login-delay. [default: 1]
    #[arg(long, value_name = "SECS")]
    login_delay: Option<u64>,
    /// The most a failed login's answer is delayed. [default: 5]
    #[arg(long, value_name = "SECS")]
    max_login_delay: Option<u64>,
    /// Refuse HASH (file digests for clients to verify transfers): each
    /// one reads a whole file. [default: served, at most one per core at
    /// once]
    #[arg(long)]
    no_hash: bool,
    /// Started as root (to listen on port 21 or 990): switch to USER and
    /// its groups once listening, before any session starts.
    #[arg(long, value_name = "USER")]
    run_as: Option<String>,
    /// More logging: -v for every command, -vv for every reply.
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// What applies to the whole process: where the log goes and how, and
/// the umask.
#[derive(Debug, Clone)]
struct ProcessSettings {
    /// Bits taken from the modes of created files (the process's umask).
    umask: Option<u32>,
    file: Option<PathBuf>,
    format: LogFormat,
}

/// The `--config` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    listen: Option<Vec<SocketAddr>>,
    root: Option<PathBuf>,
    anonymous: Option<bool>,
    read_only: Option<bool>,
    passive_ports: Option<String>,
    passive_address: Option<std::net::Ipv4Addr>,
    max_sessions: Option<usize>,
    max_sessions_per_ip: Option<usize>,
    idle_timeout: Option<u64>,
    stall_timeout: Option<u64>,
    fsync: Option<bool>,
    banner: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_optional: Option<bool>,
    tls_session_reuse: Option<bool>,
    listen_implicit: Option<Vec<SocketAddr>>,
    xferlog: Option<PathBuf>,
    log_file: Option<PathBuf>,
    log_format: Option<LogFormat>,
    login_timeout: Option<u64>,
    max_login_failures: Option<u32>,
    login_delay: Option<u64>,
    max_login_delay: Option<u64>,
    umask: Option<String>,
    hash: Option<bool>,
    #[serde(default)]
    users: Vec<ConfigUser>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigUser {
    name: String,
    /// An argon2 hash in PHC form, as `ftpd --hash-password` prints it.
    password_hash: String,
    #[serde(default)]
    read_only: bool,
    root: Option<PathBuf>,
}

fn parse_port_range(text: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let (from, to) = text
        .split_once('-')
        .ok_or_else(|| format!("passive ports {text:?}: expected FROM-TO"))?;
    let from: u16 = from
        .trim()
        .parse()
        .map_err(|_| format!("passive ports {text:?}: bad FROM"))?;
    let to: u16 = to
        .trim()
        .parse()
        .map_err(|_| format!("passive ports {text:?}: bad TO"))?;
    if from == 0 || from > to {
        return Err(format!("passive ports {text:?}: need 0 < FROM <= TO"));
    }
    Ok(from..=to)
}

/// Where the server listens: plain (explicit FTPS with AUTH TLS) and
/// implicit FTPS.
#[derive(Debug)]
struct Listen {
    plain: Vec<SocketAddr>,
    implicit: Vec<SocketAddr>,
}

/// `--umask`: octal, at most 777.
fn parse_umask(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|&m| m <= 0o777)
        .ok_or_else(|| format!("umask {text:?}: expected octal digits up to 777, such as 022"))
}

fn settings(cli: &Cli) -> Result<(Settings, Listen, bool, ProcessSettings), String> {
    let file: ConfigFile = match &cli.config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => ConfigFile::default(),
    };
    let read_only = cli.read_only || file.read_only.unwrap_or(false);
    let permissions = |user_read_only: bool| {
        if read_only || user_read_only {
            Permissions::ReadOnly
        } else {
            Permissions::ReadWrite
        }
    };
    let mut accounts = Accounts::new();
    let mut names = std::collections::HashSet::new();
    for user in &file.users {
        if !names.insert(user.name.clone()) {
            return Err(format!("users: {:?} is defined twice", user.name));
        }
        ftp_accounts::check_hash(&user.password_hash)
            .map_err(|why| format!("users: {:?}: password_hash: {why}", user.name))?;
        if let Some(root) = &user.root {
            check_root(root).map_err(|why| format!("users: {:?}: root {why}", user.name))?;
        }
        accounts.insert(
            &user.name,
            Account {
                secret: Secret::Argon2(user.password_hash.clone()),
                permissions: permissions(user.read_only),
                root: user.root.clone(),
            },
        );
    }
    for user in &cli.user {
        let (name, password) = user
            .split_once(':')
            .ok_or_else(|| format!("--user {user:?}: expected NAME:PASSWORD"))?;
        if name.is_empty() {
            return Err(format!("--user {user:?}: empty name"));
        }
        if password.is_empty() {
            return Err(format!(
                "--user {user:?}: empty password (a read-write account anyone could use)"
            ));
        }
        if !names.insert(name.to_string()) {
            return Err(format!("--user {name:?} is given twice"));
        }
        accounts.insert(
            name,
            Account {
                secret: Secret::Plain(password.into()),
                permissions: permissions(false),
                root: None,
            },
        );
    }
    let anonymous = if cli.no_anonymous {
        false
    } else if cli.anonymous {
        true
    } else {
        file.anonymous.unwrap_or(accounts.is_empty())
    };
    if !anonymous && accounts.is_empty() {
        return Err(
            "anonymous logins are off and no user is configured: nobody could log in".into(),
        );
    }
    let mut engine = ServerConfig {
        allow_anonymous: anonymous,
        notices: true,
        ..ServerConfig::default()
    };
    if let Some(ports) = cli.passive_ports.as_ref().or(file.passive_ports.as_ref()) {
        engine.passive_ports = parse_port_range(ports)?;
    }
    engine.passive_address = cli.passive_address.or(file.passive_address);
    if let Some(secs) = cli.idle_timeout.or(file.idle_timeout) {
        engine.idle_timeout = Duration::from_secs(secs.max(1));
    }
    if let Some(secs) = cli.stall_timeout.or(file.stall_timeout) {
        if secs == 0 {
            return Err("stall_timeout = 0: every transfer would fail".into());
        }
        engine.data_stall_timeout = Duration::from_secs(secs);
    }
    if let Some(banner) = file.banner {
        engine.banner = banner;
    }
    engine.hash = !cli.no_hash && file.hash.unwrap_or(true);
    if let Some(secs) = cli.login_timeout.or(file.login_timeout) {
        if secs == 0 {
            return Err("login_timeout = 0: nobody could log in".into());
        }
        engine.login_timeout = Duration::from_secs(secs);
    }
    if let Some(failures) = cli.max_login_failures.or(file.max_login_failures) {
        if failures == 0 {
            return Err("max_login_failures = 0: nobody could log in".into());
        }
        engine.max_login_failures = failures;
    }
    if let Some(secs) = cli.login_delay.or(file.login_delay) {
        engine.login_delay = Duration::from_secs(secs);
    }
    if let Some(secs) = cli.max_login_delay.or(file.max_login_delay) {
        engine.max_login_delay = Duration::from_secs(secs);
    }
    if engine.max_login_delay < engine.login_delay {
        return Err(format!(
            "max_login_delay = {} is below login_delay = {}",
            engine.max_login_delay.as_secs(),
            engine.login_delay.as_secs()
        ));
    }
    let tls_files = match (
        cli.tls_cert.clone().or(file.tls_cert),
        cli.tls_key.clone().or(file.tls_key),
    ) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        (Some(_), None) => return Err("tls_cert is set without tls_key".into()),
        (None, Some(_)) => return Err("tls_key is set without tls_cert".into()),
    };
    if let Some((cert, key)) = &tls_files {
        engine.tls = Some(ftp_driver::server::load_tls(cert, key)?);
    }
    let tls_optional = cli.tls_optional || file.tls_optional.unwrap_or(false);
    engine.tls_required_for_login = !tls_optional;
    engine.tls_required_for_data = !tls_optional;
    engine.tls_session_reuse_required =
        !cli.no_tls_session_reuse && file.tls_session_reuse.unwrap_or(true);
    let implicit = if !cli.listen_implicit.is_empty() {
        cli.listen_implicit.clone()
    } else {
        file.listen_implicit.unwrap_or_default()
    };
    if !implicit.is_empty() && engine.tls.is_none() {
        return Err("listen_implicit needs a certificate: set tls_cert and tls_key".into());
    }
    let root = match cli.root.clone().or(file.root) {
        Some(root) => root,
        None => std::env::current_dir().map_err(|e| format!("current directory: {e}"))?,
    };
    check_root(&root).map_err(|why| format!("root {why}"))?;
    let listen = if !cli.listen.is_empty() {
        cli.listen.clone()
    } else {
        file.listen
            .unwrap_or_else(|| vec![SocketAddr::from(([127, 0, 0, 1], 2121))])
    };
    if listen.is_empty() && implicit.is_empty() {
        return Err("listen = []: no address to listen on".into());
    }
    for (name, value) in [
        ("max_sessions", cli.max_sessions.or(file.max_sessions)),
        (
            "max_sessions_per_ip",
            cli.max_sessions_per_ip.or(file.max_sessions_per_ip),
        ),
    ] {
        if value == Some(0) {
            return Err(format!("{name} = 0: no session could ever be served"));
        }
    }
    let transfer_log = match cli.xferlog.clone().or(file.xferlog) {
        Some(path) => {
            Some(TransferLog::open(&path).map_err(|e| format!("xferlog {}: {e}", path.display()))?)
        }
        None => None,
    };
    let umask = match cli.umask.clone().or(file.umask) {
        Some(text) => Some(parse_umask(&text)?),
        None => None,
    };
    let process = ProcessSettings {
        umask,
        file: cli.log_file.clone().or(file.log_file),
        format: cli
            .log_format
            .or(file.log_format)
            .unwrap_or(LogFormat::Text),
    };
    let settings = Settings {
        engine: Arc::new(engine),
        root,
        accounts,
        fsync: !cli.no_fsync && file.fsync.unwrap_or(true),
        max_sessions: cli.max_sessions.or(file.max_sessions).unwrap_or(1000),
        max_sessions_per_address: cli
            .max_sessions_per_ip
            .or(file.max_sessions_per_ip)
            .unwrap_or(50),
        transfer_log,
    };
    let listen = Listen {
        plain: listen,
        implicit,
    };
    Ok((settings, listen, read_only, process))
}

/// The log: stderr, and a file when asked; text or JSON lines. Logins,
/// transfers and changes to the tree at info level by default (they come
/// from `ftp_driver`), sessions and signals too.
fn init_logging(cli: &Cli, logging: &ProcessSettings) -> Result<(), String> {
    use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
    let level = match cli.verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "ftp_smol={level},ftp_driver={level},ftpd={level}"
        ))
    });
    let writer = match &logging.file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("log_file {}: {e}", path.display()))?;
            BoxMakeWriter::new(std::io::stderr.and(std::sync::Mutex::new(file)))
        }
        None => BoxMakeWriter::new(std::io::stderr),
    };
    let ansi = logging.file.is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi);
    match logging.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

/// Who may log in and what they may do, as the startup line says it.
fn access_policy(settings: &Settings, read_only: bool) -> String {
    let mut who = Vec::new();
    if !settings.accounts.is_empty() {
        let users = settings.accounts.len();
        let plural = if users == 1 { "" } else { "s" };
        let mode = if read_only { "read-only" } else { "read-write" };
        who.push(format!("{users} configured user{plural} ({mode})"));
    }
    if settings.engine.allow_anonymous {
        who.push("anonymous users (read-only)".to_string());
    }
    who.join(" and ")
}

/// Switches the whole process (every thread) to `name`'s user and groups,
/// for good: after binding the listeners, before any session.
fn drop_privileges(name: &str) -> Result<(), String> {
    use nix::unistd::{Uid, User, getgrouplist, setgid, setgroups, setuid};
    let user = User::from_name(name)
        .map_err(|e| format!("--run-as {name:?}: {e}"))?
        .ok_or_else(|| format!("--run-as {name:?}: no such user"))?;
    if !Uid::effective().is_root() {
        return Err(format!(
            "--run-as {name:?}: only a server started as root can switch users"
        ));
    }
    let c_name = std::ffi::CString::new(name).map_err(|e| format!("--run-as {name:?}: {e}"))?;
    let groups =
        getgrouplist(&c_name, user.gid).map_err(|e| format!("--run-as {name:?}: groups: {e}"))?;
    setgroups(&groups).map_err(|e| format!("--run-as {name:?}: setgroups: {e}"))?;
    setgid(user.gid).map_err(|e| format!("--run-as {name:?}: setgid: {e}"))?;
    setuid(user.uid).map_err(|e| format!("--run-as {name:?}: setuid: {e}"))?;
    if user.uid.is_root() || setuid(Uid::from_raw(0)).is_err() {
        Ok(())
    } else {
        Err(format!("--run-as {name:?}: root could be regained"))
    }
}

/// A served root must be a directory the server can read: said at start,
/// with its path, not at the first login.
fn check_root(root: &std::path::Path) -> Result<(), String> {
    let shown = root.display();
    match std::fs::metadata(root) {
        Err(error) => Err(format!("{shown}: {error}")),
        Ok(metadata) if !metadata.is_dir() => Err(format!("{shown}: not a directory")),
        Ok(_) => std::fs::read_dir(root)
            .map(|_| ())
            .map_err(|error| format!("{shown}: {error}")),
    }
}

fn url_host(address: &SocketAddr) -> String {
    match address.ip() {
        IpAddr::V6(v6) => format!("[{v6}]:{}", address.port()),
        IpAddr::V4(v4) => format!("{v4}:{}", address.port()),
    }
}

/// SIGINT (Ctrl-C) and SIGTERM (systemd, docker, Kubernetes): stop as
/// Ctrl-C always did: no new sessions, transfers aborted, every client
/// told 421, uploads in progress discarded. SIGHUP: read the configuration
/// file and the certificate again, for sessions that start from now on;
/// running ones keep what they have. What was reloaded, or why the old
/// settings stay, goes to the log.
fn handle_signals(cli: &Cli, shutdown: &Shutdown, shared: &SharedSettings) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let (cli, shutdown, shared) = (cli.clone(), shutdown.clone(), shared.clone());
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal != SIGHUP {
                tracing::info!(signal, "stopping");
                shutdown.trigger();
                continue;
            }
            match settings(&cli).and_then(|(new, _, _, _)| {
                let (users, tls) = (new.accounts.len(), new.engine.tls.is_some());
                shared
                    .replace(Arc::new(new))
                    .map(|()| (users, tls))
                    .map_err(|e| e.to_string())
            }) {
                Ok((users, tls)) => tracing::info!(
                    users,
                    tls_certificate = tls,
                    "reloaded the configuration: users and passwords, TLS certificate; \
                     sessions already running keep the old ones"
                ),
                Err(error) => tracing::warn!(
                    %error,
                    "reload failed: keeping the old settings"
                ),
            }
        }
    });
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.hash_password {
        let mut password = String::new();
        if std::io::stdin().read_line(&mut password).is_err() {
            eprintln!("ftpd: cannot read the password from standard input");
            return ExitCode::FAILURE;
        }
        println!("{}", hash_password(password.trim_end_matches(['\r', '\n'])));
        return ExitCode::SUCCESS;
    }
    let (settings, listen, read_only, process) = match settings(&cli) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("ftpd: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(message) = init_logging(&cli, &process) {
        eprintln!("ftpd: {message}");
        return ExitCode::from(2);
    }
    if let Some(umask) = process.umask {
        // The process's umask: every file and directory sessions create.
        let bits = nix::sys::stat::Mode::from_bits_truncate(umask as nix::libc::mode_t);
        nix::sys::stat::umask(bits);
    }
    let mut listeners = Vec::new();
    let plain = listen.plain.iter().map(|a| (a, false));
    for (address, implicit_tls) in plain.chain(listen.implicit.iter().map(|a| (a, true))) {
        match ftp_driver::net::listen_control(*address) {
            Ok(listener) => listeners.push((listener, implicit_tls)),
            Err(error) => {
                eprintln!("ftpd: cannot listen on {address}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    match &cli.run_as {
        Some(user) => {
            if let Err(message) = drop_privileges(user) {
                eprintln!("ftpd: {message}");
                return ExitCode::from(2);
            }
            tracing::info!(user = %user, "running as this user from now on");
        }
        None if nix::unistd::Uid::effective().is_root() => tracing::warn!(
            "running as root: sessions read and write files as root; \
             --run-as USER switches to USER once listening"
        ),
        None => {}
    }
    eprintln!(
        "ftpd: serving {} to {}",
        settings.root.display(),
        access_policy(&settings, read_only)
    );
    let tls = settings.engine.tls.is_some();
    if tls {
        let policy = if settings.engine.tls_required_for_login {
            "required for user logins and their data"
        } else {
            "optional"
        };
        eprintln!("ftpd: FTPS offered, {policy}");
    }
    for (listener, implicit_tls) in &listeners {
        let Ok(address) = listener.local_addr() else {
            continue;
        };
        let login = if settings.engine.allow_anonymous {
            ""
        } else {
            "USER:PASSWORD@"
        };
        let (scheme, curl_flag) = match (implicit_tls, tls) {
            (true, _) => ("ftps", ""),
            (false, true) => ("ftp", "--ssl-reqd "),
            (false, false) => ("ftp", ""),
        };
        eprintln!(
            "ftpd: listening on {address}{}; connect with  curl {curl_flag}{scheme}://{login}{}/",
            if *implicit_tls {
                " (implicit FTPS)"
            } else {
                ""
            },
            url_host(&address),
        );
    }

    let shutdown = Shutdown::new();
    let settings = SharedSettings::from(settings);
    if let Err(error) = handle_signals(&cli, &shutdown, &settings) {
        eprintln!("ftpd: cannot handle signals: {error}");
        return ExitCode::FAILURE;
    }
    let executor = Arc::new(Executor::new());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let stop_workers = Shutdown::new();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let executor = executor.clone();
            let stop = stop_workers.clone();
            std::thread::spawn(move || smol::block_on(executor.run(stop.wait())))
        })
        .collect();
    let servers: Vec<_> = listeners
        .into_iter()
        .map(|(listener, implicit_tls)| {
            let (executor_, settings, shutdown) =
                (executor.clone(), settings.clone(), shutdown.clone());
            executor.spawn(async move {
                if implicit_tls {
                    serve_implicit_tls(executor_, listener, settings, shutdown).await
                } else {
                    serve(executor_, listener, settings, shutdown).await
                }
            })
        })
        .collect();
    let mut failed = false;
    for server in servers {
        if let Err(error) = smol::block_on(server) {
            eprintln!("ftpd: {error}");
            failed = true;
        }
    }
    stop_workers.trigger();
    for worker in workers {
        let _ = worker.join();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges() {
        assert_eq!(parse_port_range("50000-50100"), Ok(50000..=50100));
        assert!(parse_port_range("50100-50000").is_err());
        assert!(parse_port_range("0-10").is_err());
        assert!(parse_port_range("5000").is_err());
    }

    #[test]
    fn defaults_serve_the_current_directory_read_only_to_anonymous() {
        let cli = Cli::parse_from(["ftpd"]);
        let (settings, listen, read_only, _) = settings(&cli).unwrap();
        assert_eq!(listen.plain, [SocketAddr::from(([127, 0, 0, 1], 2121))]);
        assert!(settings.engine.allow_anonymous);
        assert!(settings.accounts.is_empty());
        assert!(!read_only);
        assert_eq!(settings.root, std::env::current_dir().unwrap());
    }

    #[test]
    fn users_turn_anonymous_off_unless_asked() {
        let cli = Cli::parse_from(["ftpd", "--user", "alice:pw"]);
        assert!(!settings(&cli).unwrap().0.engine.allow_anonymous);
        let cli = Cli::parse_from(["ftpd", "--user", "alice:pw", "--anonymous"]);
        assert!(settings(&cli).unwrap().0.engine.allow_anonymous);
        let cli = Cli::parse_from(["ftpd", "--user", "alice:pw", "--no-anonymous"]);
        assert!(!settings(&cli).unwrap().0.engine.allow_anonymous);
        let cli = Cli::parse_from(["ftpd", "--user", "nopassword"]);
        assert!(settings(&cli).is_err());
    }

    /// Each setting that could only fail later, or never, is an error
    /// naming the setting and the value before anything listens.
    #[test]
    fn configuration_errors_are_found_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"").unwrap();
        let missing = dir.path().join("missing");
        let (file, missing) = (file.to_str().unwrap(), missing.to_str().unwrap());
        let cases: [(&[&str], &str); 7] = [
            (&["--user", "alice:"], "--user \"alice:\": empty password"),
            (
                &["--user", "alice:a", "--user", "alice:b"],
                "--user \"alice\" is given twice",
            ),
            (&["--no-anonymous"], "nobody could log in"),
            (&["--max-sessions", "0"], "max_sessions = 0"),
            (&["--max-sessions-per-ip", "0"], "max_sessions_per_ip = 0"),
            (&["--root", missing], "root "),
            (&["--root", file], "not a directory"),
        ];
        for (args, expected) in cases {
            let message = settings_err(&[&["ftpd"][..], args].concat());
            assert!(message.contains(expected), "{args:?}: {message}");
        }
        assert!(settings_err(&["ftpd", "--root", missing]).contains(missing));
        assert!(settings_err(&["ftpd", "--login-timeout", "0"]).contains("login_timeout = 0"));
        assert!(settings_err(&["ftpd", "--stall-timeout", "0"]).contains("stall_timeout = 0"));
        assert!(
            settings_err(&["ftpd", "--login-delay", "9", "--max-login-delay", "2"])
                .contains("max_login_delay = 2")
        );
        let cli = Cli::parse_from([
            "ftpd",
            "--login-timeout",
            "20",
            "--max-login-failures",
            "5",
            "--login-delay",
            "2",
            "--max-login-delay",
            "10",
            "--stall-timeout",
            "40",
        ]);
        let engine = settings(&cli).unwrap().0.engine;
        assert_eq!(engine.data_stall_timeout, Duration::from_secs(40));
        assert_eq!(engine.login_timeout, Duration::from_secs(20));
        assert_eq!(engine.max_login_failures, 5);
        assert_eq!(engine.login_delay, Duration::from_secs(2));
        assert_eq!(engine.max_login_delay, Duration::from_secs(10));
        assert!(engine.hash, "HASH is served by default");
        let cli = Cli::parse_from(["ftpd", "--no-hash"]);
        assert!(!settings(&cli).unwrap().0.engine.hash);
        // Both anonymous flags at once: refused by the command line itself.
        assert!(Cli::try_parse_from(["ftpd", "--anonymous", "--no-anonymous"]).is_err());

        let config = dir.path().join("ftpd.toml");
        let write = |text: &str| std::fs::write(&config, text).unwrap();
        let config_flag = ["ftpd", "--config", config.to_str().unwrap()];
        write(&format!("hash = false\nroot = {:?}\n", dir.path()));
        let cli = Cli::parse_from(config_flag);
        assert!(!settings(&cli).unwrap().0.engine.hash);
        write("listen = []\n");
        assert!(settings_err(&config_flag).contains("listen = []"));
        write("[[users]]\nname = \"carol\"\npassword_hash = \"plain\"\n");
        let message = settings_err(&config_flag);
        assert!(message.contains("\"carol\": password_hash"), "{message}");
        let hash = hash_password("pw");
        write(&format!(
            "[[users]]\nname = \"carol\"\npassword_hash = \"{hash}\"\nroot = {missing:?}\n"
        ));
        let message = settings_err(&config_flag);
        assert!(
            message.contains("\"carol\": root") && message.contains(missing),
            "{message}"
        );
        write(&format!(
            "[[users]]\nname = \"carol\"\npassword_hash = \"{hash}\"\n\n\
             [[users]]\nname = \"carol\"\npassword_hash = \"{hash}\"\n"
        ));
        assert!(settings_err(&config_flag).contains("defined twice"));
    }

    #[test]
    fn flags_override_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ftpd.toml");
        let hash = hash_password("pw");
        let root = dir.path().to_path_buf();
        std::fs::write(
            &path,
            format!(
                "listen = [\"127.0.0.1:2100\"]\nroot = {root:?}\npassive_ports = \"50000-50010\"\nidle_timeout = 60\nfsync = false\n\n[[users]]\nname = \"carol\"\npassword_hash = \"{hash}\"\nread_only = true\n"
            ),
        )
        .unwrap();
        let config = path.to_str().unwrap();
        let cli = Cli::parse_from([
            "ftpd",
            "--config",
            config,
            "--idle-timeout",
            "30",
            "--listen",
            "[::1]:2200",
        ]);
        let (settings, listen, _, _) = settings(&cli).unwrap();
        assert_eq!(listen.plain, ["[::1]:2200".parse::<SocketAddr>().unwrap()]);
        assert_eq!(settings.root, root);
        assert_eq!(settings.engine.passive_ports, 50000..=50010);
        assert_eq!(settings.engine.idle_timeout, Duration::from_secs(30));
        assert!(!settings.fsync);
        assert!(!settings.engine.allow_anonymous);
        std::fs::write(&path, "bogus = 1\n").unwrap();
        assert!(settings_err(&["ftpd", "--config", config]).contains("bogus"));
    }

    /// A certificate for localhost and its key, as PEM files in `dir`, and
    /// a key of another certificate.
    fn certificate_files(dir: &std::path::Path) -> (String, String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path.to_str().unwrap().to_string()
        };
        (
            write("cert.pem", cert.pem()),
            write("key.pem", key.serialize_pem()),
            write(
                "other.pem",
                rcgen::KeyPair::generate().unwrap().serialize_pem(),
            ),
        )
    }

    #[test]
    fn tls_settings_and_their_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, other) = certificate_files(dir.path());
        let base = ["ftpd", "--tls-cert", &cert, "--tls-key", &key];
        let (strict, _, _, _) = settings(&Cli::parse_from(base)).unwrap();
        assert!(strict.engine.tls.is_some());
        assert!(strict.engine.tls_required_for_login);
        assert!(strict.engine.tls_required_for_data);
        assert!(strict.engine.tls_session_reuse_required);
        let relaxed = [&base[..], &["--tls-optional", "--no-tls-session-reuse"]].concat();
        let (relaxed, _, _, _) = settings(&Cli::parse_from(relaxed)).unwrap();
        assert!(!relaxed.engine.tls_required_for_login);
        assert!(!relaxed.engine.tls_required_for_data);
        assert!(!relaxed.engine.tls_session_reuse_required);
        let implicit = [&base[..], &["--listen-implicit", "127.0.0.1:990"]].concat();
        let (_, listen, _, _) = settings(&Cli::parse_from(implicit)).unwrap();
        assert_eq!(
            listen.implicit,
            ["127.0.0.1:990".parse::<SocketAddr>().unwrap()]
        );

        // Errors name the file, at start.
        let missing = dir.path().join("missing.pem");
        let missing = missing.to_str().unwrap();
        let error = settings_err(&["ftpd", "--tls-cert", missing, "--tls-key", &key]);
        assert!(error.contains("missing.pem"), "{error}");
        let error = settings_err(&["ftpd", "--tls-cert", &cert, "--tls-key", &other]);
        assert!(error.contains("other.pem"), "{error}");
        let error = settings_err(&["ftpd", "--tls-cert", &key, "--tls-key", &key]);
        assert!(error.contains("certificate"), "{error}");
        let error = settings_err(&["ftpd", "--listen-implicit", "127.0.0.1:990"]);
        assert!(error.contains("tls_cert"), "{error}");
        // Both files or neither, in the config file too.
        let config = dir.path().join("ftpd.toml");
        std::fs::write(&config, format!("tls_cert = {cert:?}\n")).unwrap();
        let error = settings_err(&["ftpd", "--config", config.to_str().unwrap()]);
        assert!(error.contains("tls_key"), "{error}");
    }

    fn settings_err(args: &[&str]) -> String {
        settings(&Cli::parse_from(args)).unwrap_err()
    }
}
