//! Both of our clients behind one blocking interface, for scenarios
//! written once and run with each.

use crate::{PASSWORD, TestServer, USER};
use ftp_std::client::TlsVersions;
use ftp_std::proto::client::{ClientConfig, DataMode, StoreMode};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

/// Which client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// ftp-std's blocking client.
    Std,
    /// ftp-smol's async client.
    Smol,
}

/// How the connections are protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// In clear.
    Plain,
    /// AUTH TLS after the greeting.
    Explicit,
    /// TLS from the first byte.
    Implicit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// PASV only.
    Pasv,
    /// EPSV, then PASV.
    Epsv,
    /// PORT only.
    Port,
    /// EPRT, then PORT.
    Eprt,
}

impl Mode {
    pub fn config(self) -> ClientConfig {
        let (mode, extended) = match self {
            Mode::Pasv => (DataMode::Passive, false),
            Mode::Epsv => (DataMode::Passive, true),
            Mode::Port => (DataMode::Active, false),
            Mode::Eprt => (DataMode::Active, true),
        };
        ClientConfig {
            mode,
            extended,
            reply_timeout: Duration::from_secs(20),
            data_timeout: Duration::from_secs(20),
            notices: true,
            ..ClientConfig::default()
        }
    }
}

/// Both clients behind one blocking interface.
pub enum AnyClient {
    /// Blocking.
    Std(ftp_std::Client),
    /// Async, run with `smol::block_on`.
    Smol(ftp_smol::client::Client),
}

/// An error, as its message.
pub type Failure = String;

impl AnyClient {
    pub fn connect(kind: ClientKind, server: &TestServer, mode: Mode) -> AnyClient {
        Self::connect_with(kind, server, mode, Security::Plain)
    }

    /// A logged-in client of our `server`, protected as `security` asks.
    pub fn connect_with(
        kind: ClientKind,
        server: &TestServer,
        mode: Mode,
        security: Security,
    ) -> AnyClient {
        let ca_file = (security != Security::Plain).then(|| server.ca_file());
        let host = server.address.ip().to_string();
        let mut client = Self::open(
            kind,
            &host,
            server.address.port(),
            mode,
            security,
            ca_file,
            TlsVersions::default(),
        )
        .expect("connect");
        client.login().expect("login");
        client
    }

    /// A client connected (not logged in) to `host`, trusting `ca_file`
    /// and offering `versions` under TLS.
    pub fn open(
        kind: ClientKind,
        host: &str,
        port: u16,
        mode: Mode,
        security: Security,
        ca_file: Option<std::path::PathBuf>,
        versions: TlsVersions,
    ) -> Result<AnyClient, Failure> {
        let tls = (security != Security::Plain).then(|| ftp_std::client::TlsOptions {
            implicit: security == Security::Implicit,
            ca_file,
            versions,
            ..Default::default()
        });
        Self::open_configured(kind, host, port, mode.config(), tls)
    }

    /// A client connected (not logged in) to `host` with the engine's
    /// settings as given (timeouts, say), under TLS when `tls` is set.
    pub fn open_configured(
        kind: ClientKind,
        host: &str,
        port: u16,
        config: ClientConfig,
        tls: Option<ftp_std::client::TlsOptions>,
    ) -> Result<AnyClient, Failure> {
        match kind {
            ClientKind::Std => {
                let options = ftp_std::Options {
                    engine: config,
                    ..ftp_std::Options::default()
                };
                let client = match tls {
                    Some(tls) => ftp_std::Client::connect_tls(host, port, options, &tls),
                    None => ftp_std::Client::connect((host, port), options),
                };
                client.map(AnyClient::Std).map_err(|e| e.to_string())
            }
            ClientKind::Smol => {
                let client = smol::block_on(async {
                    match tls {
                        Some(tls) => {
                            ftp_smol::client::Client::connect_tls(host, port, config, &tls).await
                        }
                        None => ftp_smol::client::Client::connect((host, port), config).await,
                    }
                });
                client.map(AnyClient::Smol).map_err(|e| e.to_string())
            }
        }
    }

    /// Logs in as `user`.
    pub fn login_as(&mut self, user: &str, password: &str) -> Result<(), Failure> {
        match self {
            AnyClient::Std(c) => c.login(user, password).map_err(|e| e.to_string()),
            AnyClient::Smol(c) => {
                smol::block_on(c.login(user, password)).map_err(|e| e.to_string())
            }
        }
    }

    /// Lists `path`: the entries' names, sorted.
    pub fn names_in(&mut self, path: &str) -> Result<Vec<Vec<u8>>, Failure> {
        self.sorted_names(Some(path.as_bytes()))
    }

    fn sorted_names(&mut self, path: Option<&[u8]>) -> Result<Vec<Vec<u8>>, Failure> {
        let listing = match self {
            AnyClient::Std(c) => c.list(path).map_err(|e| e.to_string())?,
            AnyClient::Smol(c) => smol::block_on(c.list(path)).map_err(|e| e.to_string())?,
        };
        let mut names: Vec<Vec<u8>> = listing
            .entries
            .into_iter()
            .map(|e| e.name.to_vec())
            .collect();
        names.sort();
        Ok(names)
    }

    /// QUIT.
    pub fn quit(self) -> Result<(), Failure> {
        match self {
            AnyClient::Std(c) => c.quit().map_err(|e| e.to_string()),
            AnyClient::Smol(c) => smol::block_on(c.quit()).map_err(|e| e.to_string()),
        }
    }

    pub fn login(&mut self) -> Result<(), Failure> {
        self.login_as(USER, PASSWORD)
    }

