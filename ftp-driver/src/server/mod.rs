//! What both adapters' servers share besides I/O: the settings, the
//! per-login choice of storage, the log lines made from the engine's
//! notices, and [`SessionDriver`], everything a session does that is not
//! reading, writing, accepting, connecting or spawning.

mod session;

pub use session::{ConnectJob, Generation, Io, Job, JobDone, SessionDriver};

use ftp_accounts::Accounts;
use ftp_fs::DiskStorage;
use ftp_proto::server::{AuthError, Credentials, Notice, Permissions, ServerConfig};
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

/// Logs one engine notice: logins and transfers at info level, commands at
/// debug, replies at trace. `user` remembers who logged in on the session.
pub fn log_notice(notice: &Notice, peer: SocketAddr, user: &mut String) {
    match notice {
        Notice::Command { verb, argument } => {
            let argument = argument
                .as_ref()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .unwrap_or_default();
            tracing::debug!(%peer, user = %user, command = %verb, %argument, "command");
        }
        Notice::Reply { code } => tracing::trace!(%peer, code = code.get(), "reply"),
        Notice::LoggedIn {
            user: name,
            anonymous,
            permissions,
        } => {
            *user = String::from_utf8_lossy(name).into_owned();
            tracing::info!(%peer, user = %user, anonymous, ?permissions, "login");
        }
        Notice::LoginFailed { user: name } => {
            tracing::warn!(%peer, user = %String::from_utf8_lossy(name), "login failed");
        }
        Notice::TransferFinished {
            direction,
            description,
            bytes,
            duration,
            result,
        } => {
            let outcome = match result {
                Ok(()) => "ok".to_string(),
                Err(error) => format!("{error:?}"),
            };
            tracing::info!(%peer, user = %user, ?direction, what = %description, bytes, ms = duration.as_millis() as u64, %outcome, "transfer");
        }
        _ => {}
    }
}
