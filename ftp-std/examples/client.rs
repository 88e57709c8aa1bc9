//! A blocking client: log in, list a directory, download a file into the
//! current directory and upload it back under another name.
//!
//! ```sh
//! cargo run -p ftp-std --example client -- 127.0.0.1:2121 readme.txt
//! ```
//!
//! Logs in anonymously unless `FTP_USER` and `FTP_PASSWORD` are set; the
//! upload needs a user with write access.

use ftp_std::{Client, EntryKind, Options, StoreMode};
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: client HOST:PORT FILE";
    let server = args.next().ok_or(usage)?;
    let name = args.next().ok_or(usage)?;
    let user = std::env::var("FTP_USER").unwrap_or_else(|_| "anonymous".into());
    let password = std::env::var("FTP_PASSWORD").unwrap_or_else(|_| "guest@example.com".into());

    let options = Options {
        connect_timeout: Duration::from_secs(10),
        ..Options::default()
    };
    let mut client = Client::connect(server.as_str(), options)?;
    client.login(&user, &password)?;

    for entry in client.list(None)?.entries {
        let marker = if entry.kind == EntryKind::Directory {
            "/"
        } else {
            ""
        };
        println!("{}{marker}", String::from_utf8_lossy(&entry.name));
    }

    let local = name.rsplit('/').next().unwrap_or(&name).to_string();
    let mut file = std::fs::File::create(&local)?;
    let bytes = client.retrieve(name.as_bytes(), 0, &mut file)?;
    eprintln!("{name}: {bytes} bytes into {local}");

    let copy = format!("{name}.copy");
    match client.store(
        copy.as_bytes(),
        StoreMode::Replace,
        &mut std::fs::File::open(&local)?,
    ) {
        Ok(bytes) => eprintln!("{copy}: {bytes} bytes up"),
        // 550 for an anonymous login: shown, not fatal.
        Err(error) => eprintln!("{copy}: not uploaded: {error}"),
    }
    client.quit()?;
    Ok(())
}
