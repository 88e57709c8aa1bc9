//! What both adapters' servers share besides I/O: the settings, the
//! per-login choice of storage, the log lines made from the engine's
//! notices, and [`SessionDriver`], everything a session does that is not
//! reading, writing, accepting, connecting or spawning.

mod session;

pub use session::{ConnectJob, Generation, Io, Job, JobDone, SessionDriver};

use ftp_accounts::Accounts;
use ftp_fs::DiskStorage;
use ftp_proto::server::{AuthError, Change, Credentials, Notice, Permissions, ServerConfig};
use ftp_proto::tls::ServerTls;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Everything a server needs besides its listeners.
#[derive(Debug)]
pub struct Settings {
    /// The engine's configuration.
    pub engine: Arc<ServerConfig>,
    /// The directory served to anonymous users and to users without a root
    /// of their own.
    pub root: PathBuf,
    /// Who may log in.
    pub accounts: Accounts,
    /// Flush uploads to disk before reporting them done.
    pub fsync: bool,
    /// Sessions served at once, in all.
    pub max_sessions: usize,
    /// Sessions served at once from one client address.
    pub max_sessions_per_address: usize,
    /// Where each transfer is also written in the xferlog format.
    pub transfer_log: Option<TransferLog>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            engine: Arc::new(ServerConfig::default()),
            root: PathBuf::from("."),
            accounts: Accounts::new(),
            fsync: true,
            max_sessions: 1000,
            max_sessions_per_address: 50,
            transfer_log: None,
        }
    }
}

/// The settings with the default root opened: what a session asks when a
/// user logs in.
#[derive(Debug)]
pub struct Backend {
    settings: Arc<Settings>,
    default_storage: Arc<DiskStorage>,
}

impl Backend {
    /// Opens the default root.
    pub fn new(settings: Arc<Settings>) -> io::Result<Backend> {
        let default_storage = Arc::new(DiskStorage::open(&settings.root, settings.fsync)?);
        Ok(Backend {
            settings,
            default_storage,
        })
    }

    /// The settings.
    pub fn settings(&self) -> &Arc<Settings> {
        &self.settings
    }

    /// Checks credentials and opens the user's storage. Blocking (argon2,
    /// opening a directory): async adapters call it off their executor.
    pub fn authenticate(
        &self,
        credentials: &Credentials,
    ) -> Result<(Permissions, Arc<DiskStorage>), AuthError> {
        let login = self.settings.accounts.authenticate(credentials)?;
        match login.root {
            None => Ok((login.permissions, self.default_storage.clone())),
            Some(root) => match DiskStorage::open(&root, self.settings.fsync) {
                Ok(storage) => Ok((login.permissions, Arc::new(storage))),
                Err(error) => {
                    tracing::error!(%error, root = %root.display(), "cannot open the user's root");
                    Err(AuthError::Unavailable)
                }
            },
        }
    }
}

/// Settings a server can replace while it runs (on SIGHUP, say): each new
/// session takes the current ones; a running session keeps those it
/// started with. Cloning shares them.
#[derive(Debug, Clone)]
pub struct SharedSettings {
    current: Arc<std::sync::RwLock<Current>>,
}

#[derive(Debug)]
enum Current {
    /// Not served yet: the default root is opened by the first listener.
    Settings(Arc<Settings>),
    Backend(Arc<Backend>),
}

impl From<Arc<Settings>> for SharedSettings {
    fn from(settings: Arc<Settings>) -> SharedSettings {
        SharedSettings {
            current: Arc::new(std::sync::RwLock::new(Current::Settings(settings))),
        }
    }
}

impl From<Settings> for SharedSettings {
    fn from(settings: Settings) -> SharedSettings {
        SharedSettings::from(Arc::new(settings))
    }
}

impl SharedSettings {
    /// The current settings, with their default root opened.
    pub fn backend(&self) -> io::Result<Arc<Backend>> {
        let settings = match &*self.current.read().map_err(|_| poisoned())? {
            Current::Backend(backend) => return Ok(backend.clone()),
            Current::Settings(settings) => settings.clone(),
        };
        let backend = Arc::new(Backend::new(settings)?);
        *self.current.write().map_err(|_| poisoned())? = Current::Backend(backend.clone());
        Ok(backend)
    }

