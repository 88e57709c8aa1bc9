//! Embedding the blocking server:
//!
//! ```sh
//! cargo run -p ftp-std --example server -- --listen 127.0.0.1:2121 --root /srv/ftp --user alice:secret
//! ```
//!
//! With `--tls-cert cert.pem --tls-key key.pem` it speaks FTPS (AUTH TLS).
//! SIGINT and SIGTERM stop it (clients get 421, transfers are aborted);
//! SIGHUP reads the certificate files again for new sessions.

use clap::Parser;
use ftp_accounts::{Account, Accounts, Secret};
use ftp_proto::server::{Permissions, ServerConfig};
use ftp_std::server::{Settings, SharedSettings, Shutdown, serve};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Serve a directory over FTP with the blocking server.
#[derive(Parser)]
struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:2121")]
    listen: SocketAddr,
    /// The directory to serve.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// NAME:PASSWORD of a read-write user; repeatable. Without one,
    /// anonymous users get read-only access.
    #[arg(long)]
    user: Vec<String>,
    /// Report uploads done before they reach the disk.
    #[arg(long)]
    no_fsync: bool,
    /// Sessions served at once.
    #[arg(long, default_value_t = 1000)]
    max_sessions: usize,
    /// PEM certificate chain for FTPS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut accounts = Accounts::new();
    for user in &args.user {
        let (name, password) = user.split_once(':').expect("--user NAME:PASSWORD");
        accounts.insert(
            name,
            Account {
                secret: Secret::Plain(password.into()),
                permissions: Permissions::ReadWrite,
                root: None,
            },
        );
    }
    let settings = move |args: &Args| -> std::io::Result<Settings> {
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => {
                Some(ftp_driver::server::load_tls(cert, key).map_err(std::io::Error::other)?)
            }
            _ => None,
        };
        let engine = ServerConfig {
            allow_anonymous: accounts.is_empty(),
            notices: true,
            tls,
            ..ServerConfig::default()
        };
        Ok(Settings {
            engine: Arc::new(engine),
            root: args.root.clone(),
            accounts: accounts.clone(),
            fsync: !args.no_fsync,
            max_sessions: args.max_sessions,
            max_sessions_per_address: args.max_sessions,
            transfer_log: None,
        })
    };
    let shared = SharedSettings::from(settings(&args)?);
    let listener = ftp_driver::net::listen_control(args.listen)?;
    eprintln!("serving on ftp://{}/", listener.local_addr()?);
    let shutdown = Shutdown::new();
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let (stop, reload) = (shutdown.clone(), shared.clone());
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal != SIGHUP {
                stop.trigger();
                continue;
            }
            match settings(&args).and_then(|new| reload.replace(Arc::new(new))) {
                Ok(()) => tracing::info!("reloaded the TLS certificate for new sessions"),
                Err(error) => tracing::warn!(%error, "reload failed: keeping the old settings"),
            }
        }
    });
    serve(listener, shared, shutdown)
}
