//! Downloads several files at once, one session each, on one thread:
//!
//! ```sh
//! cargo run -p ftp-smol --example parallel_downloads -- 127.0.0.1:2121 a.iso b.iso c.iso
//! ```
//! Files land in the current directory. Logs in anonymously unless
//! `FTP_USER` and `FTP_PASSWORD` are set.

use ftp_proto::client::ClientConfig;
use ftp_smol::client::Client;
use std::net::SocketAddr;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let server: SocketAddr = args
        .next()
        .ok_or("usage: parallel_downloads HOST:PORT FILE...")?
        .parse()?;
    let files: Vec<String> = args.collect();
    let user = std::env::var("FTP_USER").unwrap_or_else(|_| "anonymous".into());
    let password = std::env::var("FTP_PASSWORD").unwrap_or_else(|_| "guest@example.com".into());
    smol::block_on(async {
        let downloads = files.iter().map(|name| {
            let (user, password) = (user.clone(), password.clone());
            async move {
                let mut client = Client::connect(server, ClientConfig::default()).await?;
                client.login(&user, &password).await?;
                let local = name.rsplit('/').next().unwrap_or(name);
                let mut file = smol::fs::File::create(local).await?;
                let bytes = client.retrieve(name.as_bytes(), 0, &mut file).await?;
                client.quit().await?;
                eprintln!("{name}: {bytes} bytes");
                Ok::<_, Box<dyn std::error::Error>>(())
            }
        });
        for result in futures_join_all(downloads).await {
            result?;
        }
        Ok(())
    })
}

/// Runs futures concurrently and collects their results in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let tasks: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut results = Vec::new();
    let executor = smol::LocalExecutor::new();
    let handles: Vec<_> = tasks.into_iter().map(|f| executor.spawn(f)).collect();
    executor
        .run(async {
            for handle in handles {
                results.push(handle.await);
            }
        })
        .await;
    results
}