    /// The current settings.
    pub fn settings(&self) -> Arc<Settings> {
        match self.current.read().as_deref() {
            Ok(Current::Backend(backend)) => backend.settings().clone(),
            Ok(Current::Settings(settings)) => settings.clone(),
            Err(poisoned) => match &**poisoned.get_ref() {
                Current::Backend(backend) => backend.settings().clone(),
                Current::Settings(settings) => settings.clone(),
            },
        }
    }

    /// Replaces the settings for sessions that start from now on. The new
    /// default root is opened first: if it cannot be, the old settings
    /// stay and the error says why.
    pub fn replace(&self, settings: Arc<Settings>) -> io::Result<()> {
        let backend = Arc::new(Backend::new(settings)?);
        *self.current.write().map_err(|_| poisoned())? = Current::Backend(backend);
        Ok(())
    }
}

fn poisoned() -> io::Error {
    io::Error::other("the settings lock is poisoned")
}

/// The FTPS settings from a PEM certificate chain and its private key.
/// A missing or unreadable file, a file that holds no certificate or key,
/// or a key that does not match the certificate is an error that names
/// the file: found at start, not at the first login.
pub fn load_tls(cert: &Path, key: &Path) -> Result<ServerTls, String> {
    let read = |path: &Path, what: &str| {
        std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
    };
    let chain = read(cert, "TLS certificate")?;
    let key_pem = read(key, "TLS key")?;
    ServerTls::from_pem(&chain, &key_pem)
        .map_err(|e| format!("{} and {}: {e}", cert.display(), key.display()))
}

/// The transfer log in the wu-ftpd xferlog format, which vsftpd and
/// ProFTPD write and log analysers read: one line per transfer, appended.
#[derive(Debug, Clone)]
pub struct TransferLog {
    file: Arc<std::sync::Mutex<std::fs::File>>,
}

impl TransferLog {
    /// Opens `path` for appending, creating it if needed.
    pub fn open(path: &Path) -> io::Result<TransferLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(TransferLog {
            file: Arc::new(std::sync::Mutex::new(file)),
        })
    }

    fn record(&self, line: &str) {
        use std::io::Write;
        if let Ok(mut file) = self.file.lock()
            && let Err(error) = file.write_all(line.as_bytes())
        {
            tracing::warn!(%error, "cannot write the transfer log");
        }
    }
}

/// One transfer, as an xferlog line (time in UTC, as vsftpd writes it by
/// default): `Sun Nov 29 13:45:01 2026 1 192.0.2.7 1048576 /pub/f.iso b _
/// o r alice ftp 0 * c`. Fields: time, whole seconds, client address,
/// bytes, path (spaces as `_`), `a`scii or `b`inary, `_` (no special
/// action), `o`utgoing or `i`ncoming, `a`nonymous or `r`eal user, user
/// name, service, authentication method (0: none), authenticated user id
/// (`*`: none), `c`omplete or `i`ncomplete.
pub fn xferlog_line(record: &TransferRecord<'_>) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = ftp_proto::timeval::UtcDateTime::from_system_time(record.at);
    let days_since_epoch = record
        .at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    // 1970-01-01 was a Thursday.
    let weekday = DAYS[((days_since_epoch + 4) % 7) as usize];
    let month = MONTHS[(usize::from(t.month).clamp(1, 12)) - 1];
    let path: String = record
        .path
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    let user: String = record
        .user
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    format!(
        "{weekday} {month} {:2} {:02}:{:02}:{:02} {} {} {} {} {} {} _ {} {} {} ftp 0 * {}\n",
        t.day,
        t.hour,
        t.minute,
        t.second,
        t.year,
        record.seconds.max(1),
        record.client,
        record.bytes,
        if path.is_empty() { "-" } else { &path },
        if record.ascii { 'a' } else { 'b' },
        if record.incoming { 'i' } else { 'o' },
        if record.anonymous { 'a' } else { 'r' },
        if user.is_empty() { "-" } else { &user },
        if record.complete { 'c' } else { 'i' },
    )
}

/// What an xferlog line says.
#[derive(Debug, Clone)]
pub struct TransferRecord<'a> {
    /// When the transfer ended.
    pub at: std::time::SystemTime,
    /// How long it took, in whole seconds.
    pub seconds: u64,
    /// The client's address.
    pub client: std::net::IpAddr,
    /// Bytes moved.
    pub bytes: u64,
    /// The file's path.
    pub path: &'a str,
    /// TYPE A.
    pub ascii: bool,
    /// An upload.
    pub incoming: bool,
    /// An anonymous login.
    pub anonymous: bool,
    /// The user name.
    pub user: &'a str,
    /// Whether it completed.
    pub complete: bool,
}

