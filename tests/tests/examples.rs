//! The crates' examples in both roles, run against each other: the async
//! server (`ftp-smol/examples/async_server.rs`) serves, the blocking client
//! (`ftp-std/examples/client.rs`) lists, downloads and uploads; SIGTERM
//! stops the server cleanly.

use ftp_tests::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn the_blocking_client_example_against_the_async_server_example() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let content = random_bytes(300_000, 51);
    std::fs::write(root.join("data.bin"), &content).unwrap();
    let address = format!("127.0.0.1:{}", free_local_port());
    let mut server = spawn_listening(
        Command::new(example_binary("ftp-smol", "async_server"))
            .args(["--listen", &address, "--user", "alice:secret", "--root"])
            .arg(&root),
        std::slice::from_ref(&address),
    );
    let output = run(Command::new(example_binary("ftp-std", "client"))
        .args([&address, "data.bin"])
        .current_dir(&work)
        .env("FTP_USER", "alice")
        .env("FTP_PASSWORD", "secret"));
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .any(|l| l == "data.bin"),
        "{output:?}"
    );
    assert_eq!(std::fs::read(work.join("data.bin")).unwrap(), content);
    assert_eq!(std::fs::read(root.join("data.bin.copy")).unwrap(), content);

    // SIGTERM: the server example stops, with success.
    run(Command::new("kill").args(["-TERM", &server.id().to_string()]));
    let mut status = None;
    assert!(eventually(Duration::from_secs(10), || {
        status = server.try_wait().unwrap();
        status.is_some()
    }));
    assert!(status.unwrap().success(), "{status:?}");
}
