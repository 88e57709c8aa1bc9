//! Embedding the async server: one executor, a listener, settings, and a
//! shutdown that Ctrl-C and SIGTERM trigger (clients get 421).
//!
//! ```sh
//! cargo run -p ftp-smol --example async_server -- --listen 127.0.0.1:2121 --root /srv/ftp --user alice:secret
//! ```
//!
//! Without `--user`, anonymous users get read-only access. The `ftpd`
//! binary is the full-featured version of this (TLS, config file, logs).

use clap::Parser;
use ftp_smol::server::{
    Account, Accounts, Permissions, Secret, ServerConfig, Settings, Shutdown, serve,
};
use signal_hook::consts::{SIGINT, SIGTERM};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

/// Serve a directory over FTP with the async server.
#[derive(Parser)]
struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:2121")]
    listen: SocketAddr,
    /// The directory to serve.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// NAME:PASSWORD of a read-write user; repeatable.
    #[arg(long)]
    user: Vec<String>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut accounts = Accounts::new();
    for user in &args.user {
        let (name, password) = user.split_once(':').ok_or("--user NAME:PASSWORD")?;
        accounts.insert(
            name,
            Account {
                secret: Secret::Plain(password.into()),
                permissions: Permissions::ReadWrite,
                root: None,
            },
        );
    }
    let settings = Settings {
        engine: Arc::new(ServerConfig {
            allow_anonymous: accounts.is_empty(),
            ..ServerConfig::default()
        }),
        root: args.root,
        accounts,
        ..Settings::default()
    };
    let listener = TcpListener::bind(args.listen)?;
    eprintln!("serving on ftp://{}/", listener.local_addr()?);

    let shutdown = Shutdown::new();
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let stop = shutdown.clone();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            stop.trigger();
        }
    });

    // The executor runs the sessions; more threads may run it as well.
    let executor = Arc::new(smol::Executor::new());
    smol::block_on(executor.run(serve(executor.clone(), listener, settings, shutdown)))?;
    Ok(())
}