    pub fn names(&mut self) -> Result<Vec<Vec<u8>>, Failure> {
        self.sorted_names(None)
    }

    pub fn store(&mut self, path: &str, mode: StoreMode, data: &[u8]) -> Result<u64, Failure> {
        match self {
            AnyClient::Std(c) => c
                .store(path.as_bytes(), mode, &mut &data[..])
                .map_err(|e| e.to_string()),
            AnyClient::Smol(c) => smol::block_on(c.store(path.as_bytes(), mode, &mut &data[..]))
                .map_err(|e| e.to_string()),
        }
    }

    pub fn retrieve(&mut self, path: &str, offset: u64) -> Result<Vec<u8>, Failure> {
        match self {
            AnyClient::Std(c) => {
                let mut out = Vec::new();
                c.retrieve(path.as_bytes(), offset, &mut out)
                    .map_err(|e| e.to_string())?;
                Ok(out)
            }
            AnyClient::Smol(c) => {
                let mut out = smol::io::Cursor::new(Vec::new());
                smol::block_on(c.retrieve(path.as_bytes(), offset, &mut out))
                    .map_err(|e| e.to_string())?;
                Ok(out.into_inner())
            }
        }
    }

    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), Failure> {
        match self {
            AnyClient::Std(c) => c
                .rename(from.as_bytes(), to.as_bytes())
                .map_err(|e| e.to_string()),
            AnyClient::Smol(c) => {
                smol::block_on(c.rename(from.as_bytes(), to.as_bytes())).map_err(|e| e.to_string())
            }
        }
    }

    pub fn delete(&mut self, path: &str) -> Result<(), Failure> {
        match self {
            AnyClient::Std(c) => c.delete(path.as_bytes()).map_err(|e| e.to_string()),
            AnyClient::Smol(c) => {
                smol::block_on(c.delete(path.as_bytes())).map_err(|e| e.to_string())
            }
        }
    }

    pub fn noop(&mut self) -> Result<(), Failure> {
        match self {
            AnyClient::Std(c) => c.noop().map_err(|e| e.to_string()),
            AnyClient::Smol(c) => smol::block_on(c.noop()).map_err(|e| e.to_string()),
        }
    }

    pub fn retrieve_ascii(&mut self, path: &str) -> Result<Vec<u8>, Failure> {
        match self {
            AnyClient::Std(c) => {
                let mut out = Vec::new();
                c.retrieve_ascii(path.as_bytes(), &mut out)
                    .map_err(|e| e.to_string())?;
                Ok(out)
            }
            AnyClient::Smol(c) => {
                let mut out = smol::io::Cursor::new(Vec::new());
                smol::block_on(c.retrieve_ascii(path.as_bytes(), &mut out))
                    .map_err(|e| e.to_string())?;
                Ok(out.into_inner())
            }
        }
    }

    pub fn store_unique(&mut self, data: &[u8]) -> Result<(Vec<u8>, u64), Failure> {
        match self {
            AnyClient::Std(c) => c.store_unique(&mut &data[..]).map_err(|e| e.to_string()),
            AnyClient::Smol(c) => {
                smol::block_on(c.store_unique(&mut &data[..])).map_err(|e| e.to_string())
            }
        }
    }

    pub fn cwd(&mut self, path: &str) -> Result<(), Failure> {
        match self {
            AnyClient::Std(c) => c.cwd(path.as_bytes()).map_err(|e| e.to_string()),
            AnyClient::Smol(c) => smol::block_on(c.cwd(path.as_bytes())).map_err(|e| e.to_string()),
        }
    }

    pub fn cdup(&mut self) -> Result<(), Failure> {
        match self {
            AnyClient::Std(c) => c.cdup().map_err(|e| e.to_string()),
            AnyClient::Smol(c) => smol::block_on(c.cdup()).map_err(|e| e.to_string()),
        }
    }

    pub fn pwd(&mut self) -> Result<Vec<u8>, Failure> {
        match self {
            AnyClient::Std(c) => c.pwd().map_err(|e| e.to_string()),
            AnyClient::Smol(c) => smol::block_on(c.pwd()).map_err(|e| e.to_string()),
        }
    }

    pub fn size(&mut self, path: &str) -> Result<u64, Failure> {
        match self {
            AnyClient::Std(c) => c.size(path.as_bytes()).map_err(|e| e.to_string()),
            AnyClient::Smol(c) => {
                smol::block_on(c.size(path.as_bytes())).map_err(|e| e.to_string())
            }
        }
    }

    /// Records every command the client sends, and each data
    /// connection's TLS handshake as `TLS resumed` or `TLS new`.
    pub fn trace_commands(&mut self) -> Arc<std::sync::Mutex<Vec<String>>> {
        use ftp_std::proto::client::Notice;
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        let trace = move |notice: &Notice| match notice {
            Notice::Sent(line) => sink.lock().unwrap().push(line.clone()),
            Notice::Protected {
                data: true,
                summary,
            } => {
                let kind = if summary.resumed { "resumed" } else { "new" };
                sink.lock().unwrap().push(format!("TLS {kind}"));
            }
            Notice::Received(_) | Notice::Protected { .. } => {}
        };
        match self {
            AnyClient::Std(c) => c.set_trace(trace),
            AnyClient::Smol(c) => c.set_trace(trace),
        }
        seen
    }

    pub fn on_progress(&mut self, progress: impl FnMut(u64) -> ControlFlow<()> + Send + 'static) {
        match self {
            AnyClient::Std(c) => c.set_progress(progress),
            AnyClient::Smol(c) => c.set_progress(progress),
        }
    }
}