/// Who is logged in on a session, for its log lines.
#[derive(Debug, Clone, Default)]
pub struct Who {
    /// The user name, empty before a login.
    pub user: String,
    /// Whether the login was anonymous.
    pub anonymous: bool,
}

/// Logs one engine notice. At info level, by default: one line for each
/// login (user, client address, success or failure), each transfer
/// (direction, path, bytes, seconds, result: failed and aborted ones too)
/// and each delete, rename, mkdir and rmdir. Commands at debug, replies at
/// trace. The client's address is a field of its own, `client=ADDRESS`,
/// with no port glued to it, so that fail2ban can match failed logins
/// (`contrib/fail2ban/`). `user` remembers who logged in on the session.
pub fn log_notice(
    notice: &Notice,
    peer: SocketAddr,
    who: &mut Who,
    transfer_log: Option<&TransferLog>,
) {
    let client = ftp_proto::hostport::canonical_ip(peer.ip());
    let user = &mut who.user;
    match notice {
        Notice::Command { verb, argument } => {
            let argument = argument
                .as_ref()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .unwrap_or_default();
            tracing::debug!(%client, port = peer.port(), user = %user, command = %verb, %argument, "command");
        }
        Notice::Reply { code } => {
            tracing::trace!(%client, port = peer.port(), code = code.get(), "reply")
        }
        Notice::LoggedIn {
            user: name,
            anonymous,
            permissions,
        } => {
            *user = String::from_utf8_lossy(name).into_owned();
            who.anonymous = *anonymous;
            tracing::info!(%client, user = %who.user, anonymous, ?permissions, "login");
        }
        Notice::LoginFailed { user: name } => {
            tracing::warn!(%client, user = %String::from_utf8_lossy(name), "login failed");
        }
        Notice::TransferFinished {
            direction,
            description,
            path,
            ascii,
            bytes,
            duration,
            result,
        } => {
            if let (Some(log), Some(direction), Some(path)) = (transfer_log, direction, path) {
                log.record(&xferlog_line(&TransferRecord {
                    at: std::time::SystemTime::now(),
                    seconds: duration.as_secs_f64().round() as u64,
                    client,
                    bytes: *bytes,
                    path,
                    ascii: *ascii,
                    incoming: *direction == ftp_proto::server::Direction::Upload,
                    anonymous: who.anonymous,
                    user: &who.user,
                    complete: result.is_ok(),
                }));
            }
            let path = path.as_deref().unwrap_or(description);
            let user = &who.user;
            let what = match direction {
                Some(ftp_proto::server::Direction::Download) => "download",
                Some(ftp_proto::server::Direction::Upload) => "upload",
                None => "listing",
            };
            let seconds = format!("{:.3}", duration.as_secs_f64());
            let outcome = match result {
                Ok(()) => "ok".to_string(),
                Err(error) => error.to_string(),
            };
            tracing::info!(%client, user = %user, %what, %path, bytes, %seconds, result = %outcome, "transfer")
        }
        Notice::Changed { change, result } => {
            let user = &who.user;
            let (what, path, to) = match change {
                Change::Delete(path) => ("delete", path, None),
                Change::Rename { from, to } => ("rename", from, Some(to)),
                Change::MakeDir(path) => ("mkdir", path, None),
                Change::RemoveDir(path) => ("rmdir", path, None),
                Change::Modified(path) => ("set modification time", path, None),
                Change::Mode(path, _) => ("chmod", path, None),
            };
            let path = String::from_utf8_lossy(path.as_bytes()).into_owned();
            let to = to.map(|t| String::from_utf8_lossy(t.as_bytes()).into_owned());
            let outcome = match result {
                Ok(()) => "ok".to_string(),
                Err(error) => error.to_string(),
            };
            match to {
                Some(to) => {
                    tracing::info!(%client, user = %user, %what, %path, %to, result = %outcome, "change")
                }
                None => {
                    tracing::info!(%client, user = %user, %what, %path, result = %outcome, "change")
                }
            }
        }
    }
}
